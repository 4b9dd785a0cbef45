import type { CellCode, RecurrentStackHandle } from '../../binding';
import { Module } from './module';
import { afterPreviousJobs } from '../native/async-queue';
import { native } from '../native/addon';
import { uniform } from './init';
import { defaultGenerator } from '../core/random';
import { checkTensorShape, isFloat32Array, Parameter, Tensor } from '../core/tensor';
import {
  checkBoolean,
  checkedProduct,
  checkInt32Array,
  checkInteger,
  checkKnownOptions,
  checkNumber,
  checkOneOf,
  checkOptions,
  rangeError,
  shapeString,
  typeError,
} from '../core/validate';

/** Options shared by RNN, LSTM and GRU (PyTorch's names in camelCase). */
export interface RecurrentOptions {
  inputSize: number;
  hiddenSize: number;
  numLayers?: number;
  bias?: boolean;
  batchFirst?: boolean;
  dropout?: number;
  bidirectional?: boolean;
}
export interface RNNOptions extends RecurrentOptions {
  nonlinearity?: 'tanh' | 'relu';
}

/** Initial or final state: h (numLayers·D, B, H); c the same, LSTM only. */
export interface RecurrentState {
  h: Tensor;
  c?: Tensor;
}
/** A Linear map to run right after an async forward, on its output (see forwardAsyncThen). @internal */
export interface LinearHead {
  weight: Float32Array;
  bias: Float32Array | null;
  inFeatures: number;
  outFeatures: number;
  out: Float32Array;
}

export interface RecurrentOutput {
  output: Tensor;
  h: Tensor;
  c?: Tensor;
}
export interface RecurrentGradients {
  gradInput: Tensor;
  gradState: { h: Tensor; c?: Tensor };
}

type Kind = 'RNN' | 'LSTM' | 'GRU';
/** Only undefined takes the default: null is a wrong type, as any other non-value. */
const orDefault = <T>(v: T | undefined, d: T): T => (v === undefined ? d : v);
const KNOWN_OPTIONS = ['inputSize', 'hiddenSize', 'numLayers', 'bias', 'batchFirst', 'dropout', 'bidirectional'];

/**
 * The shared machinery of RNN, LSTM and GRU: options, PyTorch-named parameters and the
 * native stack that runs forward and backward through time.
 */
