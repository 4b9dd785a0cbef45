// Every recurrent option and combination against PyTorch 1.13
// (scripts/make_recurrent_fixtures.py → test/fixtures/recurrent.json).
import { GRU, LSTM, RNN, RecurrentBase, Tensor } from '../lib';
import { expectClose, FixtureTensor, loadFixture, toTensor } from './helpers/fixtures';

interface Case {
  name: string;
  mode: 'LSTM' | 'GRU' | 'RNN_TANH' | 'RNN_RELU';
  config: { inputSize: number; hiddenSize: number; numLayers: number; bias: boolean; batchFirst: boolean; bidirectional: boolean };
  input: FixtureTensor;
  h0: FixtureTensor | null;
  c0: FixtureTensor | null;
  lengths: number[] | null;
  paramOrder: string[];
  params: Record<string, FixtureTensor>;
  output: FixtureTensor;
  hN: FixtureTensor;
  cN: FixtureTensor | null;
  gradOutput: FixtureTensor;
  gradHN: FixtureTensor;
  gradCN: FixtureTensor | null;
  gradInput: FixtureTensor;
  gradH0: FixtureTensor;
  gradC0: FixtureTensor | null;
  grads: Record<string, FixtureTensor>;
}

const { cases } = loadFixture<{ cases: Case[] }>('recurrent.json');
// float32 rounding: outputs are O(1) and each element passes through a handful of fused ops.
const TOL = 2e-6;

function build(c: Case): RecurrentBase {
  switch (c.mode) {
    case 'LSTM': return new LSTM(c.config);
    case 'GRU': return new GRU(c.config);
    case 'RNN_TANH': return new RNN({ ...c.config, nonlinearity: 'tanh' });
    case 'RNN_RELU': return new RNN({ ...c.config, nonlinearity: 'relu' });
  }
}

function loadParams(layer: RecurrentBase, c: Case): void {
  const sd: Record<string, Tensor> = {};
  for (const name of c.paramOrder) sd[name] = toTensor(c.params[name]);
  layer.loadStateDict(sd);
}

describe.each(['LSTM', 'GRU', 'RNN_TANH', 'RNN_RELU'])('%s against PyTorch', (mode) => {
  const mine = cases.filter((c) => c.mode === mode);

  it('has fixtures', () => expect(mine.length).toBeGreaterThanOrEqual(20));

  it.each(mine.map((c) => [c.name, c] as const))('%s: parameter names and order are PyTorch\'s', (_n, c) => {
    const layer = build(c);
    expect(layer.namedParameters().map(([n]) => n)).toEqual(c.paramOrder);
    for (const [n, p] of layer.namedParameters()) expect(p.shape).toEqual(c.params[n].shape);
  });

  it.each(mine.map((c) => [c.name, c] as const))('%s: forward and backward match', (_n, c) => {
    const layer = build(c);
    loadParams(layer, c);
    const state = c.h0 ? { h: toTensor(c.h0), ...(c.c0 ? { c: toTensor(c.c0) } : {}) } : undefined;
    const opts = c.lengths ? { lengths: Int32Array.from(c.lengths) } : undefined;
    const out = layer.forward(toTensor(c.input), state, opts);
    expect(out.output.shape).toEqual(c.output.shape);
    expectClose('output', out.output.data, c.output.data, TOL);
    expectClose('h', out.h.data, c.hN.data, TOL);
    if (c.cN) expectClose('c', out.c!.data, c.cN.data, TOL);
    else expect(out.c).toBeUndefined();

    const gradState = { h: toTensor(c.gradHN), ...(c.gradCN ? { c: toTensor(c.gradCN) } : {}) };
    const g = layer.backward(toTensor(c.gradOutput), gradState);
    expect(g.gradInput.shape).toEqual(c.input.shape);
    expectClose('gradInput', g.gradInput.data, c.gradInput.data, TOL);
    expectClose('gradState.h', g.gradState.h.data, c.gradH0.data, TOL);
    if (c.gradC0) expectClose('gradState.c', g.gradState.c!.data, c.gradC0.data, TOL);
    for (const [name, p] of layer.namedParameters()) expectClose(`grad of ${name}`, p.grad, c.grads[name].data, 4 * TOL);
  });
});

describe('RecurrentBase#backward() accumulation', () => {
  it('adds into .grad on every call until zeroGrad()', () => {
    const c = cases.find((x) => x.mode === 'LSTM' && x.config.numLayers === 2)!;
    const layer = build(c);
    loadParams(layer, c);
    const run = () => {
      layer.forward(toTensor(c.input), c.h0 ? { h: toTensor(c.h0), c: toTensor(c.c0!) } : undefined, c.lengths ? { lengths: Int32Array.from(c.lengths) } : undefined);
      layer.backward(toTensor(c.gradOutput), { h: toTensor(c.gradHN), c: toTensor(c.gradCN!) });
    };
    run();
    run();
    const [name, p] = layer.namedParameters()[0];
    expectClose('twice the gradient', p.grad, c.grads[name].data.map((v) => 2 * v), 8 * TOL);
    layer.zeroGrad();
    expect(p.grad.every((v) => v === 0)).toBe(true);
  });
});
