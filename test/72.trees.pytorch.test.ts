// The tree layers against a node-by-node PyTorch implementation of each cell
// (test/fixtures/trees.json, from scripts/make_tree_fixtures.py) on forests of mixed shapes
// with shuffled node ids and empty positions: outputs, loss, and the gradients of x, every
// parameter and the leaf states. Then: batching by level gives what one tree at a time gives.
import { ChildSumTreeLSTM, functional as F, Linear, NaryTreeLSTM, SGD, Tensor, TreeBase, TreeRNN } from '../lib';
import { expectClose, FixtureTensor, loadFixture, toTensor } from './helpers/fixtures';
import { Forest, randomForest, subForest } from './70.trees.helpers';
import { Generator } from '../lib/core/random';

interface Case {
  name: string;
  kind: 'rnn_tanh' | 'rnn_relu' | 'childsum' | 'nary';
  config: { inputSize: number; hiddenSize: number; arity: number; bias: boolean };
  forest: { offsets: number[]; index: number[] };
  trees: number[][];
  paramOrder: string[];
  params: Record<string, FixtureTensor>;
  x: FixtureTensor;
  leafH: FixtureTensor | null;
  leafC: FixtureTensor | null;
  roots: number[];
  weights: { h: FixtureTensor; c: FixtureTensor | null; rootH: FixtureTensor; rootC: FixtureTensor | null };
  outputs: { h: FixtureTensor; c: FixtureTensor | null };
  loss: number;
  grads: Record<string, FixtureTensor>;
}

interface TrainingRun {
  name: string;
  kind: Case['kind'];
  config: Case['config'];
  forest: Case['forest'];
  x: FixtureTensor;
  targets: number[];
  classes: number;
  lr: number;
  steps: number;
  params: Record<string, FixtureTensor>;
  head: { weight: FixtureTensor; bias: FixtureTensor };
  losses: number[];
}

const fixture = loadFixture<{ generator: string; cases: Case[]; training: TrainingRun[] }>('trees.json');

function build(c: Case): TreeBase {
  const { inputSize, hiddenSize, arity, bias } = c.config;
  switch (c.kind) {
    case 'childsum':
      return new ChildSumTreeLSTM({ inputSize, hiddenSize, bias });
    case 'nary':
      return new NaryTreeLSTM({ inputSize, hiddenSize, arity, bias });
    default:
      return new TreeRNN({ inputSize, hiddenSize, arity, bias, nonlinearity: c.kind === 'rnn_relu' ? 'relu' : 'tanh' });
  }
}

describe('tree layers against node-by-node PyTorch (trees.json)', () => {
  it('the fixture file is there and covers every cell', () => {
    expect(fixture.generator).toMatch(/make_tree_fixtures\.py torch/);
    expect(new Set(fixture.cases.map((c) => c.kind))).toEqual(new Set(['rnn_tanh', 'rnn_relu', 'childsum', 'nary']));
  });

  for (const c of fixture.cases) {
    it(c.name, () => {
      const layer = build(c);
      expect(layer.namedParameters().map(([n]) => n)).toEqual(c.paramOrder);
      layer.loadStateDict(Object.fromEntries(Object.entries(c.params).map(([k, t]) => [k, toTensor(t)])));
      const x = toTensor(c.x);
      x.requiresGrad = true;
      const leaf = c.leafH ? { h: toTensor(c.leafH), c: c.leafC ? toTensor(c.leafC) : undefined } : undefined;
      if (leaf) {
        leaf.h.requiresGrad = true;
        if (leaf.c) leaf.c.requiresGrad = true;
      }
      const children = { offsets: Int32Array.from(c.forest.offsets), index: Int32Array.from(c.forest.index) };
      const out = layer.forward(x, children, leaf ? { leafState: leaf } : undefined);
      expect(Array.from(out.roots)).toEqual(c.roots);
      expectClose(`${c.name} h`, out.h.data, c.outputs.h.data, 1e-5);
      if (c.outputs.c) expectClose(`${c.name} c`, out.c!.data, c.outputs.c.data, 1e-5);
      let loss = F.add(F.sum(F.mul(out.h, toTensor(c.weights.h))), F.sum(F.mul(out.root.h, toTensor(c.weights.rootH))));
      if (c.weights.c) loss = F.add(loss, F.add(F.sum(F.mul(out.c!, toTensor(c.weights.c))), F.sum(F.mul(out.root.c!, toTensor(c.weights.rootC!)))));
      expect(Math.abs(loss.item() - c.loss)).toBeLessThan(1e-4 * (1 + Math.abs(c.loss)));
      loss.backward();
      expectClose(`${c.name} grad x`, x.grad!, c.grads.x.data, 1e-5);
      for (const [name, p] of layer.namedParameters()) expectClose(`${c.name} grad ${name}`, p.grad, c.grads[name].data, 1e-5);
      if (leaf) {
        expectClose(`${c.name} grad leafH`, leaf.h.grad!, c.grads.leafH.data, 1e-5);
        if (leaf.c) expectClose(`${c.name} grad leafC`, leaf.c.grad!, c.grads.leafC.data, 1e-5);
      }
    });
  }
});

