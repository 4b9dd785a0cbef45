import { markAsUntransferable } from 'node:worker_threads';
import { native } from '../native/addon';
import { Node, runBackward } from './autograd';
import { allocOverwritten, allocZeroed, inBackwardScope } from './buffer-pool';
import { isGradEnabled } from './grad-mode';
import { defaultGenerator, Generator } from './random';
import { checkBoolean, checkInteger, checkKnownOptions, checkOptions, MAX_ELEMENTS, rangeError, shapeString, typeError } from './validate';
import { alignedFloat32Array } from './aligned';

/**
 * True for a Float32Array of any realm (worker threads and vm contexts have their own
 * constructors, so `instanceof` is not enough).
 * @internal
 */
function isFloat32Array(value: unknown): value is Float32Array {
  return value instanceof Float32Array || (ArrayBuffer.isView(value) && Object.prototype.toString.call(value) === '[object Float32Array]');
}

/**
 * A zeroed array of `like`'s element type (float32; float64 inside the gradient checks): new,
 * or from the pool while a backward pass runs (see buffer-pool.ts). @internal
 */
export function allocLike(like: Float32Array, n: number): Float32Array {
  return allocZeroed(like, n);
}

/** allocLike for an array a kernel writes entirely: inside a backward pass it skips the clearing. @internal */
export function allocOut(like: Float32Array, n: number): Float32Array {
  return allocOverwritten(like, n);
}

/** A tensor being built by Tensor.wrap: the constructor skips its checks. */
let trusted = false;

/** Nested arrays of numbers, as Tensor.from and toArray() use them. */
export type NestedArray = number | NestedArray[];

/**
 * A dense, row-major, contiguous float32 array with a shape, and (PyTorch's autograd) an
 * optional gradient history: ops and modules record themselves when one of their inputs
 * requires grad, and `backward()` fills the `.grad` of every leaf that does.
 *
 * @example
 * const x = new Tensor(new Float32Array(6), [2, 3]); // the Float32Array is kept, not copied
 * const y = new Tensor([1, 2, 3, 4], [2, 2]);         // a number[] is copied into a Float32Array
 * const w = Tensor.randn([3, 3], { requiresGrad: true });
 * F.sum(F.matmul(x, w)).backward();                   // w.grad holds d sum / d w
 */
