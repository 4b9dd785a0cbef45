// Float64 twins for finite-difference gradient checks: tensors and modules whose arrays are
// Float64Array run every op and kernel in double precision (the binding dispatches on the
// array type), so central differences agree with the analytic gradients to ~1e-8.
import { Module, noGrad, Tensor } from '../../lib';
import { Generator } from '../../lib/core/random';

/** A float64 tensor (optionally a leaf that requires grad). */
export function t64(values: ArrayLike<number>, shape: number[], requiresGrad = false): Tensor {
  const t = Tensor.wrap(Float64Array.from(values) as unknown as Float32Array, shape.slice());
  if (requiresGrad) t.requiresGrad = true;
  return t;
}

/** A float64 tensor of uniform values in [-scale, scale) from a seeded generator. */
export function rand64(g: Generator, shape: number[], scale = 1, requiresGrad = false): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return t64(Array.from({ length: n }, () => (2 * g.uniform() - 1) * scale), shape, requiresGrad);
}

/** Converts every parameter of a module to float64 in place (values kept, gradients zeroed). */
export function toFloat64<M extends Module>(m: M): M {
  for (const p of m.parameters()) {
    const w = p as unknown as { data: Float32Array; grad: Float32Array };
    w.data = Float64Array.from(p.data) as unknown as Float32Array;
    w.grad = new Float64Array(p.size) as unknown as Float32Array;
  }
  return m;
}

/**
 * Central differences of the scalar `loss()` with respect to every element of `inputs`,
 * compared with the analytic gradient backward() leaves in their `.grad`: returns the
 * largest |analytic − numeric| / (1 + |numeric|). loss() must build a fresh graph each call.
 */
export function gradcheck(loss: () => Tensor, inputs: Tensor[], eps = 1e-6): number {
  for (const t of inputs) {
    if (!(t.data instanceof Float64Array)) throw new Error('gradcheck: inputs must be float64 (t64 / toFloat64)');
    if (t.grad) t.grad.fill(0);
  }
  loss().backward();
  const analytic = inputs.map((t) => Float64Array.from(t.grad ?? new Float64Array(t.size)));
  let worst = 0;
  inputs.forEach((t, k) => {
    for (let i = 0; i < t.size; i++) {
      const v = t.data[i];
      t.data[i] = v + eps;
      const up = noGrad(() => loss().item());
      t.data[i] = v - eps;
      const down = noGrad(() => loss().item());
      t.data[i] = v;
      const numeric = (up - down) / (2 * eps);
      const err = Math.abs(analytic[k][i] - numeric) / (1 + Math.abs(numeric));
      if (!(err <= worst)) worst = err; // NaN propagates
    }
  });
  return worst;
}