describe('training runs: losses step by step as in PyTorch (SGD, cross-entropy on the roots)', () => {
  for (const run of fixture.training) {
    it(run.name, () => {
      const layer = build(run as unknown as Case);
      layer.loadStateDict(Object.fromEntries(Object.entries(run.params).map(([k, t]) => [k, toTensor(t)])));
      const head = new Linear({ inFeatures: run.config.hiddenSize, outFeatures: run.classes });
      head.loadStateDict({ weight: toTensor(run.head.weight), bias: toTensor(run.head.bias) });
      const params = [...layer.parameters(), ...head.parameters()];
      const opt = new SGD(params, { lr: run.lr });
      const x = toTensor(run.x);
      const children = { offsets: Int32Array.from(run.forest.offsets), index: Int32Array.from(run.forest.index) };
      const targets = Int32Array.from(run.targets);
      const losses: number[] = [];
      for (let step = 0; step < run.steps; step++) {
        opt.zeroGrad();
        const loss = F.crossEntropy(head.forward(layer.forward(x, children).root.h), targets);
        losses.push(loss.item());
        loss.backward();
        opt.step();
      }
      expectClose(`${run.name} losses`, losses, run.losses, 2e-5);
      expect(losses[losses.length - 1]).toBeLessThan(losses[0] - 0.1); // it does learn
    });
  }
});

describe('batching by level = one tree at a time', () => {
  const makers: Array<[string, () => TreeBase, number]> = [
    ['TreeRNN', () => new TreeRNN({ inputSize: 6, hiddenSize: 8, arity: 3 }), 3],
    ['ChildSumTreeLSTM', () => new ChildSumTreeLSTM({ inputSize: 6, hiddenSize: 8 }), 5],
    ['NaryTreeLSTM', () => new NaryTreeLSTM({ inputSize: 6, hiddenSize: 8, arity: 2 }), 2],
  ];
  for (const [name, make, maxKids] of makers) {
    it(`${name}: a forest of 40 mixed trees, and each tree alone, give the same states and gradients`, () => {
      const g = new Generator(41);
      const f: Forest = randomForest(g, { trees: 40, maxNodes: 30, maxKids, empty: 0.1 });
      const layer = make();
      const x = Tensor.randn([f.N, 6], { generator: g });
      x.requiresGrad = true;
      const all = layer.forward(x, { offsets: f.offsets, index: f.index });
      F.sum(all.root.h).backward();
      const batchedGrad = Float32Array.from(layer.weight_hh.grad);
      const xGrad = x.grad!.slice();
      layer.zeroGrad();
      let worst = 0;
      const perTreeGrad = new Float32Array(layer.weight_hh.size);
      for (const nodes of f.trees) {
        const sub = subForest(f, nodes);
        const xs = new Tensor(Float32Array.from(nodes.flatMap((n) => Array.from(x.data.subarray(n * 6, n * 6 + 6)))), [nodes.length, 6]);
        xs.requiresGrad = true;
        const one = layer.forward(xs, sub);
        expect(one.roots.length).toBe(1);
        nodes.forEach((n, k) => {
          for (let j = 0; j < 8; j++) worst = Math.max(worst, Math.abs(one.h.data[k * 8 + j] - all.h.data[n * 8 + j]));
        });
        F.sum(one.root.h).backward();
        nodes.forEach((n, k) => {
          for (let i = 0; i < 6; i++) worst = Math.max(worst, Math.abs(xs.grad![k * 6 + i] - xGrad[n * 6 + i]));
        });
      }
      perTreeGrad.set(layer.weight_hh.grad);
      expect(worst).toBeLessThan(1e-5);
      expectClose(`${name} weight_hh grad`, perTreeGrad, batchedGrad, 1e-5);
      expect(f.N).toBeGreaterThan(200);
    });
  }

  it('node ids in any order: a permuted forest gives the permuted states', () => {
    const g = new Generator(5);
    const f = randomForest(g, { trees: 10, maxNodes: 20, maxKids: 2, empty: 0.2, shuffle: false });
    const layer = new NaryTreeLSTM({ inputSize: 4, hiddenSize: 5, arity: 2 });
    const x = Tensor.randn([f.N, 4], { generator: g });
    const a = layer.forward(x, { offsets: f.offsets, index: f.index });
    // reverse the ids
    const rev = (n: number) => f.N - 1 - n;
    const nodes = Array.from({ length: f.N }, (_, k) => rev(k));
    const sub = subForest(f, nodes);
    const xr = new Tensor(Float32Array.from(nodes.flatMap((n) => Array.from(x.data.subarray(n * 4, n * 4 + 4)))), [f.N, 4]);
    const b = layer.forward(xr, sub);
    let worst = 0;
    nodes.forEach((n, k) => {
      for (let j = 0; j < 5; j++) worst = Math.max(worst, Math.abs(b.h.data[k * 5 + j] - a.h.data[n * 5 + j]));
    });
    expect(worst).toBeLessThan(1e-6);
    expect(Array.from(b.roots).map((r) => nodes[r]).sort((p, q) => p - q)).toEqual(Array.from(a.roots));
  });
});
