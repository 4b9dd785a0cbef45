import { Worker } from 'node:worker_threads';
import type { LanguageModel } from '../models/language-model';
import type { Seq2Seq } from '../models/seq2seq';
import { taskFor, taskKinds } from './task';
import type { Seq2SeqData } from './tasks/seq2seq';
import type { SequenceClassifier } from '../models/sequence-classifier';
import type { ClassifierData } from './tasks/classifier';
import { defaultGenerator } from '../core/random';
import { ProgressBar } from './progress-bar';
import { Tensor } from '../core/tensor';
import { checkConfigForKind, resolveConfig, TrainingConfig } from './config';
import type { BatchInfo, EpochInfo, FitResult, ValidationInfo } from './types';
import './fit-sync'; // registers the model kinds' tasks
import { typeError } from '../core/validate';
import { workerScript } from '../core/worker-script';

export interface FitOptions<D = Int32Array> extends TrainingConfig {
  /** Held-out data for validation (a token stream, or pairs), else validationFraction of train. */
  validationData?: D;
  onBatch?: (info: BatchInfo) => void;
  onEpoch?: (info: EpochInfo) => void;
  onValidation?: (info: ValidationInfo) => void;
  /** Draw a progress bar on stderr (default: when stderr is a terminal). */
  progress?: boolean;
  /** Aborting stops after the current batch; the model keeps the weights trained so far. */
  signal?: AbortSignal;
}


/**
 * Trains a model without blocking the event loop: a LanguageModel on a token stream, a
 * Seq2Seq on { sources, targets } pairs, a SequenceClassifier on { sequences, labels }. The loop runs on a worker thread of its own (the
 * model is rebuilt there from its options and weights), progress arrives through callbacks
 * (and an optional progress bar), and an AbortSignal stops it after the current batch. When
 * the promise settles the model holds the trained weights (also after an abort).
 *
 * @example
 * const ids = vocab.encode(text);
 * const result = await fit(lm, ids, {
 *   epochs: 3, batchSize: 32, seqLength: 64, clipGradNorm: 1,
 *   optimizer: { type: 'Adam', lr: 2e-3 },
 *   scheduler: { type: 'CosineAnnealingLR', tMax: 1000 },
 *   onEpoch: (e) => console.log(e.valLoss),
 * });
 */
export function fit(model: LanguageModel, train: Int32Array, options?: FitOptions<Int32Array>): Promise<FitResult>;
export function fit(model: Seq2Seq, train: Seq2SeqData, options?: FitOptions<Seq2SeqData>): Promise<FitResult>;
export function fit(model: SequenceClassifier, train: ClassifierData, options?: FitOptions<ClassifierData>): Promise<FitResult>;
export function fit(model: LanguageModel | Seq2Seq | SequenceClassifier, train: unknown, options: FitOptions<unknown> = {}): Promise<FitResult> {
  const ctx = 'fit';
  const task = taskFor(model);
  if (!task) throw typeError(ctx, 'model', `a model the trainer knows (${taskKinds().join(', ')})`, model);
  const trainData = task.serialize(task.checkData(ctx, model, train, 'train'));
  checkConfigForKind(ctx, task.kind, resolveConfig(ctx, options));
  const { onBatch, onEpoch, onValidation, signal, progress, validationData, ...config } = options;
  if (onBatch !== undefined && typeof onBatch !== 'function') throw typeError(ctx, 'onBatch', 'a function', onBatch);
  if (onEpoch !== undefined && typeof onEpoch !== 'function') throw typeError(ctx, 'onEpoch', 'a function', onEpoch);
  if (onValidation !== undefined && typeof onValidation !== 'function') throw typeError(ctx, 'onValidation', 'a function', onValidation);
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw typeError(ctx, 'signal', 'an AbortSignal', signal);
  const validation = validationData === undefined ? null : task.serialize(task.checkData(ctx, model, validationData, 'validationData'));
  const bar = (progress ?? Boolean(process.stderr.isTTY)) ? new ProgressBar(config.epochs ?? 1) : null;

  const weights: Record<string, { shape: number[]; data: Float32Array }> = {};
  // workerData is structured-cloned: the worker gets its own copy of every array
  for (const [k, t] of Object.entries(model.stateDict())) weights[k] = { shape: t.shape.slice(), data: t.data };
  const abort = new SharedArrayBuffer(4);
  const flag = new Int32Array(abort);
  const seed = config.seed ?? defaultGenerator.nextUint32();

  return new Promise<FitResult>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason ?? new Error('fit: aborted before it started'));
      return;
    }
    const worker = new Worker(workerScript('fit', __dirname, 'train', 'fit-worker'), {
      workerData: { kind: task.kind, options: model.options, weights, train: trainData, validation, config, seed, abort },
    });
    const onAbort = () => Atomics.store(flag, 0, 1);
    signal?.addEventListener('abort', onAbort, { once: true });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    worker.on('message', (msg: { type: string; [k: string]: any }) => {
      if (settled) return; // messages still queued after a rejection reach no callback
      try {
        if (msg.type === 'batch') {
          bar?.batch(msg.info);
          onBatch?.(msg.info);
        } else if (msg.type === 'epoch') {
          bar?.epoch(msg.info);
          onEpoch?.(msg.info);
        } else if (msg.type === 'validation') {
          bar?.validation(msg.info);
          onValidation?.(msg.info);
        } else if (msg.type === 'done') {
          model.loadStateDict(toStateDict(msg.weights));
          if (bar && msg.result.reason !== 'completed') process.stderr.write('\n');
          finish(() => resolve(msg.result));
          void worker.terminate();
        } else if (msg.type === 'error') {
          const Ctor = msg.name === 'TypeError' ? TypeError : msg.name === 'RangeError' ? RangeError : Error;
          const err = new Ctor(msg.message);
          if (msg.weights) model.loadStateDict(toStateDict(msg.weights)); // a numerical fault: the weights before it
          finish(() => reject(err));
          void worker.terminate();
        }
      } catch (err) {
        // a user callback threw: stop training and report it
        Atomics.store(flag, 0, 1);
        finish(() => reject(err));
        void worker.terminate();
      }
    });
    worker.on('error', (err) => finish(() => reject(err)));
    worker.on('exit', (code) => finish(() => reject(new Error(`fit: the training thread exited with code ${code}`))));
  });
}

/** Weights posted by the worker as Tensors (the arrays may come from another realm under jest/vm; Tensor accepts any realm's Float32Array). */
function toStateDict(weights: Record<string, { shape: number[]; data: Float32Array }>): Record<string, Tensor> {
  const sd: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(weights)) sd[k] = new Tensor(t.data, t.shape);
  return sd;
}
