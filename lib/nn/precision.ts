/**
 * Lower-precision weights for inference (opt-in; float32 stays the default and keeps PyTorch
 * parity). 'bf16': weights rounded to bfloat16 (and, on CPUs with AVX512-BF16, activations
 * too, with vdpbf16ps products); 'int8': dynamic quantization — int8 weights with a scale per
 * row, activations quantized per row at run time, exact integer products (AVX512-VNNI where
 * present). The copies are made when the precision is set, from the float32 weights as they
 * are then. (Internal to the package.)
 */
import type { WeightFormatCode } from '../../binding';
import { native } from '../native/addon';
import { checkOneOf } from '../core/validate';

/** The inference precision of a layer or model. */
export type Precision = 'float32' | 'bf16' | 'int8';
export const PRECISIONS = ['float32', 'bf16', 'int8'] as const;
export const FORMAT_CODE: Readonly<Record<Precision, WeightFormatCode>> = { float32: 0, bf16: 1, int8: 2 };

/** A weight matrix (N, K) in a precision: the data, and for int8 its per-row scales and sums. */
export interface PrecisionMatrix {
  w: Float32Array | Uint16Array | Int8Array;
  scale: Float32Array | null;
  sum: Int32Array | null;
}

export function checkPrecision(ctx: string, value: unknown): Precision {
  return checkOneOf(ctx, 'precision', value, PRECISIONS);
}

/** The matrix w (N, K) in precision p (float32: w itself, not a copy). */
export function convertMatrix(p: Precision, w: Float32Array, N: number, K: number): PrecisionMatrix {
  if (p === 'float32') return { w, scale: null, sum: null };
  if (p === 'bf16') {
    const out = new Uint16Array(w.length);
    native.convertBf16(w, out);
    return { w: out, scale: null, sum: null };
  }
  const q = new Int8Array(w.length), scale = new Float32Array(N), sum = new Int32Array(N);
  native.quantizeInt8(w, N, K, q, scale, sum);
  return { w: q, scale, sum };
}

/** The kernel a precision's products run on here ('avx512f', 'avx512bf16', 'avx512vnni' or 'portable'). */
export function precisionKernel(p: Precision): string {
  return native.rowDotIsa(FORMAT_CODE[p]);
}
