/**
 * Tree-structured recursive networks: one network applied at every node of a batch of trees,
 * composing the children's states into the parent's, bottom-up. TreeRNN (the recursive unit of
 * Socher et al.), ChildSumTreeLSTM and NaryTreeLSTM (Tai, Socher & Manning 2015).
 *
 * A batch of trees is flat: node features x (N, I), one row per node, and each node's children
 * as compressed lists, `index[offsets[n] .. offsets[n+1])` (−1 marks an empty position). The
 * native side validates the lists, sorts the nodes into levels (each level = the nodes whose
 * children are done) and runs each level as one gather, one GEMM and one fused elementwise
 * pass over every tree of the batch; nothing here loops over nodes. docs/trees.md has the
 * layout, the equations and the parameter shapes.
 */
import type { TreeCellCode, TreePlanHandle } from '../../binding';
import { Node } from '../core/autograd';
import { isGradEnabled } from '../core/grad-mode';
import { allocLike, checkTensorShape, Parameter, record, Tensor } from '../core/tensor';
import { checkBoolean, checkedProduct, checkInteger, checkKnownOptions, checkOneOf, checkOptions, shapeString, typeError } from '../core/validate';
import { native } from '../native/addon';
import { uniform } from './init';
import { Module } from './module';

/**
 * The children of every node of a batch: node n's are `index[offsets[n] .. offsets[n+1])`, −1
 * for an empty position.
 * @example
 * // (+ (* 3 4) 5) as nodes 0 '+', 1 '*', 2 '3', 3 '4', 4 '5'
 * const children: TreeChildren = { offsets: Int32Array.of(0, 2, 4, 4, 4, 4), index: Int32Array.of(1, 4, 2, 3) };
 */
export interface TreeChildren {
  /** (N + 1) non-decreasing, offsets[0] = 0, offsets[N] = index.length. */
  offsets: Int32Array;
  /** Child node ids (or −1), each node's in order. */
  index: Int32Array;
}

/**
 * A state per node: h (N, H), and c (N, H) for the TreeLSTMs.
 * @example const leaves: TreeState = { h: Tensor.randn([N, 16]), c: Tensor.zeros([N, 16]) };
 */
export interface TreeState {
  h: Tensor;
  c?: Tensor;
}

/**
 * Options of a tree layer's forward.
 * @example layer.forward(x, children, { leafState: { h: wordVectors } });
 */
export interface TreeForwardOptions {
  /**
   * States for the nodes without children (N, H) rows each, used at those nodes instead of
   * computing them (Socher et al.'s recursive networks take their leaves' vectors as given);
   * the other rows are ignored and get a zero gradient, and so do the leaves' rows of x.
   * `c` (the TreeLSTMs) defaults to zeros.
   */
  leafState?: TreeState;
}

/**
 * What a tree layer's forward returns.
 * @example
 * const { h, root, roots } = layer.forward(x, children);
 * const logits = head.forward(root.h); // one row per tree, in the order of roots
 */
export interface TreeOutput {
  /** (N, H): every node's state, rows by node id. */
  h: Tensor;
  /** (N, H): every node's cell (the TreeLSTMs). */
  c?: Tensor;
  /** The root states, (R, H) each, rows in the order of `roots`. */
  root: TreeState;
  /** The node ids of the roots (nodes that are nobody's child), ascending: R of them. */
  roots: Int32Array;
}

/**
 * The level schedule of a batch of trees, as the layers compute it.
 * @example const { numLevels } = treeLevels(batch.children);
 */
export interface TreeLevels {
  /** (N) each node's level: 0 for nodes without children, else 1 + the highest level of its children. */
  level: Int32Array;
  /** (N) the node ids level by level (within a level, in the order they became ready). */
  order: Int32Array;
  /** (numLevels + 1) where each level starts in `order`. */
  levelStarts: Int32Array;
  /** Node ids that are nobody's child, ascending. */
  roots: Int32Array;
  numLevels: number;
}

/** @example new TreeRNN({ inputSize: 32, hiddenSize: 64, arity: 2, nonlinearity: 'relu' }) */
export interface TreeRNNOptions {
  inputSize: number;
  hiddenSize: number;
  /** Child positions, each with its own U_k (default 2). */
  arity?: number;
  nonlinearity?: 'tanh' | 'relu';
  bias?: boolean;
}
/** @example new ChildSumTreeLSTM({ inputSize: 300, hiddenSize: 150 }) */
export interface ChildSumTreeLSTMOptions {
  inputSize: number;
  hiddenSize: number;
  bias?: boolean;
}
/** @example new NaryTreeLSTM({ inputSize: 300, hiddenSize: 150, arity: 2 }) */
export interface NaryTreeLSTMOptions {
  inputSize: number;
  hiddenSize: number;
  /** Ordered child positions, at most this many children per node. */
  arity: number;
  bias?: boolean;
}

