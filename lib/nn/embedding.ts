import { Node } from '../core/autograd';
import { isGradEnabled } from '../core/grad-mode';
import { allocLike, checkTensorShape, Parameter, record, Tensor, TokenSource } from '../core/tensor';
import { native } from '../native/addon';
import { normal } from './init';
import { Module } from './module';
import { checkedProduct, checkKnownOptions, checkInt32Array, checkInteger, checkOptions, rangeError, shapeString, typeError } from '../core/validate';

export interface EmbeddingOptions {
  numEmbeddings: number;
  embeddingDim: number;
  /** Row whose gradient is always zero (and which starts at zero); negative counts from the end. */
  paddingIdx?: number;
}

/**
 * A lookup table of vectors, PyTorch's nn.Embedding: parameter `weight` (V, E) ~ N(0, 1).
 * Under composition its output is differentiable with respect to the weight, and can
 * retainGrad() (the gradient of the loss with respect to the embedded input). A recurrent
 * layer fed directly by it may read the table by id instead of the output's rows (the values
 * are the same): change the table, not the output array, between the two calls.
 *
 * @example
 * const emb = new Embedding({ numEmbeddings: 65, embeddingDim: 32 });
 * const x = emb.forward(Int32Array.from([1, 2, 3, 4]), [2, 2]); // shape [2, 2, 32]
 * emb.backward(Tensor.zeros([2, 2, 32]));
 */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  /** Normalised to [0, V), or undefined. */
  readonly paddingIdx: number | undefined;
  readonly weight: Parameter;
  /** The last training forward's lookup, for the explicit backward(). */
  private saved: { indices: Int32Array; shape: number[] } | null = null;

  constructor(options: EmbeddingOptions) {
    super();
    const ctx = 'Embedding';
    if (options === undefined) throw typeError(ctx, 'options', 'an options object with numEmbeddings and embeddingDim', options);
    const o = checkOptions<EmbeddingOptions>(ctx, 'options', options);
    checkKnownOptions(ctx, o, ['numEmbeddings', 'embeddingDim', 'paddingIdx']);
    this.numEmbeddings = checkInteger(ctx, 'numEmbeddings', o.numEmbeddings, 1);
    this.embeddingDim = checkInteger(ctx, 'embeddingDim', o.embeddingDim, 1);
    const V = this.numEmbeddings, E = this.embeddingDim;
    if (o.paddingIdx !== undefined) {
      const p = checkInteger(ctx, 'paddingIdx', o.paddingIdx, -V, V - 1);
      this.paddingIdx = p < 0 ? p + V : p;
    }
    const w = normal(checkedProduct(ctx, 'weight', [V, E]));
    if (this.paddingIdx !== undefined) w.fill(0, this.paddingIdx * E, (this.paddingIdx + 1) * E);
    this.weight = this.registerParameter('weight', new Parameter(w, [V, E]));
  }

  /** Looks up `indices` (a tensor of the given shape, row-major) → [...shape, E]. */
  forward(indices: Int32Array, shape: number[]): Tensor {
    const ctx = 'Embedding.forward';
    if (!Array.isArray(shape)) throw typeError(ctx, 'shape', 'an array of non-negative integers', shape);
    shape.forEach((d, i) => checkInteger(ctx, `shape[${i}]`, d, 0));
    const N = checkedProduct(ctx, 'indices', shape);
    checkInt32Array(ctx, 'indices', indices);
    if (indices.length !== N)
      throw new RangeError(`${ctx}: indices has ${indices.length} elements but shape ${shapeString(shape)} needs ${N}`);
    const V = this.numEmbeddings;
    for (let i = 0; i < N; i++)
      if (indices[i] < 0 || indices[i] >= V) throw rangeError(ctx, `indices[${i}]`, `an index in [0, ${V})`, indices[i]);
    const w = this.weight;
    const out = allocLike(w.data, checkedProduct(ctx, 'output', [N, this.embeddingDim]));
    const ids = indices.slice(); // read and kept as a copy: a later change must not change the gradient
    native.embeddingForward(out, w.data, V, this.embeddingDim, ids);
    const y = Tensor.wrap(out, [...shape, this.embeddingDim]);
    const source: TokenSource = { weight: w, ids, paddingIdx: this.paddingIdx ?? -1, node: null };
    y.tokenSource = source;
    const keep = this.training && isGradEnabled();
    this.saved = keep ? { indices: ids, shape: shape.slice() } : null;
    if (keep && w.requiresGrad) record((source.node = new EmbeddingNode(source)), [y]);
    return y;
  }

  protected describe(): string {
    return `Embedding(${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx !== undefined ? `, paddingIdx=${this.paddingIdx}` : ''})`;
  }

  /** Adds the gradient of `weight` (rows of paddingIdx excepted). */
  backward(gradOutput: Tensor): void {
    const ctx = 'Embedding.backward';
    if (!this.saved) throw new RangeError(`${ctx}: there is nothing to backpropagate: call forward() in training mode first`);
    const { indices, shape } = this.saved;
    checkTensorShape(ctx, 'gradOutput', gradOutput, [...shape, this.embeddingDim], 'like the forward output');
    native.embeddingBackward(this.weight.grad, this.numEmbeddings, this.embeddingDim, indices, gradOutput.data, this.paddingIdx ?? -1);
  }
}

/** One recorded lookup: scatters the output's gradient into the table's rows. */
class EmbeddingNode extends Node {
  constructor(private readonly source: TokenSource) {
    super('EmbeddingBackward', []);
  }
  protected backward(g: Array<Float32Array | null>): [] {
    const w = this.source.weight;
    if (w.requiresGrad) native.embeddingBackward(w.grad, w.shape[0], w.shape[1], this.source.ids, g[0]!, this.source.paddingIdx);
    return [];
  }
}
