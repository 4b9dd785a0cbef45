/** Reductions over all elements. */
import { Tensor, allocLike, allocOut, record, recording } from '../../core/tensor';
import { native } from '../../native/addon';
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
