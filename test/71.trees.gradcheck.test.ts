// Float64 finite-difference checks of the tree layers (the float64 twin of every kernel):
// each cell, on random forests of mixed shapes with shuffled node ids and empty positions,
// with respect to x, the leaf states and every parameter, through h, c and the root states;
// and the fast per-node cell math against its plain reference twin (float32).
import { ChildSumTreeLSTM, functional as F, NaryTreeLSTM, Tensor, TreeBase, TreeRNN } from '../lib';
import { Generator } from '../lib/core/random';
import { native } from '../lib/native/addon';
import { gradcheck, rand64, toFloat64 } from './helpers/float64';
import { Forest, randomForest } from './70.trees.helpers';

type Make = () => TreeBase;
const I = 3, H = 2;

/** Σ h·wh + Σ c·wc + Σ root.h·wr + Σ root.c·wrc with fixed random weights: every output matters. */
function lossOf(layer: TreeBase, x: Tensor, f: Forest, g: Generator, leaf?: { h: Tensor; c?: Tensor }): () => Tensor {
  const lstm = layer.code >= 2;
  const R = f.trees.length;
  const wh = rand64(g, [f.N, H]), wc = rand64(g, [f.N, H]), wr = rand64(g, [R, H]), wrc = rand64(g, [R, H]);
  return () => {
    const out = layer.forward(x, { offsets: f.offsets, index: f.index }, leaf ? { leafState: leaf } : undefined);
    let loss = F.add(F.sum(F.mul(out.h, wh)), F.sum(F.mul(out.root.h, wr)));
    if (lstm) loss = F.add(loss, F.add(F.sum(F.mul(out.c!, wc)), F.sum(F.mul(out.root.c!, wrc))));
    return loss;
  };
}

function check(name: string, make: Make, forest: { maxKids: number; empty: number }, seed: number, leafState = false): void {
  it(name, () => {
    const g = new Generator(seed);
    const f = randomForest(g, { trees: 3, maxNodes: 7, maxKids: forest.maxKids, empty: forest.empty });
    const layer = toFloat64(make());
    // Parameters a little larger than the default init, so that every gate is exercised.
    for (const p of layer.parameters()) for (let i = 0; i < p.size; i++) p.data[i] = (2 * g.uniform() - 1) * 0.8;
    const x = rand64(g, [f.N, I], 1, true);
    const lstm = layer.code >= 2;
    const leaf = leafState ? { h: rand64(g, [f.N, H], 0.8, true), c: lstm ? rand64(g, [f.N, H], 0.8, true) : undefined } : undefined;
    const inputs = [x, ...layer.parameters(), ...(leaf ? [leaf.h, ...(leaf.c ? [leaf.c] : [])] : [])];
    const err = gradcheck(lossOf(layer, x, f, g, leaf), inputs);
    expect(err).toBeLessThan(1e-7);
    // Not vacuous: the analytic gradients are not all zero.
    for (const t of [x, layer.weight_hh]) expect(Array.from(t.grad!).some((v) => v !== 0)).toBe(true);
  });
}

describe('tree layers: float64 gradient checks', () => {
  check('TreeRNN tanh, arity 2', () => new TreeRNN({ inputSize: I, hiddenSize: H }), { maxKids: 2, empty: 0.2 }, 1);
  check('TreeRNN relu, arity 3', () => new TreeRNN({ inputSize: I, hiddenSize: H, arity: 3, nonlinearity: 'relu' }), { maxKids: 3, empty: 0.2 }, 2);
  check('TreeRNN without bias', () => new TreeRNN({ inputSize: I, hiddenSize: H, bias: false }), { maxKids: 2, empty: 0 }, 3);
  check('ChildSumTreeLSTM, up to 4 children', () => new ChildSumTreeLSTM({ inputSize: I, hiddenSize: H }), { maxKids: 4, empty: 0.15 }, 4);
  check('ChildSumTreeLSTM without bias', () => new ChildSumTreeLSTM({ inputSize: I, hiddenSize: H, bias: false }), { maxKids: 3, empty: 0 }, 5);
  check('NaryTreeLSTM, arity 2', () => new NaryTreeLSTM({ inputSize: I, hiddenSize: H, arity: 2 }), { maxKids: 2, empty: 0.2 }, 6);
  check('NaryTreeLSTM, arity 3', () => new NaryTreeLSTM({ inputSize: I, hiddenSize: H, arity: 3 }), { maxKids: 3, empty: 0.25 }, 7);
  check('NaryTreeLSTM, arity 1 (a chain)', () => new NaryTreeLSTM({ inputSize: I, hiddenSize: H, arity: 1 }), { maxKids: 1, empty: 0 }, 8);
  check('TreeRNN with leaf states', () => new TreeRNN({ inputSize: I, hiddenSize: H }), { maxKids: 2, empty: 0.2 }, 9, true);
  check('ChildSumTreeLSTM with leaf states', () => new ChildSumTreeLSTM({ inputSize: I, hiddenSize: H }), { maxKids: 3, empty: 0.2 }, 10, true);
  check('NaryTreeLSTM with leaf states', () => new NaryTreeLSTM({ inputSize: I, hiddenSize: H, arity: 2 }), { maxKids: 2, empty: 0.2 }, 11, true);

  it('a frozen parameter gets no gradient and the others stay exact', () => {
    const g = new Generator(12);
    const f = randomForest(g, { trees: 2, maxNodes: 6, maxKids: 2, empty: 0.1 });
    const layer = toFloat64(new NaryTreeLSTM({ inputSize: I, hiddenSize: H, arity: 2 }));
    layer.weight_hh.requiresGrad = false;
    const x = rand64(g, [f.N, I], 1, true);
    const err = gradcheck(lossOf(layer, x, f, g), [x, layer.weight_ih, layer.bias_hh!]);
    expect(err).toBeLessThan(1e-7);
    expect(Array.from(layer.weight_hh.grad).every((v) => v === 0)).toBe(true);
  });
});

