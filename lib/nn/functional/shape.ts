/** Joining, slicing and gathering along a dimension. */
import { Tensor, allocLike, allocOut, normalizeDim, product, record, recording } from '../../core/tensor';
import { checkInt32Array, checkInteger, rangeError, typeError } from '../../core/validate';
import { native } from '../../native/addon';
import { checkSameDtype, checkTensor, FnNode, shapeString } from './node';

/**
 * The tensors joined along `dim` (negative counts from the end), as torch.cat: every other
 * dimension must match. Differentiable in each.
 * @example const both = F.cat([context, hidden], -1); // (B, T, 2H) and (B, T, H) → (B, T, 3H)
 */
export function cat(tensors: Tensor[], dim: number): Tensor {
  const ctx = 'F.cat';
  if (!Array.isArray(tensors)) throw typeError(ctx, 'tensors', 'a non-empty array of Tensors', tensors);
  if (tensors.length === 0) throw rangeError(ctx, 'tensors', 'a non-empty array of Tensors', tensors);
  tensors.forEach((t, i) => checkTensor(ctx, `tensors[${i}]`, t));
  const first = tensors[0];
  const r = first.shape.length;
  const d = normalizeDim(ctx, 'dim', dim, r);
  tensors.forEach((t, i) => {
    checkSameDtype(ctx, first, t, ['tensors[0]', `tensors[${i}]`]);
    const ok = t.shape.length === r && t.shape.every((s, k) => k === d || s === first.shape[k]);
    if (!ok)
      throw new RangeError(
        `${ctx}: tensors[${i}] has shape ${shapeString(t.shape)}, which does not match tensors[0] ${shapeString(first.shape)} outside dim ${d}`,
      );
  });
  const outer = product(first.shape, 0, d), inner = product(first.shape, d + 1);
  const total = tensors.reduce((n, t) => n + t.shape[d], 0);
  const shape = first.shape.slice();
  shape[d] = total;
  const out = allocLike(first.data, outer * total * inner);
  const offsets: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    offsets.push(offset);
    native.copyBlock(out, offset * inner, total * inner, t.data, 0, t.shape[d] * inner, outer, t.shape[d] * inner, false);
    offset += t.shape[d];
  }
  const y = Tensor.wrap(out, shape);
  if (recording(...tensors)) {
    record(
      new FnNode('CatBackward', tensors, ([g]) =>
        tensors.map((t, i) => {
          if (!t.requiresGrad) return null;
          const dx = allocOut(g!, t.size);
          native.copyBlock(dx, 0, t.shape[d] * inner, g!, offsets[i] * inner, total * inner, outer, t.shape[d] * inner, false);
          return dx;
        }),
      ),
      [y],
    );
  }
  return y;
}

/**
 * The tensors stacked along a new dimension `dim` (torch.stack): all of one shape.
 * @example const steps = F.stack(hs, 0); // T tensors (B, H) → (T, B, H)
 */
export function stack(tensors: Tensor[], dim: number): Tensor {
  const ctx = 'F.stack';
  if (!Array.isArray(tensors)) throw typeError(ctx, 'tensors', 'a non-empty array of Tensors', tensors);
  if (tensors.length === 0) throw rangeError(ctx, 'tensors', 'a non-empty array of Tensors', tensors);
  tensors.forEach((t, i) => checkTensor(ctx, `tensors[${i}]`, t));
  const base = tensors[0].shape;
  const d = normalizeDim(ctx, 'dim', dim, base.length + 1);
  tensors.forEach((t, i) => {
    checkSameDtype(ctx, tensors[0], t, ['tensors[0]', `tensors[${i}]`]);
    if (t.shape.length !== base.length || t.shape.some((s, k) => s !== base[k]))
      throw new RangeError(`${ctx}: tensors[${i}] has shape ${shapeString(t.shape)}, not tensors[0]'s ${shapeString(base)}`);
  });
  const unsqueezed = base.slice();
  unsqueezed.splice(d, 0, 1);
  return cat(tensors.map((t) => t.reshape(unsqueezed)), d);
}

/**
 * The slice [start, start + length) of dimension `dim` (torch.narrow; a copy). Differentiable.
 * @example const last = F.narrow(output, 0, T - 1, 1); // the last time step, (1, B, H)
 */
export function narrow(xIn: Tensor, dim: number, start: number, length: number): Tensor {
  const ctx = 'F.narrow';
  const x = checkTensor(ctx, 'x', xIn);
  const d = normalizeDim(ctx, 'dim', dim, x.shape.length);
  const size = x.shape[d];
  checkInteger(ctx, 'start', start, 0, size);
  checkInteger(ctx, 'length', length, 0, size - start);
  const outer = product(x.shape, 0, d), inner = product(x.shape, d + 1);
  const shape = x.shape.slice();
  shape[d] = length;
  const out = allocLike(x.data, outer * length * inner);
  native.copyBlock(out, 0, length * inner, x.data, start * inner, size * inner, outer, length * inner, false);
  const y = Tensor.wrap(out, shape);
  if (recording(x)) {
    record(
      new FnNode('NarrowBackward', [x], ([g]) => {
        const dx = allocLike(g!, x.size);
        native.copyBlock(dx, start * inner, size * inner, g!, 0, length * inner, outer, length * inner, false);
        return [dx];
      }),
      [y],
    );
  }
  return y;
}

/**
 * The entries `index` of dimension `dim` (torch.index_select; repeats allowed, their
 * gradients summed). Differentiable in x.
 * @example const rows = F.indexSelect(table, 0, Int32Array.of(3, 1, 3));
 */
export function indexSelect(xIn: Tensor, dim: number, index: Int32Array): Tensor {
  const ctx = 'F.indexSelect';
  const x = checkTensor(ctx, 'x', xIn);
  const d = normalizeDim(ctx, 'dim', dim, x.shape.length);
  checkInt32Array(ctx, 'index', index);
  const n = x.shape[d];
  const idx = index.slice();
  for (let i = 0; i < idx.length; i++) if (idx[i] < 0 || idx[i] >= n) throw rangeError(ctx, `index[${i}]`, `an index in [0, ${n})`, idx[i]);
  const outer = product(x.shape, 0, d), inner = product(x.shape, d + 1);
  const shape = x.shape.slice();
  shape[d] = idx.length;
  const out = allocLike(x.data, outer * idx.length * inner);
  native.gather(out, x.data, idx, outer, n, inner);
  const y = Tensor.wrap(out, shape);
  if (recording(x)) {
    record(
      new FnNode('IndexSelectBackward', [x], ([g]) => {
        const dx = allocLike(g!, x.size);
        native.scatterAdd(dx, g!, idx, outer, n, inner);
        return [dx];
      }),
      [y],
    );
  }
  return y;
}
