import { Embedding } from '../nn/embedding';
import { Linear } from '../nn/linear';
import { Module } from '../nn/module';
import { GRU, LSTM, RecurrentBase, RNN } from '../nn/recurrent';
import { GENERATE_ASYNC_KEYS, GenerateAsyncOptions, GenerateOptions, generationPlan, GenerationPlan, SPEC_WIDTH, writeSpec } from './generation';
import { GenerationScheduler } from './generation-scheduler';
import { LMDecoder } from './lm-decoder';
import { checkPrecision, Precision } from '../nn/precision';
import { allocLike, checkTensorShape, Tensor } from '../core/tensor';
import { isGradEnabled, noGrad } from '../core/grad-mode';
import {
  checkBoolean, checkedProduct, checkInt32Array, checkInteger, checkKnownOptions, checkNumber, checkOneOf, checkOptions, rangeError, typeError,
} from '../core/validate';

import type { CellKind } from '../nn/cell-kinds';
export type { CellKind, GenerateOptions, GenerateAsyncOptions };

export interface LanguageModelOptions {
  vocabSize: number;
  hiddenSize: number;
  /** Default: hiddenSize. */
  embeddingDim?: number;
  numLayers?: number;
  /** Default 'lstm'. */
  cell?: CellKind;
  /** Between recurrent layers, training only. */
  dropout?: number;
  /** Share the embedding matrix with the output layer (needs embeddingDim = hiddenSize). */
  tieWeights?: boolean;
}

/** The carried recurrent state between calls: h (and c for LSTM), (numLayers, B, H). */
export interface LMState {
  h: Tensor;
  c?: Tensor;
}


const OPTION_KEYS = ['vocabSize', 'hiddenSize', 'embeddingDim', 'numLayers', 'cell', 'dropout', 'tieWeights'];

/**
 * A recurrent language model: Embedding → stacked RNN/LSTM/GRU → Linear over the vocabulary,
 * trained with cross-entropy on the next token, with optional weight tying. Parameter names:
 * `embedding.weight`, `rnn.weight_ih_l0` …, `head.weight`, `head.bias`.
 *
 * @example
 * const lm = new LanguageModel({ vocabSize: vocab.size, hiddenSize: 256, numLayers: 2 });
 * const { logits, state } = lm.forward(ids, T, B);   // logits (T·B, V), time-major rows
 * const ids2 = lm.generate({ maxLength: 200, temperature: 0.8, seed: 1 });
 */
export class LanguageModel extends Module {
  readonly options: Required<LanguageModelOptions>;
  readonly embedding: Embedding;
  readonly rnn: RecurrentBase;
  readonly head: Linear;
  /** The last training forward: its logits (the graph's root) and the state leaves it started from. */
  private lastForward: { logits: Tensor; initial: LMState | null } | null = null;

  constructor(options: LanguageModelOptions) {
    super();
    const ctx = 'LanguageModel';
    if (options === undefined) throw typeError(ctx, 'options', 'an options object with vocabSize and hiddenSize', options);
    const o = checkOptions<LanguageModelOptions>(ctx, 'options', options);
    checkKnownOptions(ctx, o, OPTION_KEYS);
    const vocabSize = checkInteger(ctx, 'vocabSize', o.vocabSize, 1);
    const hiddenSize = checkInteger(ctx, 'hiddenSize', o.hiddenSize, 1);
    const embeddingDim = checkInteger(ctx, 'embeddingDim', o.embeddingDim === undefined ? hiddenSize : o.embeddingDim, 1);
    const numLayers = checkInteger(ctx, 'numLayers', o.numLayers === undefined ? 1 : o.numLayers, 1, 1 << 16);
    const cell = checkOneOf(ctx, 'cell', o.cell === undefined ? 'lstm' : o.cell, ['lstm', 'gru', 'rnn_tanh', 'rnn_relu'] as const);
    const dropout = checkNumber(ctx, 'dropout', o.dropout === undefined ? 0 : o.dropout, { min: 0, max: 1 });
    const tieWeights = checkBoolean(ctx, 'tieWeights', o.tieWeights === undefined ? false : o.tieWeights);
    if (tieWeights && embeddingDim !== hiddenSize)
      throw new RangeError(`${ctx}: tieWeights needs embeddingDim (${embeddingDim}) equal to hiddenSize (${hiddenSize})`);
    this.options = { vocabSize, hiddenSize, embeddingDim, numLayers, cell, dropout, tieWeights };
    this.embedding = this.registerModule('embedding', new Embedding({ numEmbeddings: vocabSize, embeddingDim }));
    const rnnOpts = { inputSize: embeddingDim, hiddenSize, numLayers, dropout };
    this.rnn = this.registerModule(
      'rnn',
      cell === 'lstm' ? new LSTM(rnnOpts) : cell === 'gru' ? new GRU(rnnOpts) : new RNN({ ...rnnOpts, nonlinearity: cell === 'rnn_relu' ? 'relu' : 'tanh' }),
    );
    this.head = this.registerModule(
      'head',
      new Linear({ inFeatures: hiddenSize, outFeatures: vocabSize }, tieWeights ? this.embedding.weight : undefined),
    );
  }