export class Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
  readonly size: number;
  /**
   * The gradient: after backward(), d root / d this for leaves that require grad (added to
   * what is there) and for tensors that called retainGrad(); null otherwise.
   */
  grad: Float32Array | null = null;
  /** The recorded op that produced this tensor (null for a leaf). @internal */
  gradFn: Node | null = null;
  /** Which of gradFn's outputs this is. @internal */
  outputIndex = 0;
  /** Set by retainGrad(). @internal */
  retainsGrad = false;
  /** For an Embedding's output: where its rows came from (lets a recurrent layer read the table directly). @internal */
  tokenSource: TokenSource | null = null;
  private leafRequiresGrad = false;

  constructor(data: Float32Array | number[], shape: number[]) {
    if (trusted) {
      trusted = false;
      this.data = data as Float32Array;
      this.shape = Object.freeze(shape);
      this.size = (data as Float32Array).length;
      return;
    }
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
   * A tensor over `data` with `shape`, without checks: for ops whose outputs are right by
   * construction (and for float64 data in the gradient checks). The shape array is kept.
   * @internal
   */
  static wrap(data: Float32Array, shape: number[]): Tensor {
    trusted = true;
    return new Tensor(data, shape);
  }

  /** Whether backward() computes a gradient for this tensor: set on leaves; true for every recorded op's output. */
  get requiresGrad(): boolean {
    return this.leafRequiresGrad || this.gradFn !== null;
  }
  set requiresGrad(value: boolean) {
    checkBoolean('Tensor.requiresGrad', 'value', value);
    if (this.gradFn && !value)
      throw new RangeError('Tensor.requiresGrad: only a leaf tensor can stop requiring grad; use detach() for a copy without history');
    this.leafRequiresGrad = value;
  }

  /** True for a tensor no recorded op produced (user data, parameters, detached tensors). */
  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /**
   * A tensor of zeros.
   * @example const h0 = Tensor.zeros([1, 4, 16]);
   */
  static zeros(shape: number[], opts?: { requiresGrad?: boolean }): Tensor {
    const size = checkShape('Tensor.zeros', shape);
    return withRequiresGrad('Tensor.zeros', new Tensor(new Float32Array(size), shape), opts);
  }

  /** A tensor of ones. @example const mask = Tensor.ones([4]); */
  static ones(shape: number[], opts?: { requiresGrad?: boolean }): Tensor {
    const size = checkShape('Tensor.ones', shape);
    return withRequiresGrad('Tensor.ones', new Tensor(new Float32Array(size).fill(1), shape), opts);
  }

  /**
   * Standard normal samples (Box–Muller) from `generator` (default: the library's, seeded by
   * manualSeed).
   * @example const w = Tensor.randn([4, 3], { generator: new Generator(1), requiresGrad: true });
   */
  static randn(shape: number[], opts?: { generator?: Generator; requiresGrad?: boolean }): Tensor {
    const size = checkShape('Tensor.randn', shape);
    const g = checkGenerator('Tensor.randn', opts);
    const out = new Float32Array(size);
    for (let i = 0; i < size; i += 2) {
      const u1 = 1 - g.uniform(); // (0, 1]
      const u2 = g.uniform();
      const r = Math.sqrt(-2 * Math.log(u1));
      out[i] = r * Math.cos(2 * Math.PI * u2);
      if (i + 1 < size) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
    }
    return withRequiresGrad('Tensor.randn', new Tensor(out, shape), opts, ['generator', 'requiresGrad']);
  }

  /** Uniform samples in [0, 1). @example const u = Tensor.rand([2, 2], { generator: new Generator(7) }); */
  static rand(shape: number[], opts?: { generator?: Generator; requiresGrad?: boolean }): Tensor {
    const size = checkShape('Tensor.rand', shape);
    const g = checkGenerator('Tensor.rand', opts);
    return withRequiresGrad('Tensor.rand', new Tensor(g.fillUniform(new Float32Array(size), 0, 1), shape), opts, ['generator', 'requiresGrad']);
  }

  /**
   * A tensor from nested arrays (the shape is read from the nesting, which must be regular),
   * or from any typed array or number[] with an explicit shape (default: one dimension).
   * Float64Array and other typed arrays are converted to float32; the data is always copied.
   *
   * @example
   * Tensor.from([[1, 2, 3], [4, 5, 6]]).shape;          // [2, 3]
   * Tensor.from(new Float64Array([1, 2, 3, 4]), [2, 2]);
   */
  static from(values: NestedArray[] | ArrayLike<number>, shape?: number[]): Tensor {
    const ctx = 'Tensor.from';
    if (Array.isArray(values) && shape === undefined) {
      const inferred: number[] = [];
      let level: unknown = values;
      while (Array.isArray(level)) {
        inferred.push(level.length);
        level = level[0];
      }
      const flat = new Float32Array(checkShape(ctx, inferred));
      let k = 0;
      const walk = (v: unknown, depth: number, path: string): void => {
        if (depth === inferred.length) {
          if (typeof v !== 'number') throw typeError(ctx, `values${path}`, 'a number', v);
          flat[k++] = v;
          return;
        }
        if (!Array.isArray(v) || v.length !== inferred[depth])
          throw rangeError(ctx, `values${path}`, `an array of length ${inferred[depth]} (the nesting must be regular)`, v);
        for (let i = 0; i < v.length; i++) walk(v[i], depth + 1, `${path}[${i}]`);
      };
      walk(values, 0, '');
      return new Tensor(flat, inferred);
    }
    if (!(Array.isArray(values) || (ArrayBuffer.isView(values) && !(values instanceof DataView))))
      throw typeError(ctx, 'values', 'nested arrays of numbers or a typed array', values);
    const src = values as ArrayLike<number>;
    const dims = shape === undefined ? [src.length] : shape;
    const size = checkShape(ctx, dims);
    if (size !== src.length) throw new RangeError(`${ctx}: values has ${src.length} elements but shape ${shapeString(dims)} needs ${size}`);
    const flat = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      const v = src[i];
      if (typeof v !== 'number' && typeof v !== 'bigint') throw typeError(ctx, `values[${i}]`, 'a number', v);
      flat[i] = Number(v);
    }
    return new Tensor(flat, dims);
  }

  /**
   * The same data with another shape of equal size (no copy; one dimension may be −1, then
   * inferred). Differentiable.
   */
  reshape(shape: number[]): Tensor {
    const ctx = 'Tensor.reshape';
    if (!Array.isArray(shape)) throw typeError(ctx, 'shape', 'an array of integers', shape);
    let dims = shape;
    const free = shape.indexOf(-1);
    if (free >= 0) {
      if (shape.indexOf(-1, free + 1) >= 0) throw rangeError(ctx, 'shape', 'at most one -1', shape);
      let known = 1;
      shape.forEach((d, i) => {
        if (i !== free) known *= checkInteger(ctx, `shape[${i}]`, d, 0, MAX_ELEMENTS);
      });
      if (known === 0 || this.size % known !== 0)
        throw new RangeError(`${ctx}: cannot view ${this.size} elements (shape ${shapeString(this.shape)}) as ${shapeString(shape)}`);
      dims = shape.slice();
      dims[free] = this.size / known;
    }
    let size = 1;
    const checked = dims.map((d, i) => {
      if (!(Number.isInteger(d) && d >= 0 && d <= MAX_ELEMENTS)) checkInteger(ctx, `shape[${i}]`, d, 0, MAX_ELEMENTS);
      size *= d;
      return d;
    });
    if (size !== this.size)
      throw new RangeError(`${ctx}: cannot view ${this.size} elements (shape ${shapeString(this.shape)}) as ${shapeString(shape)} (${size} elements)`);
    const out = Tensor.wrap(this.data, checked);
    if (recording(this)) record(new ReshapeNode(this), [out]);
    return out;
  }

  /**
   * The tensor with two dimensions swapped (negative dims count from the end). A copy, or the
   * same data when only dimensions of size 1 change places. Differentiable.
   */
  transpose(dim0: number, dim1: number): Tensor {
    const ctx = 'Tensor.transpose';
    const r = this.shape.length;
    const a = normalizeDim(ctx, 'dim0', dim0, r);
    const b = normalizeDim(ctx, 'dim1', dim1, r);
    if (keepsOrder(this.shape, a, b)) {
      // Only dimensions of size 1 move: the elements keep their order, so a view will do.
      const shape = this.shape.slice();
      [shape[a], shape[b]] = [shape[b], shape[a]];
      const view = Tensor.wrap(this.data, shape);
      if (recording(this)) record(new ReshapeNode(this), [view]);
      return view;
    }
    const out = swapDims(this, a, b);
    if (recording(this)) record(new TransposeNode(this, a, b), [out]);
    return out;
  }

  /** The same data with no history and no gradient (shares the Float32Array, as PyTorch's detach). */
  detach(): Tensor {
    return Tensor.wrap(this.data, this.shape.slice());
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new RangeError(`Tensor.item: only a one-element tensor has an item, this one has shape ${shapeString(this.shape)}`);
    return this.data[0];
  }

  /** The values as nested arrays (a number for a tensor of no dimensions). */
  toArray(): NestedArray {
    const build = (depth: number, offset: number): NestedArray => {
      if (depth === this.shape.length) return this.data[offset];
      const stride = this.shape.slice(depth + 1).reduce((a, b) => a * b, 1);
      return Array.from({ length: this.shape[depth] }, (_, i) => build(depth + 1, offset + i * stride));
    };
    return build(0, 0);
  }

  /** Keeps this (non-leaf) tensor's gradient in `.grad` during backward(). */
  retainGrad(): this {
    if (this.gradFn) this.retainsGrad = true;
    return this;
  }

  /**
   * Computes the gradient of this tensor with respect to every leaf that requires grad and
   * ADDS it into their `.grad`. A one-element tensor needs no argument (the gradient 1);
   * otherwise `gradient` (same shape) is d(something)/d(this). The recorded activations are
   * freed on the way: a second backward through the same graph needs a new forward.
   */
  backward(gradient?: Tensor): void {
    const ctx = 'Tensor.backward';
    if (!this.requiresGrad)
      throw new RangeError(`${ctx}: this tensor does not require grad and has no gradient history (no input of the ops that made it requires grad, or it was made in eval mode or inside noGrad)`);
    let seed: Float32Array;
    if (gradient === undefined || gradient === null) {
      if (this.size !== 1)
        throw new RangeError(`${ctx}: a gradient can be implied only for a one-element tensor; this one has shape ${shapeString(this.shape)}, so pass backward(gradient)`);
      seed = allocLike(this.data, 1);
      seed[0] = 1;
    } else {
      checkTensorShape(ctx, 'gradient', gradient, this.shape, 'like this tensor');
      seed = gradient.data;
    }
    inBackwardScope(() => runBackward(this, seed));
  }
}

