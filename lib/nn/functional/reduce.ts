/** Reductions: over all elements, and the maximum along a dimension. */
import { Tensor, allocLike, allocOut, normalizeDim, product, record, recording } from '../../core/tensor';
import { native } from '../../native/addon';
import { argmax } from '../reductions';
import { checkTensor, FnNode } from './node';

function reduceAll(mean: boolean, xIn: unknown): Tensor {
  const ctx = mean ? 'F.mean' : 'F.sum';
  const x = checkTensor(ctx, 'x', xIn);
  if (mean && x.size === 0) throw new RangeError(`${ctx}: the mean of no elements is undefined (x has shape [${x.shape.join(', ')}])`);
  const out = allocLike(x.data, 1);
  out[0] = native.sum(x.data) / (mean ? x.size : 1);
  const y = Tensor.wrap(out, []);
  if (recording(x)) {
    record(
      new FnNode(mean ? 'MeanBackward' : 'SumBackward', [x], ([g]) => [allocOut(g!, x.size).fill(g![0] / (mean ? x.size : 1))]),
      [y],
    );
  }
  return y;
}

/** The sum of all elements, as a one-element tensor (shape []). Differentiable. @example F.sum(F.mul(x, x)).backward(); */
export function sum(x: Tensor): Tensor {
  return reduceAll(false, x);
}

/** The mean of all elements, as a one-element tensor (shape []). Differentiable. @example const loss = F.mean(errors); */
export function mean(x: Tensor): Tensor {
  return reduceAll(true, x);
}

/**
 * The largest value along `dim` and where it is (torch.max(x, dim)): `values` has x's shape
 * without `dim`, `indices` (an Int32Array in the same order) the position along `dim` of each.
 * The first position wins ties; NaN counts as largest. Differentiable in x: the gradient goes
 * to the chosen position only.
 * @example const { values } = F.max(F.maskedFill(output, padding, -Infinity), 0); // (T, B, H) → (B, H)
 */
export function max(xIn: Tensor, dim: number): { values: Tensor; indices: Int32Array } {
  const ctx = 'F.max';
  const x = checkTensor(ctx, 'x', xIn);
  const d = normalizeDim(ctx, 'dim', dim, x.shape.length);
  const n = x.shape[d];
  if (n === 0) throw new RangeError(`${ctx}: dimension ${d} of x is empty (shape [${x.shape.join(', ')}])`);
  const inner = product(x.shape, d + 1);
  const indices = argmax(x, d); // (outer · inner), x's order with dim removed
  // Each output element's flat position in x: one native gather reads them all, and backward
  // scatters the gradient back to the same places.
  const flat = new Int32Array(indices.length);
  for (let k = 0; k < flat.length; k++) {
    const o = Math.floor(k / inner), i = k - o * inner;
    flat[k] = (o * n + indices[k]) * inner + i;
  }
  const out = allocLike(x.data, flat.length);
  native.gather(out, x.data, flat, 1, x.size, 1);
  const shape = x.shape.slice();
  shape.splice(d, 1);
  const values = Tensor.wrap(out, shape);
  if (recording(x)) {
    record(
      new FnNode('MaxBackward', [x], ([g]) => {
        const dx = allocLike(g!, x.size);
        native.scatterAdd(dx, g!, flat, 1, x.size, 1);
        return [dx];
      }),
      [values],
    );
  }
  return { values, indices };
}
