/**
 * Zeroed Float32Arrays whose data starts on a 64-byte boundary (one cache line, one AVX-512
 * vector). Node's backing stores come from malloc with 16-byte alignment; the kernels read
 * weight rows with 64-byte loads, and rows that start mid-line stream ~20 % slower from cache
 * (one-step inference, bench/NOTES.md §8). Parameters and their gradients use these; any
 * other Float32Array still works, just without the guarantee. (Internal to the package.)
 */
import { native } from '../native/addon';

/** Arrays shorter than this are not worth the 60 spare bytes. */
const MIN_ALIGNED_LENGTH = 64;

export function alignedFloat32Array(length: number): Float32Array {
  if (length < MIN_ALIGNED_LENGTH) return new Float32Array(length);
  // An explicit ArrayBuffer always lives outside V8's heap, so its data never moves.
  const buffer = new ArrayBuffer(length * 4 + 60);
  const skip = native.alignmentSkip(buffer);
  return new Float32Array(buffer, skip % 4 === 0 ? skip : 0, length);
}
