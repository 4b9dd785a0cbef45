/**
 * The worker-thread side of Seq2Seq.translateAsync: holds a copy of the model (rebuilt from its
 * options) and answers translate requests in order, loading new weights when a request brings
 * them. (Internal to the package.)
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Tensor } from '../core/tensor';
import { Seq2Seq, Seq2SeqOptions } from './seq2seq';
import type { TranslateReply, TranslateRequest } from './seq2seq-messages';

const port = parentPort!;
const model = new Seq2Seq(workerData.options as Seq2SeqOptions);
model.eval();

port.on('message', (req: TranslateRequest) => {
  let reply: TranslateReply;
  try {
    if (req.weights) {
      const sd: Record<string, Tensor> = {};
      for (const [name, p] of Object.entries(model.stateDict())) sd[name] = new Tensor(req.weights[name], [...p.shape]);
      model.loadStateDict(sd);
    }
    reply = { id: req.id, outputs: model.translate(req.sources, req.opts) };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    reply = { id: req.id, error: { name: e.name, message: e.message, stack: e.stack } };
  }
  port.postMessage(reply, 'outputs' in reply ? reply.outputs.map((o) => o.buffer as ArrayBuffer) : []);
});
