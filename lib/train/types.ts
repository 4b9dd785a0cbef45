/**
 * Types shared by the training loop (fit-sync.ts) and its checkpoints (checkpoint.ts), kept
 * apart so that neither imports the other's module for them.
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
}
