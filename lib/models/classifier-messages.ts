/**
 * The messages between SequenceClassifier.predictProbaAsync (classifier-async.ts) and its
 * worker thread (classifier-worker.ts). (Internal to the package.)
 */

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
