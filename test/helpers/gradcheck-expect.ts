// Assertions around gradcheck (float64.ts): a weighted-sum loss that makes every output
// element matter, an expectation that also keeps the worst error per test for the summary
// printed with GRADCHECK_REPORT=1, and a central-difference gradient of one tensor for the
// cases gradcheck cannot take whole (an embedding's padding row).
import { functional as F, noGrad, Tensor } from '../../lib';
import { Generator } from '../../lib/core/random';
import { gradcheck, rand64 } from './float64';

/** Σ y ⊙ w: a scalar whose gradient with respect to y is w (a fixed random direction). */
export function dot(y: Tensor, w: Tensor): Tensor {
  return F.sum(F.mul(y, w));
}

/** A float64 tensor shaped like y with fixed random weights, for dot(). */
export function weightsLike(g: Generator, y: Tensor): Tensor {
  return rand64(g, y.shape.slice(), 1);
}

const worst: Array<[string, number]> = [];

/** gradcheck(loss, inputs) below `tolerance`, kept for the summary under `label`. */
export function expectGradcheck(label: string, loss: () => Tensor, inputs: Tensor[], tolerance = 1e-7): number {
  const err = gradcheck(loss, inputs);
  worst.push([label, err]);
  if (!(err < tolerance)) throw new Error(`${label}: gradcheck error ${err} is not below ${tolerance}`);
  return err;
}

/** The recorded errors, largest first. */
export function gradcheckErrors(): Array<[string, number]> {
  return worst.slice().sort((a, b) => b[1] - a[1]);
}

/** Prints the largest errors when GRADCHECK_REPORT is set (call from afterAll). */
export function reportGradcheckErrors(top = 10): void {
  if (!process.env.GRADCHECK_REPORT) return;
  const list = gradcheckErrors();
  // eslint-disable-next-line no-console
  console.log(`${list.length} gradchecks; largest errors:\n${list.slice(0, top).map(([l, e]) => `  ${e.toExponential(2)}  ${l}`).join('\n')}`);
}

/** Central differences of loss() with respect to every element of t (t's data is restored). */
export function numericGradient(loss: () => Tensor, t: Tensor, eps = 1e-6): Float64Array {
  const out = new Float64Array(t.size);
  for (let i = 0; i < t.size; i++) {
    const v = t.data[i];
    t.data[i] = v + eps;
    const up = noGrad(() => loss().item());
    t.data[i] = v - eps;
    const down = noGrad(() => loss().item());
    t.data[i] = v;
    out[i] = (up - down) / (2 * eps);
  }
  return out;
}

/** The largest |a − b| / (1 + |b|), gradcheck's measure. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relativeError: lengths ${a.length} and ${b.length} differ`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i]));
    if (!(e <= m)) m = e;
  }
  return m;
}
