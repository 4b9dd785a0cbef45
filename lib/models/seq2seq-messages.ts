/**
 * The messages between Seq2Seq.translateAsync (seq2seq-async.ts) and its worker thread
 * (seq2seq-worker.ts). (Internal to the package.)
 */
import type { DecodeOptions } from './decode-options';

/** A translate request; `weights` (name → flat data) comes only when they changed since the last one. */
export interface TranslateRequest {
  id: number;
  sources: Int32Array[];
  opts: DecodeOptions | undefined;
  weights?: Record<string, Float32Array>;
}

export type TranslateReply =
  | { id: number; outputs: Int32Array[] }
  | { id: number; error: { name: string; message: string; stack?: string } };
