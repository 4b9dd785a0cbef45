// Float64 finite-difference checks of the recurrent kernels (the float64 template twin):
// every cell type, direction and option, every input, state and parameter coordinate.
import type { CellCode } from '../binding';
import { native } from '../lib/native/addon';
import { Generator } from '../lib/core/random';

interface Opts { cell: CellCode; L: number; bi: boolean; bias: boolean; batchFirst: boolean; lengths: boolean; T?: number; dropout?: number }

function rand(g: Generator, n: number, scale = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = (2 * g.uniform() - 1) * scale;
  return a;
}

function check(o: Opts): void {
  const g = new Generator(17 + o.cell * 31 + o.L * 7 + (o.bi ? 3 : 0));
  const T = o.T ?? 4, B = 3, I = 3, H = 2;
  const G = o.cell === 2 ? 4 : o.cell === 3 ? 3 : 1;
  const D = o.bi ? 2 : 1;
  const lstm = o.cell === 2;
  const stack = new native.RecurrentStack64(o.cell, I, H, o.L, o.bi, o.bias, o.batchFirst, o.dropout ?? 0);
  // With dropout the mask is a pure function of the seed, so every evaluation reuses it.
  const training = (o.dropout ?? 0) > 0;
  const weights: Float64Array[] = [];
  for (let l = 0; l < o.L; l++)
    for (let d = 0; d < D; d++) {
      const inSize = l === 0 ? I : D * H;
      weights.push(rand(g, G * H * inSize, 0.8), rand(g, G * H * H, 0.8));
      if (o.bias) weights.push(rand(g, G * H, 0.5), rand(g, G * H, 0.5));
    }
  const x = rand(g, T * B * I);
  const S = o.L * D * B * H;
  const h0 = rand(g, S, 0.5);
  const c0 = rand(g, S, 0.5);
  const lengths = o.lengths ? Int32Array.from([T, 1, T - 1].slice(0, B)) : null;
  const gOut = rand(g, T * B * D * H);
  const gh = rand(g, S);
  const gc = rand(g, S);

  const loss = (): number => {
    const out = new Float64Array(T * B * D * H), hN = new Float64Array(S), cN = new Float64Array(S);
    const arena = training ? new Float32Array(stack.arenaBytes(T, B, 1, false, lengths !== null) / 4) : null;
    stack.forward(T, B, x, null, 0, null, h0, lstm ? c0 : null, lengths, weights, training ? 1 : 0, 12345, 0, out, hN, lstm ? cN : null, arena);
    let s = 0;
    for (let i = 0; i < out.length; i++) s += out[i] * gOut[i];
    for (let i = 0; i < S; i++) s += hN[i] * gh[i] + (lstm ? cN[i] * gc[i] : 0);
    return s;
  };

  // analytic
  const out = new Float64Array(T * B * D * H), hN = new Float64Array(S), cN = new Float64Array(S);
  const ctx = new Float32Array(stack.arenaBytes(T, B, 1, false, lengths !== null) / 4);
  stack.forward(T, B, x, null, 0, null, h0, lstm ? c0 : null, lengths, weights, 1, 12345, 0, out, hN, lstm ? cN : null, ctx);
  const grads = weights.map((w) => new Float64Array(w.length));
  const dx = new Float64Array(x.length), dh0 = new Float64Array(S), dc0 = new Float64Array(S);
  stack.backward(ctx, gOut, gh, lstm ? gc : null, weights, grads, dx, null, null, -1, dh0, lstm ? dc0 : null);

  const targets: Array<[string, Float64Array, Float64Array]> = [['input', x, dx], ['h0', h0, dh0]];
  if (lstm) targets.push(['c0', c0, dc0]);
  weights.forEach((w, i) => targets.push([`weights[${i}]`, w, grads[i]]));
  const eps = 1e-6;
  for (const [name, v, analytic] of targets) {
    for (let i = 0; i < v.length; i++) {
      const keep = v[i];
      v[i] = keep + eps;
      const up = loss();
      v[i] = keep - eps;
      const down = loss();
      v[i] = keep;
      const numeric = (up - down) / (2 * eps);
      const err = Math.abs(numeric - analytic[i]) / Math.max(1, Math.abs(numeric));
      if (!(err < 1e-7)) throw new Error(`${name}[${i}]: analytic ${analytic[i]} vs numeric ${numeric}`);
    }
  }
}

const cells: Array<[string, CellCode]> = [['RNN tanh', 0], ['RNN relu', 1], ['LSTM', 2], ['GRU', 3]];

describe.each(cells)('%s gradients (float64 finite differences)', (_name, cell) => {
  it('one layer, one direction', () => check({ cell, L: 1, bi: false, bias: true, batchFirst: false, lengths: false }));
  it('bidirectional', () => check({ cell, L: 1, bi: true, bias: true, batchFirst: false, lengths: false }));
  it('two layers, bidirectional, batchFirst', () => check({ cell, L: 2, bi: true, bias: true, batchFirst: true, lengths: false }));
  it('without bias', () => check({ cell, L: 2, bi: false, bias: false, batchFirst: false, lengths: false }));
  it('variable lengths, bidirectional, two layers', () => check({ cell, L: 2, bi: true, bias: true, batchFirst: false, lengths: true }));
  it('variable lengths, batchFirst', () => check({ cell, L: 1, bi: false, bias: true, batchFirst: true, lengths: true }));
  it('dropout between layers (fixed mask seed)', () => check({ cell, L: 3, bi: true, bias: true, batchFirst: false, lengths: true, dropout: 0.4 }));
  it('a single time step', () => check({ cell, L: 3, bi: true, bias: true, batchFirst: false, lengths: false, T: 1 }));
});
