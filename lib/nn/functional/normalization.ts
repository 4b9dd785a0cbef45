/** Layer normalisation. */
import { Tensor, allocLike, allocOut, product, record, recording } from '../../core/tensor';
import { checkNumber, rangeError, typeError } from '../../core/validate';
import { native } from '../../native/addon';
import { checkTensor, FnNode, keepData, sameShape, shapeString } from './node';

/**
 * Layer normalisation over the trailing dimensions `normalizedShape` (torch.nn.functional.
 * layer_norm): each slice is shifted to mean 0 and scaled to variance 1 (biased estimate, eps
 * added), then multiplied by weight and shifted by bias (both of normalizedShape, optional).
 * Differentiable in x, weight and bias.
 * @example const y = F.layerNorm(x, [H], gamma, beta);
 */
export function layerNorm(xIn: Tensor, normalizedShape: number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  const ctx = 'F.layerNorm';
  const x = checkTensor(ctx, 'x', xIn);
  const what = `a non-empty array of x's trailing dimensions (x has shape ${shapeString(x.shape)})`;
  if (!Array.isArray(normalizedShape)) throw typeError(ctx, 'normalizedShape', what, normalizedShape);
  if (normalizedShape.length === 0 || normalizedShape.length > x.shape.length) throw rangeError(ctx, 'normalizedShape', what, normalizedShape);
  const tail = x.shape.slice(x.shape.length - normalizedShape.length);
  if (!sameShape(tail, normalizedShape))
    throw new RangeError(`${ctx}: normalizedShape ${shapeString(normalizedShape)} must equal x's trailing dimensions, x has shape ${shapeString(x.shape)}`);
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const)
    if (t !== undefined && t !== null) {
      checkTensor(ctx, name, t);
      if (!sameShape(t.shape, normalizedShape)) throw new RangeError(`${ctx}: ${name} must have shape ${shapeString(normalizedShape)}, received ${shapeString(t.shape)}`);
    }
  checkNumber(ctx, 'eps', eps, { min: 0 });
  const n = product(normalizedShape);
  const rows = n === 0 ? 0 : x.size / n;
  const out = allocLike(x.data, x.size);
  const mean = allocLike(x.data, rows), rstd = allocLike(x.data, rows);
  const w = weight ?? null, b = bias ?? null;
  native.layerNorm(out, mean, rstd, x.data, w ? w.data : null, b ? b.data : null, rows, n, eps);
  const y = Tensor.wrap(out, x.shape.slice());
  if (recording(x, w, b)) {
    const saved = keepData(x);
    record(
      new FnNode('LayerNormBackward', [x, w, b], ([g]) => {
        const dx = x.requiresGrad ? allocOut(g!, x.size) : null;
        const dw = w && w.requiresGrad ? allocLike(g!, n) : null;
        const db = b && b.requiresGrad ? allocLike(g!, n) : null;
        native.layerNormBackward(dx, dw, db, g!, saved, mean, rstd, w ? w.data : null, rows, n);
        return [dx, dw, db];
      }),
      [y],
    );
  }
  return y;
}
