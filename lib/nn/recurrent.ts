import type { RecurrentStackHandle } from '../../binding';
import { acquire, release } from '../core/buffer-pool';
import { BackwardInfo, Node } from '../core/autograd';
import { isGradEnabled } from '../core/grad-mode';
import { defaultGenerator } from '../core/random';
import { allocLike, allocOut, checkTensorShape, Parameter, record, Tensor, TokenSource } from '../core/tensor';
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
import { afterPreviousJobs } from '../native/async-queue';
import { native } from '../native/addon';
import { CELL_KINDS, CellKind } from './cell-kinds';
import { uniform } from './init';
import { Module } from './module';
import { checkPrecision, convertMatrix, FORMAT_CODE, Precision } from './precision';

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
/** An LSTM's state: both h and c (numLayers·D, B, H). */
export interface LSTMState {
  h: Tensor;
  c: Tensor;
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
/** An LSTM's output: the sequence and both final states. */
export interface LSTMOutput {
  output: Tensor;
  h: Tensor;
  c: Tensor;
}
export interface RecurrentGradients {
  gradInput: Tensor;
  gradState: { h: Tensor; c?: Tensor };
}
export interface LSTMGradients {
  gradInput: Tensor;
  gradState: { h: Tensor; c: Tensor };
}

/** The element type of activation arenas (bytes, whatever the tensors' type). */
const EMPTY = new Float32Array(0);

/** Only undefined takes the default: null is a wrong type, as any other non-value. */
const orDefault = <T>(v: T | undefined, d: T): T => (v === undefined ? d : v);
const KNOWN_OPTIONS = ['inputSize', 'hiddenSize', 'numLayers', 'bias', 'batchFirst', 'dropout', 'bidirectional'];

/** What one training forward keeps for its backward (explicit or recorded). */
interface ForwardCall {
  /**
   * The activations the forward kept (JS memory the kernels lay out and check again in
   * backward; pooled, given back when the call is consumed or dropped, else collected).
   */
  arena: Float32Array;
  T: number;
  B: number;
  inputShape: number[];
  outputShape: number[];
  stateShape: number[];
  /** Set when layer 0 read the embedding table by id (the token path). */
  tokens: TokenSource | null;
  /** The arrays the forward read its weights from (a backward must see the same ones). */
  weights: Float32Array[];
  /** The input and initial state as the forward saw them (the input's element type decides the kernels'). */
  sample: Float32Array;
  consumed: boolean;
  /** A recorded node owns it (else only lastCall does, and the next forward releases it). */
  recorded: boolean;
}

/**
 * The shared machinery of RNN, LSTM and GRU: options, PyTorch-named parameters and the
 * native stack that runs forward and backward through time.
 *
 * Each training forward keeps its own activations (natively, pooled), so a layer can run any
 * number of times before backward: under composition every output records itself and
 * `loss.backward()` reaches each call; the explicit `backward()` differentiates the last
 * training forward. When the input is an Embedding's output and the vocabulary has at most
 * T·B rows, layer 0 reads the embedding table by id instead of the looked-up rows (one V-row
 * projection instead of a T·B-row one); in backward, when nothing else uses the embedded
 * input's gradient, the table's gradient is summed per token directly.
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
  /** @internal */
  readonly cell: CellKind;
  private readonly kind: 'RNN' | 'LSTM' | 'GRU';
  private readonly handle: RecurrentStackHandle<Float32Array>;
  /** The float64 twin, made on first use by the gradient checks. */
  private handle64: RecurrentStackHandle<Float32Array> | null = null;
  /** The last training forward, for the explicit backward(). */
  private lastCall: ForwardCall | null = null;
  /** Inference precision and, unless float32, the converted weights passed to eval forwards: [format, per slot w_ih, scale, sum, w_hh, scale, sum]. */
  private precisionInUse: Precision = 'float32';
  private lowp: Array<number | Uint16Array | Int8Array | Float32Array | Int32Array | null> | null = null;

