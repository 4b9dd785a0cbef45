// Float64 finite-difference checks of the tape (PyTorch's gradcheck): every functional op in
// every form, every cell and recurrent layer kind and option, the modules, and graphs that
// compose them (a module called several times, a tensor used twice, state handed from one
// module to another, the embedding shortcut of the recurrent layers). Each check compares
// the gradient backward() leaves in .grad with central differences of a fresh forward.
import {
  Embedding, functional as F, GRU, GRUCell, LayerNorm, Linear, LSTM, LSTMCell, manualSeed, Module, RNN, RNNCell,
  ReLU, Sequential, Sigmoid, Tanh, Dropout, Tensor,
} from '../lib';
import { Generator } from '../lib/core/random';
import { rand64, t64, toFloat64 } from './helpers/float64';
import { dot, expectGradcheck, numericGradient, relativeError, reportGradcheckErrors, weightsLike } from './helpers/gradcheck-expect';

afterAll(() => reportGradcheckErrors(15));

/** rand64 with every |value| ≥ margin (for relu's kink at 0). */
function awayFromZero(g: Generator, shape: number[], margin = 0.1): Tensor {
  const t = rand64(g, shape, 1, true);
  for (let i = 0; i < t.size; i++) t.data[i] = Math.sign(t.data[i] || 1) * (margin + Math.abs(t.data[i]));
  return t;
}

/** The parameters of a module (after toFloat64) with every value redrawn from g (LayerNorm starts at ones/zeros). */
function randomize(m: Module, g: Generator, scale = 0.8): Tensor[] {
  const ps = m.parameters();
  for (const p of ps) for (let i = 0; i < p.size; i++) p.data[i] = (2 * g.uniform() - 1) * scale;
  return ps;
}