const NO_LIMIT = 2 ** 31 - 1;

/** Validated children lists → the native plan; a malformed forest is a RangeError naming the node. */
function makePlan(ctx: string, children: unknown, N: number | null, maxChildren: number): TreePlanHandle {
  if (children === null || typeof children !== 'object')
    throw typeError(ctx, 'children', 'an object { offsets: Int32Array, index: Int32Array }', children);
  const { offsets, index } = children as TreeChildren;
  if (!(offsets instanceof Int32Array)) throw typeError(ctx, 'children.offsets', 'an Int32Array', offsets);
  if (!(index instanceof Int32Array)) throw typeError(ctx, 'children.index', 'an Int32Array', index);
  if (N !== null && offsets.length !== N + 1)
    throw new RangeError(`${ctx}: children.offsets must have N + 1 = ${N + 1} elements (one more than x has rows), received ${offsets.length}`);
  if (offsets.length < 1) throw new RangeError(`${ctx}: children.offsets must have N + 1 elements, at least 1, received 0`);
  try {
    return native.treePlan(offsets, index, maxChildren);
  } catch (e) {
    // The addon's errors come from the main realm (instanceof Error can fail in a vm context):
    // re-throw the plan's RangeError from here, with the caller's context.
    const err = e as { name?: unknown; message?: unknown } | null;
    if (err && err.name === 'RangeError') throw new RangeError(`${ctx}: children: ${String(err.message)}`);
    throw e;
  }
}

/**
 * The levels a tree layer would run for these children lists (validated as forward does).
 *
 * @example
 * // (+ (* 3 4) 5): node 0 is '+', 1 is '*', 2 '3', 3 '4', 4 '5'
 * const { level, numLevels } = treeLevels({ offsets: Int32Array.of(0, 2, 4, 4, 4, 4), index: Int32Array.of(1, 4, 2, 3) });
 * // level = [2, 1, 0, 0, 0], numLevels = 3
 */
export function treeLevels(children: TreeChildren, opts?: { maxChildren?: number }): TreeLevels {
  const ctx = 'treeLevels';
  const o = checkOptions<{ maxChildren: number }>(ctx, 'opts', opts);
  checkKnownOptions(ctx, o, ['maxChildren']);
  const max = o.maxChildren === undefined ? NO_LIMIT : checkInteger(ctx, 'opts.maxChildren', o.maxChildren, 0, NO_LIMIT);
  const plan = makePlan(ctx, children, null, max);
  return { level: plan.level, order: plan.order, levelStarts: plan.levelStarts, roots: plan.roots, numLevels: plan.numLevels };
}

type Weights = [Float32Array, Float32Array, Float32Array | null, Float32Array | null];

/**
 * The shared machinery of the tree layers: PyTorch-named parameters `weight_ih`, `weight_hh`,
 * `bias_ih`, `bias_hh` (shapes per layer in its documentation), all ~ U(−1/√H, 1/√H), and one
 * native call per forward and per backward. Each training forward keeps its own activations
 * (native, owned by the call), so a layer may run any number of times before one backward.
 *
 * @example
 * const layers: TreeBase[] = [new TreeRNN({ inputSize: 8, hiddenSize: 16 }), new ChildSumTreeLSTM({ inputSize: 8, hiddenSize: 16 })];
 * for (const layer of layers) layer.forward(x, children).root.h; // (trees, 16)
 */
