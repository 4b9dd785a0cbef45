/** Parameter initialisation with PyTorch's default distributions. (Internal to the package.) */
import { alignedFloat32Array } from '../core/aligned';
import { defaultGenerator, Generator } from '../core/random';

export function uniform(n: number, bound: number, g: Generator = defaultGenerator): Float32Array {
  return g.fillUniform(alignedFloat32Array(n), -bound, bound);
}

/** Standard normal samples (Box–Muller), as nn.Embedding's N(0, 1). */
export function normal(n: number, g: Generator = defaultGenerator): Float32Array {
  const out = alignedFloat32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = 1 - g.uniform(); // (0, 1]
    const u2 = g.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}