describe('functional ops: gradcheck (float64)', () => {
  const ops = [['add', F.add], ['sub', F.sub], ['mul', F.mul]] as const;
  describe.each(ops)('F.%s', (name, op) => {
    const g = new Generator(11);
    it('same shape, both operands require grad', () => {
      const a = rand64(g, [2, 3, 4], 1, true), b = rand64(g, [2, 3, 4], 1, true), w = rand64(g, [2, 3, 4]);
      expectGradcheck(`F.${name} same shape`, () => dot(op(a, b), w), [a, b]);
    });
    it('b broadcast over a (3-D) as its last dimension, both require grad', () => {
      const a = rand64(g, [2, 3, 4], 1, true), b = rand64(g, [4], 1, true), w = rand64(g, [2, 3, 4]);
      expectGradcheck(`F.${name} broadcast [4]`, () => dot(op(a, b), w), [a, b]);
    });
    it('b broadcast as a\'s two trailing dimensions, both require grad', () => {
      const a = rand64(g, [2, 3, 4], 1, true), b = rand64(g, [3, 4], 1, true), w = rand64(g, [2, 3, 4]);
      expectGradcheck(`F.${name} broadcast [3, 4]`, () => dot(op(a, b), w), [a, b]);
    });
    it('b of shape [] (one element), both require grad', () => {
      const a = rand64(g, [3, 2], 1, true), b = rand64(g, [], 1, true), w = rand64(g, [3, 2]);
      expectGradcheck(`F.${name} scalar tensor`, () => dot(op(a, b), w), [a, b]);
    });
    it('only a requires grad (broadcast b constant)', () => {
      const a = rand64(g, [2, 3, 4], 1, true), b = rand64(g, [3, 4]), w = rand64(g, [2, 3, 4]);
      expectGradcheck(`F.${name} only a`, () => dot(op(a, b), w), [a]);
      expect(b.grad).toBeNull();
    });
    it('only b requires grad (broadcast)', () => {
      const a = rand64(g, [2, 3, 4]), b = rand64(g, [4], 1, true), w = rand64(g, [2, 3, 4]);
      expectGradcheck(`F.${name} only b`, () => dot(op(a, b), w), [b]);
      expect(a.grad).toBeNull();
    });
    it('the same tensor as both operands', () => {
      const a = rand64(g, [2, 3], 1, true), w = rand64(g, [2, 3]);
      expectGradcheck(`F.${name} (a, a)`, () => dot(op(a, a), w), [a]);
      const b = rand64(g, [2, 3], 1, true);
      expectGradcheck(`F.${name} (t, t) of an intermediate`, () => {
        const t = F.tanh(b);
        return dot(op(t, t), w);
      }, [b]);
    });
    it('a number operand', () => {
      const a = rand64(g, [2, 5], 1, true), w = rand64(g, [2, 5]);
      expectGradcheck(`F.${name} number`, () => dot(op(a, -1.7), w), [a]);
    });
  });

  describe('F.matmul', () => {
    const g = new Generator(12);
    it.each([
      ['2-D, both require grad', [3, 4], [4, 5], true, true],
      ['2-D, only a', [3, 4], [4, 5], true, false],
      ['2-D, only b', [3, 4], [4, 5], false, true],
      ['batched, both require grad', [2, 3, 4], [2, 4, 5], true, true],
      ['batched, only a', [2, 3, 4], [2, 4, 5], true, false],
      ['batched, only b', [2, 3, 4], [2, 4, 5], false, true],
      ['2-D with 1-wide dims', [1, 4], [4, 1], true, true],
    ] as Array<[string, number[], number[], boolean, boolean]>)('%s', (label, sa, sb, ga, gb) => {
      const a = rand64(g, sa, 1, ga), b = rand64(g, sb, 1, gb);
      const w = rand64(g, sa.length === 3 ? [sa[0], sa[1], sb[2]] : [sa[0], sb[1]]);
      expectGradcheck(`F.matmul ${label}`, () => dot(F.matmul(a, b), w), [a, b].filter((t) => t.requiresGrad));
      if (!ga) expect(a.grad).toBeNull();
      if (!gb) expect(b.grad).toBeNull();
    });
  });

  it('F.matmul of a square matrix with itself', () => {
    const g = new Generator(121);
    const a = rand64(g, [3, 3], 1, true), w = rand64(g, [3, 3]);
    expectGradcheck('F.matmul (a, a)', () => dot(F.matmul(a, a), w), [a]);
    const b = rand64(g, [2, 3, 3], 1, true), wb = rand64(g, [2, 3, 3]);
    expectGradcheck('F.matmul batched (b, b)', () => dot(F.matmul(b, b), wb), [b]);
  });

  describe('activations', () => {
    const g = new Generator(13);
    it('F.tanh', () => {
      const x = rand64(g, [3, 4], 2, true), w = rand64(g, [3, 4]);
      expectGradcheck('F.tanh', () => dot(F.tanh(x), w), [x]);
    });
    it('F.sigmoid', () => {
      const x = rand64(g, [3, 4], 3, true), w = rand64(g, [3, 4]);
      expectGradcheck('F.sigmoid', () => dot(F.sigmoid(x), w), [x]);
    });
    it('F.relu (|x| ≥ 0.1: no kink within eps)', () => {
      const x = awayFromZero(g, [3, 4]), w = rand64(g, [3, 4]);
      expectGradcheck('F.relu', () => dot(F.relu(x), w), [x]);
      const grad = x.grad!;
      for (let i = 0; i < x.size; i++) if (x.data[i] < 0) expect(grad[i]).toBe(0);
    });
  });

  describe.each([['softmax', F.softmax], ['logSoftmax', F.logSoftmax]] as const)('F.%s of a 3-D tensor', (name, op) => {
    const g = new Generator(14);
    it.each([0, 1, 2, -1, -2, -3])('dim %d', (dim) => {
      const x = rand64(g, [2, 3, 4], 2, true), w = rand64(g, [2, 3, 4]);
      expectGradcheck(`F.${name} dim ${dim}`, () => dot(op(x, dim), w), [x]);
    });
  });

  describe('F.maskedFill', () => {
    const g = new Generator(15);
    const mask = Uint8Array.from({ length: 24 }, (_, i) => (i % 4 === 1 || i % 7 === 3 ? 1 : 0));
    it('with a finite value: the filled elements get no gradient', () => {
      const x = rand64(g, [2, 3, 4], 1, true), w = rand64(g, [2, 3, 4]);
      expectGradcheck('F.maskedFill finite', () => dot(F.maskedFill(x, mask, 2.5), w), [x]);
      mask.forEach((m, i) => m && expect(x.grad![i]).toBe(0));
    });
    it('with -Infinity, then softmax over the last dimension', () => {
      const x = rand64(g, [2, 3, 4], 1, true), w = rand64(g, [2, 3, 4]);
      expectGradcheck('F.maskedFill -Infinity → softmax', () => dot(F.softmax(F.maskedFill(x, mask, -Infinity), -1), w), [x]);
      mask.forEach((m, i) => m && expect(x.grad![i]).toBe(0));
      const y = F.softmax(F.maskedFill(x, mask, -Infinity), -1);
      mask.forEach((m, i) => m && expect(y.data[i]).toBe(0));
    });
    it('with -Infinity, then softmax over dim 1', () => {
      const x = rand64(g, [2, 3, 4], 1, true), w = rand64(g, [2, 3, 4]);
      const mask1 = Uint8Array.from({ length: 24 }, (_, i) => (i % 5 === 2 ? 1 : 0)); // no slice along dim 1 all masked
      expectGradcheck('F.maskedFill -Infinity → softmax dim 1', () => dot(F.softmax(F.maskedFill(x, mask1, -Infinity), 1), w), [x]);
    });
  });

  describe('F.cat', () => {
    const g = new Generator(16);
    it.each([
      [0, [[1, 3, 4], [2, 3, 4], [3, 3, 4]]],
      [1, [[2, 1, 4], [2, 3, 4]]],
      [2, [[2, 3, 2], [2, 3, 1], [2, 3, 3]]],
      [-1, [[2, 3, 2], [2, 3, 4]]],
      [-2, [[2, 2, 4], [2, 1, 4]]],
      [-3, [[1, 3, 4], [1, 3, 4]]],
    ] as Array<[number, number[][]]>)('dim %d', (dim, shapes) => {
      const ts = shapes.map((s) => rand64(g, s, 1, true));
      const out = F.cat(ts, dim);
      const w = weightsLike(g, out);
      expectGradcheck(`F.cat dim ${dim}`, () => dot(F.cat(ts, dim), w), ts);
    });
    it('one of the tensors does not require grad', () => {
      const a = rand64(g, [2, 3], 1, true), b = rand64(g, [2, 2]), c = rand64(g, [2, 1], 1, true), w = rand64(g, [2, 6]);
      expectGradcheck('F.cat mixed', () => dot(F.cat([a, b, c], 1), w), [a, c]);
      expect(b.grad).toBeNull();
    });
    it('the same tensor twice (its gradients add)', () => {
      const a = rand64(g, [2, 3], 1, true), w = rand64(g, [4, 3]);
      expectGradcheck('F.cat same tensor twice', () => dot(F.cat([a, a], 0), w), [a]);
    });
  });

  describe('F.stack', () => {
    const g = new Generator(17);
    it.each([0, 1, 2, -1, -3])('dim %d of three (2, 3) tensors', (dim) => {
      const ts = [0, 1, 2].map(() => rand64(g, [2, 3], 1, true));
      const w = weightsLike(g, F.stack(ts, dim));
      expectGradcheck(`F.stack dim ${dim}`, () => dot(F.stack(ts, dim), w), ts);
    });
  });

  describe('F.narrow', () => {
    const g = new Generator(18);
    it.each([[0, 1, 1], [1, 0, 2], [2, 1, 3], [-1, 2, 2], [-2, 1, 2]])('dim %d start %d length %d', (dim, start, length) => {
      const x = rand64(g, [2, 3, 4], 1, true);
      const w = weightsLike(g, F.narrow(x, dim, start, length));
      expectGradcheck(`F.narrow dim ${dim}`, () => dot(F.narrow(x, dim, start, length), w), [x]);
    });
  });

  describe('F.indexSelect', () => {
    const g = new Generator(19);
    it.each([0, 1, 2, -1])('dim %d with repeated indices (their gradients add)', (dim) => {
      const x = rand64(g, [3, 4, 5], 1, true);
      const index = Int32Array.of(2, 0, 2, 1, 2);
      const w = weightsLike(g, F.indexSelect(x, dim, index));
      expectGradcheck(`F.indexSelect dim ${dim}`, () => dot(F.indexSelect(x, dim, index), w), [x]);
    });
  });

  describe('reductions', () => {
    const g = new Generator(20);
    it('F.sum', () => {
      const x = rand64(g, [2, 3, 4], 1, true);
      expectGradcheck('F.sum', () => F.mul(F.sum(x), F.sum(x)), [x]);
    });
    it('F.mean', () => {
      const x = rand64(g, [2, 3, 4], 1, true);
      expectGradcheck('F.mean', () => F.mul(F.mean(F.mul(x, x)), F.mean(x)), [x]);
    });
  });

  describe('F.dropout', () => {
    const g = new Generator(21);
    it('training, p = 0.3, the mask fixed by reseeding inside loss()', () => {
      const x = rand64(g, [4, 6], 1, true), w = rand64(g, [4, 6]);
      const loss = () => {
        manualSeed(1234);
        return dot(F.dropout(x, 0.3, true), w);
      };
      expectGradcheck('F.dropout', loss, [x]);
      // the gradient is 0 (dropped) or w / 0.7 (kept)
      let dropped = 0;
      for (let i = 0; i < x.size; i++) {
        const gi = x.grad![i];
        if (gi === 0) dropped++;
        else expect(gi).toBeCloseTo(w.data[i] / 0.7, 12);
      }
      expect(dropped).toBeGreaterThan(0);
      expect(dropped).toBeLessThan(x.size);
    });
    it('eval (training = false) is the identity', () => {
      const x = rand64(g, [3, 3], 1, true), w = rand64(g, [3, 3]);
      expectGradcheck('F.dropout eval', () => dot(F.dropout(x, 0.5, false), w), [x]);
    });
  });

  describe('losses', () => {
    const g = new Generator(22);
    it('F.crossEntropy', () => {
      const x = rand64(g, [5, 4], 2, true);
      expectGradcheck('F.crossEntropy', () => F.crossEntropy(x, Int32Array.of(0, 3, 1, 1, 2)), [x]);
    });
    it('F.crossEntropy with ignoreIndex: ignored rows get no gradient', () => {
      const x = rand64(g, [5, 4], 2, true);
      const targets = Int32Array.of(0, -1, 3, -1, 2);
      expectGradcheck('F.crossEntropy ignoreIndex', () => F.crossEntropy(x, targets, { ignoreIndex: -1 }), [x]);
      for (const row of [1, 3]) for (let c = 0; c < 4; c++) expect(x.grad![row * 4 + c]).toBe(0);
    });
    it('F.crossEntropy with labelSmoothing', () => {
      const x = rand64(g, [5, 4], 2, true);
      expectGradcheck('F.crossEntropy labelSmoothing', () => F.crossEntropy(x, Int32Array.of(0, 3, 1, 1, 2), { labelSmoothing: 0.2 }), [x]);
    });
    it('F.crossEntropy with ignoreIndex and labelSmoothing, scaled downstream', () => {
      const x = rand64(g, [5, 4], 2, true);
      const targets = Int32Array.of(2, 7, 3, 0, 7);
      expectGradcheck('F.crossEntropy both', () => F.mul(F.crossEntropy(x, targets, { ignoreIndex: 7, labelSmoothing: 0.1 }), 3.5), [x]);
    });
    it('F.nllLoss of F.logSoftmax', () => {
      const x = rand64(g, [5, 4], 2, true);
      expectGradcheck('F.nllLoss(logSoftmax)', () => F.nllLoss(F.logSoftmax(x, -1), Int32Array.of(1, 0, 3, 2, 2)), [x]);
    });
    it('F.nllLoss of a raw input with ignoreIndex', () => {
      const x = rand64(g, [4, 3], 2, true);
      expectGradcheck('F.nllLoss ignoreIndex', () => F.nllLoss(x, Int32Array.of(1, 0, 0, 2), { ignoreIndex: 0 }), [x]);
    });
    it('F.mseLoss with respect to input and target', () => {
      const x = rand64(g, [3, 4], 1, true), y = rand64(g, [3, 4], 1, true);
      expectGradcheck('F.mseLoss', () => F.mseLoss(x, y), [x, y]);
    });
    it('F.mseLoss, target requires grad only', () => {
      const x = rand64(g, [3, 4], 1), y = rand64(g, [3, 4], 1, true);
      expectGradcheck('F.mseLoss target only', () => F.mul(F.mseLoss(x, y), 2), [y]);
    });
    it('F.bceWithLogitsLoss', () => {
      const x = rand64(g, [3, 4], 3, true);
      const y = t64(Array.from({ length: 12 }, (_, i) => [0, 1, 0.3, 1][i % 4]), [3, 4]);
      expectGradcheck('F.bceWithLogitsLoss', () => F.bceWithLogitsLoss(x, y), [x]);
    });
    it('F.bceWithLogitsLoss with posWeight', () => {
      const x = rand64(g, [3, 4], 3, true);
      const y = t64(Array.from({ length: 12 }, (_, i) => [1, 0, 0.7, 1, 0, 0][i % 6]), [3, 4]);
      const posWeight = t64([3, 0.5, 1, 2], [4]);
      expectGradcheck('F.bceWithLogitsLoss posWeight', () => F.bceWithLogitsLoss(x, y, { posWeight }), [x]);
    });
  });

  describe('F.layerNorm', () => {
    const g = new Generator(23);
    it('over the last dimension, with weight and bias', () => {
      const x = rand64(g, [2, 3, 5], 2, true), w = rand64(g, [5], 1, true), b = rand64(g, [5], 1, true), out = rand64(g, [2, 3, 5]);
      expectGradcheck('F.layerNorm weight+bias', () => dot(F.layerNorm(x, [5], w, b), out), [x, w, b]);
    });
    it('over the two trailing dimensions, with weight and bias', () => {
      const x = rand64(g, [2, 3, 4], 2, true), w = rand64(g, [3, 4], 1, true), b = rand64(g, [3, 4], 1, true), out = rand64(g, [2, 3, 4]);
      expectGradcheck('F.layerNorm 2 dims', () => dot(F.layerNorm(x, [3, 4], w, b), out), [x, w, b]);
    });
    it('without weight and bias', () => {
      const x = rand64(g, [4, 6], 2, true), out = rand64(g, [4, 6]);
      expectGradcheck('F.layerNorm plain', () => dot(F.layerNorm(x, [6]), out), [x]);
    });
    it('weight only (bias null), x constant', () => {
      const x = rand64(g, [4, 6], 2), w = rand64(g, [6], 1, true), out = rand64(g, [4, 6]);
      expectGradcheck('F.layerNorm weight only', () => dot(F.layerNorm(x, [6], w, null), out), [w]);
    });
  });

  describe('Tensor.reshape and Tensor.transpose', () => {
    const g = new Generator(24);
    it('reshape with -1, then an op that sees the new shape', () => {
      const x = rand64(g, [2, 3, 4], 1, true), w = rand64(g, [4, 6]);
      expectGradcheck('reshape -1', () => dot(F.softmax(x.reshape([4, -1]), 1), w), [x]);
    });
    it.each([[0, 1], [0, 2], [1, 2], [-1, 0], [2, 2]])('transpose(%d, %d)', (a, b) => {
      const x = rand64(g, [2, 3, 4], 1, true);
      const w = weightsLike(g, x.transpose(a, b));
      expectGradcheck(`transpose(${a}, ${b})`, () => dot(F.softmax(x.transpose(a, b), -1), w), [x]);
    });
  });
});

