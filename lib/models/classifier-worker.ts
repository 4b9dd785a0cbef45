/**
 * The worker-thread side of SequenceClassifier.predictProbaAsync: holds a copy of the model
 * (rebuilt from its options) and answers requests in order, loading new weights when a
 * request brings them. (Internal to the package.)
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Tensor } from '../core/tensor';
import type { PredictReply, PredictRequest } from './classifier-messages';
import { SequenceClassifier, SequenceClassifierOptions } from './sequence-classifier';

const port = parentPort!;
const model = new SequenceClassifier(workerData.options as SequenceClassifierOptions);
model.eval();

port.on('message', (req: PredictRequest) => {
  let reply: PredictReply;
  try {
    if (req.weights) {
      const sd: Record<string, Tensor> = {};
      for (const [name, p] of Object.entries(model.stateDict())) sd[name] = new Tensor(req.weights[name], [...p.shape]);
      model.loadStateDict(sd);
    }
    reply = { id: req.id, probabilities: model.predictProba(req.sequences).data };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    reply = { id: req.id, error: { name: e.name, message: e.message } };
  }
  port.postMessage(reply, 'probabilities' in reply ? [reply.probabilities.buffer as ArrayBuffer] : []);
});