  /** A zero state for batch size B. */
  initialState(B: number): LMState {
    checkInteger('LanguageModel.initialState', 'B', B, 1);
    const shape = [this.options.numLayers, B, this.options.hiddenSize];
    return this.options.cell === 'lstm' ? { h: Tensor.zeros(shape), c: Tensor.zeros(shape) } : { h: Tensor.zeros(shape) };
  }

  /**
   * ids (T, B) time-major token ids → logits (T·B, V) and the final state, to carry into the
   * next call (truncated BPTT: gradients stop at the call boundary — the state is detached).
   * In training mode the logits record the whole model for backward: `backward(gradLogits)`,
   * or a differentiable loss's `backward()`.
   */
  forward(ids: Int32Array, T: number, B: number, state?: LMState): { logits: Tensor; state: LMState } {
    const ctx = 'LanguageModel.forward';
    checkInteger(ctx, 'T', T, 1);
    checkInteger(ctx, 'B', B, 1);
    checkInt32Array(ctx, 'ids', ids, checkedProduct(ctx, 'ids', [T, B]));
    this.checkIds(ctx, ids);
    const keep = this.training && isGradEnabled();
    const initial = this.initialLeaves(ctx, state, B, keep);
    // With fewer vocabulary rows than input rows, the first layer projects the embedding
    // table once and gathers instead of reading the looked-up rows (see RecurrentBase).
    const x = this.embedding.forward(ids, [T, B]);
    const out = this.rnn.forward(x, initial);
    const logits = this.head.forward(out.output.reshape([T * B, this.options.hiddenSize]));
    this.lastForward = keep ? { logits, initial: initial ?? null } : null;
    const next: LMState = out.c ? { h: out.h, c: out.c } : { h: out.h };
    return { logits, state: next };
  }

  /** Every id in [0, vocabSize), or a RangeError naming the position. */
  private checkIds(ctx: string, ids: Int32Array): void {
    const V = this.options.vocabSize;
    for (let i = 0; i < ids.length; i++) if (ids[i] < 0 || ids[i] >= V) throw rangeError(ctx, `ids[${i}]`, `a token id in [0, ${V})`, ids[i]);
  }

  /**
   * The carried state as leaves of this call's graph: detached from the previous call (its
   * activations are gone), and requiring grad in training so that backward() can report
   * d loss / d state.
   */
  private initialLeaves(ctx: string, state: LMState | undefined, B: number, keep: boolean): LMState | undefined {
    if (state === undefined || state === null) return undefined;
    if (typeof state !== 'object' || Array.isArray(state) || state instanceof Tensor) throw typeError(ctx, 'state', 'an object { h, c? }', state);
    const shape = [this.options.numLayers, B, this.options.hiddenSize];
    const leaf = (name: string, t: unknown): Tensor => {
      const d = checkTensorShape(ctx, name, t, shape, '(numLayers, B, H)').detach();
      if (keep) d.requiresGrad = true;
      return d;
    };
    const h = leaf('state.h', state.h);
    if (this.options.cell !== 'lstm') {
      if (state.c !== undefined) throw new RangeError(`${ctx}: state.c is only for LSTM; a ${this.options.cell} language model has no cell state`);
      return { h };
    }
    if (state.c === undefined) throw new RangeError(`${ctx}: state.c is missing: an LSTM language model's state is { h, c }`);
    return { h, c: leaf('state.c', state.c) };
  }

