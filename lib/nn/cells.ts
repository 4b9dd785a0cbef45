/**
 * Single-step cells, PyTorch's nn.RNNCell, nn.LSTMCell, nn.GRUCell: one time step over a
 * batch, for models that decide each step themselves (a decoder with attention, a tree
 * composition). The same native cell kernels and math as the layers.
 */
import { BackwardInfo, Node } from '../core/autograd';
import { acquire, release } from '../core/buffer-pool';
import { allocLike, allocOut, checkTensorShape, Parameter, record, Tensor } from '../core/tensor';
import { checkBoolean, checkedProduct, checkInteger, checkKnownOptions, checkOneOf, checkOptions, shapeString, typeError } from '../core/validate';
import { native } from '../native/addon';
import { CELL_KINDS, CellKind } from './cell-kinds';
import { keepData } from './functional/node';
import { uniform } from './init';
import { Module } from './module';

export interface CellOptions {
  inputSize: number;
  hiddenSize: number;
  bias?: boolean;
}
export interface RNNCellOptions extends CellOptions {
  nonlinearity?: 'tanh' | 'relu';
}
/** A cell's state: h (B, H), and c (B, H) for an LSTM cell. */
export interface CellState {
  h: Tensor;
  c?: Tensor;
}

/**
 * The shared machinery of the cells: PyTorch-named parameters `weight_ih` (G·H, I),
 * `weight_hh` (G·H, H), `bias_ih`, `bias_hh` (G·H), all ~ U(−1/√H, 1/√H), and one native
 * call per step forward and backward. Each training call keeps its own gates (pooled), so a
 * cell can run over many steps before one backward.
 */
export abstract class CellBase extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly bias: boolean;
  /** @internal */
  readonly cell: CellKind;
  readonly weight_ih: Parameter;
  readonly weight_hh: Parameter;
  readonly bias_ih: Parameter | null;
  readonly bias_hh: Parameter | null;
  private readonly label: string;

  protected constructor(label: string, cell: CellKind, options: CellOptions, extra: string[] = []) {
    super();
    const ctx = label;
    this.label = label;
    if (options === undefined) throw typeError(ctx, 'options', 'an options object with inputSize and hiddenSize', options);
    const o = checkOptions<CellOptions>(ctx, 'options', options);
    checkKnownOptions(ctx, o, ['inputSize', 'hiddenSize', 'bias', ...extra]);
    this.cell = cell;
    this.inputSize = checkInteger(ctx, 'inputSize', o.inputSize, 1);
    this.hiddenSize = checkInteger(ctx, 'hiddenSize', o.hiddenSize, 1);
    this.bias = checkBoolean(ctx, 'bias', o.bias === undefined ? true : o.bias);
    const G = CELL_KINDS[cell].gates, H = this.hiddenSize;
    const bound = 1 / Math.sqrt(H);
    const make = (shape: number[]) => new Parameter(uniform(checkedProduct(ctx, 'a parameter', shape), bound), shape);
    this.weight_ih = this.registerParameter('weight_ih', make([G * H, this.inputSize]));
    this.weight_hh = this.registerParameter('weight_hh', make([G * H, H]));
    this.bias_ih = this.bias ? this.registerParameter('bias_ih', make([G * H])) : null;
    this.bias_hh = this.bias ? this.registerParameter('bias_hh', make([G * H])) : null;
  }

  /**
   * One step: x (B, I) and the state (h, and c for an LSTM cell, each (B, H); zeros when
   * absent) → the new state. Differentiable in x, the state and the parameters.
   */
  forward(x: Tensor, state?: CellState): CellState {
    const ctx = `${this.label}.forward`;
    if (!(x instanceof Tensor)) throw typeError(ctx, 'x', 'a Tensor', x);
    if (x.shape.length !== 2 || x.shape[1] !== this.inputSize || x.shape[0] < 1)
      throw new RangeError(`${ctx}: x must have shape (B, ${this.inputSize}) with B ≥ 1, received shape ${shapeString(x.shape)}`);
    const B = x.shape[0], H = this.hiddenSize, I = this.inputSize;
    const lstm = this.cell === 'lstm';
    const stateShape = [B, H];
    let h: Tensor | null = null;
    let c: Tensor | null = null;
    if (state !== undefined && state !== null) {
      if (typeof state !== 'object' || Array.isArray(state) || state instanceof Tensor)
        throw typeError(ctx, 'state', lstm ? 'an object { h, c }' : 'an object { h }', state);
      h = checkTensorShape(ctx, 'state.h', state.h, stateShape, '(B, H)');
      if (lstm) {
        if (state.c === undefined) throw new RangeError(`${ctx}: state.c is missing: an LSTM cell's state is { h, c }`);
        c = checkTensorShape(ctx, 'state.c', state.c, stateShape, '(B, H)');
      } else if (state.c !== undefined) {
        throw new RangeError(`${ctx}: state.c is only for LSTMCell`);
      }
    }
    const like = x.data;
    const hData = h ? h.data : allocLike(like, B * H);
    const cData = lstm ? (c ? c.data : allocLike(like, B * H)) : null;
    const hOut = allocLike(like, B * H);
    const cOut = lstm ? allocLike(like, B * H) : null;
    const G = CELL_KINDS[this.cell].gates;
    const saved = acquire(like, B * (G + 1) * H);
    const weights = this.weightList();
    native.cellForward(CELL_KINDS[this.cell].code, B, I, H, x.data, hData, cData, weights, hOut, cOut, saved);
    const result: CellState = { h: Tensor.wrap(hOut, stateShape.slice()) };
    if (cOut) result.c = Tensor.wrap(cOut, stateShape.slice());
    const wanted = this.recordsFor(x, h, c);
    if (!wanted) {
      release(saved);
      return result;
    }
    const kept = {
      B, saved, weights,
      x: keepData(x),
      h: h ? keepData(h) : hData,
      c: cData ? (c ? keepData(c) : cData) : null,
    };
    record(new CellNode(this, kept, x, h, c), [result.h, result.c]);
    return result;
  }

  /** [weight_ih, weight_hh, bias_ih | null, bias_hh | null] data arrays. @internal */
  weightList(): [Float32Array, Float32Array, Float32Array | null, Float32Array | null] {
    return [this.weight_ih.data, this.weight_hh.data, this.bias_ih ? this.bias_ih.data : null, this.bias_hh ? this.bias_hh.data : null];
  }

  protected describe(): string {
    return `${this.label}(${this.inputSize}, ${this.hiddenSize}${this.bias ? '' : ', bias=false'})`;
  }
}