  protected constructor(cell: CellKind, options: RNNOptions, extraOptions: string[] = []) {
    super();
    const info = CELL_KINDS[cell];
    const kind = info.label;
    const ctx = `${kind}`;
    if (options === undefined) throw typeError(ctx, 'options', 'an options object with inputSize and hiddenSize', options);
    const o = checkOptions<RNNOptions>(ctx, 'options', options);
    checkKnownOptions(ctx, o, [...KNOWN_OPTIONS, ...extraOptions]);
    this.kind = kind;
    this.cell = cell;
    this.inputSize = checkInteger(ctx, 'inputSize', o.inputSize, 1);
    this.hiddenSize = checkInteger(ctx, 'hiddenSize', o.hiddenSize, 1);
    this.numLayers = checkInteger(ctx, 'numLayers', orDefault(o.numLayers, 1), 1, 1 << 16);
    this.bias = checkBoolean(ctx, 'bias', orDefault(o.bias, true));
    this.batchFirst = checkBoolean(ctx, 'batchFirst', orDefault(o.batchFirst, false));
    this.dropout = checkNumber(ctx, 'dropout', orDefault(o.dropout, 0), { min: 0, max: 1 });
    this.bidirectional = checkBoolean(ctx, 'bidirectional', orDefault(o.bidirectional, false));
    this.gateCount = info.gates;
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
    this.handle = this.makeHandle(false);
  }

  private makeHandle(float64: boolean): RecurrentStackHandle<Float32Array> {
    const Ctor = float64 ? native.RecurrentStack64 : native.RecurrentStack;
    return new Ctor(CELL_KINDS[this.cell].code, this.inputSize, this.hiddenSize, this.numLayers, this.bidirectional, this.bias, this.batchFirst, this.dropout) as unknown as RecurrentStackHandle<Float32Array>;
  }

  /** The native stack for data of this element type (float64: the gradient checks' twin). */
  private stackFor(sample: Float32Array): RecurrentStackHandle<Float32Array> {
    if (!(sample instanceof Float64Array)) return this.handle;
    return (this.handle64 ??= this.makeHandle(true));
  }

  protected describe(): string {
    const extra = [
      this.numLayers > 1 ? `numLayers=${this.numLayers}` : '', this.bidirectional ? 'bidirectional' : '', this.batchFirst ? 'batchFirst' : '',
      this.dropout > 0 ? `dropout=${this.dropout}` : '', this.bias ? '' : 'bias=false', this.cell === 'rnn_relu' ? "nonlinearity='relu'" : '',
    ].filter(Boolean);
    return `${this.kind}(${this.inputSize}, ${this.hiddenSize}${extra.length ? `, ${extra.join(', ')}` : ''})`;
  }

  /**
   * Inference precision, opt-in: 'bf16' (weights in bfloat16; on CPUs with AVX512-BF16 the
   * activations too) or 'int8' (dynamic quantization: int8 weights with a scale per row,
   * activations quantized per row at run time). Eval-mode forwards that record nothing and
   * forwardAsync then run on the converted weights (smaller to stream: one step at H 256 reads
   * 1 MiB in bf16, 0.5 MiB in int8, against 2 MiB); training forwards, and forwards that
   * record for backward, stay in float32, as does the default 'float32' (PyTorch parity).
   * The copies are made now from the weights as they are, and again by loadStateDict; after
   * changing the weights otherwise (an optimizer step), set the precision again. Returns this.
   *
   * @example const lstm = new LSTM({ inputSize: 256, hiddenSize: 256 }).eval().setPrecision('bf16');
   */
  setPrecision(precision: Precision): this {
    const ctx = `${this.kind}.setPrecision`;
    const p = checkPrecision(ctx, precision);
    const K = Math.max(this.inputSize, this.directions * this.hiddenSize);
    if (p === 'int8' && K > 65536) throw new RangeError(`${ctx}: int8 needs layer inputs of at most 65536 features (its integer sums are 32-bit), this layer has ${K}`);
    this.precisionInUse = p;
    this.convertWeights();
    return this;
  }

  /** The inference precision ('float32' by default; see setPrecision). */
  get precision(): Precision {
    return this.precisionInUse;
  }

