// The token-input path of the recurrent stack (forward with ids and a table): layer 0 reads
// rows of an embedding table by id instead of materialised rows of x. It must equal, in
// float64 to rounding, the plain path on the gathered rows, with the table's gradient equal
// to the input gradient scattered back by id — for every cell, direction and option — and a
// LanguageModel that takes it must train exactly like one wired by hand.
import type { CellCode } from '../binding';
import { crossEntropy, Embedding, functional as F, LanguageModel, LSTM, manualSeed, Tensor } from '../lib';
import { native } from '../lib/native/addon';
import { Generator } from '../lib/core/random';

interface Opts { cell: CellCode; L: number; bi: boolean; batchFirst: boolean; lengths: boolean; pad: number }

function rand(g: Generator, n: number, scale = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = (2 * g.uniform() - 1) * scale;
  return a;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function compare(o: Opts): void {
  const g = new Generator(5 + o.cell * 13 + o.L);
  const T = 6, B = 3, I = 4, H = 5, V = 7;
  const G = o.cell === 2 ? 4 : o.cell === 3 ? 3 : 1;
  const D = o.bi ? 2 : 1;
  const lstm = o.cell === 2;
  const make = () => new native.RecurrentStack64(o.cell, I, H, o.L, o.bi, true, o.batchFirst, 0);
  const weights: Float64Array[] = [];
  for (let l = 0; l < o.L; l++)
    for (let d = 0; d < D; d++) {
      const inSize = l === 0 ? I : D * H;
      weights.push(rand(g, G * H * inSize, 0.8), rand(g, G * H * H, 0.8), rand(g, G * H, 0.5), rand(g, G * H, 0.5));
    }
  const table = rand(g, V * I);
  const ids = Int32Array.from({ length: T * B }, (_, k) => (k * 5 + 3) % V); // layout as the input: (T, B) or (B, T)
  const x = new Float64Array(T * B * I);
  ids.forEach((id, k) => x.set(table.subarray(id * I, (id + 1) * I), k * I));
  const S = o.L * D * B * H;
  const h0 = rand(g, S, 0.5), c0 = rand(g, S, 0.5);
  const lengths = o.lengths ? Int32Array.of(T, 2, T - 1) : null;
  const gOut = rand(g, T * B * D * H), gh = rand(g, S), gc = rand(g, S);

  const run = (tokens: boolean) => {
    const stack = make();
    const out = new Float64Array(T * B * D * H), hN = new Float64Array(S), cN = new Float64Array(S);
    const ctx = new Float32Array(stack.arenaBytes(T, B, 1, tokens, lengths !== null) / 4);
    if (tokens) stack.forward(T, B, null, ids, V, table, h0, lstm ? c0 : null, lengths, weights, 1, 1, 0, out, hN, lstm ? cN : null, ctx);
    else stack.forward(T, B, x, null, 0, null, h0, lstm ? c0 : null, lengths, weights, 1, 1, 0, out, hN, lstm ? cN : null, ctx);
    const grads = weights.map((w) => new Float64Array(w.length));
    const dTable = new Float64Array(V * I);
    const dh0 = new Float64Array(S), dc0 = new Float64Array(S);
    if (tokens) {
      stack.backward(ctx, gOut, gh, lstm ? gc : null, weights, grads, null, table, dTable, o.pad, dh0, lstm ? dc0 : null);
    } else {
      const dx = new Float64Array(x.length);
      stack.backward(ctx, gOut, gh, lstm ? gc : null, weights, grads, dx, null, null, -1, dh0, lstm ? dc0 : null);
      ids.forEach((id, k) => {
        if (id === o.pad) return;
        for (let i = 0; i < I; i++) dTable[id * I + i] += dx[k * I + i];
      });
    }
    return { out, hN, cN, grads, dTable, dh0, dc0 };
  };
  const a = run(true);
  const b = run(false);
  const tol = 1e-12;
  expect(maxDiff(a.out, b.out)).toBeLessThan(tol);
  expect(maxDiff(a.hN, b.hN)).toBeLessThan(tol);
  if (lstm) expect(maxDiff(a.cN, b.cN)).toBeLessThan(tol);
  a.grads.forEach((gr, i) => expect(maxDiff(gr, b.grads[i])).toBeLessThan(tol));
  expect(maxDiff(a.dTable, b.dTable)).toBeLessThan(tol);
  expect(maxDiff(a.dh0, b.dh0)).toBeLessThan(tol);
  if (o.pad >= 0) for (let i = 0; i < I; i++) expect(a.dTable[o.pad * I + i]).toBe(0);
  expect(Array.from(a.dTable).some((v) => v !== 0)).toBe(true);
}

describe.each<[string, CellCode]>([['RNN tanh', 0], ['RNN relu', 1], ['LSTM', 2], ['GRU', 3]])('%s token input (float64)', (_n, cell) => {
  it('one layer, time-major', () => compare({ cell, L: 1, bi: false, batchFirst: false, lengths: false, pad: -1 }));
  it('two bidirectional layers, batchFirst, lengths, a padding row', () => compare({ cell, L: 2, bi: true, batchFirst: true, lengths: true, pad: 3 }));
});

describe('token input through the public API', () => {
  it('an Embedding feeding a layer: the same outputs and gradients as rows the layer reads itself', () => {
    manualSeed(4);
    const emb = new Embedding({ numEmbeddings: 5, embeddingDim: 3, paddingIdx: 1 });
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 4 });
    const ids = Int32Array.of(0, 1, 2, 3, 4, 0, 2, 2); // T 4, B 2: V 5 ≤ 8, the token path
    const run = (fused: boolean) => {
      emb.zeroGrad();
      lstm.zeroGrad();
      const e = emb.forward(ids, [4, 2]);
      // a tensor with the same values but no embedding provenance takes the plain path
      const input = fused ? e : F.add(e, 0);
      const out = lstm.forward(input);
      F.sum(F.mul(out.output, out.output)).backward();
      return [out.output.data.slice(), emb.weight.grad.slice(), ...lstm.parameters().map((p) => p.grad.slice())];
    };
    const a = run(true), b = run(false);
    a.forEach((v, i) => expect(maxDiff(v, b[i])).toBeLessThan(1e-5));
    for (let i = 0; i < 3; i++) expect(a[1][3 + i]).toBe(0); // the padding row gets no gradient
  });

  it('a token forward still gives the input gradient to explicit backward and to retainGrad', () => {
    manualSeed(5);
    const emb = new Embedding({ numEmbeddings: 4, embeddingDim: 3 });
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 4 });
    const ids = Int32Array.of(0, 1, 2, 3, 3, 2); // V 4 ≤ 6
    const e = emb.forward(ids, [3, 2]).retainGrad();
    const out = lstm.forward(e);
    F.sum(out.output).backward();
    const viaTape = e.grad!.slice();
    lstm.forward(emb.forward(ids, [3, 2]));
    const explicit = lstm.backward(Tensor.ones([3, 2, 4])).gradInput.data;
    expect(maxDiff(viaTape, explicit)).toBeLessThan(1e-6);
    expect(Array.from(viaTape).some((v) => v !== 0)).toBe(true);
  });
});

