// The tree layers as modules: parameter names and shapes, the composition contract (any number
// of calls before backward, inputs copied, eval and noGrad keep nothing), equivalences with the
// recurrent layers on chains, leaf states, root states, float64 vs float32, threads, and an
// end-to-end use with Tree.batch and an Embedding.
import {
  ChildSumTreeLSTM, Embedding, functional as F, getNumThreads, Linear, LSTM, NaryTreeLSTM, noGrad, RNN, setNumThreads, Tensor, Tree, TreeRNN,
} from '../lib';
import { Generator } from '../lib/core/random';
import { toFloat64 } from './helpers/float64';
import { expectClose } from './helpers/fixtures';
import { randomForest } from './70.trees.helpers';

const chain = (T: number) => ({
  offsets: Int32Array.from({ length: T + 1 }, (_, t) => Math.max(0, t - 1)),
  index: Int32Array.from({ length: T - 1 }, (_, t) => t),
});

describe('parameters: PyTorch-style names and shapes', () => {
  it('TreeRNN: weight_ih (H, I), weight_hh (H, arity·H), biases (H)', () => {
    const m = new TreeRNN({ inputSize: 3, hiddenSize: 4, arity: 3 });
    expect(m.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([['weight_ih', [4, 3]], ['weight_hh', [4, 12]], ['bias_ih', [4]], ['bias_hh', [4]]]);
    expect(m.nonlinearity).toBe('tanh');
    expect(m.summary()).toContain('TreeRNN(3, 4, arity=3)');
  });
  it('ChildSumTreeLSTM: the LSTM layout', () => {
    const m = new ChildSumTreeLSTM({ inputSize: 3, hiddenSize: 4 });
    expect(m.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([['weight_ih', [16, 3]], ['weight_hh', [16, 4]], ['bias_ih', [16]], ['bias_hh', [16]]]);
  });
  it('NaryTreeLSTM: weight_hh ((3 + arity)·H, arity·H), bias_hh ((3 + arity)·H); no biases with bias: false', () => {
    const m = new NaryTreeLSTM({ inputSize: 3, hiddenSize: 4, arity: 2 });
    expect(m.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([['weight_ih', [16, 3]], ['weight_hh', [20, 8]], ['bias_ih', [16]], ['bias_hh', [20]]]);
    expect(new NaryTreeLSTM({ inputSize: 3, hiddenSize: 4, arity: 2, bias: false }).namedParameters().map(([n]) => n)).toEqual(['weight_ih', 'weight_hh']);
    const bound = 1 / Math.sqrt(4);
    for (const p of m.parameters()) expect(Array.from(p.data).every((v) => Math.abs(v) <= bound)).toBe(true);
  });
});

describe('on a chain of nodes the tree layers are the recurrent layers', () => {
  const T = 9, I = 5, H = 6;
  const x = Tensor.randn([T, I], { generator: new Generator(1) });
  const copy = (from: RNN | LSTM, to: TreeRNN | NaryTreeLSTM | ChildSumTreeLSTM) =>
    to.loadStateDict(Object.fromEntries(from.namedParameters().map(([n, p]) => [n.replace('_l0', ''), new Tensor(p.data.slice(), p.shape.slice())])));
  it('NaryTreeLSTM (arity 1) and ChildSumTreeLSTM = LSTM, forward and backward', () => {
    const lstm = new LSTM({ inputSize: I, hiddenSize: H });
    const xs = x.reshape([T, 1, I]).detach();
    xs.requiresGrad = true;
    const ref = lstm.forward(xs);
    F.sum(F.mul(ref.output, ref.output)).backward();
    for (const tree of [new NaryTreeLSTM({ inputSize: I, hiddenSize: H, arity: 1 }), new ChildSumTreeLSTM({ inputSize: I, hiddenSize: H })]) {
      copy(lstm, tree);
      const xt = x.detach();
      xt.requiresGrad = true;
      const out = tree.forward(xt, chain(T));
      expectClose(`${tree.constructor.name} h`, out.h.data, ref.output.data, 1e-6);
      expectClose(`${tree.constructor.name} root c`, out.root.c.data, ref.c.data, 1e-6);
      F.sum(F.mul(out.h, out.h)).backward();
      expectClose(`${tree.constructor.name} dx`, xt.grad!, xs.grad!, 1e-5);
      expectClose(`${tree.constructor.name} dW_hh`, tree.weight_hh.grad, lstm.parameters()[1].grad, 1e-5);
    }
  });
  it('TreeRNN (arity 1) = RNN, tanh and relu', () => {
    for (const nonlinearity of ['tanh', 'relu'] as const) {
      const rnn = new RNN({ inputSize: I, hiddenSize: H, nonlinearity });
      const tree = new TreeRNN({ inputSize: I, hiddenSize: H, arity: 1, nonlinearity });
      copy(rnn, tree);
      expectClose(nonlinearity, tree.forward(x, chain(T)).h.data, rnn.forward(x.reshape([T, 1, I])).output.data, 1e-6);
    }
  });
});

describe('the composition contract', () => {
  const g = new Generator(7);
  const f1 = randomForest(g, { trees: 5, maxNodes: 12, maxKids: 2, empty: 0.2 });
  const f2 = randomForest(g, { trees: 4, maxNodes: 12, maxKids: 2, empty: 0.2 });
  const I = 4, H = 5;

  it('several calls before one backward give the sum of their gradients', () => {
    const layer = new NaryTreeLSTM({ inputSize: I, hiddenSize: H, arity: 2 });
    const x1 = Tensor.randn([f1.N, I], { generator: g }), x2 = Tensor.randn([f2.N, I], { generator: g });
    const separate = [x1, x2].map((x, k) => {
      layer.zeroGrad();
      F.sum(layer.forward(x, k === 0 ? f1 : f2).root.h).backward();
      return Float32Array.from(layer.weight_hh.grad);
    });
    layer.zeroGrad();
    const a = layer.forward(x1, f1), b = layer.forward(x2, f2);
    const a2 = layer.forward(x1, f1); // a third call, never differentiated: its activations are simply dropped
    expect(a2.h.requiresGrad).toBe(true);
    F.add(F.sum(a.root.h), F.sum(b.root.h)).backward();
    expectClose('sum of gradients', layer.weight_hh.grad, separate[0].map((v, i) => v + separate[1][i]), 1e-5);
  });

  it('changing x or the children arrays after the call changes nothing in backward', () => {
    const layer = new ChildSumTreeLSTM({ inputSize: I, hiddenSize: H });
    const x = Tensor.randn([f1.N, I], { generator: new Generator(3) });
    x.requiresGrad = true;
    F.sum(layer.forward(x, f1).h).backward();
    const want = [Float32Array.from(layer.weight_ih.grad), x.grad!.slice()];
    layer.zeroGrad();
    x.grad = null;
    const offsets = f1.offsets.slice(), index = f1.index.slice();
    const out = layer.forward(x, { offsets, index });
    const saved = Float32Array.from(x.data);
    x.data.fill(7);
    index.fill(0);
    offsets.fill(0);
    F.sum(out.h).backward();
    x.data.set(saved);
    expectClose('weight_ih grad', layer.weight_ih.grad, want[0], 0);
    expectClose('x grad', x.grad!, want[1], 0);
  });

  it('a second backward through the same graph is an error; eval and noGrad record nothing', () => {
    const layer = new TreeRNN({ inputSize: I, hiddenSize: H });
    const x = Tensor.randn([f1.N, I], { generator: g });
    const out = layer.forward(x, f1);
    const loss = F.sum(out.h);
    loss.backward();
    expect(() => loss.backward()).toThrow(/already differentiated/);
    const trained = layer.forward(x, f1).h.data;
    layer.eval();
    const evaluated = layer.forward(x, f1);
    expect(evaluated.h.requiresGrad).toBe(false);
    expectClose('eval output', evaluated.h.data, trained, 0);
    layer.train();
    expect(noGrad(() => layer.forward(x, f1)).h.requiresGrad).toBe(false);
  });

  it('root states are the roots\' rows of h and c, and their gradients reach the nodes', () => {
    const layer = new NaryTreeLSTM({ inputSize: I, hiddenSize: H, arity: 2 });
    const x = Tensor.randn([f1.N, I], { generator: g });
    x.requiresGrad = true;
    const out = layer.forward(x, f1);
    expect(out.root.h.shape).toEqual([f1.trees.length, H]);
    out.roots.forEach((r, k) => {
      expect(Array.from(out.root.h.data.subarray(k * H, (k + 1) * H))).toEqual(Array.from(out.h.data.subarray(r * H, (r + 1) * H)));
      expect(Array.from(out.root.c.data.subarray(k * H, (k + 1) * H))).toEqual(Array.from(out.c.data.subarray(r * H, (r + 1) * H)));
    });
    F.sum(out.root.c).backward(); // through c only
    expect(x.grad!.some((v) => v !== 0)).toBe(true);
  });

  it('leaf states replace the leaves\' computed states; the other rows are ignored', () => {
    const layer = new ChildSumTreeLSTM({ inputSize: I, hiddenSize: H });
    const x = Tensor.randn([f1.N, I], { generator: g });
    const leafH = Tensor.randn([f1.N, H], { generator: g }), leafC = Tensor.randn([f1.N, H], { generator: g });
    leafH.requiresGrad = true;
    const out = layer.forward(x, f1, { leafState: { h: leafH, c: leafC } });
    const isLeaf = (n: number) => Array.from(f1.index.subarray(f1.offsets[n], f1.offsets[n + 1])).every((c) => c < 0);
    for (let n = 0; n < f1.N; n++)
      if (isLeaf(n)) expect(Array.from(out.h.data.subarray(n * H, (n + 1) * H))).toEqual(Array.from(leafH.data.subarray(n * H, (n + 1) * H)));
    // changing a non-leaf row of the leaf states changes nothing
    const inner = Array.from({ length: f1.N }, (_, n) => n).find((n) => !isLeaf(n))!;
    const h2 = leafH.data.slice();
    h2.fill(9, inner * H, (inner + 1) * H);
    const again = layer.forward(x, f1, { leafState: { h: new Tensor(h2, [f1.N, H]), c: leafC } });
    expectClose('ignored rows', again.h.data, out.h.data, 0);
    F.sum(out.root.h).backward();
    expect(Array.from(leafH.grad!.subarray(inner * H, (inner + 1) * H))).toEqual(new Array(H).fill(0));
    expect(leafH.grad!.some((v) => v !== 0)).toBe(true);
  });

  it('float64 twins agree with float32', () => {
    for (const make of [() => new TreeRNN({ inputSize: I, hiddenSize: H }), () => new ChildSumTreeLSTM({ inputSize: I, hiddenSize: H }),
      () => new NaryTreeLSTM({ inputSize: I, hiddenSize: H, arity: 2 })]) {
      const a = make();
      const b = toFloat64(make());
      b.loadStateDict(a.stateDict());
      const x = Tensor.randn([f1.N, I], { generator: g });
      const x64 = Tensor.wrap(Float64Array.from(x.data) as unknown as Float32Array, [f1.N, I]);
      expectClose(a.constructor.name, b.forward(x64, f1).h.data, a.forward(x, f1).h.data, 1e-6);
    }
  });

  it('one thread and two threads give the same results', () => {
    const before = getNumThreads();
    const big = randomForest(new Generator(9), { trees: 64, maxNodes: 60, maxKids: 2, empty: 0.05 });
    const layer = new NaryTreeLSTM({ inputSize: 32, hiddenSize: 64, arity: 2 });
    const x = Tensor.randn([big.N, 32], { generator: g });
    const run = (n: number) => {
      setNumThreads(n);
      layer.zeroGrad();
      const out = layer.forward(x, big);
      F.sum(F.mul(out.h, out.h)).backward();
      return [out.h.data, Float32Array.from(layer.weight_hh.grad)];
    };
    try {
      const [h1, g1] = run(1);
      const [h2, g2] = run(2);
      expectClose('h', h2, h1, 1e-6);
      expectClose('weight_hh grad', g2, g1, 1e-5);
    } finally {
      setNumThreads(before);
    }
  });
});

describe('end to end: Tree.batch → Embedding → tree layer → Linear, trained', () => {
  it('learns the value of small sums mod 3 from their trees', () => {
    const g = new Generator(11);
    const make = (d: number): [Tree<string>, number] => {
      if (d === 0) {
        const v = Math.floor(g.uniform() * 3);
        return [new Tree(String(v)), v];
      }
      const [a, va] = make(d - 1), [b, vb] = make(Math.floor(g.uniform() * d));
      return [new Tree('+', [a, b]), (va + vb) % 3];
    };
    const data = Array.from({ length: 64 }, () => make(1 + Math.floor(g.uniform() * 2)));
    const batch = Tree.batch(data.map(([t]) => t));
    const ids = batch.labelIds((l) => (l === '+' ? 3 : Number(l)));
    const targets = Int32Array.from(data, ([, v]) => v);
    const emb = new Embedding({ numEmbeddings: 4, embeddingDim: 8 });
    const tree = new NaryTreeLSTM({ inputSize: 8, hiddenSize: 16, arity: 2 });
    const head = new Linear({ inFeatures: 16, outFeatures: 3 });
    const params = [...emb.parameters(), ...tree.parameters(), ...head.parameters()];
    const { Adam } = require('../lib') as typeof import('../lib');
    const opt = new Adam(params, { lr: 0.02 });
    let first = 0, last = 0;
    for (let step = 0; step < 60; step++) {
      opt.zeroGrad();
      const loss = F.crossEntropy(head.forward(tree.forward(emb.forward(ids, [batch.size]), batch.children).root.h), targets);
      if (step === 0) first = loss.item();
      last = loss.item();
      loss.backward();
      opt.step();
    }
    expect(emb.weight.grad.some((v) => v !== 0)).toBe(true);
    expect(last).toBeLessThan(first / 4);
  });
});

describe('examples/trees (npm run example:trees)', () => {
  it('runs end to end in its quick form and prints the accuracy table', () => {
    // The example loads the built package (dist/, from `npx tsc -p tsconfig.build.json`).
    const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
    const path = require('node:path') as typeof import('node:path');
    const r = spawnSync(process.execPath, ['examples/trees/index.js', '--quick'], { cwd: path.join(__dirname, '..'), encoding: 'utf8', timeout: 60000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('held-out accuracy by depth (chance 10%)');
    expect(r.stdout).toMatch(/\| 8 \(unseen\) +\| [\d.]+% +\| [\d.]+% +\| [\d.]+% +\|/);
    expect(r.stdout).toContain('TreeLSTM (N-ary, arity 2)');
  });
});