  private convertWeights(): void {
    const p = this.precisionInUse;
    if (p === 'float32') {
      this.lowp = null;
      return;
    }
    const named = new Map(this.namedParameters());
    const GH = this.gateCount * this.hiddenSize;
    const out: Array<number | Uint16Array | Int8Array | Float32Array | Int32Array | null> = [FORMAT_CODE[p]];
    for (let layer = 0; layer < this.numLayers; layer++)
      for (let dir = 0; dir < this.directions; dir++) {
        const sfx = `_l${layer}${dir === 1 ? '_reverse' : ''}`;
        for (const [name, K] of [[`weight_ih${sfx}`, layer === 0 ? this.inputSize : this.directions * this.hiddenSize], [`weight_hh${sfx}`, this.hiddenSize]] as const) {
          const m = convertMatrix(p, named.get(name)!.data, GH, K);
          out.push(m.w, m.scale, m.sum);
        }
      }
    this.lowp = out;
  }

  protected onParametersLoaded(): void {
    if (this.precisionInUse !== 'float32') this.convertWeights();
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
   * semantics. In training mode (outside noGrad) the call keeps what its backward needs and
   * its outputs record themselves for `backward()` when anything requires grad; in eval mode
   * only when the input or the state requires grad (no dropout then), else nothing is kept.
   */
  forward(input: Tensor, state?: RecurrentState, opts?: { lengths?: Int32Array }): RecurrentOutput {
    const ctx = `${this.kind}.forward`;
    const call = this.prepareForward(ctx, input, state, opts);
    const { T, B } = call;
    const tokens = this.tokenPath(input, T, B);
    const [seedLo, seedHi] = this.dropoutSeeds();
    const weights = this.weightArrays();
    const stateIn = state ?? undefined;
    const records = this.recordsFor(input, stateIn?.h, stateIn?.c);
    // Mode 1 keeps the activations and applies dropout (training); 2 keeps them without
    // dropout (an eval-mode call that records); 0 keeps nothing.
    const keep = records || (this.training && isGradEnabled());
    // Training mode inside noGrad still applies dropout (mode 1) but keeps nothing.
    const mode = keep ? (this.training ? 1 : 2) : this.training ? 1 : 0;
    const stack = this.stackFor(input.data);
    const arena = mode === 0 ? null : acquire(EMPTY, stack.arenaBytes(T, B, mode, tokens !== null, call.lengths !== null) / 4);
    // Eval forwards that keep nothing run on the converted weights when a precision is set.
    const lowp = mode === 0 && stack === this.handle ? this.lowp : null;
    stack.forward(
      T, B, tokens ? null : input.data, tokens ? tokens.ids : null, tokens ? tokens.weight.shape[0] : 0, tokens ? tokens.weight.data : null,
      call.h0, call.c0, call.lengths, weights, mode, seedLo, seedHi, call.output, call.hN, call.cN, arena, null, lowp,
    );
    if (!keep || !arena) {
      // Eval mode, or training mode inside noGrad: nothing kept, and the explicit backward()
      // no longer refers to an earlier forward.
      if (arena) release(arena);
      this.dropLastCall();
      return call.result;
    }
    const kept: ForwardCall = {
      arena, T, B, inputShape: input.shape.slice(), outputShape: call.outputShape, stateShape: this.stateShape(B),
      tokens, weights, sample: input.data, consumed: false, recorded: false,
    };
    this.dropLastCall();
    this.lastCall = kept;
    if (records) {
      kept.recorded = true;
      record(new RecurrentNode(this, kept, input, stateIn?.h ?? null, stateIn?.c ?? null), [call.result.output, call.result.h, call.result.c]);
    }
    return call.result;
  }

  /**
   * `forward` for inference, on a libuv worker thread: the event loop stays free while the
   * layer runs, and the promise resolves to the same output as `forward` in eval mode. It
   * computes as in eval mode whatever the layer's mode (no dropout) and saves nothing for
   * backward (like torch.no_grad). Leave the parameters unchanged until it settles (the input
   * and state are copied). Calls are served one at a time (with every other kernel call of
   * the library), in the order they were made.
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
    if (input.data instanceof Float64Array) throw new TypeError(`${ctx}: async inference runs in float32`);
    const tokens = this.tokenPath(input, call.T, call.B);
    const headArgs = head
      ? ([head.out, head.weight, head.bias, call.output.length / head.inFeatures, head.inFeatures, head.outFeatures] as [Float32Array, Float32Array, Float32Array | null, number, number, number])
      : null;
    // The job starts after the earlier ones: what the caller may change or detach meanwhile
    // (the input, the state, the lengths) is copied now, as the call returns.
    const x = tokens ? null : input.data.slice();
    const [h0, c0, lengths] = [call.h0?.slice() ?? null, call.c0?.slice() ?? null, call.lengths?.slice() ?? null];
    const lowp = this.lowp; // the precision in force at the call
    await afterPreviousJobs(() =>
      this.handle.forwardAsync(
        call.T, call.B, x, tokens ? tokens.ids : null, tokens ? tokens.weight.shape[0] : 0, tokens ? tokens.weight.data : null,
        h0, c0, lengths, this.weightArrays(), 0, 0, 0, call.output, call.hN, call.cN, null, headArgs, lowp,
      ),
    );
    return call.result;
  }

  /**
   * The embedding table the input's rows came from, when layer 0 should read it by id: the
   * input is an Embedding's output (unchanged since, as the docs ask) of this element type,
   * and the table has at most T·B rows (the case where projecting it once wins).
   */
  private tokenPath(input: Tensor, T: number, B: number): TokenSource | null {
    const src = input.tokenSource;
    if (!src) return null;
    const w = src.weight;
    if (w.shape[0] > T * B || w.shape[1] !== this.inputSize || src.ids.length !== T * B) return null;
    if ((w.data instanceof Float64Array) !== (input.data instanceof Float64Array)) return null;
    return src;
  }

  /** Checks forward's arguments and allocates its outputs (the result wraps them). */
  private prepareForward(ctx: string, input: Tensor, state: RecurrentState | undefined, opts: { lengths?: Int32Array } | undefined) {
    if (!(input instanceof Tensor)) throw typeError(ctx, 'input', 'a Tensor', input);
    if (state instanceof Int32Array)
      throw new TypeError(`${ctx}: lengths go in the options, after the state: forward(input, state, { lengths }) (or forward(input, undefined, { lengths }))`);
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
    return this.prepareOutputs(ctx, input.data, T, B, state, opts);
  }

  /** Checks the state and lengths for T steps of B rows and allocates the outputs. */
  private prepareOutputs(ctx: string, sample: Float32Array, T: number, B: number, state: RecurrentState | undefined, opts: { lengths?: Int32Array } | undefined) {
    const stateShape = this.stateShape(B);
    let h0: Float32Array | null = null;
    let c0: Float32Array | null = null;
    const lstm = this.kind === 'LSTM';
    if (state !== undefined && state !== null) {
      if (typeof state !== 'object' || Array.isArray(state) || state instanceof Tensor)
        throw typeError(ctx, 'state', 'an object { h, c? }', state);
      h0 = checkTensorShape(ctx, 'state.h', state.h, stateShape, '(numLayers·D, B, H)').data;
      if (state.c !== undefined) {
        if (!lstm) throw new RangeError(`${ctx}: state.c is only for LSTM; ${this.kind} has no cell state`);
        c0 = checkTensorShape(ctx, 'state.c', state.c, stateShape, '(numLayers·D, B, H)').data;
      } else if (lstm) {
        throw new RangeError(`${ctx}: state.c is missing: an LSTM's state is { h, c } (both (numLayers·D, B, H)), as in PyTorch`);
      }
    }
    const o = checkOptions<{ lengths: Int32Array }>(ctx, 'opts', opts);
    checkKnownOptions(ctx, o, ['lengths']);
    let lengths: Int32Array | null = null;
    if (o.lengths !== undefined) {
      lengths = checkInt32Array(ctx, 'opts.lengths', o.lengths, B);
      for (let b = 0; b < B; b++)
        if (lengths[b] < 1 || lengths[b] > T) throw rangeError(ctx, `opts.lengths[${b}]`, `an integer in [1, ${T}] (T)`, lengths[b]);
    }
    const DH = this.directions * this.hiddenSize;
    const outputShape = this.batchFirst ? [B, T, DH] : [T, B, DH];
    const output = allocLike(sample, checkedProduct(ctx, 'output', outputShape));
    checkedProduct(ctx, 'the gate buffer', [T, B, this.gateCount * this.hiddenSize]);
    const hN = allocLike(sample, checkedProduct(ctx, 'h', stateShape));
    const cN = lstm ? allocLike(sample, hN.length) : null;
    const result: RecurrentOutput = { output: Tensor.wrap(output, outputShape), h: Tensor.wrap(hN, stateShape.slice()) };
    if (cN) result.c = Tensor.wrap(cN, stateShape.slice());
    return { T, B, outputShape, h0, c0, lengths, output, hN, cN, result };
  }

  /**
   * Backpropagates through the last training forward: returns the gradients of the input
   * and of the initial state, and ADDS the parameter gradients into each `.grad` (of the
   * parameters that require grad). `gradOutput` may be null when only the final state
   * carries a gradient.
   */
  backward(gradOutput: Tensor | null, gradState?: { h?: Tensor; c?: Tensor }): RecurrentGradients {
    const ctx = `${this.kind}.backward`;
    const call = this.lastCall;
    if (!call || call.consumed)
      throw new RangeError(
        `${ctx}: there is nothing to backpropagate: call forward() in training mode first (eval mode saves no activations, and each backward consumes its forward's)`,
      );
    const { dOut, dh, dc } = this.checkGradients(ctx, call, gradOutput, gradState);
    const gradInput = allocLike(call.sample, call.inputShape.reduce((a, b) => a * b, 1));
    const gradH0 = allocLike(call.sample, call.stateShape.reduce((a, b) => a * b, 1));
    const gradC0 = this.kind === 'LSTM' ? allocLike(call.sample, gradH0.length) : null;
    this.runBackward(call, dOut, dh, dc, gradInput, null, gradH0, gradC0);
    this.lastCall = null;
    const gradInitial: { h: Tensor; c?: Tensor } = { h: Tensor.wrap(gradH0, call.stateShape.slice()) };
    if (gradC0) gradInitial.c = Tensor.wrap(gradC0, call.stateShape.slice());
    return { gradInput: Tensor.wrap(gradInput, call.inputShape.slice()), gradState: gradInitial };
  }

  /** Checks backward's gradients against what the forward produced. */
  private checkGradients(ctx: string, call: ForwardCall, gradOutput: Tensor | null, gradState: { h?: Tensor; c?: Tensor } | undefined) {
    const dOut = gradOutput === null ? null : checkTensorShape(ctx, 'gradOutput', gradOutput, call.outputShape, 'like the forward output').data;
    let dh: Float32Array | null = null;
    let dc: Float32Array | null = null;
    if (gradState !== undefined && gradState !== null) {
      if (typeof gradState !== 'object') throw typeError(ctx, 'gradState', 'an object { h?, c? }', gradState);
      if (gradState.h !== undefined) dh = checkTensorShape(ctx, 'gradState.h', gradState.h, call.stateShape, '(numLayers·D, B, H)').data;
      if (gradState.c !== undefined) {
        if (this.kind !== 'LSTM') throw new RangeError(`${ctx}: gradState.c is only for LSTM; ${this.kind} has no cell state`);
        dc = checkTensorShape(ctx, 'gradState.c', gradState.c, call.stateShape, '(numLayers·D, B, H)').data;
      }
    }
    return { dOut, dh, dc };
  }

  /** The native backward of one kept forward; consumes it. @internal */
  runBackward(
    call: ForwardCall, dOut: Float32Array | null, dh: Float32Array | null, dc: Float32Array | null,
    gradInput: Float32Array | null, gradTable: Float32Array | null, gradH0: Float32Array | null, gradC0: Float32Array | null,
  ): void {
    if (call.consumed)
      throw new RangeError(`${this.kind}.backward: this forward was already differentiated (each backward consumes its forward's activations)`);
    const grads = this.parameterList().map((p) => (p.requiresGrad ? p.grad : null));
    const tokens = call.tokens;
    call.consumed = true;
    this.stackFor(call.sample).backward(
      call.arena, dOut, dh, dc, call.weights, grads, gradInput, tokens ? tokens.weight.data : null, gradTable,
      tokens ? tokens.paddingIdx : -1, gradH0, gradC0,
    );
    release(call.arena);
  }

  /** Forgets the last training forward (freeing its activations unless a recorded graph holds them). */
  private dropLastCall(): void {
    const last = this.lastCall;
    if (last && !last.consumed && !last.recorded) {
      last.consumed = true;
      release(last.arena);
    }
    this.lastCall = null;
  }

  /** The dropout masks' seed (two 32-bit halves) for a forward, drawn only when dropout applies. */
  private dropoutSeeds(): [number, number] {
    if (!(this.training && this.dropout > 0 && this.numLayers > 1)) return [0, 0];
    return [defaultGenerator.nextUint32(), defaultGenerator.nextUint32()];
  }

  private weightArrays(): Float32Array[] {
    const params = this.parameterList();
    // Rebuilt when any parameter's array was swapped (the float64 conversion of the checks, a
    // ParameterArena taking some or all of them).
    const w = this.weights;
    let same = w !== null;
    for (let i = 0; same && i < params.length; i++) same = w![i] === params[i].data;
    if (!same) this.weights = params.map((p) => p.data);
    return this.weights!;
  }
  /** The parameters' data arrays in binding order (loadStateDict copies into them). */
  private weights: Float32Array[] | null = null;
}

/** One recorded forward of a recurrent layer: outputs (output, h, c), inputs (input, h0, c0). */
class RecurrentNode extends Node {
  constructor(
    private readonly layer: RecurrentBase,
    private readonly call: ForwardCall,
    private readonly input: Tensor,
    h0: Tensor | null,
    c0: Tensor | null,
  ) {
    super(`${layer.constructor.name}Backward`, [input, h0, c0], 3);
  }