interface KeptStep {
  B: number;
  saved: Float32Array;
  weights: [Float32Array, Float32Array, Float32Array | null, Float32Array | null];
  x: Float32Array;
  h: Float32Array;
  c: Float32Array | null;
}

/** One recorded step: outputs (h, c), inputs (x, h, c). */
class CellNode extends Node {
  private kept: KeptStep | null;
  constructor(private readonly cellModule: CellBase, kept: KeptStep, x: Tensor, h: Tensor | null, c: Tensor | null) {
    super(`${cellModule.constructor.name}Backward`, [x, h, c], 2);
    this.kept = kept;
  }

  protected backward(g: Array<Float32Array | null>, _info: BackwardInfo): Array<Float32Array | null> {
    const k = this.kept!;
    const m = this.cellModule;
    const H = m.hiddenSize, I = m.inputSize;
    const like = k.saved;
    const dx = this.inputs[0] ? allocOut(like, k.B * I) : null;
    const dh = this.inputs[1] ? allocOut(like, k.B * H) : null;
    const dc = this.inputs[2] ? allocOut(like, k.B * H) : null;
    const params = [m.weight_ih, m.weight_hh, m.bias_ih, m.bias_hh];
    const grads = params.map((p) => (p && p.requiresGrad ? p.grad : null));
    native.cellBackward(CELL_KINDS[m.cell].code, k.B, I, H, k.x, k.h, k.c, k.weights, grads, k.saved, g[0], g[1], dx, dh, dc);
    return [dx, dh, dc];
  }

  protected release(): void {
    if (this.kept) release(this.kept.saved);
    this.kept = null;
  }
}

/**
 * PyTorch's nn.RNNCell: h' = act(W_ih x + b_ih + W_hh h + b_hh), act tanh (default) or relu.
 * @example
 * const cell = new RNNCell({ inputSize: 8, hiddenSize: 16 });
 * let { h } = cell.forward(x0);          // x0 (B, 8) → h (B, 16)
 * ({ h } = cell.forward(x1, { h }));
 */
export class RNNCell extends CellBase {
  readonly nonlinearity: 'tanh' | 'relu';
  constructor(options: RNNCellOptions) {
    const nl = options && typeof options === 'object' ? options.nonlinearity : undefined;
    const nonlinearity = checkOneOf('RNNCell', 'nonlinearity', nl === undefined ? 'tanh' : nl, ['tanh', 'relu'] as const);
    super('RNNCell', nonlinearity === 'relu' ? 'rnn_relu' : 'rnn_tanh', options, ['nonlinearity']);
    this.nonlinearity = nonlinearity;
  }
}

/**
 * PyTorch's nn.LSTMCell (gates i, f, g, o): its state is { h, c }.
 * @example
 * const cell = new LSTMCell({ inputSize: 8, hiddenSize: 16 });
 * let state = cell.forward(x0);          // { h, c }, each (B, 16)
 * state = cell.forward(x1, state);
 */
export class LSTMCell extends CellBase {
  constructor(options: CellOptions) {
    super('LSTMCell', 'lstm', options);
  }
  forward(x: Tensor, state?: { h: Tensor; c: Tensor }): { h: Tensor; c: Tensor } {
    return super.forward(x, state) as { h: Tensor; c: Tensor };
  }
}

/**
 * PyTorch's nn.GRUCell (gates r, z, n; n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))).
 * @example
 * const cell = new GRUCell({ inputSize: 8, hiddenSize: 16 });
 * const { h } = cell.forward(x0);
 */
export class GRUCell extends CellBase {
  constructor(options: CellOptions) {
    super('GRUCell', 'gru', options);
  }
}
