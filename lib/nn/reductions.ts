/** Non-differentiable helpers on tensors: the index of the largest value. */
import { normalizeDim, product, swapDims, Tensor } from '../core/tensor';
import { typeError } from '../core/validate';
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
  // Make dim the last one, then one pass over rows.
  const last = x.shape.length - 1;
  const rowsMajor = d === last ? x : swapDims(x, d, last);
  const rows = product(x.shape) / n;
  const out = new Int32Array(rows);
  native.argmax(out, rowsMajor.data, rows, n);
  return out;
}
