/** Non-differentiable helpers on tensors: the index of the largest value, the k largest. */
import { normalizeDim, product, Tensor } from '../core/tensor';
import { checkInteger, typeError } from '../core/validate';
import { native } from '../native/addon';

/**
 * The index of the largest value along `dim` (default the last), as torch.argmax: an
 * Int32Array of x.size / x.shape[dim] entries, in x's order with `dim` removed. The first
 * index wins ties; NaN counts as largest.
 * @example const predicted = argmax(logits); // logits (N, C) → Int32Array(N)
 */
export function argmax(x: Tensor, dim = -1): Int32Array {
  const ctx = 'argmax';
  if (!(x instanceof Tensor)) throw typeError(ctx, 'x', 'a Tensor', x);
  const d = normalizeDim(ctx, 'dim', dim, x.shape.length);
  const n = x.shape[d];
  if (n === 0) throw new RangeError(`${ctx}: dimension ${d} of x is empty`);
  // Move dim to the end, the other dims keeping their order: x viewed as (outer, n, inner)
  // becomes (outer, inner, n) (swapping dim d with the last would reorder the dims between
  // them), then one pass over rows.
  const outer = product(x.shape, 0, d), inner = product(x.shape, d + 1);
  let rowsMajor = x.data;
  if (inner > 1) {
    rowsMajor = new (x.data.constructor as new (n: number) => Float32Array)(x.size);
    native.swapDims(rowsMajor, x.data, outer, n, inner, 1, 1);
  }
  const out = new Int32Array(outer * inner);
  native.argmax(out, rowsMajor, outer * inner, n);
  return out;
}

/**
 * The k largest values of each row over the last dimension, descending (torch.topk with
 * sorted=True): values (rows, k) as a tensor of shape [...x.shape without the last, k], and
 * their indices in the last dimension. Ties keep the lower index first; NaN counts as largest.
 * @example const { values, indices } = topk(logProbs, 5); // (N, V) → (N, 5)
 */
export function topk(x: Tensor, k: number): { values: Tensor; indices: Int32Array } {
  const ctx = 'topk';
  if (!(x instanceof Tensor)) throw typeError(ctx, 'x', 'a Tensor', x);
  if (x.shape.length === 0) throw new RangeError(`${ctx}: x must have at least one dimension`);
  const n = x.shape[x.shape.length - 1];
  checkInteger(ctx, 'k', k, 1, Math.max(1, n));
  if (n === 0) throw new RangeError(`${ctx}: the last dimension of x is empty`);
  const rows = x.size / n;
  const values = x.data instanceof Float64Array ? (new Float64Array(rows * k) as unknown as Float32Array) : new Float32Array(rows * k);
  const indices = new Int32Array(rows * k);
  native.topk(values, indices, x.data, rows, n, k);
  return { values: Tensor.wrap(values, [...x.shape.slice(0, -1), k]), indices };
}
