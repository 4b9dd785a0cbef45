// The module interface on the recurrent layers: names, state dicts, modes, dropout, init.
import { Embedding, GRU, Linear, LSTM, manualSeed, RNN, Tensor } from '../lib';
import { native } from '../lib/native/addon';

describe('LSTM#namedParameters()', () => {
  it('uses PyTorch names, shapes and order', () => {
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true });
    expect(lstm.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([
      ['weight_ih_l0', [20, 3]], ['weight_hh_l0', [20, 5]], ['bias_ih_l0', [20]], ['bias_hh_l0', [20]],
      ['weight_ih_l0_reverse', [20, 3]], ['weight_hh_l0_reverse', [20, 5]], ['bias_ih_l0_reverse', [20]], ['bias_hh_l0_reverse', [20]],
      ['weight_ih_l1', [20, 10]], ['weight_hh_l1', [20, 5]], ['bias_ih_l1', [20]], ['bias_hh_l1', [20]],
      ['weight_ih_l1_reverse', [20, 10]], ['weight_hh_l1_reverse', [20, 5]], ['bias_ih_l1_reverse', [20]], ['bias_hh_l1_reverse', [20]],
    ]);
    expect(lstm.parameters()).toHaveLength(16);
    expect(new GRU({ inputSize: 2, hiddenSize: 3, bias: false }).namedParameters().map(([n]) => n)).toEqual(['weight_ih_l0', 'weight_hh_l0']);
  });

  it('initialises like PyTorch: U(-1/sqrt(H), 1/sqrt(H)), reproducibly after manualSeed', () => {
    manualSeed(7);
    const a = new RNN({ inputSize: 50, hiddenSize: 25 });
    manualSeed(7);
    const b = new RNN({ inputSize: 50, hiddenSize: 25 });
    const w = a.parameters()[0].data;
    expect(Array.from(w)).toEqual(Array.from(b.parameters()[0].data));
    const bound = 1 / 5;
    expect(Math.max(...w)).toBeLessThanOrEqual(bound);
    expect(Math.min(...w)).toBeGreaterThanOrEqual(-bound);
    expect(Math.max(...w)).toBeGreaterThan(0.9 * bound);
  });
});

describe('LSTM#stateDict() / loadStateDict()', () => {
  it('round-trips into a fresh layer, giving identical outputs', () => {
    const a = new LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2 });
    const b = new LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2 });
    const copy: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(a.stateDict())) copy[k] = new Tensor(t.data.slice(), t.shape.slice());
    b.loadStateDict(copy);
    const x = new Tensor(Float32Array.from({ length: 24 }, (_, i) => Math.sin(i)), [4, 2, 3]);
    expect(Array.from(b.forward(x).output.data)).toEqual(Array.from(a.forward(x).output.data));
  });

  it('rejects missing, unexpected and mis-shaped entries, copying nothing', () => {
    const a = new LSTM({ inputSize: 3, hiddenSize: 4 });
    const before = a.parameters()[0].data.slice();
    const sd = a.stateDict();
    const { bias_hh_l0: _drop, ...missing } = sd;
    expect(() => a.loadStateDict(missing)).toThrow(RangeError);
    expect(() => a.loadStateDict(missing)).toThrow(/missing keys: bias_hh_l0/);
    expect(() => a.loadStateDict({ ...sd, extra: Tensor.zeros([1]) })).toThrow(/unexpected keys: extra/);
    expect(() => a.loadStateDict({ ...sd, weight_ih_l0: Tensor.zeros([3, 16]) })).toThrow('LSTM.loadStateDict: shape mismatch for "weight_ih_l0": expected [16, 3], received [3, 16]');
    expect(() => a.loadStateDict({ ...sd, weight_ih_l0: [1, 2] as any })).toThrow(TypeError);
    expect(() => a.loadStateDict(null as any)).toThrow(TypeError);
    expect(() => a.loadStateDict(sd, { strict: 'no' as any })).toThrow(TypeError);
    // non-strict: loads what matches, ignores the rest; still checks shapes
    a.loadStateDict({ weight_ih_l0: Tensor.zeros([16, 3]), extra: Tensor.zeros([2]) }, { strict: false });
    expect(a.parameters()[0].data.every((v) => v === 0)).toBe(true);
    expect(before.some((v) => v !== 0)).toBe(true);
  });
});