  protected backward(g: Array<Float32Array | null>, info: BackwardInfo): Array<Float32Array | null> {
    const call = this.call;
    const [needInput, needH0, needC0] = [this.inputs[0] !== null, this.inputs[1] !== null, this.inputs[2] !== null];
    // The embedding shortcut: the embedded input feeds only this layer and nobody asked for
    // its gradient, so the table's gradient is summed per token here and the Embedding's own
    // backward never runs (it receives nothing).
    const src = call.tokens;
    const fused = src !== null && needInput && this.input.gradFn !== null && this.input.gradFn === src.node && info.soleConsumer(this.input);
    const gradInput = needInput && !fused ? allocOut(call.sample, call.inputShape.reduce((a, b) => a * b, 1)) : null;
    const gradTable = fused && src.weight.requiresGrad ? src.weight.grad : null;
    const stateSize = call.stateShape.reduce((a, b) => a * b, 1);
    const gradH0 = needH0 ? allocOut(call.sample, stateSize) : null;
    const gradC0 = needC0 ? allocOut(call.sample, stateSize) : null;
    this.layer.runBackward(call, g[0], g[1], g[2], gradInput, gradTable, gradH0, gradC0);
    return [gradInput, gradH0, gradC0];
  }

  protected release(): void {
    if (!this.call.consumed) {
      this.call.consumed = true;
      release(this.call.arena);
    }
  }
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
    const nl = options && typeof options === 'object' ? options.nonlinearity : undefined;
    const nonlinearity = checkOneOf('RNN', 'nonlinearity', orDefault(nl, 'tanh'), ['tanh', 'relu'] as const);
    super(nonlinearity === 'relu' ? 'rnn_relu' : 'rnn_tanh', options, ['nonlinearity']);
    this.nonlinearity = nonlinearity;
  }
}

/**
 * Long short-term memory, PyTorch's nn.LSTM (gates i, f, g, o). Its state is { h, c }.
 *
 * @example
 * const lstm = new LSTM({ inputSize: 8, hiddenSize: 16, numLayers: 2, bidirectional: true });
 * const { output, h, c } = lstm.forward(Tensor.zeros([5, 2, 8])); // output (5, 2, 32)
 * lstm.backward(Tensor.zeros([5, 2, 32]));
 */
export class LSTM extends RecurrentBase {
  constructor(options: RecurrentOptions) {
    super('lstm', options);
  }
  forward(input: Tensor, state?: LSTMState, opts?: { lengths?: Int32Array }): LSTMOutput {
    return super.forward(input, state, opts) as LSTMOutput;
  }
  forwardAsync(input: Tensor, state?: LSTMState, opts?: { lengths?: Int32Array }): Promise<LSTMOutput> {
    return super.forwardAsync(input, state, opts) as Promise<LSTMOutput>;
  }
  backward(gradOutput: Tensor | null, gradState?: { h?: Tensor; c?: Tensor }): LSTMGradients {
    return super.backward(gradOutput, gradState) as LSTMGradients;
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
    super('gru', options);
  }
}