describe('LanguageModel on the token path (V ≤ T·B)', () => {
  it.each(['lstm', 'gru', 'rnn_relu'] as const)('%s: loss and every gradient match the model wired by hand', (cell) => {
    manualSeed(8);
    const lm = new LanguageModel({ vocabSize: 11, embeddingDim: 6, hiddenSize: 9, numLayers: 2, cell });
    const T = 16, B = 8; // T·B = 128 ≥ V = 11: layer 0 reads the table by id (and the float step microkernel runs)
    const ids = Int32Array.from({ length: (T + 1) * B }, (_, k) => (k * 7 + (k % 3)) % 11);
    const x = ids.subarray(0, T * B), y = ids.slice(B);
    lm.zeroGrad();
    const { logits } = lm.forward(x, T, B);
    const { loss, grad } = crossEntropy(logits, y);
    lm.backward(grad);
    const viaTokens = lm.parameters().map((p) => Float32Array.from(p.grad));

    lm.zeroGrad();
    const emb = lm.embedding.forward(x, [T, B]);
    const out = lm.rnn.forward(emb);
    const logits2 = lm.head.forward(out.output.reshape([T * B, 9]));
    const r2 = crossEntropy(logits2, y);
    const dOut = lm.head.backward(r2.grad);
    lm.embedding.backward(lm.rnn.backward(dOut.reshape([T, B, 9])).gradInput);
    expect(Math.abs(loss - r2.loss)).toBeLessThan(1e-6);
    lm.parameters().forEach((p, i) => {
      const scale = Math.max(1e-3, ...Array.from(p.grad, Math.abs));
      expect(maxDiff(viaTokens[i], p.grad) / scale).toBeLessThan(1e-5);
    });
  });
});

describe('index arrays on a SharedArrayBuffer', () => {
  // The binding checks and reads a copy of every index array (another thread could rewrite a
  // shared one between the check and the use); shared arrays work like any other.
  it('token ids, lengths and targets from shared memory give the same results', () => {
    manualSeed(2);
    const lm = new LanguageModel({ vocabSize: 7, embeddingDim: 3, hiddenSize: 5 });
    const plain = Int32Array.from({ length: 24 }, (_, k) => (k * 3) % 7);
    const shared = new Int32Array(new SharedArrayBuffer(24 * 4));
    shared.set(plain);
    lm.eval();
    const a = lm.forward(plain, 6, 4).logits.data;
    const b = lm.forward(shared, 6, 4).logits.data; // V = 7 ≤ 24: the token path
    expect(Array.from(b)).toEqual(Array.from(a));
    const targets = new Int32Array(new SharedArrayBuffer(24 * 4));
    targets.set(plain);
    expect(crossEntropy(lm.forward(plain, 6, 4).logits, targets).loss).toBeCloseTo(crossEntropy(lm.forward(plain, 6, 4).logits, plain).loss, 12);
    const lstm = new LSTM({ inputSize: 2, hiddenSize: 3 }).eval();
    const lengths = new Int32Array(new SharedArrayBuffer(8));
    lengths.set([3, 1]);
    const x = new Tensor(Float32Array.from({ length: 12 }, (_, k) => k / 10), [3, 2, 2]);
    expect(Array.from(lstm.forward(x, undefined, { lengths }).h.data)).toEqual(Array.from(lstm.forward(x, undefined, { lengths: Int32Array.of(3, 1) }).h.data));
  });
});
