/** Masked fill and dropout. */
import { defaultGenerator } from '../../core/random';
import { Tensor, allocLike, allocOut, record, recording } from '../../core/tensor';
import { checkBoolean, checkNumber, typeError } from '../../core/validate';
import { native } from '../../native/addon';
import { checkTensor, FnNode } from './node';

/**
 * x with the elements where `mask` is 1 replaced by `value` (±Infinity allowed: −Infinity
 * before a softmax masks a position out). `mask` is a Uint8Array of x.size elements, row-major
 * like x (0 keeps, 1 replaces). Differentiable in x (the replaced elements get no gradient).
 *
 * @example
 * const masked = F.maskedFill(scores, padding, -Infinity); // padding: Uint8Array(B·Tq·Ts)
 */
export function maskedFill(xIn: Tensor, mask: Uint8Array, value: number): Tensor {
  const ctx = 'F.maskedFill';
  const x = checkTensor(ctx, 'x', xIn);
  if (!(mask instanceof Uint8Array)) throw typeError(ctx, 'mask', `a Uint8Array of ${x.size} elements (x.size)`, mask);
  if (mask.length !== x.size)
    throw new RangeError(`${ctx}: mask must have ${x.size} elements (one per element of x), received ${mask.length}`);
  checkNumber(ctx, 'value', value, { finite: false });
  const keep = mask.slice(); // a later change to the caller's mask must not change the gradient
  const out = allocLike(x.data, x.size);
  native.maskedFill(out, x.data, keep, value);
  const y = Tensor.wrap(out, x.shape.slice());
  if (recording(x)) {
    record(
      new FnNode('MaskedFillBackward', [x], ([g]) => {
        const dx = allocOut(g!, g!.length);
        native.maskedFill(dx, g!, keep, 0);
        return [dx];
      }),
      [y],
    );
  }
  return y;
}

/**
 * Inverted dropout: in training, each element is zeroed with probability p and the others
 * scaled by 1 / (1 − p); otherwise x itself is returned. Seeded by the default generator
 * (manualSeed). Differentiable.
 * @example const h = F.dropout(x, 0.3, model.training);
 */
export function dropout(xIn: Tensor, p: number, training: boolean): Tensor {
  const ctx = 'F.dropout';
  const x = checkTensor(ctx, 'x', xIn);
  checkNumber(ctx, 'p', p, { min: 0, max: 1 });
  checkBoolean(ctx, 'training', training);
  if (!training || p === 0) return x;
  const mask = allocLike(x.data, x.size);
  native.dropoutMask(mask, p, defaultGenerator.nextUint32(), defaultGenerator.nextUint32());
  const out = allocLike(x.data, x.size);
  native.binary(2, out, x.data, mask);
  const y = Tensor.wrap(out, x.shape.slice());
  if (recording(x)) {
    record(
      new FnNode('DropoutBackward', [x], ([g]) => {
        const dx = allocOut(g!, g!.length);
        native.binary(2, dx, g!, mask);
        return [dx];
      }),
      [y],
    );
  }
  return y;
}
