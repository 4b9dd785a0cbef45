// RNNCell, LSTMCell and GRUCell run step by step under autograd, against PyTorch 1.13
// (scripts/make_composition_fixtures.py → test/fixtures/cells.json).
// h_t (, c_t) = cell(x[t], h_{t−1} (, c_{t−1})), loss = Σ_t sum(h_t·gradH[t]) (+ Σ_t sum(c_t·gradC[t])).
import { CellBase, functional as F, GRUCell, LSTMCell, RNNCell, Tensor } from '../lib';
import { expectClose, FixtureTensor, loadFixture, maxError, toTensor } from './helpers/fixtures';

interface CellCase {
  name: string;
  seed: number;
  mode: 'RNN_TANH' | 'RNN_RELU' | 'LSTM' | 'GRU';
  config: { inputSize: number; hiddenSize: number; bias: boolean };
  steps: number;
  B: number;
  paramOrder: string[];
  params: Record<string, FixtureTensor>;
  x: FixtureTensor;
  h0: FixtureTensor;
  c0: FixtureTensor | null;
  h: FixtureTensor;
  c: FixtureTensor | null;
  gradH: FixtureTensor;
  gradC: FixtureTensor | null;
  gradX: FixtureTensor;
  gradH0: FixtureTensor;
  gradC0: FixtureTensor | null;
  grads: Record<string, FixtureTensor>;
}

const { cases } = loadFixture<{ cases: CellCase[] }>('cells.json');

// float32 rounding. Values are O(1) (weights U[−0.5, 0.5], H ≤ 16, ≤ 4 steps). Worst errors
// seen, |a−b|/(1+|b|): h_t, c_t ≤ 1.0e-7; gradients of x, h0, c0 ≤ 1.1e-7; parameter gradients
// (sums over B·steps products) ≤ 1.6e-7. 1e-6 is ~6× the worst, while every expected tensor
// is O(0.1–3) (checked below).
const TOL = 1e-6;

// Worst errors seen, printed with REPORT_ERRORS=1.
const worst: Record<string, number> = {};
const track = (what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number) => {
  worst[what] = Math.max(worst[what] ?? 0, maxError(actual, expected));
  expectClose(what, actual, expected, tol);
};
afterAll(() => {
  if (process.env.REPORT_ERRORS) console.log('max errors (|a-b|/(1+|b|)):', worst);
});

function build(c: CellCase): CellBase {
  switch (c.mode) {
    case 'RNN_TANH': return new RNNCell({ ...c.config, nonlinearity: 'tanh' });
    case 'RNN_RELU': return new RNNCell({ ...c.config, nonlinearity: 'relu' });
    case 'LSTM': return new LSTMCell(c.config);
    case 'GRU': return new GRUCell(c.config);
  }
}

function loaded(c: CellCase): CellBase {
  const cell = build(c);
  const sd: Record<string, Tensor> = {};
  for (const name of c.paramOrder) sd[name] = toTensor(c.params[name]);
  cell.loadStateDict(sd);
  return cell;
}

function leaf(t: FixtureTensor): Tensor {
  const x = toTensor(t);
  x.requiresGrad = true;
  return x;
}

/** Rows [t·n, (t+1)·n) of a flat fixture array: step t of a (steps, ...) tensor. */
const step = (t: FixtureTensor, k: number): number[] => {
  const n = t.data.length / t.shape[0];
  return t.data.slice(k * n, (k + 1) * n);
};

interface Run {
  hs: Tensor[];
  cs: Tensor[];
  h0: Tensor;
  c0: Tensor | null;
}

/** Runs the steps, each step's state fed into the next; xAt(t) gives x_t (B, I). */
function unroll(cell: CellBase, c: CellCase, xAt: (t: number) => Tensor): Run {
  const lstm = c.mode === 'LSTM';
  const h0 = leaf(c.h0);
  const c0 = lstm ? leaf(c.c0!) : null;
  let state: { h: Tensor; c?: Tensor } = lstm ? { h: h0, c: c0! } : { h: h0 };
  const hs: Tensor[] = [], cs: Tensor[] = [];
  for (let t = 0; t < c.steps; t++) {
    state = cell.forward(xAt(t), state);
    hs.push(state.h);
    if (lstm) cs.push(state.c!);
    else expect(state.c).toBeUndefined();
  }
  return { hs, cs, h0, c0 };
}

function checkStates(c: CellCase, run: Run): void {
  for (let t = 0; t < c.steps; t++) {
    expect(run.hs[t].shape).toEqual([c.B, c.config.hiddenSize]);
    track(`h_t`, run.hs[t].data, step(c.h, t), TOL);
    if (c.c) track(`c_t`, run.cs[t].data, step(c.c, t), TOL);
  }
}