describe('cells over 3 steps: gradcheck (float64)', () => {
  const kinds: Array<[string, (bias: boolean) => RNNCell | LSTMCell | GRUCell]> = [
    ['RNNCell tanh', (bias) => new RNNCell({ inputSize: 3, hiddenSize: 4, bias })],
    ['RNNCell relu', (bias) => new RNNCell({ inputSize: 3, hiddenSize: 4, bias, nonlinearity: 'relu' })],
    ['LSTMCell', (bias) => new LSTMCell({ inputSize: 3, hiddenSize: 4, bias })],
    ['GRUCell', (bias) => new GRUCell({ inputSize: 3, hiddenSize: 4, bias })],
  ];
  describe.each(kinds)('%s', (name, make) => {
    it.each([true, false])('bias %s: inputs, initial state and every parameter', (bias) => {
      const g = new Generator(31 + name.length + (bias ? 1 : 0));
      manualSeed(5);
      const cell = toFloat64(make(bias));
      const params = randomize(cell, g);
      const lstm = cell instanceof LSTMCell;
      const B = 2, H = 4;
      const xs = [0, 1, 2].map(() => rand64(g, [B, 3], 1, true));
      const h0 = rand64(g, [B, H], 0.5, true), c0 = rand64(g, [B, H], 0.5, true);
      const wh = xs.map(() => rand64(g, [B, H])), wc = xs.map(() => rand64(g, [B, H]));
      const loss = () => {
        let state: { h: Tensor; c?: Tensor } = lstm ? { h: h0, c: c0 } : { h: h0 };
        let total: Tensor | null = null;
        xs.forEach((x, t) => {
          state = (cell as RNNCell).forward(x, state);
          let term = dot(state.h, wh[t]);
          if (state.c) term = F.add(term, dot(state.c, wc[t]));
          total = total ? F.add(total, term) : term;
        });
        return total!;
      };
      expectGradcheck(`${name} bias=${bias}`, loss, [...xs, h0, ...(lstm ? [c0] : []), ...params]);
    });
    it('without an initial state (zeros), parameters only', () => {
      const g = new Generator(41 + name.length);
      const cell = toFloat64(make(true));
      const params = randomize(cell, g);
      const xs = [0, 1, 2].map(() => rand64(g, [3, 3]));
      const w = rand64(g, [3, 4]);
      const loss = () => {
        let state = (cell as RNNCell).forward(xs[0]);
        state = (cell as RNNCell).forward(xs[1], state);
        state = (cell as RNNCell).forward(xs[2], state);
        return dot(state.h, w);
      };
      expectGradcheck(`${name} no state`, loss, params);
    });
  });
});

