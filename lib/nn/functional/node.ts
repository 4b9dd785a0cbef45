/**
 * The small pieces every functional op shares: a node whose backward is a closure, and the
 * checks of tensor arguments. (Internal to the package.)
 */
import { BackwardInfo, Node } from '../../core/autograd';
import { Parameter, Tensor } from '../../core/tensor';
import { shapeString, typeError } from '../../core/validate';

export type Grad = Float32Array | null | undefined;

/** A recorded op whose backward is `fn` (gradients of the outputs → gradients of the inputs). */
export class FnNode extends Node {
  constructor(
    name: string,
    inputs: ReadonlyArray<Tensor | null | undefined>,
    private fn: ((g: Array<Float32Array | null>, info: BackwardInfo) => Grad[]) | null,
    outputs = 1,
  ) {
    super(name, inputs, outputs);
  }
  protected backward(g: Array<Float32Array | null>, info: BackwardInfo): Grad[] {
    return this.fn!(g, info);
  }
  protected release(): void {
    this.fn = null; // drops what the closure kept
  }
}

/** A Tensor argument, or a TypeError naming it. */
export function checkTensor(ctx: string, name: string, value: unknown): Tensor {
  if (!(value instanceof Tensor)) throw typeError(ctx, name, 'a Tensor', value);
  return value;
}

/** Two tensors of one element type (float32, or float64 in the gradient checks). */
export function checkSameDtype(ctx: string, a: Tensor, b: Tensor, names = ['a', 'b']): void {
  if ((a.data instanceof Float64Array) !== (b.data instanceof Float64Array))
    throw new TypeError(`${ctx}: ${names[0]} and ${names[1]} must have the same element type`);
}

/**
 * The data an op keeps for its backward: op outputs and parameters by reference (PyTorch
 * forbids changing them in place before backward; so do we), anything else — a caller's own
 * array — as a copy, so that changing it after the call cannot change the gradients.
 */
export function keepData(t: Tensor): Float32Array {
  return t.gradFn !== null || t instanceof Parameter ? t.data : t.data.slice();
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export { shapeString };
