import { checkInteger, MAX_ELEMENTS, rangeError, shapeString, typeError } from './validate';
import { alignedFloat32Array } from './aligned';

/**
 * True for a Float32Array of any realm (worker threads and vm contexts have their own
 * constructors, so `instanceof` is not enough).
 * @internal
 */
export function isFloat32Array(value: unknown): value is Float32Array {
  return value instanceof Float32Array || (ArrayBuffer.isView(value) && Object.prototype.toString.call(value) === '[object Float32Array]');
}

/**
 * A dense, row-major, contiguous float32 array with a shape.
 *
 * @example
 * const x = new Tensor(new Float32Array(6), [2, 3]); // the Float32Array is kept, not copied
 * const y = new Tensor([1, 2, 3, 4], [2, 2]);         // a number[] is copied into a Float32Array
 */
export class Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
  readonly size: number;

  constructor(data: Float32Array | number[], shape: number[]) {
    if (!Array.isArray(shape)) throw typeError('Tensor', 'shape', 'an array of non-negative integers', shape);
    // Checked inline, the message built only on failure: every kernel call makes tensors.
    const dims = new Array<number>(shape.length);
    let size = 1;
    for (let i = 0; i < shape.length; i++) {
      const d = shape[i];
      if (!(Number.isInteger(d) && d >= 0 && d <= MAX_ELEMENTS)) checkInteger('Tensor', `shape[${i}]`, d, 0, MAX_ELEMENTS);
      dims[i] = d;
      size *= d;
    }
    if (size > MAX_ELEMENTS) throw rangeError('Tensor', 'shape', `at most ${MAX_ELEMENTS} elements in all`, shape);
    let array: Float32Array;
    if (isFloat32Array(data)) array = data;
    else if (Array.isArray(data)) array = Float32Array.from(data);
    else throw typeError('Tensor', 'data', 'a Float32Array or number[]', data);
    if (array.length !== size)
      throw new RangeError(
        `Tensor: data has ${array.length} elements but shape ${shapeString(dims)} needs ${size}`,
      );
    this.data = array;
    this.shape = Object.freeze(dims);
    this.size = size;
  }

  /**
   * A tensor of zeros.
   * @example const h0 = Tensor.zeros([1, 4, 16]);
   */
  static zeros(shape: number[]): Tensor {
    if (!Array.isArray(shape)) throw typeError('Tensor.zeros', 'shape', 'an array of non-negative integers', shape);
    let size = 1;
    for (let i = 0; i < shape.length; i++) size *= checkInteger('Tensor.zeros', `shape[${i}]`, shape[i], 0, MAX_ELEMENTS);
    if (size > MAX_ELEMENTS) throw rangeError('Tensor.zeros', 'shape', `at most ${MAX_ELEMENTS} elements in all`, shape);
    return new Tensor(new Float32Array(size), shape);
  }

  /** The same data viewed with another shape of equal size (no copy). */
  reshape(shape: number[]): Tensor {
    return new Tensor(this.data, shape);
  }
}

/**
 * A trainable tensor: `grad` has the same length as `data`; backward passes ADD into it
 * until `zeroGrad()`.
 *
 * @example
 * const w = new Parameter(new Float32Array(12), [3, 4]);
 * w.grad.fill(0);
 */
export class Parameter extends Tensor {
  grad: Float32Array;

  constructor(data: Float32Array | number[], shape: number[]) {
    super(data, shape);
    this.grad = alignedFloat32Array(this.size);
  }

  /** Sets the gradient to zero. */
  zeroGrad(): void {
    this.grad.fill(0);
  }
}

/** Checks that a value is a Tensor whose shape equals `expected` (labels name the dims). */
export function checkTensorShape(
  context: string,
  name: string,
  value: unknown,
  expected: readonly number[],
  labels?: string,
): Tensor {
  if (!(value instanceof Tensor)) throw typeError(context, name, 'a Tensor', value);
  const ok = value.shape.length === expected.length && value.shape.every((d, i) => d === expected[i]);
  if (!ok)
    throw new RangeError(
      `${context}: ${name} must have shape ${shapeString(expected)}${labels ? ` ${labels}` : ''}, received shape ${shapeString(value.shape)}`,
    );
  return value;
}