describe('recurrent layers: gradcheck (float64)', () => {
  type Make = (o: { numLayers?: number; bidirectional?: boolean; batchFirst?: boolean; bias?: boolean; dropout?: number }) => RNN | LSTM | GRU;
  const kinds: Array<[string, Make]> = [
    ['RNN tanh', (o) => new RNN({ inputSize: 3, hiddenSize: 2, ...o })],
    ['RNN relu', (o) => new RNN({ inputSize: 3, hiddenSize: 2, nonlinearity: 'relu', ...o })],
    ['LSTM', (o) => new LSTM({ inputSize: 3, hiddenSize: 2, ...o })],
    ['GRU', (o) => new GRU({ inputSize: 3, hiddenSize: 2, ...o })],
  ];
  const configs: Array<[string, { numLayers?: number; bidirectional?: boolean; batchFirst?: boolean; bias?: boolean; dropout?: number }, { lengths: boolean; state: boolean }]> = [
    ['one layer', {}, { lengths: false, state: false }],
    ['one layer, initial state', {}, { lengths: false, state: true }],
    ['bidirectional, 2 layers, lengths, batchFirst, initial state', { numLayers: 2, bidirectional: true, batchFirst: true }, { lengths: true, state: true }],
    ['2 layers, time-major, lengths, no bias', { numLayers: 2, bias: false }, { lengths: true, state: true }],
    ['bidirectional, batchFirst, no state', { bidirectional: true, batchFirst: true }, { lengths: false, state: false }],
    ['2 layers with dropout (mask fixed by reseeding)', { numLayers: 2, dropout: 0.4 }, { lengths: false, state: true }],
  ];
  describe.each(kinds)('%s', (name, make) => {
    it.each(configs)('%s', (label, o, extra) => {
      const g = new Generator(51 + name.length * 3 + label.length);
      const layer = toFloat64(make(o));
      const params = randomize(layer, g);
      const T = 3, B = 3, D = o.bidirectional ? 2 : 1, L = o.numLayers ?? 1, H = 2;
      const lstm = layer instanceof LSTM;
      const x = rand64(g, o.batchFirst ? [B, T, 3] : [T, B, 3], 1, true);
      const h0 = rand64(g, [L * D, B, H], 0.5, true), c0 = rand64(g, [L * D, B, H], 0.5, true);
      const lengths = extra.lengths ? Int32Array.of(3, 1, 2) : undefined;
      const wOut = rand64(g, o.batchFirst ? [B, T, D * H] : [T, B, D * H]), wh = rand64(g, [L * D, B, H]), wc = rand64(g, [L * D, B, H]);
      const state = extra.state ? (lstm ? { h: h0, c: c0 } : { h: h0 }) : undefined;
      const loss = () => {
        manualSeed(77); // the dropout masks' seed is drawn from the default generator
        const out = (layer as LSTM).forward(x, state as { h: Tensor; c: Tensor }, lengths ? { lengths } : undefined);
        let s = F.add(dot(out.output, wOut), dot(out.h, wh));
        if (out.c) s = F.add(s, dot(out.c, wc));
        return s;
      };
      const inputs = [x, ...(extra.state ? [h0, ...(lstm ? [c0] : [])] : []), ...params];
      expectGradcheck(`${name} ${label}`, loss, inputs);
      if (o.dropout) {
        // dropout is active between the layers: another seed, another output
        const outWith = (seed: number) => {
          manualSeed(seed);
          return Array.from((layer as LSTM).forward(x, state as { h: Tensor; c: Tensor }).output.data);
        };
        expect(outWith(1)).not.toEqual(outWith(2));
        expect(outWith(3)).toEqual(outWith(3));
      }
      if (lengths && !o.batchFirst) {
        // steps past a row's length get no gradient: row 1 has length 1
        for (let t = 1; t < T; t++) for (let i = 0; i < 3; i++) expect(x.grad![(t * B + 1) * 3 + i]).toBe(0);
      }
    });
  });
});

