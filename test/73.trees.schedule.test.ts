// Level scheduling, the malformed forests one by one (each a RangeError naming the node), the
// argument checks of the tree layers, and the Tree helper (nested arrays, bracketed strings,
// batching).
import { ChildSumTreeLSTM, NaryTreeLSTM, Tensor, Tree, TreeRNN, treeLevels } from '../lib';
import { Generator } from '../lib/core/random';
import { native } from '../lib/native/addon';
import { throwsWith } from './helpers/errors';
import { randomForest } from './70.trees.helpers';

/** A direct addon call's error: the addon's errors come from node's own realm, so compare the class by name. */
function nativeThrows(fn: () => unknown, cls: 'TypeError' | 'RangeError', ...parts: string[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect((err as Error | undefined)?.constructor?.name).toBe(cls);
  for (const part of parts) expect((err as Error).message).toContain(part);
}

const ch = (offsets: number[], index: number[]) => ({ offsets: Int32Array.from(offsets), index: Int32Array.from(index) });

describe('treeLevels', () => {
  it('(+ (* 3 4) 5): leaves first, each level the nodes whose children are done', () => {
    // node 0 '+', 1 '*', 2 '3', 3 '4', 4 '5'
    const l = treeLevels(ch([0, 2, 4, 4, 4, 4], [1, 4, 2, 3]));
    expect(Array.from(l.level)).toEqual([2, 1, 0, 0, 0]);
    expect(l.numLevels).toBe(3);
    expect(Array.from(l.levelStarts)).toEqual([0, 3, 4, 5]);
    expect(Array.from(l.order)).toEqual([2, 3, 4, 1, 0]);
    expect(Array.from(l.roots)).toEqual([0]);
  });

  it('on random forests in any order: level = 1 + the highest child level, roots = nobody\'s child', () => {
    const g = new Generator(3);
    const f = randomForest(g, { trees: 30, maxNodes: 25, maxKids: 4, empty: 0.2 });
    const l = treeLevels(f);
    const kids = (n: number) => Array.from(f.index.subarray(f.offsets[n], f.offsets[n + 1])).filter((c) => c >= 0);
    for (let n = 0; n < f.N; n++) expect(l.level[n]).toBe(kids(n).length ? 1 + Math.max(...kids(n).map((c) => l.level[c])) : 0);
    const isChild = new Set(Array.from(f.index).filter((c) => c >= 0));
    expect(Array.from(l.roots)).toEqual(Array.from({ length: f.N }, (_, n) => n).filter((n) => !isChild.has(n)));
    expect(l.roots.length).toBe(30);
    for (let k = 0; k < l.numLevels; k++)
      for (let p = l.levelStarts[k]; p < l.levelStarts[k + 1]; p++) expect(l.level[l.order[p]]).toBe(k);
  });

  it('a node whose positions are all empty is a leaf', () => {
    expect(Array.from(treeLevels(ch([0, 2, 3], [-1, 1, -1])).level)).toEqual([1, 0]);
  });

  it('a chain of 5000 nodes: 5000 levels, and a layer runs it', () => {
    const N = 5000;
    const offsets = Int32Array.from({ length: N + 1 }, (_, n) => Math.max(0, n - 1));
    const index = Int32Array.from({ length: N - 1 }, (_, n) => n);
    expect(treeLevels({ offsets, index }).numLevels).toBe(N);
    const out = new NaryTreeLSTM({ inputSize: 2, hiddenSize: 3, arity: 1 }).forward(Tensor.ones([N, 2]), { offsets, index });
    expect(Array.from(out.roots)).toEqual([N - 1]);
    expect(out.root.h.data.every(Number.isFinite)).toBe(true);
  });
});

describe('malformed forests: a RangeError naming the node', () => {
  const nary = () => new NaryTreeLSTM({ inputSize: 2, hiddenSize: 3, arity: 2 });
  const x = (N: number) => Tensor.zeros([N, 2]);
  const ctx = 'NaryTreeLSTM.forward: children: ';

  it('a cycle', () => {
    throwsWith(() => nary().forward(x(4), ch([0, 1, 2, 3, 3], [1, 2, 0])), RangeError, ctx, 'a cycle', 'node 0 is its own descendant', '0 → 2 → 1 → 0');
  });
  it('a node that is its own child', () => {
    throwsWith(() => nary().forward(x(3), ch([0, 2, 2, 2], [1, 0])), RangeError, ctx, 'a cycle: node 0 is its own child (index[1])');
  });
  it('a child index out of range (too large, or negative other than −1)', () => {
    throwsWith(() => nary().forward(x(3), ch([0, 2, 2, 2], [1, 3])), RangeError, ctx,
      'node 0: child index 3 (index[1]) is out of range: node ids are 0..2, and -1 marks an empty position');
    throwsWith(() => nary().forward(x(3), ch([0, 0, 2, 2], [2, -2])), RangeError, 'node 1: child index -2 (index[1]) is out of range');
  });
  it('a node listed twice under one parent', () => {
    throwsWith(() => nary().forward(x(3), ch([0, 2, 2, 2], [2, 2])), RangeError, ctx, 'node 2 is listed twice as a child of node 0 (index[0] and index[1])');
  });
  it('a node that is the child of two parents', () => {
    throwsWith(() => nary().forward(x(4), ch([0, 1, 2, 2, 2], [2, 2])), RangeError, ctx, 'node 2 is a child of two parents, node 0 (index[0]) and node 1 (index[1])');
  });
  it('more children than the arity (N-ary and TreeRNN; the child-sum cell takes any number)', () => {
    throwsWith(() => nary().forward(x(4), ch([0, 3, 3, 3, 3], [1, 2, 3])), RangeError, ctx, 'node 0 has 3 children, more than the 2 allowed (the arity)');
    throwsWith(() => new TreeRNN({ inputSize: 2, hiddenSize: 3, arity: 1 }).forward(x(4), ch([0, 0, 2, 2, 2], [2, 3])), RangeError,
      'TreeRNN.forward: children: node 1 has 2 children, more than the 1 allowed');
    // empty positions count: they are positions
    throwsWith(() => nary().forward(x(2), ch([0, 3, 3], [-1, -1, 1])), RangeError, 'node 0 has 3 children');
    const cs = new ChildSumTreeLSTM({ inputSize: 2, hiddenSize: 3 }).forward(x(6), ch([0, 5, 5, 5, 5, 5, 5], [1, 2, 3, 4, 5]));
    expect(Array.from(cs.roots)).toEqual([0]);
  });
  it('malformed offsets', () => {
    throwsWith(() => nary().forward(x(3), ch([0, 2, 2], [1, 2])), RangeError, 'children.offsets must have N + 1 = 4 elements (one more than x has rows), received 3');
    throwsWith(() => nary().forward(x(2), ch([1, 1, 1], [])), RangeError, ctx, 'offsets[0] must be 0, received 1');
    throwsWith(() => nary().forward(x(3), ch([0, 2, 1, 2], [1, 2])), RangeError, ctx, 'node 1: offsets[2] = 1 is less than offsets[1] = 2');
    throwsWith(() => nary().forward(x(2), ch([0, 1, 1], [1, -1])), RangeError, ctx, 'offsets[2] = 1 must equal index.length = 2');
    throwsWith(() => nary().forward(x(2), ch([0, 1, 3], [1, -1])), RangeError, ctx, 'node 1: offsets[2] = 3 is past the end of index (2 elements)');
  });
  it('the layer works after an error, and treeLevels reports the same errors', () => {
    const layer = nary();
    expect(() => layer.forward(x(3), ch([0, 2, 2, 2], [2, 2]))).toThrow(RangeError);
    expect(layer.forward(x(3), ch([0, 2, 2, 2], [1, 2])).h.shape).toEqual([3, 3]);
    throwsWith(() => treeLevels(ch([0, 1, 2], [1, 0])), RangeError, 'treeLevels: children: a cycle');
    throwsWith(() => treeLevels(ch([0, 2, 2, 2], [1, 2]), { maxChildren: 1 }), RangeError, 'node 0 has 2 children, more than the 1 allowed');
  });
});

describe('tree layers: argument checks', () => {
  const layer = new NaryTreeLSTM({ inputSize: 2, hiddenSize: 3, arity: 2 });
  const good = ch([0, 2, 2, 2], [1, 2]);
  it('x', () => {
    throwsWith(() => layer.forward([1, 2] as never, good), TypeError, 'NaryTreeLSTM.forward: expected a Tensor for x');
    throwsWith(() => layer.forward(Tensor.zeros([3, 5]), good), RangeError, 'x must have shape (N, 2) with N ≥ 1 (one row per node), received shape [3, 5]');
    throwsWith(() => layer.forward(Tensor.zeros([0, 2]), ch([0], [])), RangeError, 'N ≥ 1');
  });
  it('children', () => {
    throwsWith(() => layer.forward(Tensor.zeros([3, 2]), null as never), TypeError, 'expected an object { offsets: Int32Array, index: Int32Array } for children');
    throwsWith(() => layer.forward(Tensor.zeros([3, 2]), { offsets: [0, 2, 2, 2], index: Int32Array.of(1, 2) } as never), TypeError, 'expected an Int32Array for children.offsets');
    throwsWith(() => layer.forward(Tensor.zeros([3, 2]), { offsets: good.offsets, index: Float32Array.of(1, 2) } as never), TypeError, 'expected an Int32Array for children.index');
  });
  it('options and leaf states', () => {
    throwsWith(() => layer.forward(Tensor.zeros([3, 2]), good, { leafStates: {} } as never), RangeError, 'unknown option "leafStates" (did you mean "leafState"?)');
    throwsWith(() => layer.forward(Tensor.zeros([3, 2]), good, { leafState: { h: Tensor.zeros([3, 2]) } }), RangeError, 'opts.leafState.h must have shape [3, 3] (N, H), received shape [3, 2]');
    throwsWith(() => new TreeRNN({ inputSize: 2, hiddenSize: 3 }).forward(Tensor.zeros([3, 2]), good, { leafState: { h: Tensor.zeros([3, 3]), c: Tensor.zeros([3, 3]) } }),
      RangeError, 'opts.leafState.c is only for the TreeLSTMs');
  });
  it('element types must agree', () => {
    const x64 = Tensor.wrap(new Float64Array(6) as unknown as Float32Array, [3, 2]);
    throwsWith(() => layer.forward(x64, good), TypeError, 'x and the parameters must have the same element type');
  });
  it('constructors', () => {
    throwsWith(() => new NaryTreeLSTM({ inputSize: 2, hiddenSize: 3 } as never), RangeError, 'NaryTreeLSTM: arity is required');
    throwsWith(() => new NaryTreeLSTM({ inputSize: 2, hiddenSize: 3, arity: 0 }), RangeError, 'NaryTreeLSTM: expected an integer in [1, 1024] for arity');
    throwsWith(() => new TreeRNN({ inputSize: 2, hiddenSize: 3, nonlinearity: 'sigmoid' } as never), RangeError, 'expected one of "tanh", "relu" for nonlinearity');
    throwsWith(() => new ChildSumTreeLSTM({ inputSize: 2, hiddenSize: 3, arity: 2 } as never), RangeError, 'ChildSumTreeLSTM: unknown option "arity"');
    throwsWith(() => new TreeRNN({ inputSize: 2, hidenSize: 3 } as never), RangeError, 'unknown option "hidenSize" (did you mean "hiddenSize"?)');
    throwsWith(() => new TreeRNN(undefined as never), TypeError, 'TreeRNN: expected an options object with inputSize and hiddenSize');
    throwsWith(() => new ChildSumTreeLSTM({ inputSize: 0, hiddenSize: 3 }), RangeError, 'expected an integer in [1, ');
  });
  it('the binding checks what it receives, whatever TypeScript passed', () => {
    const plan = native.treePlan(good.offsets, good.index, 2);
    expect(plan.numLevels).toBe(2);
    const w = layer.weightList();
    const fwd = (p: unknown, K: number, x: Float32Array, ws: Array<Float32Array | null>, saved: Float32Array | null = null) =>
      native.treeForward(p as never, 3, 2, 3, K, x, ws, null, null, new Float32Array(9), new Float32Array(9), saved);
    const x = new Float32Array(6);
    fwd(plan, 2, x, w);
    nativeThrows(() => fwd({}, 2, x, w), 'TypeError', 'plan.numNodes must be a number');
    nativeThrows(() => fwd(null, 2, x, w), 'TypeError', 'plan must be the object treePlan returned');
    nativeThrows(() => fwd({ ...plan, edgeChild: Int32Array.of(1, 99) }, 2, x, w), 'RangeError', 'plan.edgeChild is not a valid plan');
    nativeThrows(() => fwd({ ...plan, edgePos: Int32Array.of(-5, 1) }, 2, x, w), 'RangeError', 'plan.edgePos is not a valid plan');
    nativeThrows(() => fwd({ ...plan, order: Int32Array.of(0, 1, 3) }, 2, x, w), 'RangeError', 'plan.order is not a valid plan');
    nativeThrows(() => fwd({ ...plan, levelStarts: Int32Array.of(0, 3, 3) }, 2, x, w), 'RangeError', 'plan.levelStarts is not a valid plan');
    nativeThrows(() => fwd({ ...plan, edgeStarts: Int32Array.of(0, 3, 2, 2) }, 2, x, w), 'RangeError', 'plan.edgeStarts is not a valid plan');
    nativeThrows(() => fwd({ ...plan, order: Int32Array.of(0, 1) }, 2, x, w), 'RangeError', 'plan.order must have 3 elements, received 2');
    nativeThrows(() => fwd(plan, 2, new Float32Array(5), w), 'RangeError', 'x must have 6 elements, received 5');
    nativeThrows(() => fwd(plan, 1, x, w), 'RangeError', 'the plan has a node with 2 children, more than K = 1');
    nativeThrows(() => fwd(plan, 2, x, [w[0], w[1], w[2], null]), 'RangeError', 'both biases or neither');
    nativeThrows(() => fwd(plan, 2, new Float64Array(6) as unknown as Float32Array, w), 'TypeError', 'weights[0] must be a Float64Array');
    const n = native.treeSavedSize(3, 3, 2, 2, 3, 2);
    nativeThrows(() => fwd(plan, 2, x, w, new Float32Array(n - 1)), 'RangeError', `saved must have ${n} elements, received ${n - 1}`);
    const saved = new Float32Array(n);
    fwd(plan, 2, x, w, saved);
    const back = (s: Float32Array, leaf: boolean, dLeafH: Float32Array | null = null) =>
      native.treeBackward(plan, 3, 2, 3, 2, w, [null, null, null, null], s, leaf, null, null, new Float32Array(6), dLeafH, null);
    back(saved, false);
    nativeThrows(() => back(new Float32Array(n + 1), false), 'RangeError', `saved must have ${n} elements`);
    nativeThrows(() => back(saved, false, new Float32Array(9)), 'RangeError', 'dLeafH and dLeafC are for a forward that took leaf states');
    nativeThrows(() => native.treePlan(new Int32Array(0), new Int32Array(0), 2), 'RangeError', 'offsets must have N + 1 elements');
    nativeThrows(() => native.treePlan([0, 1] as never, new Int32Array(0), 2), 'TypeError', 'offsets must be a Int32Array');
  });
});

describe('Tree', () => {
  it('parses the bracketed form and writes it back', () => {
    const t = Tree.parse(' (+ (* 3 4)\n 5) ');
    expect(t.label).toBe('+');
    expect(t.size).toBe(5);
    expect(t.depth).toBe(2);
    expect(t.children[0]!.label).toBe('*');
    expect(t.children[1]!.isLeaf).toBe(true);
    expect(t.toString()).toBe('(+ (* 3 4) 5)');
    expect(Tree.parse('x').size).toBe(1);
    expect(Tree.parse('(x)').toString()).toBe('x');
    const e = Tree.parse('(S (NP I) (VP ran ()))');
    expect(e.children[1]!.children[1]).toBeNull();
    expect(e.size).toBe(5);
    expect(String(e)).toBe('(S (NP I) (VP ran ()))');
  });
  it('builds from nested arrays and back', () => {
    const t = Tree.fromArray(['+', ['*', 3, 4], 5]);
    expect(t.toString()).toBe('(+ (* 3 4) 5)');
    expect(t.children[0]!.children[0]!.label).toBe(3);
    expect(t.toArray()).toEqual(['+', ['*', 3, 4], 5]);
    expect(Tree.fromArray(['VP', 'ran', null]).toArray()).toEqual(['VP', 'ran', null]);
    expect(Tree.fromArray(7).size).toBe(1);
  });
  it('parse errors say where', () => {
    throwsWith(() => Tree.parse('(+ 3 4'), RangeError, 'Tree.parse: missing ")" for the "(" at character 0');
    throwsWith(() => Tree.parse('(+ 3 4))'), RangeError, 'unmatched ")" at character 7');
    throwsWith(() => Tree.parse('(+ 3 4) 5'), RangeError, 'text after the tree at character 8');
    throwsWith(() => Tree.parse('((+) 3)'), RangeError, 'a label was expected after "(" at character 0');
    throwsWith(() => Tree.parse('  '), RangeError, 'the text holds no tree');
    throwsWith(() => Tree.parse('()'), RangeError, 'an empty position "()" at character 0 is not a tree');
    throwsWith(() => Tree.parse(3 as never), TypeError, 'Tree.parse: expected a string for text');
    throwsWith(() => Tree.fromArray([]), RangeError, 'nested is an empty array');
    throwsWith(() => Tree.fromArray(['+', [['x'], '1']]), RangeError, 'nested[1][0] must be a label, not an array');
    throwsWith(() => new Tree('a', ['b' as never]), TypeError, 'expected a Tree or null for children[0]');
  });
  it('a deep tree parses without exhausting the stack', () => {
    const depth = 20000;
    const t = Tree.parse('(a '.repeat(depth) + 'x' + ')'.repeat(depth));
    expect(t.depth).toBe(depth);
    expect(t.size).toBe(depth + 1);
    const b = Tree.batch([t]);
    expect(treeLevels(b.children).numLevels).toBe(depth + 1);
  });
  it('batches trees: pre-order ids, tree after tree, empty positions as −1', () => {
    const b = Tree.batch([Tree.parse('(+ (* 3 4) 5)'), Tree.parse('7'), Tree.parse('(VP ran ())')]);
    expect(b.size).toBe(8);
    expect(b.labels).toEqual(['+', '*', '3', '4', '5', '7', 'VP', 'ran']);
    expect(Array.from(b.roots)).toEqual([0, 5, 6]);
    expect(Array.from(b.tree)).toEqual([0, 0, 0, 0, 0, 1, 2, 2]);
    expect(Array.from(b.children.offsets)).toEqual([0, 2, 4, 4, 4, 4, 4, 6, 6]);
    expect(Array.from(b.children.index)).toEqual([1, 4, 2, 3, 7, -1]);
    expect(Array.from(b.labelIds((l) => (/^\d$/.test(l) ? Number(l) : 10)))).toEqual([10, 10, 3, 4, 5, 7, 10, 10]);
    throwsWith(() => b.labelIds(() => 0.5), RangeError, 'lookup returned 0.5 for node 0 (label +)');
    throwsWith(() => Tree.batch([]), RangeError, 'Tree.batch: expected at least one tree');
    throwsWith(() => Tree.batch(['(+ 1 2)' as never]), TypeError, 'expected a Tree for trees[0]');
    // the layers' roots are the batch's roots, in the same order
    const out = new NaryTreeLSTM({ inputSize: 2, hiddenSize: 3, arity: 2 }).forward(Tensor.zeros([b.size, 2]), b.children);
    expect(Array.from(out.roots)).toEqual(Array.from(b.roots));
  });
});