  /**
   * `forward` for inference with the event loop free: the recurrent stack and the output
   * layer run on a libuv worker thread (the embedding lookup, a copy of T·B rows, stays on
   * the caller's). Computes as in eval mode whatever the model's mode and saves nothing for
   * backward. Leave the parameters unchanged until the promise settles.
   */
  async forwardAsync(ids: Int32Array, T: number, B: number, state?: LMState): Promise<{ logits: Tensor; state: LMState }> {
    const ctx = 'LanguageModel.forwardAsync';
    checkInteger(ctx, 'T', T, 1);
    checkInteger(ctx, 'B', B, 1);
    checkInt32Array(ctx, 'ids', ids, checkedProduct(ctx, 'ids', [T, B]));
    this.checkIds(ctx, ids);
    // The output layer runs in the recurrent stack's worker job, right after it; the first
    // layer takes the same path as forward() would, so the results are the same bits.
    const V = this.options.vocabSize;
    const logits = new Float32Array(checkedProduct(ctx, 'logits', [T * B, V]));
    const head = { weight: this.head.weight.data, bias: this.head.bias ? this.head.bias.data : null, inFeatures: this.options.hiddenSize, outFeatures: V, out: logits };
    const x = noGrad(() => this.embedding.forward(ids, [T, B]));
    const out = await this.rnn.forwardAsyncThen(ctx, x, state, undefined, head);
    return { logits: new Tensor(logits, [T * B, V]), state: out.c ? { h: out.h, c: out.c } : { h: out.h } };
  }

  /**
   * Backpropagates d(loss)/d(logits) (T·B, V) through the last training forward (head,
   * recurrent stack, embedding), ADDS into every parameter's `.grad`, and returns the
   * gradient of the state that forward started from (null when it started from zeros).
   */
  backward(gradLogits: Tensor): { gradState: LMState | null } {
    const ctx = 'LanguageModel.backward';
    const last = this.lastForward;
    if (!last || last.logits.gradFn?.isConsumed)
      throw new RangeError(`${ctx}: there is nothing to backpropagate: call forward() in training mode first`);
    checkTensorShape(ctx, 'gradLogits', gradLogits, last.logits.shape, '(T·B, V)');
    this.lastForward = null;
    last.logits.backward(gradLogits);
    const init = last.initial;
    if (!init) return { gradState: null };
    const grad = (t: Tensor) => Tensor.wrap(t.grad ?? allocLike(t.data, t.size), t.shape.slice());
    return { gradState: init.c ? { h: grad(init.h), c: grad(init.c) } : { h: grad(init.h) } };
  }

  /**
   * Generates tokens one at a time, feeding each back in, until `endToken` is produced or
   * `maxLength` tokens were generated. Returns the generated ids (without the prompt,
   * including the end token when reached). The prompt but its last token is read by one
   * recurrent forward; then each step (the last prompt token first) runs the whole model for
   * one token natively and picks the next. Computes as in eval mode whatever the model's mode.
   */
  generate(opts: GenerateOptions): Int32Array {
    const plan = generationPlan('LanguageModel.generate', opts, this.options.vocabSize);
    const dec = this.decoder;
    const n = dec.rowSize;
    let { h, c } = dec.prefill(plan.prompt);
    let h2: Float32Array = new Float32Array(n);
    let c2: Float32Array | null = c ? new Float32Array(n) : null;
    const token = Int32Array.of(plan.prompt[plan.prompt.length - 1]);
    const logits = new Float32Array(this.options.vocabSize);
    const specs = new Float64Array(SPEC_WIDTH);
    const next = new Int32Array(1);
    const out: number[] = [];
    while (out.length < plan.maxLength) {
      writeSpec(specs, 0, plan);
      dec.run(1, token, h, c, h2, c2, logits, specs, next);
      [h, h2, c, c2] = [h2, h, c2, c];
      token[0] = next[0];
      out.push(next[0]);
      if (next[0] === plan.endToken) break;
    }
    return Int32Array.from(out);
  }

