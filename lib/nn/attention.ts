/**
 * Attention over a memory of encoder states (Luong et al. 2015; Bahdanau et al. 2015): scores
 * of each query against each memory position, a softmax over the valid positions, and the
 * weighted sum of the memory — the context.
 */
import { Parameter, Tensor } from '../core/tensor';
import { checkInt32Array, checkInteger, checkKnownOptions, checkOneOf, checkOptions, rangeError, shapeString, typeError } from '../core/validate';
import * as F from './functional';
import { uniform } from './init';
import { Linear } from './linear';
import { Module } from './module';

export type AttentionKind = 'dot' | 'general' | 'additive';

export interface AttentionOptions {
  /** 'dot' (q·k, needs queryDim = keyDim), 'general' (q·W k) or 'additive' (vᵀ tanh(W_q q + b + W_k k)). */
  kind: AttentionKind;
  queryDim: number;
  keyDim: number;
  /** The additive kind's hidden size (default queryDim). */
  attentionDim?: number;
}

/** A memory with its keys projected once (general, additive), for many queries (decoding). */
export interface PreparedMemory {
  /** (B, S, keyDim): the values the context averages. */
  memory: Tensor;
  /** (B, S, queryDim) for dot and general, (B, S, attentionDim) for additive. */
  keys: Tensor;
}

/**
 * Attention over a memory (B, S, keyDim) for queries (B, Tq, queryDim), with the memory's
 * valid lengths masking the padding. Parameters: general `linear_key.weight` (queryDim,
 * keyDim); additive `linear_query.weight` (A, queryDim), `linear_query.bias` (A),
 * `linear_key.weight` (A, keyDim), `v` (A).
 *
 * @example
 * const attn = new Attention({ kind: 'general', queryDim: 256, keyDim: 512 });
 * const { context, weights } = attn.forward(decoderStates, encoderStates, { lengths }); // (B, Tq, 512), (B, Tq, S)
 */
export class Attention extends Module {
  readonly kind: AttentionKind;
  readonly queryDim: number;
  readonly keyDim: number;
  readonly attentionDim: number;
  readonly linear_key: Linear | null;
  readonly linear_query: Linear | null;
  readonly v: Parameter | null;

  constructor(options: AttentionOptions) {
    super();
    const ctx = 'Attention';
    if (options === undefined) throw typeError(ctx, 'options', 'an options object with kind, queryDim and keyDim', options);
    const o = checkOptions<AttentionOptions>(ctx, 'options', options);
    checkKnownOptions(ctx, o, ['kind', 'queryDim', 'keyDim', 'attentionDim']);
    this.kind = checkOneOf(ctx, 'kind', o.kind, ['dot', 'general', 'additive'] as const);
    this.queryDim = checkInteger(ctx, 'queryDim', o.queryDim, 1);
    this.keyDim = checkInteger(ctx, 'keyDim', o.keyDim, 1);
    this.attentionDim = checkInteger(ctx, 'attentionDim', o.attentionDim === undefined ? this.queryDim : o.attentionDim, 1);
    if (this.kind === 'dot' && this.queryDim !== this.keyDim)
      throw new RangeError(`${ctx}: dot attention needs queryDim (${this.queryDim}) equal to keyDim (${this.keyDim}); use 'general' to map between them`);
    if (this.kind === 'general') {
      this.linear_key = this.registerModule('linear_key', new Linear({ inFeatures: this.keyDim, outFeatures: this.queryDim, bias: false }));
      this.linear_query = null;
      this.v = null;
    } else if (this.kind === 'additive') {
      this.linear_query = this.registerModule('linear_query', new Linear({ inFeatures: this.queryDim, outFeatures: this.attentionDim }));
      this.linear_key = this.registerModule('linear_key', new Linear({ inFeatures: this.keyDim, outFeatures: this.attentionDim, bias: false }));
      this.v = this.registerParameter('v', new Parameter(uniform(this.attentionDim, 1 / Math.sqrt(this.attentionDim)), [this.attentionDim]));
    } else {
      this.linear_key = null;
      this.linear_query = null;
      this.v = null;
    }
  }

  /** Projects a memory's keys once, for many forward() calls (one per decoding step). */
  prepare(memory: Tensor): PreparedMemory {
    const ctx = 'Attention.prepare';
    if (!(memory instanceof Tensor)) throw typeError(ctx, 'memory', 'a Tensor', memory);
    if (memory.shape.length !== 3 || memory.shape[2] !== this.keyDim)
      throw new RangeError(`${ctx}: memory must have shape (B, S, ${this.keyDim}), received shape ${shapeString(memory.shape)}`);
    return { memory, keys: this.linear_key ? this.linear_key.forward(memory) : memory };
  }

  /**
   * query (B, Tq, queryDim) against memory (B, S, keyDim) (or a prepare()d one): the context
   * (B, Tq, keyDim) and the attention weights (B, Tq, S). `lengths` (B) masks memory positions
   * past each sequence's length. Differentiable in the query, the memory and the parameters.
   */
  forward(query: Tensor, memory: Tensor | PreparedMemory, opts?: { lengths?: Int32Array }): { context: Tensor; weights: Tensor } {
    const ctx = 'Attention.forward';
    const prepared = memory instanceof Tensor ? this.prepare(memory) : memory;
    if (!prepared || !(prepared.memory instanceof Tensor) || !(prepared.keys instanceof Tensor))
      throw typeError(ctx, 'memory', 'a Tensor or what prepare() returned', memory);
    if (!(query instanceof Tensor)) throw typeError(ctx, 'query', 'a Tensor', query);
    const [B, S] = prepared.memory.shape;
    if (query.shape.length !== 3 || query.shape[0] !== B || query.shape[2] !== this.queryDim)
      throw new RangeError(`${ctx}: query must have shape (${B}, Tq, ${this.queryDim}) (B from the memory), received shape ${shapeString(query.shape)}`);
    const Tq = query.shape[1];
    const o = checkOptions<{ lengths: Int32Array }>(ctx, 'opts', opts);
    checkKnownOptions(ctx, o, ['lengths']);
    let scores =
      this.kind === 'additive'
        ? F.additiveScores(this.linear_query!.forward(query), prepared.keys, this.v!)
        : F.matmul(query, prepared.keys, { transposeB: true });
    if (o.lengths !== undefined) {
      checkInt32Array(ctx, 'opts.lengths', o.lengths, B);
      o.lengths.forEach((n, b) => {
        if (!(n >= 1 && n <= S)) throw rangeError(ctx, `opts.lengths[${b}]`, `an integer in [1, ${S}] (S)`, n);
      });
      scores = F.maskedFill(scores, F.lengthMask(o.lengths, Tq, S), -Infinity);
    }
    const weights = F.softmax(scores, -1);
    return { context: F.matmul(weights, prepared.memory), weights };
  }

  protected describe(): string {
    return `Attention(${this.kind}, query ${this.queryDim}, key ${this.keyDim}${this.kind === 'additive' ? `, hidden ${this.attentionDim}` : ''})`;
  }
}