export abstract class RecurrentBase extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  /** Gates per cell: 1 (RNN), 4 (LSTM), 3 (GRU). */
  readonly gateCount: number;
  private readonly kind: Kind;
  private readonly handle: RecurrentStackHandle<Float32Array>;
  /** Shape of the last training forward's input, for checking gradOutput. */
  /** What the last training forward saved; `tokens` is V after forwardTokens. */
  private saved: { T: number; B: number; outputShape: number[]; tokens?: number } | null = null;

  protected constructor(kind: Kind, cell: CellCode, options: RNNOptions, extraOptions: string[] = []) {
    super();
    const ctx = `${kind}`;
    if (options === undefined) throw typeError(ctx, 'options', 'an options object with inputSize and hiddenSize', options);
    const o = checkOptions<RNNOptions>(ctx, 'options', options);
    checkKnownOptions(ctx, o, [...KNOWN_OPTIONS, ...extraOptions]);
    this.kind = kind;
    this.inputSize = checkInteger(ctx, 'inputSize', o.inputSize, 1);
    this.hiddenSize = checkInteger(ctx, 'hiddenSize', o.hiddenSize, 1);
    this.numLayers = checkInteger(ctx, 'numLayers', orDefault(o.numLayers, 1), 1, 1 << 16);
    this.bias = checkBoolean(ctx, 'bias', orDefault(o.bias, true));
    this.batchFirst = checkBoolean(ctx, 'batchFirst', orDefault(o.batchFirst, false));
    this.dropout = checkNumber(ctx, 'dropout', orDefault(o.dropout, 0), { min: 0, max: 1 });
    this.bidirectional = checkBoolean(ctx, 'bidirectional', orDefault(o.bidirectional, false));
    this.gateCount = cell === 2 ? 4 : cell === 3 ? 3 : 1;
    const G = this.gateCount, H = this.hiddenSize, D = this.directions;
    // Every buffer the kernels touch must stay addressable with 32-bit BLAS dimensions.
    checkedProduct(ctx, 'weight_ih_l0', [G, H, this.inputSize]);
    checkedProduct(ctx, 'weight_hh_l0', [G, H, H]);
    if (this.numLayers > 1) checkedProduct(ctx, 'weight_ih_l1', [G, H, D * H]);

    const bound = 1 / Math.sqrt(H);  // PyTorch: every parameter ~ U(-1/sqrt(H), 1/sqrt(H))
    for (let layer = 0; layer < this.numLayers; layer++) {
      const inSize = layer === 0 ? this.inputSize : D * H;
      for (let dir = 0; dir < D; dir++) {
        const sfx = `_l${layer}${dir === 1 ? '_reverse' : ''}`;
        const make = (shape: number[]) =>
          new Parameter(uniform(checkedProduct(ctx, 'a parameter', shape), bound), shape);
        this.registerParameter(`weight_ih${sfx}`, make([G * H, inSize]));
        this.registerParameter(`weight_hh${sfx}`, make([G * H, H]));
        if (this.bias) {
          this.registerParameter(`bias_ih${sfx}`, make([G * H]));
          this.registerParameter(`bias_hh${sfx}`, make([G * H]));
        }
      }
    }
    this.handle = new native.RecurrentStack(
      cell, this.inputSize, H, this.numLayers, this.bidirectional, this.bias, this.batchFirst, this.dropout,
    );
  }

  /** 2 when bidirectional, else 1. */
  get directions(): number {
    return this.bidirectional ? 2 : 1;
  }

  private stateShape(B: number): number[] {
    return [this.numLayers * this.directions, B, this.hiddenSize];
  }

  /**
   * Runs the whole sequence. `input` is (T, B, I), or (B, T, I) with batchFirst; a missing
   * state is zeros; `lengths` (B values in 1..T, any order) gives pack_padded_sequence
   * semantics. In training mode what backward needs is saved; in eval mode nothing is.
   */
  forward(input: Tensor, state?: RecurrentState, opts?: { lengths?: Int32Array }): RecurrentOutput {
    const ctx = `${this.kind}.forward`;
    this.refuseTrainingWhileAsync(ctx);
    const call = this.prepareForward(ctx, input, state, opts);
    const { T, B, outputShape } = call;
    const [seedLo, seedHi] = this.dropoutSeeds();
    this.saved = null;
    this.handle.forward(T, B, input.data, call.h0, call.c0, call.lengths, this.weightArrays(), this.training, seedLo, seedHi, call.output, call.hN, call.cN);
    if (this.training) this.saved = { T, B, outputShape };
    return call.result;
  }

  /**
   * `forward` for inference, on a libuv worker thread: the event loop stays free while the
   * layer runs, and the promise resolves to the same output as `forward` in eval mode. It
   * computes as in eval mode whatever the layer's mode (no dropout) and saves nothing for
   * backward (like torch.no_grad); a training forward's saved activations are dropped. Leave
   * the input, the state and the parameters unchanged until it settles. Calls are served one
   * at a time (with every other kernel call of the library), in the order they were made.
   */
  async forwardAsync(input: Tensor, state?: RecurrentState, opts?: { lengths?: Int32Array }): Promise<RecurrentOutput> {
    return this.forwardAsyncThen(`${this.kind}.forwardAsync`, input, state, opts, null);
  }

  /**
   * forwardAsync, then a linear map of the output in the same worker job (one thread hand-off
   * instead of two; LanguageModel's output layer): `head.out` receives (rows, outFeatures),
   * rows = T·B·D·H / inFeatures. @internal
   */
  async forwardAsyncThen(ctx: string, input: Tensor, state: RecurrentState | undefined, opts: { lengths?: Int32Array } | undefined, head: LinearHead | null): Promise<RecurrentOutput> {
    const call = this.prepareForward(ctx, input, state, opts);
    return this.runAsync(call, head, (headArgs) =>
      this.handle.forwardAsync(call.T, call.B, input.data, call.h0, call.c0, call.lengths, this.weightArrays(), false, 0, 0, call.output, call.hN, call.cN, headArgs),
    );
  }

  /** forwardTokens' inference twin, as forwardAsyncThen is forward's. @internal */
  async forwardTokensAsyncThen(ctx: string, ids: Int32Array, T: number, B: number, table: Tensor, state: RecurrentState | undefined, head: LinearHead | null): Promise<RecurrentOutput> {
    const { V } = this.checkTokens(ctx, ids, T, B, table);
    const call = this.prepareOutputs(ctx, T, B, state, undefined);
    return this.runAsync(call, head, (headArgs) =>
      this.handle.forwardTokensAsync(T, B, ids, call.h0, call.c0, call.lengths, this.weightArrays(), false, 0, 0, call.output, call.hN, call.cN, V, table.data, headArgs),
    );
  }

  /** Queues an async forward (see async-queue.ts); a training forward's saved state is dropped. */
  private async runAsync(
    call: { output: Float32Array; result: RecurrentOutput },
    head: LinearHead | null,
    start: (headArgs: [Float32Array, Float32Array, Float32Array | null, number, number, number] | null) => Promise<void>,
  ): Promise<RecurrentOutput> {
    const headArgs = head
      ? ([head.out, head.weight, head.bias, call.output.length / head.inFeatures, head.inFeatures, head.outFeatures] as [Float32Array, Float32Array, Float32Array | null, number, number, number])
      : null;
    this.saved = null;
    this.pendingAsync++;
    try {
      await afterPreviousJobs(() => start(headArgs));
    } finally {
      this.pendingAsync--;
    }
    return call.result;
  }

  /** forwardAsync calls not yet settled: a training forward or a backward must wait for them. */
  private pendingAsync = 0;

  /**
   * `forward` with the first layer reading rows of an embedding table by token id, without
   * materialising them: for a vocabulary smaller than T·B the input projection is one
   * (V, G·H) product of the table and a gather, and backwardTokens sums the gate gradients
   * per token first (native/kernels/recurrent_layer.h, TokenInput). LanguageModel's path;
   * @internal. ids (T·B) time-major (batch-major with batchFirst), each in [0, V); table (V, inputSize).
   */
  forwardTokens(ids: Int32Array, T: number, B: number, table: Tensor, state?: RecurrentState, opts?: { lengths?: Int32Array }): RecurrentOutput {
    const ctx = `${this.kind}.forwardTokens`;
    this.refuseTrainingWhileAsync(ctx);
    const { V } = this.checkTokens(ctx, ids, T, B, table);
    const call = this.prepareOutputs(ctx, T, B, state, opts);
    const [seedLo, seedHi] = this.dropoutSeeds();
    this.saved = null;
    this.handle.forwardTokens(T, B, ids, call.h0, call.c0, call.lengths, this.weightArrays(), this.training, seedLo, seedHi, call.output, call.hN, call.cN, V, table.data);
    if (this.training) this.saved = { T, B, outputShape: call.outputShape, tokens: V };
    return call.result;
  }

  /**
   * `backward` after a training `forwardTokens`: adds the parameter gradients, and the
   * table's gradient into `gradTable` (V, inputSize) except row `paddingIdx` (-1: none).
   * Returns the gradient of the initial state. @internal
   */
  backwardTokens(gradOutput: Tensor | null, gradTable: Float32Array, paddingIdx = -1, gradState?: { h?: Tensor; c?: Tensor }): { gradState: { h: Tensor; c?: Tensor } } {
    const ctx = `${this.kind}.backwardTokens`;
    const b = this.prepareBackward(ctx, gradOutput, gradState, true);
    const V = b.V;
    if (!isFloat32Array(gradTable) || gradTable.length !== V * this.inputSize)
      throw (isFloat32Array(gradTable) ? rangeError : typeError)(ctx, 'gradTable', `a Float32Array of length ${V * this.inputSize} (V · inputSize)`, gradTable);
    checkInteger(ctx, 'paddingIdx', paddingIdx, -1, V - 1);
    this.saved = null;
    this.handle.backwardTokens(b.dOut, b.dh, b.dc, this.weightArrays(), b.grads, gradTable, paddingIdx, b.gradH0, b.gradC0);
    return { gradState: b.gradInitial };
  }

  /** Checks forwardTokens' ids (T·B, each in [0, V)) and table (V, inputSize). */
  private checkTokens(ctx: string, ids: Int32Array, T: number, B: number, table: Tensor): { V: number } {
    checkInteger(ctx, 'T', T, 1);
    checkInteger(ctx, 'B', B, 1);
    if (!(table instanceof Tensor)) throw typeError(ctx, 'table', 'a Tensor', table);
    if (table.shape.length !== 2 || table.shape[1] !== this.inputSize || table.shape[0] < 1)
      throw new RangeError(`${ctx}: table must have shape (V, ${this.inputSize}), received shape ${shapeString(table.shape)}`);
    const V = table.shape[0];
    checkInt32Array(ctx, 'ids', ids, checkedProduct(ctx, 'ids', [T, B]));
    for (let k = 0; k < ids.length; k++) if (ids[k] < 0 || ids[k] >= V) throw rangeError(ctx, `ids[${k}]`, `a token id in [0, ${V})`, ids[k]);
    return { V };
  }

  /** Checks forward's arguments and allocates its outputs (the result wraps them). */
  private prepareForward(ctx: string, input: Tensor, state: RecurrentState | undefined, opts: { lengths?: Int32Array } | undefined) {
    if (!(input instanceof Tensor)) throw typeError(ctx, 'input', 'a Tensor', input);
    const layout = this.batchFirst ? '(B, T, I)' : '(T, B, I)';
    if (input.shape.length !== 3)
      throw new RangeError(`${ctx}: input must have 3 dimensions ${layout}, received shape ${shapeString(input.shape)}`);
    const [d0, d1, I] = input.shape;
    const T = this.batchFirst ? d1 : d0;
    const B = this.batchFirst ? d0 : d1;
    if (I !== this.inputSize)
      throw new RangeError(`${ctx}: input must have ${this.inputSize} features in its last dimension ${layout}, received shape ${shapeString(input.shape)}`);
    if (T < 1 || B < 1)
      throw new RangeError(`${ctx}: input must have at least one time step and one batch row ${layout}, received shape ${shapeString(input.shape)}`);
    return this.prepareOutputs(ctx, T, B, state, opts);
  }

  /** Checks the state and lengths for T steps of B rows and allocates the outputs. */
  private prepareOutputs(ctx: string, T: number, B: number, state: RecurrentState | undefined, opts: { lengths?: Int32Array } | undefined) {
    const stateShape = this.stateShape(B);
    let h0: Float32Array | null = null;
    let c0: Float32Array | null = null;
    if (state !== undefined && state !== null) {
      if (typeof state !== 'object') throw typeError(ctx, 'state', 'an object { h, c? }', state);
      h0 = checkTensorShape(ctx, 'state.h', state.h, stateShape, '(numLayers·D, B, H)').data;
      if (state.c !== undefined) {
        if (this.kind !== 'LSTM') throw new RangeError(`${ctx}: state.c is only for LSTM; ${this.kind} has no cell state`);
        c0 = checkTensorShape(ctx, 'state.c', state.c, stateShape, '(numLayers·D, B, H)').data;
      }
    }
    const o = checkOptions<{ lengths: Int32Array }>(ctx, 'opts', opts);
    let lengths: Int32Array | null = null;
    if (o.lengths !== undefined) {
      lengths = checkInt32Array(ctx, 'opts.lengths', o.lengths, B);
      for (let b = 0; b < B; b++)
        if (lengths[b] < 1 || lengths[b] > T) throw rangeError(ctx, `opts.lengths[${b}]`, `an integer in [1, ${T}] (T)`, lengths[b]);
    }
    const DH = this.directions * this.hiddenSize;
    const outputShape = this.batchFirst ? [B, T, DH] : [T, B, DH];
    const output = new Float32Array(checkedProduct(ctx, 'output', outputShape));
    checkedProduct(ctx, 'the gate buffer', [T, B, this.gateCount * this.hiddenSize]);
    const hN = new Float32Array(checkedProduct(ctx, 'h', stateShape));
    const cN = this.kind === 'LSTM' ? new Float32Array(hN.length) : null;
    const result: RecurrentOutput = { output: new Tensor(output, outputShape), h: new Tensor(hN, stateShape) };
    if (cN) result.c = new Tensor(cN, stateShape);
    return { T, B, outputShape, h0, c0, lengths, output, hN, cN, result };
  }

  /**
   * Backpropagates through the last training forward: returns the gradients of the input
   * and of the initial state, and ADDS the parameter gradients into each `.grad`.
   * `gradOutput` may be null when only the final state carries a gradient.
   */
  backward(gradOutput: Tensor | null, gradState?: { h?: Tensor; c?: Tensor }): RecurrentGradients {
    const ctx = `${this.kind}.backward`;
    const b = this.prepareBackward(ctx, gradOutput, gradState, false);
    const inputShape = this.batchFirst ? [b.B, b.T, this.inputSize] : [b.T, b.B, this.inputSize];
    const gradInput = new Float32Array(b.T * b.B * this.inputSize);
    this.saved = null; // backward consumes the saved activations (like PyTorch without retain_graph)
    this.handle.backward(b.dOut, b.dh, b.dc, this.weightArrays(), b.grads, gradInput, b.gradH0, b.gradC0);
    return { gradInput: new Tensor(gradInput, inputShape), gradState: b.gradInitial };
  }

  /** A training forward would race with a pending forwardAsync for what it saves. */
  private refuseTrainingWhileAsync(ctx: string): void {
    if (this.pendingAsync > 0 && this.training)
      throw new RangeError(`${ctx}: a forwardAsync() on this layer has not settled yet; await it before a training forward (it would replace what this one saves for backward)`);
  }

  /** The dropout masks' seed (two 32-bit halves) for a forward, drawn only when dropout applies. */
  private dropoutSeeds(): [number, number] {
    if (!(this.training && this.dropout > 0 && this.numLayers > 1)) return [0, 0];
    return [defaultGenerator.nextUint32(), defaultGenerator.nextUint32()];
  }

  /**
   * Checks backward's arguments against what the last training forward (tokens or not) saved,
   * and allocates the initial-state gradients (gradInitial wraps gradH0 / gradC0).
   */
  private prepareBackward(ctx: string, gradOutput: Tensor | null, gradState: { h?: Tensor; c?: Tensor } | undefined, tokens: boolean) {
    if (this.pendingAsync > 0)
      throw new RangeError(`${ctx}: a forwardAsync() on this layer has not settled yet; await it first (and backward needs a training forward after it)`);
    if (!this.saved)
      throw new RangeError(
        `${ctx}: there is nothing to backpropagate: call forward() in training mode first (eval mode saves no activations, and each backward consumes its forward's)`,
      );
    if (Boolean(this.saved.tokens) !== tokens)
      throw new RangeError(tokens ? `${ctx}: the last training forward was forward(), not forwardTokens(): use backward()` : `${ctx}: the last training forward was forwardTokens(): use backwardTokens()`);
    const { T, B, outputShape } = this.saved;
    const stateShape = this.stateShape(B);
    const dOut = gradOutput === null ? null : checkTensorShape(ctx, 'gradOutput', gradOutput, outputShape, 'like the forward output').data;
    let dh: Float32Array | null = null;
    let dc: Float32Array | null = null;
    if (gradState !== undefined && gradState !== null) {
      if (typeof gradState !== 'object') throw typeError(ctx, 'gradState', 'an object { h?, c? }', gradState);
      if (gradState.h !== undefined) dh = checkTensorShape(ctx, 'gradState.h', gradState.h, stateShape, '(numLayers·D, B, H)').data;
      if (gradState.c !== undefined) {
        if (this.kind !== 'LSTM') throw new RangeError(`${ctx}: gradState.c is only for LSTM; ${this.kind} has no cell state`);
        dc = checkTensorShape(ctx, 'gradState.c', gradState.c, stateShape, '(numLayers·D, B, H)').data;
      }
    }
    const gradH0 = new Float32Array(checkedProduct(ctx, 'gradH0', stateShape));
    const gradC0 = this.kind === 'LSTM' ? new Float32Array(gradH0.length) : null;
    const gradInitial: { h: Tensor; c?: Tensor } = { h: new Tensor(gradH0, stateShape) };
    if (gradC0) gradInitial.c = new Tensor(gradC0, stateShape);
    const grads = this.parameters().map((p) => p.grad);
    return { dOut, dh, dc, T, B, V: this.saved.tokens ?? 0, gradH0, gradC0, gradInitial, grads };
  }

  private weightArrays(): Float32Array[] {
    if (!this.weights) this.weights = this.parameters().map((p) => p.data);
    return this.weights;
  }
  /** The parameters' data arrays in binding order; fixed after construction (loadStateDict copies into them). */
  private weights: Float32Array[] | null = null;
}