function checkGradients(cell: CellBase, c: CellCase, run: Run, gradX: ArrayLike<number>, tol = TOL): void {
  track('gradX', gradX, c.gradX.data, tol);
  track('gradH0', run.h0.grad!, c.gradH0.data, tol);
  if (c.gradC0) track('gradC0', run.c0!.grad!, c.gradC0.data, tol);
  for (const [name, p] of cell.namedParameters()) track(`grad of ${name}`, p.grad, c.grads[name].data, tol);
}

describe('cells against PyTorch', () => {
  it('has every kind of cell', () => {
    expect(cases.length).toBe(7);
    expect(new Set(cases.map((c) => c.mode))).toEqual(new Set(['RNN_TANH', 'RNN_RELU', 'LSTM', 'GRU']));
  });

  it.each(cases.map((c) => [c.name, c] as const))("%s: parameter names, order and shapes are PyTorch's", (_n, c) => {
    const cell = build(c);
    expect(cell.namedParameters().map(([n]) => n)).toEqual(c.paramOrder);
    for (const [n, p] of cell.namedParameters()) expect(p.shape).toEqual(c.params[n].shape);
  });

  it.each(cases.map((c) => [c.name, c] as const))(
    '%s: x as one (steps, B, I) leaf narrowed per step; loss = Σ sum(h_t ⊙ R_t) built with F.mul/F.sum/F.add',
    (_n, c) => {
      const cell = loaded(c);
      const { inputSize: I } = c.config;
      const x = leaf(c.x);
      const run = unroll(cell, c, (t) => F.narrow(x, 0, t, 1).reshape([c.B, I]));
      checkStates(c, run);
      let loss: Tensor | null = null;
      const addTerm = (term: Tensor) => (loss = loss === null ? term : F.add(loss, term));
      for (let t = 0; t < c.steps; t++) {
        addTerm(F.sum(F.mul(run.hs[t], new Tensor(step(c.gradH, t), [c.B, c.config.hiddenSize]))));
        if (c.gradC) addTerm(F.sum(F.mul(run.cs[t], new Tensor(step(c.gradC, t), [c.B, c.config.hiddenSize]))));
      }
      loss!.backward();
      expect(x.grad).not.toBeNull();
      checkGradients(cell, c, run, x.grad!);
    },
  );

  it.each(cases.map((c) => [c.name, c] as const))(
    '%s: one leaf x_t per step; backward of the stacked states with the gradient (gradH | gradC)',
    (_n, c) => {
      const cell = loaded(c);
      const xs = Array.from({ length: c.steps }, (_, t) => {
        const xt = new Tensor(step(c.x, t), [c.B, c.config.inputSize]);
        xt.requiresGrad = true;
        return xt;
      });
      const run = unroll(cell, c, (t) => xs[t]);
      checkStates(c, run);
      const hStack = F.stack(run.hs, 0);
      expect(hStack.shape).toEqual(c.h.shape);
      track('stacked h', hStack.data, c.h.data, TOL);
      if (c.c) {
        // h and c of every step in one tensor (2·steps, B, H), seeded with gradH then gradC
        const both = F.cat([hStack, F.stack(run.cs, 0)], 0);
        both.backward(new Tensor([...c.gradH.data, ...c.gradC!.data], both.shape.slice()));
      } else {
        hStack.backward(toTensor(c.gradH));
      }
      checkGradients(cell, c, run, xs.flatMap((xt) => Array.from(xt.grad!)));
    },
  );

  it.each(cases.map((c) => [c.name, c] as const))('%s: in eval mode the states are the same', (_n, c) => {
    const cell = loaded(c).eval();
    const run = unroll(cell, c, (t) => new Tensor(step(c.x, t), [c.B, c.config.inputSize]));
    checkStates(c, run);
  });
});

describe('the tolerance is tight compared with the signal', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s: zeros, or a flipped gradH/gradC, would fail', (_n, c) => {
    for (const t of [c.h, c.c, c.gradX, c.gradH0, c.gradC0, ...Object.values(c.grads)])
      if (t) expect(maxError(new Float32Array(t.data.length), t.data)).toBeGreaterThan(100 * TOL);
    const cell = loaded(c);
    const x = leaf(c.x);
    const run = unroll(cell, c, (t) => F.narrow(x, 0, t, 1).reshape([c.B, c.config.inputSize]));
    const neg = (t: FixtureTensor) => new Tensor(t.data.map((v) => -v), t.shape);
    const hStack = F.stack(run.hs, 0);
    if (c.c) {
      const both = F.cat([hStack, F.stack(run.cs, 0)], 0);
      both.backward(F.cat([neg(c.gradH), neg(c.gradC!)], 0));
    } else {
      hStack.backward(neg(c.gradH));
    }
    expect(() => expectClose('gradX', x.grad!, c.gradX.data, TOL)).toThrow(/exceeds/);
    expect(() => expectClose('gradH0', run.h0.grad!, c.gradH0.data, TOL)).toThrow(/exceeds/);
    for (const [name, p] of cell.namedParameters())
      expect(() => expectClose(name, p.grad, c.grads[name].data, TOL)).toThrow(/exceeds/);
  });
});
