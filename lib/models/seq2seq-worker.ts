/**
 * The worker-thread side of Seq2Seq.translateAsync: holds a copy of the model (rebuilt from its
 * options) and answers jobs in order, loading new weights when a job brings them. A job holds
 * one request, or several that share a batch: their sources are decoded together, each with
 * its own request's length limit, and the outputs are handed back per request. (Internal to
 * the package.)
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Tensor } from '../core/tensor';
import type { DecodeOptions } from './decode-options';
import { Seq2Seq, Seq2SeqOptions } from './seq2seq';
import type { TranslateJob, TranslateReply } from './seq2seq-messages';

const port = parentPort!;
const model = new Seq2Seq(workerData.options as Seq2SeqOptions);
model.eval();

function run(job: TranslateJob): Int32Array[][] {
  if (job.weights) {
    const sd: Record<string, Tensor> = {};
    for (const [name, p] of Object.entries(model.stateDict())) sd[name] = new Tensor(job.weights[name], [...p.shape]);
    model.loadStateDict(sd); // converts again for a precision already set
  }
  if (model.precision !== job.precision) model.setPrecision(job.precision);
  const [first] = job.parts;
  if (first.maxLength === null) return [model.translate(first.sources, first.opts)];
  // One batch: every part's sources, each limited to its part's maxLength (the parts share the other settings).
  const sources = job.parts.flatMap((p) => p.sources);
  const limits = Int32Array.from(job.parts.flatMap((p) => p.sources.map(() => p.maxLength!)));
  const opts: DecodeOptions = { ...first.opts };
  delete opts.maxLength;
  const outputs = model.translateWithLimits('Seq2Seq.translateAsync', sources, opts, limits);
  let at = 0;
  return job.parts.map((p) => outputs.slice(at, (at += p.sources.length)));
}

port.on('message', (job: TranslateJob) => {
  let reply: TranslateReply;
  try {
    reply = { id: job.id, outputs: run(job) };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    reply = { id: job.id, error: { name: e.name, message: e.message, stack: e.stack } };
  }
  port.postMessage(reply, 'outputs' in reply ? reply.outputs.flat().map((o) => o.buffer as ArrayBuffer) : []);
});
