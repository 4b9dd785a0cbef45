/**
 * The worker-thread side of fit(): rebuilds the model from its options and weights, runs the
 * synchronous training loop, streams progress back, and returns the trained weights.
 * (Internal to the package.)
 */
import { parentPort, workerData } from 'node:worker_threads';
import { LanguageModel, LanguageModelOptions } from '../models/language-model';
import { manualSeed } from '../core/random';
import { Tensor } from '../core/tensor';
import { fitSync, TrainingConfig } from './fit-sync';
import { NonFiniteError } from './non-finite';

interface Job {
  options: LanguageModelOptions;
  weights: Record<string, { shape: number[]; data: Float32Array }>;
  train: Int32Array;
  validation: Int32Array | null;
  config: TrainingConfig;
  seed: number;
  abort: SharedArrayBuffer; // Int32Array[0] = 1 asks the loop to stop after the current batch
}

const job = workerData as Job;
const port = parentPort!;
let model: LanguageModel | undefined;
try {
  manualSeed(job.seed);
  model = new LanguageModel(job.options);
  const sd: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(job.weights)) sd[k] = new Tensor(t.data, t.shape);
  model.loadStateDict(sd);
  const flag = new Int32Array(job.abort);
  const config = job.validation ? { ...job.config, validationData: job.validation } : job.config;
  const result = fitSync(model, job.train, config, {
    onBatch: (info) => port.postMessage({ type: 'batch', info }),
    onEpoch: (info) => port.postMessage({ type: 'epoch', info }),
    onValidation: (info) => port.postMessage({ type: 'validation', info }),
    shouldStop: () => Atomics.load(flag, 0) === 1,
  });
  port.postMessage({ type: 'done', result, weights: stateDictOf(model) });
} catch (err) {
  const e = err instanceof Error ? err : new Error(String(err));
  // A numerical fault stops before the failing step's update: hand back the weights trained
  // until then, so that fit() leaves the model as fitSync() does.
  const weights = err instanceof NonFiniteError ? stateDictOf(model!) : undefined;
  port.postMessage({ type: 'error', name: e.name, message: e.message, stack: e.stack, ...(weights ? { weights } : {}) });
}

function stateDictOf(m: LanguageModel): Record<string, { shape: number[]; data: Float32Array }> {
  const weights: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [k, t] of Object.entries(m.stateDict())) weights[k] = { shape: t.shape.slice(), data: t.data };
  return weights;
}