/** Embedding provenance, see Tensor.tokenSource. @internal */
export interface TokenSource {
  /** The embedding table the rows came from, (V, E). */
  weight: Parameter;
  /** The indices looked up, row-major like the output's leading dims (a private copy). */
  ids: Int32Array;
  /** The Embedding's padding row (no gradient), or -1. */
  paddingIdx: number;
  /** The recorded lookup whose gradient would scatter into the table, when there is one. */
  node: Node | null;
}

/**
 * A trainable tensor: `grad` has the same length as `data`; backward passes ADD into it
 * until `zeroGrad()`. Its arrays are marked untransferable: postMessage or structuredClone
 * with a transfer list copies them instead of detaching them under a running kernel.
 *
 * @example
 * const w = new Parameter(new Float32Array(12), [3, 4]);
 * w.grad.fill(0);
 */
export class Parameter extends Tensor {
  declare grad: Float32Array;

  constructor(data: Float32Array | number[], shape: number[]) {
    super(data, shape);
    this.grad = alignedFloat32Array(this.size);
    this.requiresGrad = true;
    protectBuffer(this.data);
    protectBuffer(this.grad);
  }

  /** Sets the gradient to zero. */
  zeroGrad(): void {
    this.grad.fill(0);
  }
}

/** Marks an array's buffer untransferable (a no-op for buffers that cannot be marked). @internal */
function protectBuffer(a: Float32Array): void {
  try {
    markAsUntransferable(a.buffer);
  } catch {
    // a SharedArrayBuffer or an already-marked buffer: nothing to do
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

/** True when an op on these inputs must record itself (grad mode on and some input requires grad). @internal */
export function recording(...inputs: Array<Tensor | null | undefined>): boolean {
  if (!isGradEnabled()) return false;
  for (const t of inputs) if (t && t.requiresGrad) return true;
  return false;
}

/** Attaches a node to the tensors it produced (output k is outputs[k]). @internal */
export function record<T extends Tensor>(node: Node, outputs: Array<T | null | undefined>): void {
  outputs.forEach((t, k) => {
    if (!t) return;
    t.gradFn = node;
    t.outputIndex = k;
  });
}

/** A dimension in [-rank, rank) as an index in [0, rank). @internal */
export function normalizeDim(context: string, name: string, dim: unknown, rank: number): number {
  if (rank === 0) throw new RangeError(`${context}: a tensor of no dimensions has no ${name}`);
  const d = checkInteger(context, name, dim, -rank, rank - 1);
  return d < 0 ? d + rank : d;
}

/** The product of shape[from..to). @internal */
export function product(shape: readonly number[], from = 0, to = shape.length): number {
  let n = 1;
  for (let i = from; i < to; i++) n *= shape[i];
  return n;
}

/** Whether swapping dims a and b leaves the elements in order (at most one of dims a..b is longer than 1). */
function keepsOrder(shape: readonly number[], a: number, b: number): boolean {
  let long = 0;
  for (let i = Math.min(a, b); i <= Math.max(a, b); i++) if (shape[i] > 1) long++;
  return long <= 1;
}

/** A copy of x with dims a < b swapped (native swap of a 5-dim view). @internal */
export function swapDims(x: Tensor, a: number, b: number): Tensor {
  if (a === b) return Tensor.wrap(x.data.slice(), x.shape.slice());
  const [lo, hi] = a < b ? [a, b] : [b, a];
  const s = x.shape;
  const shape = s.slice();
  shape[lo] = s[hi];
  shape[hi] = s[lo];
  const out = allocLike(x.data, x.size);
  native.swapDims(out, x.data, product(s, 0, lo), s[lo], product(s, lo + 1, hi), s[hi], product(s, hi + 1));
  return Tensor.wrap(out, shape);
}

class ReshapeNode extends Node {
  constructor(x: Tensor) {
    super('ReshapeBackward', [x]);
  }
  protected backward(g: Array<Float32Array | null>): Array<Float32Array | null> {
    return [g[0]]; // the same elements in the same order
  }
}

class TransposeNode extends Node {
  private readonly outShape: number[];
  constructor(x: Tensor, private readonly a: number, private readonly b: number) {
    super('TransposeBackward', [x]);
    const shape = x.shape.slice();
    [shape[a], shape[b]] = [shape[b], shape[a]];
    this.outShape = shape;
  }
  protected backward(g: Array<Float32Array | null>): Array<Float32Array | null> {
    return [swapDims(Tensor.wrap(g[0]!, this.outShape), this.a, this.b).data];
  }
}

function checkShape(ctx: string, shape: unknown): number {
  if (!Array.isArray(shape)) throw typeError(ctx, 'shape', 'an array of non-negative integers', shape);
  let size = 1;
  for (let i = 0; i < shape.length; i++) size *= checkInteger(ctx, `shape[${i}]`, shape[i], 0, MAX_ELEMENTS);
  if (size > MAX_ELEMENTS) throw rangeError(ctx, 'shape', `at most ${MAX_ELEMENTS} elements in all`, shape);
  return size;
}

function checkGenerator(ctx: string, opts: unknown): Generator {
  const o = checkOptions<{ generator: Generator }>(ctx, 'opts', opts);
  checkKnownOptions(ctx, o, ['generator', 'requiresGrad']);
  if (o.generator === undefined) return defaultGenerator;
  if (!(o.generator instanceof Generator)) throw typeError(ctx, 'opts.generator', 'a Generator', o.generator);
  return o.generator;
}

function withRequiresGrad(ctx: string, t: Tensor, opts: unknown, known = ['requiresGrad']): Tensor {
  const o = checkOptions<{ requiresGrad: boolean }>(ctx, 'opts', opts);
  checkKnownOptions(ctx, o, known);
  if (o.requiresGrad !== undefined) t.requiresGrad = checkBoolean(ctx, 'opts.requiresGrad', o.requiresGrad);
  return t;
}

