import type { Parameter } from '../core/tensor';

/**
 * Types shared by the training loop (loop.ts), its callers and its checkpoints, kept apart so
 * that none imports another's module for them.
 */

/** What `onEpoch` receives and `FitResult.epochs` holds, one per epoch. */
export interface EpochInfo {
  epoch: number;
  trainLoss: number;
  valLoss: number;
  perplexity: number;
  bitsPerToken: number;
  lr: number;
  seconds: number;
  /** The run stopped inside this epoch (maxSeconds / maxBatches). */
  partial?: boolean;
  /** What the model kind measures on the validation data besides the loss (e.g. accuracy). */
  metrics?: Record<string, number>;
}


export interface BatchInfo {
  epoch: number;
  batch: number;
  batchesPerEpoch: number;
  step: number;
  loss: number;
  lr: number;
  tokensPerSecond: number;
  gradNorm?: number;
  /** The step was skipped (nonFinite: 'skip'): no optimizer step; its loss is not in the epoch's. */
  skipped?: boolean;
  /** What was non-finite in a skipped step: "loss" or "gradient of <parameter name>". */
  nonFinite?: string;
  /** With detectAnomaly, the first module whose output or gradient was non-finite. */
  anomaly?: string;
}
export interface ValidationInfo {
  step: number;
  epoch: number;
  valLoss: number;
  perplexity: number;
  bitsPerToken: number;
  /** What the model kind measures besides the loss (e.g. accuracy). */
  metrics?: Record<string, number>;
}
/** What the gradient hook receives, after backward and before clipping and the optimizer step. */
export interface GradientInfo {
  step: number;
  epoch: number;
  /** The model's parameters by name; their `.grad` may be read and changed. */
  parameters: Array<[string, Parameter]>;
}
export interface FitResult {
  epochs: EpochInfo[];
  steps: number;
  stoppedEarly: boolean;
  aborted: boolean;
  bestValLoss: number;
  /** Why the run ended: 'completed', 'early-stopping', 'aborted', 'max-seconds', 'max-batches'. */
  reason: string;
  /** Steps skipped because their loss or a gradient was non-finite (nonFinite: 'skip'). */
  skippedSteps: number;
}
export interface TrainingHooks {
  onBatch?(info: BatchInfo): void;
  onEpoch?(info: EpochInfo): void;
  /** Called every `validateEvery` batches with the validation loss. */
  onValidation?(info: ValidationInfo): void;
  /** Polled between batches; true stops the run after the current batch. */
  shouldStop?(): boolean;
  /**
   * The gradient hook: called after each step's backward, before the non-finite check, the
   * clipping and the optimizer step (fitSync only: fit's loop runs on another thread).
   */
  onGradients?(info: GradientInfo): void;
}

