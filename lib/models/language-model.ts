import { Embedding } from '../nn/embedding';
import { Linear } from '../nn/linear';
import { Module } from '../nn/module';
import { Generator, defaultGenerator } from '../core/random';
import { GRU, LSTM, RecurrentBase, RNN } from '../nn/recurrent';
import { sampleToken, SamplingOptions } from './sampling';
import { checkTensorShape, Tensor } from '../core/tensor';
import {
  checkBoolean, checkedProduct, checkInt32Array, checkInteger, checkKnownOptions, checkNumber, checkOneOf, checkOptions, rangeError, typeError,
} from '../core/validate';

export type CellKind = 'lstm' | 'gru' | 'rnn_tanh' | 'rnn_relu';

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

export interface GenerateOptions extends SamplingOptions {
  /** Token ids to condition on (fed before sampling starts). */
  prompt?: Int32Array;
  /** Maximum number of tokens to generate (not counting the prompt). */
  maxLength: number;
  /** Generation stops after emitting this id (default 0, the Vocabulary's <eos>); -1 never stops early. */
  endToken?: number;
  /** Seed for sampling; by default the library's default generator is used. */
  seed?: number;
}

const GENERATE_KEYS = ['prompt', 'maxLength', 'endToken', 'seed', 'greedy', 'temperature', 'topK', 'topP'];
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
  private saved: { T: number; B: number; tokens: boolean } | null = null;

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
   * next call (truncated BPTT: gradients stop at the call boundary).
   */
  forward(ids: Int32Array, T: number, B: number, state?: LMState): { logits: Tensor; state: LMState } {
    const ctx = 'LanguageModel.forward';
    checkInteger(ctx, 'T', T, 1);
    checkInteger(ctx, 'B', B, 1);
    checkInt32Array(ctx, 'ids', ids, checkedProduct(ctx, 'ids', [T, B]));
    // With fewer vocabulary rows than input rows, the first layer projects the embedding
    // table once and gathers (RNN.forwardTokens); else it reads the looked-up rows.
    const tokens = this.options.vocabSize <= T * B;
    const out = tokens
      ? this.rnn.forwardTokens(ids, T, B, this.embedding.weight, state)
      : this.rnn.forward(this.embedding.forward(ids, [T, B]), state);
    const logits = this.head.forward(out.output.reshape([T * B, this.options.hiddenSize]));
    this.saved = this.training ? { T, B, tokens } : null;
    const next: LMState = out.c ? { h: out.h, c: out.c } : { h: out.h };
    return { logits, state: next };
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
    this.saved = null;
    // The output layer runs in the recurrent stack's worker job, right after it; the first
    // layer takes the same path as forward() would, so the results are the same bits.
    const V = this.options.vocabSize;
    const logits = new Float32Array(checkedProduct(ctx, 'logits', [T * B, V]));
    const head = { weight: this.head.weight.data, bias: this.head.bias ? this.head.bias.data : null, inFeatures: this.options.hiddenSize, outFeatures: V, out: logits };
    const out =
      V <= T * B
        ? await this.rnn.forwardTokensAsyncThen(ctx, ids.slice(), T, B, this.embedding.weight, state, head)
        : await this.rnn.forwardAsyncThen(ctx, this.embedding.forward(ids, [T, B]), state, undefined, head);
    return { logits: new Tensor(logits, [T * B, V]), state: out.c ? { h: out.h, c: out.c } : { h: out.h } };
  }

  /** Backpropagates d(loss)/d(logits) (T·B, V) through head, recurrent stack and embedding. */
  backward(gradLogits: Tensor): void {
    const ctx = 'LanguageModel.backward';
    if (!this.saved) throw new RangeError(`${ctx}: there is nothing to backpropagate: call forward() in training mode first`);
    const { T, B, tokens } = this.saved;
    checkTensorShape(ctx, 'gradLogits', gradLogits, [T * B, this.options.vocabSize], '(T·B, V)');
    const dOut = this.head.backward(gradLogits).reshape([T, B, this.options.hiddenSize]);
    if (tokens) {
      this.rnn.backwardTokens(dOut, this.embedding.weight.grad, this.embedding.paddingIdx ?? -1);
    } else {
      const { gradInput } = this.rnn.backward(dOut);
      this.embedding.backward(gradInput);
    }
  }

  /**
   * Generates tokens one at a time, feeding each back in, until `endToken` is produced or
   * `maxLength` tokens were generated. Returns the generated ids (without the prompt,
   * including the end token when reached). Runs in eval mode and restores the mode after.
   */
  generate(opts: GenerateOptions): Int32Array {
    const plan = this.generationPlan('LanguageModel.generate', opts);
    const V = this.options.vocabSize;
    const wasTraining = this.training;
    this.eval();
    try {
      // Condition on the prompt in one call, then feed one token per step.
      let { logits, state } = this.forward(plan.prompt, plan.prompt.length, 1);
      let last = logits.data.subarray((plan.prompt.length - 1) * V);
      const out: number[] = [];
      while (out.length < plan.maxLength) {
        const tok = sampleToken(last, plan.sampling, plan.generator);
        out.push(tok);
        if (tok === plan.endToken) break;
        ({ logits, state } = this.forward(Int32Array.of(tok), 1, 1, state));
        last = logits.data;
      }
      return Int32Array.from(out);
    } finally {
      this.train(wasTraining);
    }
  }

  /**
   * `generate` with the event loop free: every step's recurrent stack and output layer run
   * on a libuv worker thread (forwardAsync), sampling between them on the caller's. With the
   * same options and seed it returns exactly what `generate` returns. The model's mode is
   * left alone (each step computes as in eval mode); leave the parameters unchanged until the
   * promise settles. Option errors reject the promise.
   */
  async generateAsync(opts: GenerateOptions): Promise<Int32Array> {
    const plan = this.generationPlan('LanguageModel.generateAsync', opts);
    const V = this.options.vocabSize;
    let { logits, state } = await this.forwardAsync(plan.prompt, plan.prompt.length, 1);
    let last = logits.data.subarray((plan.prompt.length - 1) * V);
    const out: number[] = [];
    while (out.length < plan.maxLength) {
      const tok = sampleToken(last, plan.sampling, plan.generator);
      out.push(tok);
      if (tok === plan.endToken) break;
      ({ logits, state } = await this.forwardAsync(Int32Array.of(tok), 1, 1, state));
      last = logits.data;
    }
    return Int32Array.from(out);
  }

  /** generate's options, checked: what to condition on, when to stop, how to sample. */
  private generationPlan(ctx: string, opts: GenerateOptions) {
    if (opts === undefined) throw typeError(ctx, 'opts', 'an options object with maxLength', opts);
    const o = checkOptions<GenerateOptions>(ctx, 'opts', opts);
    checkKnownOptions(ctx, o, GENERATE_KEYS);
    const V = this.options.vocabSize;
    const maxLength = checkInteger(ctx, 'maxLength', o.maxLength, 0);
    const endToken = checkInteger(ctx, 'endToken', o.endToken === undefined ? 0 : o.endToken, -1, V - 1);
    const sampling = checkSampling(ctx, o, V);
    const generator = o.seed === undefined ? defaultGenerator : new Generator(checkInteger(ctx, 'seed', o.seed, 0, Number.MAX_SAFE_INTEGER));
    const prompt = o.prompt === undefined ? Int32Array.of(endToken >= 0 ? endToken : 0) : checkInt32Array(ctx, 'prompt', o.prompt);
    if (prompt.length === 0) throw new RangeError(`${ctx}: prompt must hold at least one token`);
    prompt.forEach((t, i) => {
      if (t < 0 || t >= V) throw rangeError(ctx, `prompt[${i}]`, `a token id in [0, ${V})`, t);
    });
    return { maxLength, endToken, sampling, generator, prompt };
  }
}

function checkSampling(ctx: string, o: Partial<GenerateOptions>, V: number): SamplingOptions {
  const s: SamplingOptions = {};
  if (o.greedy !== undefined) s.greedy = checkBoolean(ctx, 'greedy', o.greedy);
  if (o.temperature !== undefined) s.temperature = checkNumber(ctx, 'temperature', o.temperature, { min: 0, minExclusive: true });
  if (o.topK !== undefined) s.topK = checkInteger(ctx, 'topK', o.topK, 1, V);
  if (o.topP !== undefined) s.topP = checkNumber(ctx, 'topP', o.topP, { min: 0, max: 1, minExclusive: true });
  return s;
}