describe('tree cell math: the fast kernels against the plain reference (float32)', () => {
  const g = new Generator(99);
  const randf = (n: number, s = 1) => Float32Array.from({ length: n }, () => (2 * g.uniform() - 1) * s);
  const close = (a: Float32Array, b: Float32Array) => {
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    return worst;
  };
  const Hs = 37; // not a multiple of any vector width: the tails run too
  for (const cell of [0, 1, 2, 3] as const) {
    it(['TreeRNN tanh', 'TreeRNN relu', 'child-sum', 'N-ary'][cell], () => {
      const K = cell === 3 ? 3 : cell === 2 ? 0 : 2;
      const M = cell === 2 ? 4 : cell === 3 ? 3 : 0;
      const GH = Hs * (cell === 3 ? 3 + K : cell === 2 ? 4 : 1);
      const rows = 6;
      const kpos = cell >= 2 ? Int32Array.from({ length: M }, (_, k) => (k === 1 ? -1 : k + 1)) : new Int32Array(0);
      const g0 = randf(GH, 2), xg = randf(4 * Hs, 2), b = randf(GH), fk0 = randf(M * Hs, 2), cs = randf(rows * Hs, 1.5);
      const outs = [false, true].map((reference) => {
        const gg = g0.slice(), fk = fk0.slice(), c = new Float32Array(Hs), h = new Float32Array(Hs);
        native.treeUnitsForward(cell, reference, Hs, K, gg, cell === 3 ? xg : null, b, cell === 2 ? fk : null, cell >= 2 ? cs : null, kpos, cell >= 2 ? c : null, h);
        return { gg, fk, c, h };
      });
      const [fast, ref] = outs;
      expect(close(fast.h, ref.h)).toBeLessThan(2e-6);
      expect(close(fast.gg, ref.gg)).toBeLessThan(2e-6);
      if (cell >= 2) expect(close(fast.c, ref.c)).toBeLessThan(2e-6);
      if (cell === 2) expect(close(fast.fk, ref.fk)).toBeLessThan(2e-6);
      // backward from the (reference) activated gates
      const dh = randf(Hs), dc = randf(Hs), dcs0 = randf(rows * Hs);
      const back = [false, true].map((reference) => {
        const gg = ref.gg.slice(), fk = ref.fk.slice(), dxg = new Float32Array(4 * Hs), dcs = dcs0.slice();
        native.treeUnitsBackward(cell, reference, Hs, K, gg, cell === 3 ? dxg : null, cell === 2 ? fk : null, cell >= 2 ? cs : null, kpos,
          cell >= 2 ? ref.c : null, dh, cell >= 2 ? dc : null, cell >= 2 ? dcs : null);
        return { gg, fk, dxg, dcs };
      });
      expect(close(back[0].gg, back[1].gg)).toBeLessThan(2e-6);
      expect(Array.from(back[1].gg).some((v) => v !== 0)).toBe(true);
      if (cell === 3) expect(close(back[0].dxg, back[1].dxg)).toBeLessThan(2e-6);
      if (cell === 2) expect(close(back[0].fk, back[1].fk)).toBeLessThan(2e-6);
      if (cell >= 2) {
        expect(close(back[0].dcs, back[1].dcs)).toBeLessThan(2e-6);
        expect(close(back[1].dcs, dcs0)).toBeGreaterThan(0); // the children's cells did receive gradient
        expect(Array.from(back[1].dcs.subarray(0, Hs))).toEqual(Array.from(dcs0.subarray(0, Hs))); // row 0 is nobody's child
      }
    });
  }
});