export abstract class TreeBase extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly bias: boolean;
  readonly weight_ih: Parameter;
  readonly weight_hh: Parameter;
  readonly bias_ih: Parameter | null;
  readonly bias_hh: Parameter | null;
  /** @internal */
  readonly code: TreeCellCode;
  /** Child positions (K); 0 for the child-sum cell, which takes any number. @internal */
  readonly positions: number;
  private readonly label: string;

  /** gatesIn/gatesHh: blocks of H rows in weight_ih and weight_hh; hhInputs: blocks of H columns in weight_hh. */
  protected constructor(
    label: string,
    code: TreeCellCode,
    options: { inputSize: number; hiddenSize: number; bias?: boolean },
    positions: number,
    shape: { gatesIn: number; gatesHh: number; hhInputs: number },
  ) {
    super();
    const ctx = label;
    this.label = label;
    this.code = code;
    this.positions = positions;
    this.inputSize = checkInteger(ctx, 'inputSize', options.inputSize, 1);
    this.hiddenSize = checkInteger(ctx, 'hiddenSize', options.hiddenSize, 1);
    this.bias = checkBoolean(ctx, 'bias', options.bias === undefined ? true : options.bias);
    const H = this.hiddenSize;
    const bound = 1 / Math.sqrt(H);
    const make = (shape: number[]) => new Parameter(uniform(checkedProduct(ctx, 'a parameter', shape), bound), shape);
    this.weight_ih = this.registerParameter('weight_ih', make([shape.gatesIn * H, this.inputSize]));
    this.weight_hh = this.registerParameter('weight_hh', make([shape.gatesHh * H, shape.hhInputs * H]));
    this.bias_ih = this.bias ? this.registerParameter('bias_ih', make([shape.gatesIn * H])) : null;
    this.bias_hh = this.bias ? this.registerParameter('bias_hh', make([shape.gatesHh * H])) : null;
  }

  /**
   * Runs the layer over a batch of trees: x (N, I), one row per node, and each node's children
   * (−1: an empty position; an empty or absent child counts as zeros). Returns every node's
   * state, and the roots' states. Differentiable in x, `opts.leafState` and the parameters.
   *
   * @example
   * const batch = Tree.batch([Tree.parse('(+ 1 2)'), Tree.parse('(* (- 7 3) 2)')]);
   * const out = layer.forward(Tensor.randn([batch.size, layer.inputSize]), batch.children);
   * F.sum(out.root.h).backward();
   */
  forward(x: Tensor, children: TreeChildren, opts?: TreeForwardOptions): TreeOutput {
    const ctx = `${this.label}.forward`;
    if (!(x instanceof Tensor)) throw typeError(ctx, 'x', 'a Tensor', x);
    if (x.shape.length !== 2 || x.shape[1] !== this.inputSize || x.shape[0] < 1)
      throw new RangeError(`${ctx}: x must have shape (N, ${this.inputSize}) with N ≥ 1 (one row per node), received shape ${shapeString(x.shape)}`);
    const N = x.shape[0], H = this.hiddenSize, I = this.inputSize;
    const lstm = this.code >= 2;
    const float64 = x.data instanceof Float64Array;
    if (float64 !== this.weight_ih.data instanceof Float64Array)
      throw new TypeError(`${ctx}: x and the parameters must have the same element type`);
    const o = checkOptions<TreeForwardOptions>(ctx, 'opts', opts);
    checkKnownOptions(ctx, o, ['leafState']);
    let leafH: Tensor | null = null;
    let leafC: Tensor | null = null;
    if (o.leafState !== undefined) {
      const s = o.leafState;
      if (s === null || typeof s !== 'object') throw typeError(ctx, 'opts.leafState', lstm ? 'an object { h, c? }' : 'an object { h }', s);
      leafH = checkTensorShape(ctx, 'opts.leafState.h', s.h, [N, H], '(N, H)');
      if (s.c !== undefined) {
        if (!lstm) throw new RangeError(`${ctx}: opts.leafState.c is only for the TreeLSTMs`);
        leafC = checkTensorShape(ctx, 'opts.leafState.c', s.c, [N, H], '(N, H)');
      }
      for (const [name, t] of [['opts.leafState.h', leafH], ['opts.leafState.c', leafC]] as const)
        if (t && t.data instanceof Float64Array !== float64) throw new TypeError(`${ctx}: x and ${name} must have the same element type`);
    }
    const plan = makePlan(ctx, children, N, this.positions === 0 ? NO_LIMIT : this.positions);

    const like = x.data;
    const hOut = allocLike(like, N * H);
    const cOut = lstm ? allocLike(like, N * H) : null;
    const weights = this.weightList();
    const wanted =
      this.training && isGradEnabled() && (x.requiresGrad || !!leafH?.requiresGrad || !!leafC?.requiresGrad || this.anyParameterRequiresGrad());
    // What backward needs, in an array of the call's own (the garbage collector frees it if
    // no backward comes); none in eval mode or under noGrad.
    const saved = wanted ? allocLike(like, native.treeSavedSize(this.code, N, plan.numEdges, I, H, this.positions)) : null;
    native.treeForward(plan, this.code, I, H, this.positions, x.data, weights, leafH ? leafH.data : null, leafC ? leafC.data : null, hOut, cOut, saved);
    const roots = plan.roots;
    const R = roots.length;
    const gatherRoots = (all: Float32Array): Tensor => {
      const out = allocLike(like, R * H);
      native.gather(out, all, roots, 1, N, H);
      return Tensor.wrap(out, [R, H]);
    };
    const h = Tensor.wrap(hOut, [N, H]);
    const c = cOut ? Tensor.wrap(cOut, [N, H]) : undefined;
    const root: TreeState = { h: gatherRoots(hOut) };
    if (cOut) root.c = gatherRoots(cOut);
    if (saved) record(new TreeNode(this, plan, saved, weights, roots, x, leafH, leafC), [h, c, root.h, root.c]);
    const result: TreeOutput = { h, root, roots: roots.slice() }; // a copy: backward keeps its own
    if (c) result.c = c;
    return result;
  }

  /** [weight_ih, weight_hh, bias_ih | null, bias_hh | null] data arrays. @internal */
  weightList(): Weights {
    return [this.weight_ih.data, this.weight_hh.data, this.bias_ih ? this.bias_ih.data : null, this.bias_hh ? this.bias_hh.data : null];
  }

  protected describe(): string {
    return `${this.label}(${this.inputSize}, ${this.hiddenSize}${this.positions ? `, arity=${this.positions}` : ''}${this.bias ? '' : ', bias=false'})`;
  }
}

