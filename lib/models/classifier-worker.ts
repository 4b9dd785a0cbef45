/**
 * The worker-thread side of SequenceClassifier.predictProbaAsync: holds a copy of the model
 * (rebuilt from its options) and answers requests in order, loading new weights when a
 * request brings them. (Internal to the package.)
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Tensor } from '../core/tensor';
import { SequenceClassifier, SequenceClassifierOptions } from './sequence-classifier';

/** A request; `weights` (name → flat data) comes only when they changed since the last one. */
export interface PredictRequest {
  id: number;
  sequences: Int32Array[];
  weights?: Record<string, Float32Array>;
}

/** The probabilities (N·C, row-major) or the error predictProba() threw. */
export type PredictReply =
  | { id: number; probabilities: Float32Array }
  | { id: number; error: { name: string; message: string } };

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
