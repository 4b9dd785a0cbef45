/**
 * Pooling a recurrent layer's outputs over time into one vector per sequence, for
 * classification: the last state, the mean or the maximum over the valid steps, or attention
 * pooling (a learned softmax over the steps, Yang et al. 2016). Padded steps never count.
 */
import { Tensor } from '../core/tensor';
import { checkInt32Array, checkInteger, checkKnownOptions, checkOneOf, checkOptions, rangeError, shapeString, typeError } from '../core/validate';
import * as F from './functional';
import { Linear } from './linear';
import { Module } from './module';

export type PoolingKind = 'last' | 'mean' | 'max' | 'attention';
export const POOLING_KINDS: readonly PoolingKind[] = ['last', 'mean', 'max', 'attention'];

export interface SequencePoolingOptions {
  kind: PoolingKind;
  /** The hidden size of one direction of the recurrent layer (H). */
  hiddenSize: number;
  /** Directions of the recurrent layer (1, or 2 when bidirectional); the pooled size is D·H. */
  directions?: number;
}

/**
 * Pools (T, B, D·H) recurrent outputs with their lengths into (B, D·H):
 * - `last`: the top layer's final states, both directions side by side (the forward direction
 *   at each sequence's last step, the backward one at its first): PyTorch's
 *   `torch.cat([h_n[-2], h_n[-1]], 1)`;
 * - `mean`: the mean over each sequence's valid steps;
 * - `max`: the elementwise maximum over the valid steps;
 * - `attention`: α = softmax over the valid steps of `context(tanh(proj(h_t)))`, the pooled
 *   vector Σ α_t h_t. Parameters `proj.weight` (D·H, D·H), `proj.bias` (D·H) and
 *   `context.weight` (1, D·H).
 *
 * @example
 * const pool = new SequencePooling({ kind: 'attention', hiddenSize: 64, directions: 2 });
 * const { output, h } = lstm.forward(x, undefined, { lengths });
 * const pooled = pool.forward(output, h, lengths); // (B, 128)
 */
export class SequencePooling extends Module {
  readonly kind: PoolingKind;
  readonly hiddenSize: number;
  readonly directions: number;
  readonly proj: Linear | null;
  readonly context: Linear | null;
  /** The last forward's attention weights (B, T), for inspection; null for other kinds. */
  lastWeights: Tensor | null = null;

  constructor(options: SequencePoolingOptions) {
    super();
    const ctx = 'SequencePooling';
    if (options === undefined) throw typeError(ctx, 'options', 'an options object with kind and hiddenSize', options);
    const o = checkOptions<SequencePoolingOptions>(ctx, 'options', options);
    checkKnownOptions(ctx, o, ['kind', 'hiddenSize', 'directions']);
    this.kind = checkOneOf(ctx, 'kind', o.kind, POOLING_KINDS);
    this.hiddenSize = checkInteger(ctx, 'hiddenSize', o.hiddenSize, 1);
    this.directions = checkInteger(ctx, 'directions', o.directions ?? 1, 1, 2);
    const features = this.directions * this.hiddenSize;
    this.proj = this.kind === 'attention' ? this.registerModule('proj', new Linear({ inFeatures: features, outFeatures: features })) : null;
    this.context = this.kind === 'attention' ? this.registerModule('context', new Linear({ inFeatures: features, outFeatures: 1, bias: false })) : null;
  }

  /**
   * output (T, B, D·H) time-major with zeros past each length (a recurrent layer's output
   * with `lengths`), h its final states (L·D, B, H), lengths (B) in [1, T] → (B, D·H).
   */
  forward(output: Tensor, h: Tensor, lengths: Int32Array): Tensor {
    const ctx = 'SequencePooling.forward';
    const Fd = this.directions * this.hiddenSize;
    if (!(output instanceof Tensor)) throw typeError(ctx, 'output', 'a Tensor (T, B, D·H)', output);
    if (output.shape.length !== 3 || output.shape[2] !== Fd)
      throw new RangeError(`${ctx}: output must have shape (T, B, ${Fd}), received ${shapeString(output.shape)}`);
    const [T, B] = output.shape;
    checkInt32Array(ctx, 'lengths', lengths, B);
    for (let b = 0; b < B; b++) if (!(lengths[b] >= 1 && lengths[b] <= T)) throw rangeError(ctx, `lengths[${b}]`, `a length in [1, ${T}]`, lengths[b]);
    switch (this.kind) {
      case 'last': return this.last(ctx, h, B);
      case 'mean': return mean(output, lengths);
      case 'max': return F.max(F.maskedFill(output, stepMask(lengths, T, Fd), -Infinity), 0).values;
      case 'attention': return this.attend(output, lengths);
    }
  }

  /** The top layer's final states: (D, B, H) → (B, D·H). */
  private last(ctx: string, h: Tensor, B: number): Tensor {
    const D = this.directions, H = this.hiddenSize;
    if (!(h instanceof Tensor)) throw typeError(ctx, 'h', `a Tensor (L·${D}, ${B}, ${H})`, h);
    if (h.shape.length !== 3 || h.shape[0] % D !== 0 || h.shape[1] !== B || h.shape[2] !== H)
      throw new RangeError(`${ctx}: h must have shape (L·${D}, ${B}, ${H}), received ${shapeString(h.shape)}`);
    return F.narrow(h, 0, h.shape[0] - D, D).transpose(0, 1).reshape([B, D * H]);
  }

  private attend(output: Tensor, lengths: Int32Array): Tensor {
    const [T, B, Fd] = output.shape;
    const scores = this.context!.forward(F.tanh(this.proj!.forward(output))).reshape([T, B]).transpose(0, 1); // (B, T)
    const weights = F.softmax(F.maskedFill(scores, F.lengthMask(lengths, 1, T), -Infinity), -1);
    this.lastWeights = weights.detach();
    return F.matmul(weights.reshape([B, 1, T]), output.transpose(0, 1)).reshape([B, Fd]); // (B, 1, T)·(B, T, F)
  }

  protected describe(): string {
    return `SequencePooling(${this.kind}, ${this.directions * this.hiddenSize})`;
  }
}

/**
 * The mean over valid steps: the outputs are zero past each length, so the sum over all T
 * steps is one (1, T)·(T, B·F) product; then each row is divided by its length.
 */
function mean(output: Tensor, lengths: Int32Array): Tensor {
  const [T, B, Fd] = output.shape;
  const ones = Tensor.wrap(allocFilled(output.data, T, 1), [1, T]);
  const total = F.matmul(ones, output.reshape([T, B * Fd])).reshape([B, Fd]);
  const scale = allocFilled(output.data, B * Fd, 0); // (B, F): 1 / lengths[b] along each row
  for (let b = 0; b < B; b++) scale.fill(1 / lengths[b], b * Fd, (b + 1) * Fd);
  return F.mul(total, Tensor.wrap(scale, [B, Fd]));
}

/** (T, B, F) mask: 1 at the padded steps t ≥ lengths[b]. */
function stepMask(lengths: Int32Array, T: number, Fd: number): Uint8Array {
  const B = lengths.length;
  const mask = new Uint8Array(T * B * Fd);
  for (let b = 0; b < B; b++) for (let t = lengths[b]; t < T; t++) mask.fill(1, (t * B + b) * Fd, (t * B + b + 1) * Fd);
  return mask;
}

/** An array of `like`'s element type (float32, or float64 in gradient checks) filled with v. */
function allocFilled(like: Float32Array, n: number, v: number): Float32Array {
  const Ctor = like.constructor as new (n: number) => Float32Array;
  return new Ctor(n).fill(v);
}