/** One recorded forward over a batch of trees: outputs (h, c, root h, root c), inputs (x, leaf h, leaf c). */
class TreeNode extends Node {
  private saved: Float32Array | null;
  constructor(
    private readonly layer: TreeBase,
    private readonly plan: TreePlanHandle,
    saved: Float32Array,
    private readonly weights: Weights,
    private readonly roots: Int32Array,
    x: Tensor,
    leafH: Tensor | null,
    leafC: Tensor | null,
  ) {
    super(`${layer.constructor.name}Backward`, [x, leafH, leafC], 4);
    this.saved = saved;
    this.leaf = leafH !== null;
  }
  /** Whether the forward took leaf states. */
  private readonly leaf: boolean;

  protected backward(g: Array<Float32Array | null>): Array<Float32Array | null> {
    const m = this.layer;
    const H = m.hiddenSize, N = this.plan.numNodes;
    const like = this.saved!;
    // A root's state is a row of h (c): its gradient joins that row's.
    const withRoots = (all: Float32Array | null, root: Float32Array | null): Float32Array | null => {
      if (!root) return all;
      const out = all ? all.slice() : allocLike(like, N * H);
      native.scatterAdd(out, root, this.roots, 1, N, H);
      return out;
    };
    const dh = withRoots(g[0], g[2]);
    const dc = withRoots(g[1], g[3]);
    const dx = this.inputs[0] ? allocLike(like, N * m.inputSize) : null;
    const dLeafH = this.inputs[1] ? allocLike(like, N * H) : null;
    const dLeafC = this.inputs[2] ? allocLike(like, N * H) : null;
    const params = [m.weight_ih, m.weight_hh, m.bias_ih, m.bias_hh];
    const grads = params.map((p) => (p && p.requiresGrad ? p.grad : null));
    native.treeBackward(this.plan, m.code, m.inputSize, H, m.positions, this.weights, grads, this.saved!, this.leaf,
      dh, dc, dx, dLeafH, dLeafC);
    return [dx, dLeafH, dLeafC];
  }

  protected release(): void {
    this.saved = null;
  }
}

function checkCommon(ctx: string, options: unknown, extra: string[]): Record<string, unknown> {
  if (options === undefined) throw typeError(ctx, 'options', 'an options object with inputSize and hiddenSize', options);
  const o = checkOptions<Record<string, unknown>>(ctx, 'options', options);
  checkKnownOptions(ctx, o, ['inputSize', 'hiddenSize', 'bias', ...extra]);
  return o;
}

/**
 * The recursive unit (Socher et al.): h = act(W x + b_ih + Σ_k U_k h_k + b_hh) at every node,
 * one U_k per child position k < arity, act tanh (default) or relu. Parameters `weight_ih`
 * (H, I), `weight_hh` (H, arity·H) — column block k is U_k —, `bias_ih`, `bias_hh` (H).
 *
 * @example
 * const rnn = new TreeRNN({ inputSize: 8, hiddenSize: 16 });
 * // (+ 3 4): node 0 has children 1 and 2
 * const { h, root } = rnn.forward(Tensor.randn([3, 8]), { offsets: Int32Array.of(0, 2, 2, 2), index: Int32Array.of(1, 2) });
 * // h (3, 16); root.h (1, 16) is node 0's
 */
