/** Softmax and log-softmax along a dimension. */
import { Tensor, allocLike, allocOut, normalizeDim, product, record, recording } from '../../core/tensor';
import { native } from '../../native/addon';
import { checkTensor, FnNode } from './node';

function softmaxLike(log: boolean, xIn: unknown, dim: unknown): Tensor {
  const ctx = log ? 'F.logSoftmax' : 'F.softmax';
  const x = checkTensor(ctx, 'x', xIn);
  const d = normalizeDim(ctx, 'dim', dim, x.shape.length);
  const outer = product(x.shape, 0, d), n = x.shape[d], inner = product(x.shape, d + 1);
  const out = allocLike(x.data, x.size);
  native.softmax(log, out, x.data, outer, n, inner);
  const y = Tensor.wrap(out, x.shape.slice());
  if (recording(x)) {
    record(
      new FnNode(log ? 'LogSoftmaxBackward' : 'SoftmaxBackward', [x], ([g]) => {
        const dx = allocOut(g!, g!.length);
        native.softmaxBackward(log, dx, g!, out, outer, n, inner);
        return [dx];
      }),
      [y],
    );
  }
  return y;
}

/**
 * exp(x) / Σ exp(x) along `dim` (negative counts from the end). −Infinity entries (a masked
 * position) get probability 0. Differentiable.
 * @example const attn = F.softmax(F.maskedFill(scores, padMask, -Infinity), -1);
 */
export function softmax(x: Tensor, dim: number): Tensor {
  return softmaxLike(false, x, dim);
}

/** log(softmax(x)) along `dim`, computed stably. Differentiable. @example const logp = F.logSoftmax(logits, -1); */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return softmaxLike(true, x, dim);
}
