/**
 * The worker-thread side of fit(): rebuilds the model from its options and weights, runs the
 * synchronous training loop, streams progress back, and returns the trained weights.
 * (Internal to the package.)
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Module } from '../nn/module';
import { manualSeed } from '../core/random';
import { Tensor } from '../core/tensor';
import { resolveConfig, TrainingConfig } from './config';
import './fit-sync'; // registers the model kinds' tasks
import { runTraining } from './loop';
import { taskByKind, TrainableModel } from './task';
import { NonFiniteError } from './non-finite';

interface Job {
  /** The model's kind (task.ts) and options: the model is rebuilt here from them. */
  kind: string;
  options: object;
  weights: Record<string, { shape: number[]; data: Float32Array }>;
  /** Data as the kind's task serialized it. */
  train: unknown;
  validation: unknown;
  config: TrainingConfig;
  seed: number;
  abort: SharedArrayBuffer; // Int32Array[0] = 1 asks the loop to stop after the current batch
}

const job = workerData as Job;
const port = parentPort!;
let model: TrainableModel | undefined;
try {
  manualSeed(job.seed);
  const task = taskByKind(job.kind);
  if (!task) throw new Error(`fit: unknown model kind ${JSON.stringify(job.kind)}`);
  const built = task.build(job.options);
  model = built;
  const sd: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(job.weights)) sd[k] = new Tensor(t.data, t.shape);
  built.loadStateDict(sd);
  const flag = new Int32Array(job.abort);
  const cfg = resolveConfig('fit', job.config);
  let train = task.deserialize(job.train);
  let validation = job.validation === null ? null : task.deserialize(job.validation);
  if (validation === null && cfg.validationFraction > 0) ({ train, validation } = task.split(train, cfg.validationFraction));
  const result = runTraining('fit', task, built, train, validation, cfg, {
    onBatch: (info) => port.postMessage({ type: 'batch', info }),
    onEpoch: (info) => port.postMessage({ type: 'epoch', info }),
    onValidation: (info) => port.postMessage({ type: 'validation', info }),
    shouldStop: () => Atomics.load(flag, 0) === 1,
  });
  port.postMessage({ type: 'done', result, weights: stateDictOf(built) });
} catch (err) {
  const e = err instanceof Error ? err : new Error(String(err));
  // A numerical fault stops before the failing step's update: hand back the weights trained
  // until then, so that fit() leaves the model as fitSync() does.
  const weights = err instanceof NonFiniteError ? stateDictOf(model!) : undefined;
  port.postMessage({ type: 'error', name: e.name, message: e.message, stack: e.stack, ...(weights ? { weights } : {}) });
}

function stateDictOf(m: Module): Record<string, { shape: number[]; data: Float32Array }> {
  const weights: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [k, t] of Object.entries(m.stateDict())) weights[k] = { shape: t.shape.slice(), data: t.data };
  return weights;
}