export class TreeRNN extends TreeBase {
  readonly arity: number;
  readonly nonlinearity: 'tanh' | 'relu';
  constructor(options: TreeRNNOptions) {
    const o = checkCommon('TreeRNN', options, ['arity', 'nonlinearity']);
    const arity = checkInteger('TreeRNN', 'arity', o.arity === undefined ? 2 : o.arity, 1, 4096);
    const nonlinearity = checkOneOf('TreeRNN', 'nonlinearity', o.nonlinearity === undefined ? 'tanh' : o.nonlinearity, ['tanh', 'relu'] as const);
    super('TreeRNN', nonlinearity === 'relu' ? 1 : 0, options, arity, { gatesIn: 1, gatesHh: 1, hhInputs: arity });
    this.arity = arity;
    this.nonlinearity = nonlinearity;
  }
}

/**
 * The child-sum TreeLSTM (Tai et al. 2015, eqs. 2–8): any number of unordered children; the
 * input, output and update gates read h̃ = Σ_k h_k, and each child k has its own forget gate
 * f_k = σ(W_f x + U_f h_k + b_f). Parameters in PyTorch's LSTM layout, gates i, f, g, o
 * (g is Tai et al.'s u): `weight_ih` (4H, I), `weight_hh` (4H, H), `bias_ih`, `bias_hh` (4H).
 * On a chain of nodes (one child each) it is exactly nn.LSTM.
 *
 * @example
 * const lstm = new ChildSumTreeLSTM({ inputSize: 8, hiddenSize: 16 });
 * const { h, c, root } = lstm.forward(x, { offsets: Int32Array.of(0, 3, 3, 3, 3), index: Int32Array.of(1, 2, 3) });
 */
export class ChildSumTreeLSTM extends TreeBase {
  constructor(options: ChildSumTreeLSTMOptions) {
    checkCommon('ChildSumTreeLSTM', options, []);
    super('ChildSumTreeLSTM', 2, options, 0, { gatesIn: 4, gatesHh: 4, hhInputs: 1 });
  }
  forward(x: Tensor, children: TreeChildren, opts?: TreeForwardOptions): TreeOutput & { c: Tensor; root: { h: Tensor; c: Tensor } } {
    return super.forward(x, children, opts) as TreeOutput & { c: Tensor; root: { h: Tensor; c: Tensor } };
  }
}

/**
 * The N-ary TreeLSTM (Tai et al. 2015, eqs. 9–14): ordered children, at most `arity` of them,
 * each position with its own matrices, and one forget gate per child that sees every child.
 * Parameters: `weight_ih` (4H, I), gates i, f, g, o (one input projection shared by the forget
 * gates); `weight_hh` ((3 + arity)·H, arity·H), gate blocks i, f_0 … f_{arity−1}, g, o — column
 * block l is position l's U_l, so block f_k's column block l is Tai et al.'s U^(f)_kl —;
 * `bias_ih` (4H), `bias_hh` ((3 + arity)·H). With arity 1, on a chain, it is exactly nn.LSTM.
 *
 * @example
 * const lstm = new NaryTreeLSTM({ inputSize: 8, hiddenSize: 16, arity: 2 });
 * const out = lstm.forward(x, children);   // out.h, out.c (N, 16); out.root.h (trees, 16)
 * F.sum(out.root.h).backward();
 */
export class NaryTreeLSTM extends TreeBase {
  readonly arity: number;
  constructor(options: NaryTreeLSTMOptions) {
    const o = checkCommon('NaryTreeLSTM', options, ['arity']);
    if (o.arity === undefined) throw new RangeError('NaryTreeLSTM: arity is required (the number of ordered child positions, e.g. 2 for binary trees)');
    const arity = checkInteger('NaryTreeLSTM', 'arity', o.arity, 1, 1024);
    super('NaryTreeLSTM', 3, options, arity, { gatesIn: 4, gatesHh: 3 + arity, hhInputs: arity });
    this.arity = arity;
  }
  forward(x: Tensor, children: TreeChildren, opts?: TreeForwardOptions): TreeOutput & { c: Tensor; root: { h: Tensor; c: Tensor } } {
    return super.forward(x, children, opts) as TreeOutput & { c: Tensor; root: { h: Tensor; c: Tensor } };
  }
}