  /**
   * `generate` for services: the event loop stays free, and concurrent calls on this model
   * are decoded together, one native step per token for the whole batch (continuous
   * batching: a request joins at the next step once its prompt is read and leaves when it
   * ends). Each request keeps its own options and gets exactly what `generate` returns for
   * them (with a seed, the same tokens). `signal` aborts a request (its promise rejects with
   * the signal's reason and its batch slot frees at the next step); `onToken` streams tokens
   * as they come. A full queue rejects at once with a QueueFullError; `scheduler` sets the
   * batch size, the wait and the queue limit, and reports what is running. The model's mode is
   * left alone; leave the parameters unchanged until the promise settles. Option errors
   * reject the promise.
   *
   * @example
   * const ac = new AbortController();
   * const ids = await lm.generateAsync({ prompt, maxLength: 200, temperature: 0.8, seed: 7, signal: ac.signal,
   *   onToken: (t) => process.stdout.write(vocab.decode([t])) });
   */
  generateAsync(opts: GenerateAsyncOptions): Promise<Int32Array> {
    const ctx = 'LanguageModel.generateAsync';
    let plan: GenerationPlan;
    try {
      plan = generationPlan(ctx, opts, this.options.vocabSize, GENERATE_ASYNC_KEYS);
      if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) throw typeError(ctx, 'signal', 'an AbortSignal', opts.signal);
      if (opts.onToken !== undefined && typeof opts.onToken !== 'function') throw typeError(ctx, 'onToken', 'a function (token, index) => void', opts.onToken);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.scheduler.submit(plan, opts.signal, opts.onToken);
  }

  /**
   * Inference precision of generation (generate, generateAsync: the prompt's forward and
   * every step) and of the recurrent stack's eval forwards, opt-in: 'bf16' (weights in
   * bfloat16; on CPUs with AVX512-BF16 the activations too) or 'int8' (dynamic quantization:
   * int8 weights with per-row scales, activations quantized per row at run time) — smaller
   * weights to stream, faster products; 'float32' (the default) keeps PyTorch parity. The
   * converted weights are made now, from the weights as they are, and again by loadStateDict:
   * set it once the model is trained or loaded (loadLanguageModel takes it as an option), and
   * again after changing the weights otherwise. Training stays float32, and so does the
   * output layer of forward(). Returns this.
   *
   * @example const { model } = loadLanguageModel('lm.safetensors', { precision: 'bf16' });
   * @example lm.setPrecision('int8'); lm.generate({ maxLength: 100, seed: 1 });
   */
  setPrecision(precision: Precision): this {
    const ctx = 'LanguageModel.setPrecision';
    const p = checkPrecision(ctx, precision);
    const K = Math.max(this.options.embeddingDim, this.options.hiddenSize);
    if (p === 'int8' && K > 65536) throw new RangeError(`${ctx}: int8 needs embeddingDim and hiddenSize of at most 65536 (its integer sums are 32-bit), this model has ${K}`);
    this.decoder.setPrecision(p);
    this.rnn.setPrecision(p);
    return this;
  }

  protected onParametersLoaded(): void {
    if (this.decoderCache && this.decoderCache.precision !== 'float32') this.decoderCache.setPrecision(this.decoderCache.precision);
  }

  /** The precision set with setPrecision ('float32' by default). */
  get precision(): Precision {
    return this.decoderCache ? this.decoderCache.precision : 'float32';
  }

  /** The native decode step of this model (made on first use). @internal */
  get decoder(): LMDecoder {
    return (this.decoderCache ??= new LMDecoder(this));
  }
  private decoderCache: LMDecoder | null = null;

  /**
   * This model's batching scheduler for generateAsync (made on first use): `configure()` its
   * batch size, wait and queue limit; `stats()` reports queued and running requests and
   * tokens per second.
   * @example lm.scheduler.configure({ maxBatch: 32 }); console.log(lm.scheduler.stats().running);
   */
  get scheduler(): GenerationScheduler {
    return (this.schedulerCache ??= new GenerationScheduler(this.decoder, 'LanguageModel.generateAsync'));
  }
  private schedulerCache: GenerationScheduler | null = null;
}