describe('modules: gradcheck (float64)', () => {
  it('Linear with bias, 3-D input', () => {
    const g = new Generator(61);
    const lin = toFloat64(new Linear({ inFeatures: 4, outFeatures: 3 }));
    const x = rand64(g, [2, 3, 4], 1, true), w = rand64(g, [2, 3, 3]);
    expectGradcheck('Linear', () => dot(lin.forward(x), w), [x, ...lin.parameters()]);
  });
  it('Linear without bias, 1-D input', () => {
    const g = new Generator(62);
    const lin = toFloat64(new Linear({ inFeatures: 4, outFeatures: 2, bias: false }));
    const x = rand64(g, [4], 1, true), w = rand64(g, [2]);
    expectGradcheck('Linear no bias', () => dot(lin.forward(x), w), [x, ...lin.parameters()]);
  });
  it('Embedding with paddingIdx: every other row matches central differences, the padding row gets zero gradient', () => {
    const g = new Generator(63);
    const emb = toFloat64(new Embedding({ numEmbeddings: 5, embeddingDim: 3, paddingIdx: 1 }));
    randomize(emb, g);
    const ids = Int32Array.of(0, 1, 4, 1, 2, 0);
    const w = rand64(g, [2, 3, 3]);
    const loss = () => dot(emb.forward(ids, [2, 3]), w);
    emb.zeroGrad();
    loss().backward();
    const analytic = Float64Array.from(emb.weight.grad);
    const numeric = numericGradient(loss, emb.weight);
    for (let j = 0; j < 3; j++) {
      expect(analytic[1 * 3 + j]).toBe(0); // padding row
      expect(Math.abs(numeric[1 * 3 + j])).toBeGreaterThan(1e-3); // although the output depends on it
      numeric[1 * 3 + j] = 0;
    }
    for (let j = 0; j < 3; j++) expect(analytic[3 * 3 + j]).toBe(0); // row 3 is never looked up
    expect(relativeError(analytic, numeric)).toBeLessThan(1e-7);
  });
  it('Embedding without paddingIdx', () => {
    const g = new Generator(64);
    const emb = toFloat64(new Embedding({ numEmbeddings: 4, embeddingDim: 2 }));
    const ids = Int32Array.of(3, 3, 0, 2);
    const w = rand64(g, [4, 2]);
    expectGradcheck('Embedding', () => dot(emb.forward(ids, [4]), w), [emb.weight]);
  });
  it('LayerNorm module (weight and bias moved off ones/zeros)', () => {
    const g = new Generator(65);
    const ln = toFloat64(new LayerNorm({ normalizedShape: 5 }));
    const params = randomize(ln, g);
    const x = rand64(g, [3, 5], 2, true), w = rand64(g, [3, 5]);
    expectGradcheck('LayerNorm module', () => dot(ln.forward(x), w), [x, ...params]);
  });
  it('LayerNorm module without elementwise affine, two normalized dims', () => {
    const g = new Generator(66);
    const ln = new LayerNorm({ normalizedShape: [2, 3], elementwiseAffine: false });
    expect(ln.parameters()).toHaveLength(0);
    const x = rand64(g, [2, 2, 3], 2, true), w = rand64(g, [2, 2, 3]);
    expectGradcheck('LayerNorm no affine', () => dot(ln.forward(x), w), [x]);
  });
  it('Sequential(Linear, Tanh, Linear, ReLU, LayerNorm, Dropout, Linear, Sigmoid)', () => {
    const g = new Generator(67);
    const seq = toFloat64(
      new Sequential(
        new Linear({ inFeatures: 4, outFeatures: 6 }), new Tanh(), new Linear({ inFeatures: 6, outFeatures: 5 }), new ReLU(),
        new LayerNorm({ normalizedShape: 5 }), new Dropout({ p: 0.2 }), new Linear({ inFeatures: 5, outFeatures: 3 }), new Sigmoid(),
      ),
    );
    const params = randomize(seq, g);
    const x = rand64(g, [4, 4], 1, true), w = rand64(g, [4, 3]);
    const loss = () => {
      manualSeed(99);
      return dot(seq.forward(x), w);
    };
    expectGradcheck('Sequential', loss, [x, ...params]);
  });
});