describe('train() / eval() and dropout', () => {
  const x = new Tensor(Float32Array.from({ length: 6 * 3 * 4 }, (_, i) => Math.cos(i)), [6, 3, 4]);

  it('eval() is chainable and switches the mode', () => {
    const l = new GRU({ inputSize: 4, hiddenSize: 8, numLayers: 2, dropout: 0.5 });
    expect(l.training).toBe(true);
    expect(l.eval()).toBe(l);
    expect(l.training).toBe(false);
    expect(l.train().training).toBe(true);
  });

  it('applies dropout between layers in training only, reproducibly from the seed', () => {
    const l = new LSTM({ inputSize: 4, hiddenSize: 8, numLayers: 3, dropout: 0.5 });
    const evalA = l.eval().forward(x).output.data;
    const evalB = l.forward(x).output.data;
    expect(Array.from(evalA)).toEqual(Array.from(evalB));
    manualSeed(3);
    const t1 = l.train().forward(x).output.data;
    const t2 = l.forward(x).output.data;
    manualSeed(3);
    const t3 = l.forward(x).output.data;
    expect(Array.from(t1)).not.toEqual(Array.from(evalA));
    expect(Array.from(t1)).not.toEqual(Array.from(t2));
    expect(Array.from(t1)).toEqual(Array.from(t3));
  });

  it('dropout = 0 training equals eval, and a one-layer stack ignores dropout', () => {
    const l = new RNN({ inputSize: 4, hiddenSize: 8, numLayers: 2 });
    expect(Array.from(l.forward(x).output.data)).toEqual(Array.from(l.eval().forward(x).output.data));
    const one = new LSTM({ inputSize: 4, hiddenSize: 8, dropout: 0.9 });
    expect(Array.from(one.forward(x).output.data)).toEqual(Array.from(one.eval().forward(x).output.data));
  });

  it('dropout keeps each unit with probability 1 − p and scales by 1/(1 − p)', () => {
    // Layer 0 outputs relu(0.5) = 0.5 everywhere; layer 1 is relu(identity · dropped input),
    // so its output is exactly 0.5 · mask.
    const H = 64, p = 0.25;
    const l = new RNN({ inputSize: 4, hiddenSize: H, numLayers: 2, dropout: p, nonlinearity: 'relu' });
    const sd = l.stateDict();
    for (const t of Object.values(sd)) t.data.fill(0);
    sd.bias_ih_l0.data.fill(0.5);
    for (let i = 0; i < H; i++) sd.weight_ih_l1.data[i * H + i] = 1;
    l.loadStateDict(sd);
    const out = l.forward(Tensor.zeros([20, 16, 4])).output.data;
    let dropped = 0;
    for (const v of out) {
      if (v === 0) dropped++;
      else expect(v).toBeCloseTo(0.5 / (1 - p), 6);
    }
    const rate = dropped / out.length; // 20480 draws: standard error ≈ 0.003
    expect(rate).toBeGreaterThan(p - 0.02);
    expect(rate).toBeLessThan(p + 0.02);
    expect(Array.from(l.eval().forward(Tensor.zeros([2, 2, 4])).output.data).every((v) => v === 0.5)).toBe(true);
  });
});

describe('lengths semantics', () => {
  it('matches running each sequence alone, in any order', () => {
    const l = new GRU({ inputSize: 2, hiddenSize: 3, bidirectional: true, batchFirst: true });
    const T = 5;
    const data = Float32Array.from({ length: 3 * T * 2 }, (_, i) => Math.sin(1.3 * i));
    const x = new Tensor(data, [3, T, 2]);
    const lengths = Int32Array.from([2, 5, 3]);
    const all = l.forward(x, undefined, { lengths });
    for (let b = 0; b < 3; b++) {
      const len = lengths[b];
      const alone = l.forward(new Tensor(data.slice(b * T * 2, b * T * 2 + len * 2), [1, len, 2]));
      for (let t = 0; t < T; t++)
        for (let j = 0; j < 6; j++) {
          const v = all.output.data[(b * T + t) * 6 + j];
          if (t >= len) expect(v).toBe(0);
          else expect(v).toBeCloseTo(alone.output.data[t * 6 + j], 6);
        }
      for (let d = 0; d < 2; d++)
        for (let j = 0; j < 3; j++) expect(all.h.data[(d * 3 + b) * 3 + j]).toBeCloseTo(alone.h.data[d * 3 + j], 6);
    }
  });
});

describe('parameter memory', () => {
  // The kernels stream weight rows with 64-byte loads: parameters the library creates (and
  // every gradient) start on a cache line. Small arrays are exempt (lib/aligned.ts).
  const startsOnCacheLine = (a: Float32Array) => (a.byteOffset - native.alignmentSkip(a.buffer as ArrayBuffer)) % 64 === 0;
  it('weights and gradients of LSTM, GRU, Linear and Embedding start on a 64-byte boundary', () => {
    const modules = [
      new LSTM({ inputSize: 33, hiddenSize: 70 }),
      new GRU({ inputSize: 8, hiddenSize: 17, numLayers: 2, bidirectional: true }),
      new Linear({ inFeatures: 19, outFeatures: 7 }),
      new Embedding({ numEmbeddings: 11, embeddingDim: 9 }),
    ];
    let checked = 0;
    for (const m of modules)
      for (const p of m.parameters()) {
        if (p.size < 64) continue;
        expect(startsOnCacheLine(p.data)).toBe(true);
        expect(startsOnCacheLine(p.grad)).toBe(true);
        checked++;
      }
    expect(checked).toBeGreaterThan(8);
  });
});
