/**
 * The messages between Seq2Seq.translateAsync (seq2seq-async.ts) and its worker thread
 * (seq2seq-worker.ts). (Internal to the package.)
 */
import type { Precision } from '../nn/precision';
import type { DecodeOptions } from './decode-options';

/** One request of a job: maxLength is its limit when it may share a batch (greedy, beam), else null. */
export interface TranslatePart {
  sources: Int32Array[];
  opts: DecodeOptions | undefined;
  maxLength: number | null;
}

/** A job; `weights` (name → flat data) comes only when they changed since the last one; the model's precision at the calls. */
export interface TranslateJob {
  id: number;
  parts: TranslatePart[];
  weights?: Record<string, Float32Array>;
  precision: Precision;
}

/** outputs[i]: the outputs of parts[i]. */
export type TranslateReply =
  | { id: number; outputs: Int32Array[][] }
  | { id: number; error: { name: string; message: string; stack?: string } };
