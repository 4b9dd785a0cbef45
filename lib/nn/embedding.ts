import { normal } from './init';
import { Module } from './module';
import { native } from '../native/addon';
import { checkTensorShape, Parameter, Tensor } from '../core/tensor';
import { checkedProduct, checkKnownOptions, checkInt32Array, checkInteger, checkOptions, rangeError, shapeString, typeError } from '../core/validate';

export interface EmbeddingOptions {
  numEmbeddings: number;
  embeddingDim: number;
  /** Row whose gradient is always zero (and which starts at zero); negative counts from the end. */
  paddingIdx?: number;
}

/**
 * A lookup table of vectors, PyTorch's nn.Embedding: parameter `weight` (V, E) ~ N(0, 1).
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
    const out = new Float32Array(checkedProduct(ctx, 'output', [N, this.embeddingDim]));
    native.embeddingForward(out, this.weight.data, V, this.embeddingDim, indices);
    this.saved = this.training ? { indices: indices.slice(), shape: shape.slice() } : null;
    return new Tensor(out, [...shape, this.embeddingDim]);
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