describe('composed graphs: gradcheck (float64)', () => {
  it('one Linear applied to three different inputs in one graph', () => {
    const g = new Generator(71);
    const lin = toFloat64(new Linear({ inFeatures: 3, outFeatures: 2 }));
    const xs = [0, 1, 2].map(() => rand64(g, [2, 3], 1, true));
    const ws = xs.map(() => rand64(g, [2, 2]));
    const loss = () => {
      const ys = xs.map((x) => lin.forward(x));
      return F.add(F.add(dot(F.tanh(ys[0]), ws[0]), dot(F.mul(ys[1], ys[2]), ws[1])), dot(ys[2], ws[2]));
    };
    expectGradcheck('Linear x3', loss, [...xs, ...lin.parameters()]);
  });

  it('one Linear applied to its own output (the same module, chained)', () => {
    const g = new Generator(72);
    const lin = toFloat64(new Linear({ inFeatures: 3, outFeatures: 3 }));
    const x = rand64(g, [2, 3], 1, true), w = rand64(g, [2, 3]);
    expectGradcheck('Linear chained x3', () => dot(lin.forward(F.tanh(lin.forward(F.tanh(lin.forward(x))))), w), [x, ...lin.parameters()]);
  });

  it('one LSTM run three times, the state passed along', () => {
    const g = new Generator(73);
    const lstm = toFloat64(new LSTM({ inputSize: 3, hiddenSize: 2 }));
    const params = randomize(lstm, g);
    const xs = [0, 1, 2].map(() => rand64(g, [2, 2, 3], 1, true));
    const h0 = rand64(g, [1, 2, 2], 0.5, true), c0 = rand64(g, [1, 2, 2], 0.5, true);
    const ws = xs.map(() => rand64(g, [2, 2, 2]));
    const wh = rand64(g, [1, 2, 2]), wc = rand64(g, [1, 2, 2]);
    const loss = () => {
      let state = { h: h0, c: c0 };
      let total: Tensor | null = null;
      xs.forEach((x, k) => {
        const out = lstm.forward(x, state);
        state = { h: out.h, c: out.c };
        const term = dot(out.output, ws[k]);
        total = total ? F.add(total, term) : term;
      });
      return F.add(F.add(total!, dot(state.h, wh)), dot(state.c, wc));
    };
    expectGradcheck('LSTM x3 with state', loss, [...xs, h0, c0, ...params]);
  });

  it('one GRU run three times on one input (outputs combined)', () => {
    const g = new Generator(74);
    const gru = toFloat64(new GRU({ inputSize: 2, hiddenSize: 3, batchFirst: true }));
    const params = randomize(gru, g);
    const x = rand64(g, [2, 3, 2], 1, true), w = rand64(g, [2, 3, 3]);
    const loss = () => {
      const a = gru.forward(x).output, b = gru.forward(x).output, c = gru.forward(F.mul(x, 0.5)).output;
      return dot(F.add(F.mul(a, b), c), w);
    };
    expectGradcheck('GRU x3', loss, [x, ...params]);
  });

  it('a tensor feeding two ops (x into tanh and into matmul)', () => {
    const g = new Generator(75);
    const x = rand64(g, [3, 4], 1, true), m = rand64(g, [4, 2], 1, true), w1 = rand64(g, [3, 4]), w2 = rand64(g, [3, 2]);
    expectGradcheck('x → tanh and matmul', () => F.add(dot(F.tanh(x), w1), dot(F.matmul(x, m), w2)), [x, m]);
  });

  it('an intermediate feeding three ops, one of them twice', () => {
    const g = new Generator(76);
    const x = rand64(g, [3, 4], 1, true), w = rand64(g, [3, 4]);
    const loss = () => {
      const y = F.sigmoid(x);
      return F.add(dot(F.mul(y, y), w), F.mean(F.logSoftmax(F.add(y, x), 1)));
    };
    expectGradcheck('intermediate used 4 times', loss, [x]);
  });

  it('state from an LSTM into an LSTMCell, then into another LSTM layer', () => {
    const g = new Generator(77);
    const B = 2, H = 3;
    const lstm1 = toFloat64(new LSTM({ inputSize: 2, hiddenSize: H }));
    const cell = toFloat64(new LSTMCell({ inputSize: 4, hiddenSize: H }));
    const lstm2 = toFloat64(new LSTM({ inputSize: 2, hiddenSize: H, batchFirst: true }));
    const params = [...randomize(lstm1, g), ...randomize(cell, g), ...randomize(lstm2, g)];
    const x1 = rand64(g, [3, B, 2], 1, true), xc = rand64(g, [B, 4], 1, true), x2 = rand64(g, [B, 2, 2], 1, true);
    const w = rand64(g, [B, 2, H]), wh = rand64(g, [1, B, H]);
    const loss = () => {
      const a = lstm1.forward(x1);
      const s = cell.forward(xc, { h: a.h.reshape([B, H]), c: a.c.reshape([B, H]) });
      const b = lstm2.forward(x2, { h: s.h.reshape([1, B, H]), c: s.c.reshape([1, B, H]) });
      return F.add(dot(b.output, w), dot(b.c, wh));
    };
    expectGradcheck('LSTM → LSTMCell → LSTM', loss, [x1, xc, x2, ...params]);
  });

  it('a bidirectional 2-layer LSTM\'s output through Linear and crossEntropy', () => {
    const g = new Generator(78);
    const lstm = toFloat64(new LSTM({ inputSize: 3, hiddenSize: 2, numLayers: 2, bidirectional: true }));
    const head = toFloat64(new Linear({ inFeatures: 4, outFeatures: 5 }));
    const params = [...randomize(lstm, g), ...head.parameters()];
    const x = rand64(g, [3, 2, 3], 1, true);
    const targets = Int32Array.of(0, 4, 2, 1, 3, 3);
    expectGradcheck('LSTM → Linear → crossEntropy', () => F.crossEntropy(head.forward(lstm.forward(x).output).reshape([6, 5]), targets), [x, ...params]);
  });

  describe('the embedding shortcut (Embedding → recurrent layer with V ≤ T·B)', () => {
    const T = 3, B = 2, E = 3, H = 2, V = 5; // V ≤ T·B = 6: the layer reads the table by id
    const ids = Int32Array.of(0, 3, 4, 1, 3, 2);
    function setup(seed: number, opts: { batchFirst?: boolean; paddingIdx?: number; cell?: 'lstm' | 'gru' } = {}) {
      const g = new Generator(seed);
      const emb = toFloat64(new Embedding({ numEmbeddings: V, embeddingDim: E, paddingIdx: opts.paddingIdx }));
      randomize(emb, g);
      if (opts.paddingIdx !== undefined) emb.weight.data.fill(0, opts.paddingIdx * E, (opts.paddingIdx + 1) * E);
      const batchFirst = opts.batchFirst ?? false;
      const layer = toFloat64(opts.cell === 'gru' ? new GRU({ inputSize: E, hiddenSize: H, batchFirst }) : new LSTM({ inputSize: E, hiddenSize: H, batchFirst }));
      const params = randomize(layer, g);
      const shape = batchFirst ? [B, T] : [T, B];
      const w = rand64(g, batchFirst ? [B, T, H] : [T, B, H]);
      return { g, emb, layer, params, shape, w };
    }
    /** White-box: whether the layer's last forward read the table by id. */
    const readTokens = (layer: Module) => (layer as unknown as { lastCall: { tokens: unknown } | null }).lastCall?.tokens != null;

    it('the embedded tensor feeds only the LSTM (the layer sums the table gradient itself)', () => {
      const { emb, layer, params, shape, w } = setup(81);
      const loss = () => dot(layer.forward(emb.forward(ids, shape)).output, w);
      loss();
      expect(readTokens(layer)).toBe(true);
      expectGradcheck('Embedding → LSTM (fused)', loss, [emb.weight, ...params]);
    });

    it('batchFirst, GRU', () => {
      const { emb, layer, params, shape, w } = setup(82, { batchFirst: true, cell: 'gru' });
      const loss = () => dot(layer.forward(emb.forward(ids, shape)).output, w);
      loss();
      expect(readTokens(layer)).toBe(true);
      expectGradcheck('Embedding → GRU batchFirst (fused)', loss, [emb.weight, ...params]);
    });

    it('the embedded tensor also feeds another op (the gradient flows through the Embedding\'s own backward)', () => {
      const { g, emb, layer, params, shape, w } = setup(83);
      const w2 = rand64(g, [T, B, E]);
      const loss = () => {
        const e = emb.forward(ids, shape);
        return F.add(dot(layer.forward(e).output, w), dot(F.tanh(e), w2));
      };
      expectGradcheck('Embedding → LSTM and tanh', loss, [emb.weight, ...params]);
    });

    it('the embedded tensor feeds the same LSTM twice', () => {
      const { emb, layer, params, shape, w } = setup(84);
      const loss = () => {
        const e = emb.forward(ids, shape);
        return F.add(dot(layer.forward(e).output, w), dot((layer as LSTM).forward(e).h, t64([1, -2, 0.5, 3], [1, B, H])));
      };
      expectGradcheck('Embedding → LSTM twice', loss, [emb.weight, ...params]);
    });

    it('with e.retainGrad(): e.grad is d loss / d e and the table gradient is still right', () => {
      const { emb, layer, params, shape, w } = setup(85);
      const loss = () => dot(layer.forward(emb.forward(ids, shape).retainGrad()).output, w);
      expectGradcheck('Embedding → LSTM with retainGrad', loss, [emb.weight, ...params]);
      const e = emb.forward(ids, shape).retainGrad();
      dot(layer.forward(e).output, w).backward();
      expect(readTokens(layer)).toBe(true);
      const retained = Float64Array.from(e.grad!);
      // the same gradient, taken with respect to a leaf holding e's values (no shortcut possible)
      const leaf = t64(e.data, e.shape.slice(), true);
      dot(layer.forward(leaf).output, w).backward();
      expect(relativeError(retained, leaf.grad!)).toBeLessThan(1e-12);
      // and numerically
      const numeric = numericGradient(() => dot(layer.forward(leaf).output, w), leaf);
      expect(relativeError(retained, numeric)).toBeLessThan(1e-7);
    });

    it('with paddingIdx: the padding row gets no gradient on the fused path', () => {
      const { emb, layer, shape, w } = setup(86, { paddingIdx: 3 });
      const loss = () => dot(layer.forward(emb.forward(ids, shape)).output, w);
      emb.zeroGrad();
      loss().backward();
      expect(readTokens(layer)).toBe(true);
      const analytic = Float64Array.from(emb.weight.grad);
      const numeric = numericGradient(loss, emb.weight);
      for (let j = 0; j < E; j++) {
        expect(analytic[3 * E + j]).toBe(0);
        numeric[3 * E + j] = 0;
      }
      expect(relativeError(analytic, numeric)).toBeLessThan(1e-7);
    });

    it('with paddingIdx and a second consumer: the padding row gets no gradient through the Embedding\'s backward either', () => {
      const { g, emb, layer, shape, w } = setup(87, { paddingIdx: 3 });
      const w2 = rand64(g, [T, B, E]);
      const loss = () => {
        const e = emb.forward(ids, shape);
        return F.add(dot(layer.forward(e).output, w), dot(e, w2));
      };
      emb.zeroGrad();
      loss().backward();
      const analytic = Float64Array.from(emb.weight.grad);
      const numeric = numericGradient(loss, emb.weight);
      for (let j = 0; j < E; j++) {
        expect(analytic[3 * E + j]).toBe(0);
        numeric[3 * E + j] = 0;
      }
      expect(relativeError(analytic, numeric)).toBeLessThan(1e-7);
    });

    it('fused and unfused paths give the same table gradient', () => {
      const a = setup(88), b = setup(88);
      a.emb.zeroGrad();
      b.emb.zeroGrad();
      dot(a.layer.forward(a.emb.forward(ids, a.shape)).output, a.w).backward(); // fused
      const e = b.emb.forward(ids, b.shape).retainGrad(); // retainGrad: the layer returns the input's gradient
      dot(b.layer.forward(e).output, b.w).backward();
      expect(relativeError(a.emb.weight.grad, b.emb.weight.grad)).toBeLessThan(1e-12);
      expect(relativeError(a.params[0].grad!, b.params[0].grad!)).toBeLessThan(1e-12);
    });
  });
});
