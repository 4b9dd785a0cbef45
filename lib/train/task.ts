/**
 * What the training loop (loop.ts) needs from a kind of model: how its data becomes batches,
 * how a batch becomes a loss, how it is validated, and what a checkpoint keeps besides the
 * weights. One TrainingTask per model kind (language model, encoder–decoder, classifier),
 * registered by kind so that a worker thread can rebuild the model and its task from plain
 * data (fit() runs there).
 */
import type { Module } from '../nn/module';
import type { Tensor } from '../core/tensor';
import type { ParameterLayout } from '../io/model-layout';
import type { SafetensorsEntry } from '../io/safetensors';
import type { ResolvedConfig } from './config';
import type { Shard } from './data-parallel';

/** A model the trainer can train: a Module with JSON options (rebuilt from them in a worker). */
export interface TrainableModel extends Module {
  readonly options: object;
}

/** What one batch reports after its loss was computed. */
export interface BatchLoss {
  /** The batch's mean loss. */
  value: number;
  /** How many units (tokens, examples) the mean is over: the epoch's loss is averaged by them. */
  count: number;
  /** Backpropagates the loss into every parameter's `.grad` (not called for a non-finite loss). */
  backward(): void;
}

/** The BatchLoss of a differentiable one-element loss tensor. @internal */
export function lossOf(loss: Tensor, count: number): BatchLoss {
  return { value: loss.item(), count, backward: () => loss.backward() };
}

/** A task bound to a model and its data for one run. */
export interface PreparedTask<Batch> {
  /** Batches per epoch (fixed for the run). */
  readonly batchesPerEpoch: number;
  /**
   * Called when an epoch starts (fresh: reset what is carried across batches) or when a run
   * resumes inside it (fresh false: a checkpoint restored the carried state). The batch order
   * of an epoch must depend only on the epoch (and the run's seed), so that a resumed run
   * continues it.
   */
  startEpoch(epoch: number, fresh: boolean): void;
  /** The current epoch's batch at index i. */
  batch(i: number): Batch;
  /** Forward in training mode and the loss. */
  loss(batch: Batch): BatchLoss;
  /** After the loss of a step whose loss or gradients were non-finite and skipped (LM: restart streams). */
  afterSkip?(): void;
  /** Validation: mean loss per unit (NaN without validation data) and optional metrics. */
  validate(): { loss: number; metrics?: Record<string, number> };
  /** The tensors a checkpoint keeps besides the model (LM: the carried state). */
  saveState?(): Record<string, Tensor>;
  /** Checks a checkpoint's state tensors before anything is applied; `mismatch` is for a resume with other settings. */
  checkState?(entries: readonly SafetensorsEntry[], damaged: (msg: string) => never, mismatch: (msg: string) => never): void;
  /** Restores the checkpoint's state tensors. */
  loadState?(tensors: Record<string, Tensor>): void;
  /** detectAnomaly: re-runs a failing batch module by module and names the first non-finite one. */
  diagnose?(batch: Batch, rngBefore: number[] | null): string;
}

/** A kind of model and how to train it. */
export interface TrainingTask<M extends TrainableModel = TrainableModel, Data = unknown> {
  /** The kind's name (fit's worker rebuilds the model and task from it). */
  readonly kind: string;
  /** Whether `model` is of this kind. */
  owns(model: unknown): model is M;
  /** A model of this kind from its options (the worker side). */
  build(options: object): M;
  /** The parameters a model with these options has (checkpoints check their files against it). */
  layout(model: M): ParameterLayout;
  /** Checks the data of a run (TypeError / RangeError naming what is wrong); returns it as the task reads it. */
  checkData(ctx: string, model: M, data: unknown, name: string): Data;
  /** The data in a form that crosses to a worker thread (typed arrays, plain objects). */
  serialize(data: Data): unknown;
  deserialize(raw: unknown): Data;
  /**
   * Binds the task to a model, its training data and (optional) validation data for one run.
   * With a shard (data-parallel), every rank gets the same data and the same batch size B:
   * the task forms the global batches of one process with batch size worldSize × B and this
   * rank trains on its rank-th share of each (its BatchLoss.count may be 0 when a last batch
   * has fewer examples than ranks); validation runs on the global batches.
   */
  prepare(ctx: string, model: M, train: Data, validation: Data | null, cfg: ResolvedConfig, shard?: Shard): PreparedTask<unknown>;
  /** Splits the last `fraction` of the training data off for validation when none is given. */
  split(data: Data, fraction: number): { train: Data; validation: Data };
}

const tasks = new Map<string, TrainingTask<any, any>>();

/** Registers a task (each model kind does, when its module loads). @internal */
export function registerTask(task: TrainingTask<any, any>): void {
  tasks.set(task.kind, task);
}

/** The task of a model, or undefined. @internal */
export function taskFor(model: unknown): TrainingTask<any, any> | undefined {
  for (const t of tasks.values()) if (t.owns(model)) return t;
  return undefined;
}

/** The task of a kind, or undefined. @internal */
export function taskByKind(kind: string): TrainingTask<any, any> | undefined {
  return tasks.get(kind);
}

/** The kinds registered, for messages. @internal */
export function taskKinds(): string[] {
  return [...tasks.keys()];
}