function rnnCell(options: RNNOptions | undefined): CellCode {
  const nl = options && typeof options === 'object' ? options.nonlinearity : undefined;
  return checkOneOf('RNN', 'nonlinearity', orDefault(nl, 'tanh'), ['tanh', 'relu'] as const) === 'relu' ? 1 : 0;
}

/**
 * Elman RNN, PyTorch's nn.RNN: h_t = act(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), act tanh or relu.
 *
 * @example
 * const rnn = new RNN({ inputSize: 8, hiddenSize: 16, nonlinearity: 'relu' });
 * const { output, h } = rnn.forward(Tensor.zeros([5, 2, 8])); // output (5, 2, 16), h (1, 2, 16)
 */
export class RNN extends RecurrentBase {
  readonly nonlinearity: 'tanh' | 'relu';
  constructor(options: RNNOptions) {
    super('RNN', rnnCell(options), options, ['nonlinearity']);
    this.nonlinearity = rnnCell(options) === 1 ? 'relu' : 'tanh';
  }
}

/**
 * Long short-term memory, PyTorch's nn.LSTM (gates i, f, g, o).
 *
 * @example
 * const lstm = new LSTM({ inputSize: 8, hiddenSize: 16, numLayers: 2, bidirectional: true });
 * const { output, h, c } = lstm.forward(Tensor.zeros([5, 2, 8])); // output (5, 2, 32)
 * lstm.backward(Tensor.zeros([5, 2, 32]));
 */
export class LSTM extends RecurrentBase {
  constructor(options: RecurrentOptions) {
    super('LSTM', 2, options);
  }
}

/**
 * Gated recurrent unit, PyTorch's nn.GRU (gates r, z, n; n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))).
 *
 * @example
 * const gru = new GRU({ inputSize: 8, hiddenSize: 16, batchFirst: true });
 * const { output } = gru.forward(Tensor.zeros([2, 5, 8])); // output (2, 5, 16)
 */
export class GRU extends RecurrentBase {
  constructor(options: RecurrentOptions) {
    super('GRU', 3, options);
  }
}
