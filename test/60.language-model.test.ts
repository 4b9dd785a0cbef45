// LanguageModel (Embedding → RNN/LSTM/GRU stack → Linear), weight tying, gradients, state
// carrying, generation and sampling; Vocabulary (char and word tokenization).
import { crossEntropy, defaultGenerator, GRU, LanguageModel, LanguageModelOptions, LSTM, manualSeed, RNN, Tensor, Vocabulary } from '../lib';

/** Deterministic token ids in [0, V). */
function ids(n: number, V: number, mul = 5, add = 2): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => (i * mul + add + ((i * i) % 3)) % V);
}

function make(o: LanguageModelOptions, seed = 1): LanguageModel {
  manualSeed(seed);
  return new LanguageModel(o);
}

/** Mean next-token loss of a forward pass (whatever mode the model is in). */
function lossOf(lm: LanguageModel, x: Int32Array, y: Int32Array, T: number, B: number): number {
  return crossEntropy(lm.forward(x, T, B).logits, y).loss;
}

/** Zeroes the gradients, runs forward + backward in training mode; the gradients stay in .grad. */
function backprop(lm: LanguageModel, x: Int32Array, y: Int32Array, T: number, B: number): number {
  lm.train();
  lm.zeroGrad();
  const { logits } = lm.forward(x, T, B);
  const { loss, grad } = crossEntropy(logits, y);
  lm.backward(grad);
  return loss;
}

/** Greedy decoding done by hand with forward(): condition on the prompt, then argmax-step. */
function greedyByHand(lm: LanguageModel, prompt: Int32Array, maxLength: number, endToken: number): number[] {
  const V = lm.options.vocabSize;
  lm.eval();
  let { logits, state } = lm.forward(prompt, prompt.length, 1);
  let row = logits.data.subarray((prompt.length - 1) * V);
  const out: number[] = [];
  while (out.length < maxLength) {
    let best = 0;
    for (let i = 1; i < V; i++) if (row[i] > row[best]) best = i;
    out.push(best);
    if (best === endToken) break;
    ({ logits, state } = lm.forward(Int32Array.of(best), 1, 1, state));
    row = logits.data;
  }
  return out;
}

/** A model whose logits are exactly head.bias = log(probs), whatever the input. */
function fixedDistributionModel(probs: number[]): LanguageModel {
  const lm = make({ vocabSize: probs.length, hiddenSize: 8 });
  const sd = lm.stateDict();
  sd['head.weight'].data.fill(0);
  probs.forEach((p, i) => (sd['head.bias'].data[i] = Math.log(p)));
  return lm;
}

function frequencies(out: Int32Array, V: number): number[] {
  const c = new Array<number>(V).fill(0);
  out.forEach((t) => c[t]++);
  return c.map((n) => n / out.length);
}

describe('LanguageModel#namedParameters()', () => {
  it('uses embedding / rnn / head names with PyTorch shapes, in registration order', () => {
    const lm = make({ vocabSize: 11, hiddenSize: 6, embeddingDim: 4, numLayers: 2 });
    expect(lm.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([
      ['embedding.weight', [11, 4]],
      ['rnn.weight_ih_l0', [24, 4]], ['rnn.weight_hh_l0', [24, 6]], ['rnn.bias_ih_l0', [24]], ['rnn.bias_hh_l0', [24]],
      ['rnn.weight_ih_l1', [24, 6]], ['rnn.weight_hh_l1', [24, 6]], ['rnn.bias_ih_l1', [24]], ['rnn.bias_hh_l1', [24]],
      ['head.weight', [11, 6]], ['head.bias', [11]],
    ]);
    expect(lm.parameters()).toEqual(lm.namedParameters().map(([, p]) => p));
    expect(Object.keys(lm.stateDict())).toEqual(lm.namedParameters().map(([n]) => n));
  });

  it('builds the requested cell with the gate count of each, and fills the defaults', () => {
    const gru = make({ vocabSize: 5, hiddenSize: 3, cell: 'gru' });
    expect(gru.rnn).toBeInstanceOf(GRU);
    expect(gru.namedParameters().find(([n]) => n === 'rnn.weight_hh_l0')![1].shape).toEqual([9, 3]);
    const relu = make({ vocabSize: 5, hiddenSize: 3, cell: 'rnn_relu' });
    expect(relu.rnn).toBeInstanceOf(RNN);
    expect((relu.rnn as RNN).nonlinearity).toBe('relu');
    expect((make({ vocabSize: 5, hiddenSize: 3, cell: 'rnn_tanh' }).rnn as RNN).nonlinearity).toBe('tanh');
    const lstm = make({ vocabSize: 5, hiddenSize: 3 });
    expect(lstm.rnn).toBeInstanceOf(LSTM);
    expect(lstm.options).toEqual({ vocabSize: 5, hiddenSize: 3, embeddingDim: 3, numLayers: 1, cell: 'lstm', dropout: 0, tieWeights: false });
    expect(lstm.namedParameters().find(([n]) => n === 'rnn.weight_ih_l0')![1].shape).toEqual([12, 3]);
  });

  it('is reproducible after manualSeed', () => {
    const a = make({ vocabSize: 7, hiddenSize: 5 }, 42);
    const b = make({ vocabSize: 7, hiddenSize: 5 }, 42);
    const c = make({ vocabSize: 7, hiddenSize: 5 }, 43);
    a.parameters().forEach((p, i) => expect(Array.from(p.data)).toEqual(Array.from(b.parameters()[i].data)));
    expect(Array.from(a.parameters()[1].data)).not.toEqual(Array.from(c.parameters()[1].data));
  });
});

describe('LanguageModel weight tying', () => {
  const V = 7, H = 6, T = 5, B = 2;
  const x = ids(T * B, V), y = ids(T * B, V, 3, 1);

  it('shares one Parameter: listed once in namedParameters, twice in stateDict', () => {
    const tied = make({ vocabSize: V, hiddenSize: H, tieWeights: true });
    const untied = make({ vocabSize: V, hiddenSize: H });
    expect(tied.head.weight).toBe(tied.embedding.weight);
    expect(untied.head.weight).not.toBe(untied.embedding.weight);
    const names = tied.namedParameters().map(([n]) => n);
    expect(names).toEqual(['embedding.weight', 'rnn.weight_ih_l0', 'rnn.weight_hh_l0', 'rnn.bias_ih_l0', 'rnn.bias_hh_l0', 'head.bias']);
    expect(tied.parameters()).toHaveLength(untied.parameters().length - 1);
    const sd = tied.stateDict();
    expect(Object.keys(sd)).toEqual(['embedding.weight', 'rnn.weight_ih_l0', 'rnn.weight_hh_l0', 'rnn.bias_ih_l0', 'rnn.bias_hh_l0', 'head.weight', 'head.bias']);
    expect(sd['head.weight'].data).toBe(sd['embedding.weight'].data);
    // Writing through one name is seen through the other.
    tied.embedding.weight.data[3] = 0.123;
    expect(tied.head.weight.data[3]).toBeCloseTo(0.123, 7);
  });

  it('adds the gradients of both uses into one grad (= embedding grad + head grad of an untied copy)', () => {
    const untied = make({ vocabSize: V, hiddenSize: H }, 5);
    untied.head.weight.data.set(untied.embedding.weight.data);
    const tied = make({ vocabSize: V, hiddenSize: H, tieWeights: true }, 6);
    tied.loadStateDict(untied.stateDict());
    const lt = backprop(tied, x, y, T, B);
    const lu = backprop(untied, x, y, T, B);
    expect(lt).toBe(lu); // same weights, same function
    const ge = untied.embedding.weight.grad, gh = untied.head.weight.grad, g = tied.embedding.weight.grad;
    let bothNonzero = 0;
    for (let i = 0; i < g.length; i++) {
      expect(g[i]).toBeCloseTo(ge[i] + gh[i], 6);
      if (Math.abs(ge[i]) > 1e-3 && Math.abs(gh[i]) > 1e-3) bothNonzero++;
    }
    expect(bothNonzero).toBeGreaterThan(5); // the check covers coordinates used both ways
    // the other parameters' gradients are the untied model's
    expect(Array.from(tied.head.bias!.grad)).toEqual(Array.from(untied.head.bias!.grad));
  });

  it('passes a float32 finite-difference check on a coordinate that both uses touch', () => {
    const untied = make({ vocabSize: V, hiddenSize: H }, 5);
    untied.head.weight.data.set(untied.embedding.weight.data);
    backprop(untied, x, y, T, B);
    const tied = make({ vocabSize: V, hiddenSize: H, tieWeights: true }, 6);
    tied.loadStateDict(untied.stateDict());
    backprop(tied, x, y, T, B);
    // the coordinate where the smaller of the two contributions is largest
    const ge = untied.embedding.weight.grad, gh = untied.head.weight.grad;
    let k = 0;
    for (let i = 1; i < ge.length; i++) if (Math.min(Math.abs(ge[i]), Math.abs(gh[i])) > Math.min(Math.abs(ge[k]), Math.abs(gh[k]))) k = i;
    expect(Math.min(Math.abs(ge[k]), Math.abs(gh[k]))).toBeGreaterThan(5e-3);
    const w = tied.embedding.weight;
    const eps = 1e-2, orig = w.data[k];
    tied.eval();
    w.data[k] = orig + eps;
    const up = lossOf(tied, x, y, T, B);
    w.data[k] = orig - eps;
    const down = lossOf(tied, x, y, T, B);
    w.data[k] = orig;
    const numeric = (up - down) / (2 * eps);
    const analytic = w.grad[k];
    expect(Math.abs(numeric - analytic)).toBeLessThan(2e-2 * Math.abs(numeric) + 1e-4);
    // Either contribution alone would fail this tolerance.
    expect(Math.abs(numeric - ge[k])).toBeGreaterThan(2e-2 * Math.abs(numeric) + 1e-4);
    expect(Math.abs(numeric - gh[k])).toBeGreaterThan(2e-2 * Math.abs(numeric) + 1e-4);
  });
});

describe('LanguageModel#forward() / backward()', () => {
  it('returns (T·B, V) logits and a (numLayers, B, H) state; c only for LSTM', () => {
    for (const cell of ['lstm', 'gru', 'rnn_tanh'] as const) {
      const lm = make({ vocabSize: 9, hiddenSize: 5, embeddingDim: 3, numLayers: 2, cell });
      const { logits, state } = lm.forward(ids(12, 9), 4, 3);
      expect(logits.shape).toEqual([12, 9]);
      expect(state.h.shape).toEqual([2, 3, 5]);
      if (cell === 'lstm') expect(state.c!.shape).toEqual([2, 3, 5]);
      else expect(state.c).toBeUndefined();
      expect(logits.data.every(Number.isFinite)).toBe(true);
      const s0 = lm.initialState(3);
      expect(s0.h.shape).toEqual([2, 3, 5]);
      expect(s0.h.data.every((v) => v === 0)).toBe(true);
      expect(s0.c === undefined).toBe(cell !== 'lstm');
    }
  });

  it('lays logits out time-major: row t·B + b belongs to stream b at step t', () => {
    const V = 6, T = 4, B = 3;
    const lm = make({ vocabSize: V, hiddenSize: 5, numLayers: 2 }).eval();
    const x = ids(T * B, V);
    const all = lm.forward(x, T, B).logits.data;
    for (let b = 0; b < B; b++) {
      const col = Int32Array.from({ length: T }, (_, t) => x[t * B + b]);
      const alone = lm.forward(col, T, 1).logits.data;
      for (let t = 0; t < T; t++)
        for (let v = 0; v < V; v++) expect(all[(t * B + b) * V + v]).toBeCloseTo(alone[t * V + v], 5);
    }
  });

  it('a zero initial state equals no state; a nonzero one changes the output', () => {
    const lm = make({ vocabSize: 6, hiddenSize: 4 }).eval();
    const x = ids(6, 6);
    const none = lm.forward(x, 3, 2).logits.data;
    expect(Array.from(lm.forward(x, 3, 2, lm.initialState(2)).logits.data)).toEqual(Array.from(none));
    const s = lm.initialState(2);
    s.h.data.fill(0.5);
    s.c!.data.fill(-0.5);
    expect(Array.from(lm.forward(x, 3, 2, s).logits.data)).not.toEqual(Array.from(none));
  });

  it('backward fills a gradient for every parameter, and repeated backward passes add up', () => {
    const V = 8, T = 5, B = 2;
    const lm = make({ vocabSize: V, hiddenSize: 6, numLayers: 2, cell: 'gru' });
    const x = ids(T * B, V), y = ids(T * B, V, 3, 1);
    backprop(lm, x, y, T, B);
    const first = lm.parameters().map((p) => p.grad.slice());
    for (const [name, p] of lm.namedParameters()) expect([name, p.grad.some((g) => g !== 0)]).toEqual([name, true]);
    // rows of tokens absent from the input get no embedding gradient
    const present = new Set(x);
    const E = lm.options.embeddingDim;
    for (let v = 0; v < V; v++) {
      const row = lm.embedding.weight.grad.subarray(v * E, (v + 1) * E);
      expect([v, row.some((g) => g !== 0)]).toEqual([v, present.has(v)]);
    }
    const { logits } = lm.forward(x, T, B);
    lm.backward(crossEntropy(logits, y).grad);
    lm.parameters().forEach((p, k) => p.grad.forEach((g, i) => expect(g).toBeCloseTo(2 * first[k][i], 6)));
  });

  for (const cell of ['lstm', 'gru'] as const)
    it(`matches central finite differences of the loss in float32 (${cell}, 2 layers, E ≠ H)`, () => {
      const V = 7, T = 5, B = 2;
      const lm = make({ vocabSize: V, hiddenSize: 6, embeddingDim: 4, numLayers: 2, cell }, 11);
      // Larger recurrent weights than the default init, so that every parameter's largest
      // gradient stands well above float32 finite-difference noise.
      for (const [n, p] of lm.namedParameters()) if (n.startsWith('rnn.')) p.data.forEach((v, i) => (p.data[i] = 2 * v));
      const x = ids(T * B, V), y = ids(T * B, V, 3, 1);
      backprop(lm, x, y, T, B);
      lm.eval();
      const eps = 1e-2;
      let checked = 0;
      for (const [name, p] of lm.namedParameters()) {
        // the two largest gradient coordinates and one fixed other coordinate
        const order = Array.from(p.grad.keys()).sort((a, b) => Math.abs(p.grad[b]) - Math.abs(p.grad[a]));
        for (const i of [order[0], order[1], (7 * p.size) >> 3]) {
          const orig = p.data[i];
          p.data[i] = orig + eps;
          const up = lossOf(lm, x, y, T, B);
          p.data[i] = orig - eps;
          const down = lossOf(lm, x, y, T, B);
          p.data[i] = orig;
          const numeric = (up - down) / (2 * eps);
          const analytic = p.grad[i];
          const err = Math.abs(numeric - analytic);
          if (!(err <= 2e-2 * Math.max(Math.abs(numeric), Math.abs(analytic)) + 1e-4))
            throw new Error(`${cell} ${name}[${i}]: analytic ${analytic}, numeric ${numeric}`);
          checked++;
        }
        expect(Math.abs(p.grad[order[0]])).toBeGreaterThan(1e-3); // the check is not vacuous
      }
      expect(checked).toBe(3 * lm.parameters().length);
    });

  for (const cell of ['lstm', 'gru'] as const)
    it(`carries state: two calls passing the state equal one call on the whole sequence (${cell})`, () => {
      const V = 9, B = 3, T1 = 4, T2 = 3;
      const lm = make({ vocabSize: V, hiddenSize: 7, numLayers: 2, dropout: 0.5, cell }).eval();
      const x = ids((T1 + T2) * B, V);
      const whole = lm.forward(x, T1 + T2, B);
      const a = lm.forward(x.subarray(0, T1 * B), T1, B);
      const b = lm.forward(x.subarray(T1 * B), T2, B, a.state);
      // Not bit-exact: kernels are chosen by size (few rows: per-thread dot products; many:
      // BLAS), so the same row may be summed in a different order. Within float32 rounding.
      const head = whole.logits.data.subarray(0, T1 * B * V);
      a.logits.data.forEach((v, i) => expect(v).toBeCloseTo(head[i], 6));
      const tail = whole.logits.data.subarray(T1 * B * V);
      b.logits.data.forEach((v, i) => expect(v).toBeCloseTo(tail[i], 6));
      b.state.h.data.forEach((v, i) => expect(v).toBeCloseTo(whole.state.h.data[i], 6));
      if (cell === 'lstm') b.state.c!.data.forEach((v, i) => expect(v).toBeCloseTo(whole.state.c!.data[i], 6));
      // without the carried state the second half differs
      const fresh = lm.forward(x.subarray(T1 * B), T2, B);
      expect(Array.from(fresh.logits.data)).not.toEqual(Array.from(b.logits.data));
    });
});

describe('LanguageModel#generate()', () => {
  const V = 12;

  it('greedy is deterministic and equals argmax stepping by hand with forward()', () => {
    const lm = make({ vocabSize: V, hiddenSize: 16, numLayers: 2, dropout: 0.3 }, 3);
    const prompt = Int32Array.of(4, 7, 1);
    const a = lm.generate({ prompt, maxLength: 25, greedy: true, endToken: -1 });
    const b = lm.generate({ prompt, maxLength: 25, greedy: true, endToken: -1, seed: 99 });
    expect(a).toBeInstanceOf(Int32Array);
    expect(a).toHaveLength(25);
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(Array.from(a)).toEqual(greedyByHand(lm, prompt, 25, -1));
    // greedy ignores temperature
    expect(Array.from(lm.generate({ prompt, maxLength: 25, greedy: true, endToken: -1, temperature: 5 }))).toEqual(Array.from(a));
  });

  it('conditions on the prompt, returns only the new tokens; the default prompt is the end token', () => {
    const lm = make({ vocabSize: V, hiddenSize: 16 }, 4);
    for (const prompt of [Int32Array.of(2), Int32Array.of(9, 9, 3, 5), Int32Array.of(11, 0)]) {
      const out = lm.generate({ prompt, maxLength: 10, greedy: true, endToken: -1 });
      expect(Array.from(out)).toEqual(greedyByHand(lm, prompt, 10, -1));
    }
    const byDefault = lm.generate({ maxLength: 10, greedy: true });
    expect(Array.from(byDefault)).toEqual(greedyByHand(lm, Int32Array.of(0), 10, 0));
    expect(lm.generate({ maxLength: 0, prompt: Int32Array.of(3) })).toHaveLength(0);
  });

  it('restores the training mode it found', () => {
    const lm = make({ vocabSize: V, hiddenSize: 8 });
    lm.train();
    lm.generate({ maxLength: 3, seed: 1 });
    expect(lm.training).toBe(true);
    expect(lm.rnn.training).toBe(true);
    lm.eval();
    lm.generate({ maxLength: 3, seed: 1 });
    expect(lm.training).toBe(false);
  });

  it('same seed → same sample, different seed → different sample, without touching the default generator', () => {
    const lm = make({ vocabSize: V, hiddenSize: 16 }, 5);
    const before = defaultGenerator.getState();
    const s1 = Array.from(lm.generate({ maxLength: 40, seed: 1, endToken: -1 }));
    const s1b = Array.from(lm.generate({ maxLength: 40, seed: 1, endToken: -1 }));
    const s2 = Array.from(lm.generate({ maxLength: 40, seed: 2, endToken: -1 }));
    expect(defaultGenerator.getState()).toEqual(before);
    expect(s1b).toEqual(s1);
    expect(s2).not.toEqual(s1);
    expect(new Set(s1).size).toBeGreaterThan(3); // actually sampled, not a constant
    // without a seed: the default generator, reproducible through manualSeed
    manualSeed(77);
    const d1 = Array.from(lm.generate({ maxLength: 40, endToken: -1 }));
    manualSeed(77);
    const d2 = Array.from(lm.generate({ maxLength: 40, endToken: -1 }));
    const d3 = Array.from(lm.generate({ maxLength: 40, endToken: -1 }));
    expect(d2).toEqual(d1);
    expect(d3).not.toEqual(d1);
  });

  it('stops right after the end token (included) or at maxLength', () => {
    // p(end token 4) = 0.05 per step: some runs stop early, some reach maxLength
    const lm = fixedDistributionModel([0.2, 0.3, 0.25, 0.2, 0.05]);
    let early = 0, full = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const out = Array.from(lm.generate({ maxLength: 20, endToken: 4, seed }));
      const at = out.indexOf(4);
      if (at === -1) {
        expect(out).toHaveLength(20);
        full++;
      } else {
        expect(at).toBe(out.length - 1);
        early++;
      }
      // eos (0) is not the end token here, so it does not stop generation
    }
    expect(early).toBeGreaterThan(0);
    expect(full).toBeGreaterThan(0);
    const sure = fixedDistributionModel([0.001, 0.001, 0.001, 0.996, 0.001]);
    expect(Array.from(sure.generate({ maxLength: 10, endToken: 3, seed: 1 }))).toEqual([3]);
    expect(Array.from(sure.generate({ maxLength: 7, endToken: -1, greedy: true }))).toEqual([3, 3, 3, 3, 3, 3, 3]);
    const eos = fixedDistributionModel([0.996, 0.001, 0.001, 0.001, 0.001]);
    expect(Array.from(eos.generate({ maxLength: 10, greedy: true }))).toEqual([0]); // default end token: 0
  });

  it('samples from softmax(logits / temperature), filtered by top-k then top-p', () => {
    const p = [0.05, 0.5, 0.3, 0.1, 0.05];
    const lm = fixedDistributionModel(p);
    const draw = (o: object) => frequencies(lm.generate({ maxLength: 5000, endToken: -1, seed: 3, ...o }), p.length);
    const near = (got: number[], want: number[]) => got.forEach((f, i) => expect(Math.abs(f - want[i])).toBeLessThan(0.025));
    near(draw({}), p);
    near(draw({ topK: 2 }), [0, 0.625, 0.375, 0, 0]);
    near(draw({ topP: 0.7 }), [0, 0.625, 0.375, 0, 0]);
    near(draw({ topP: 0.85 }), [0, 0.5 / 0.9, 0.3 / 0.9, 0.1 / 0.9, 0]);
    const sq = p.map(Math.sqrt), z = sq.reduce((a, b) => a + b);
    near(draw({ temperature: 2 }), sq.map((v) => v / z));
    // top-p applies after top-k renormalises: {1, 2, 3} → 0.556, 0.889 ≥ 0.85 → {1, 2}
    near(draw({ topK: 3, topP: 0.85 }), [0, 0.625, 0.375, 0, 0]);
    expect(draw({ topK: 2 }).filter((f) => f > 0)).toHaveLength(2); // exactly, not approximately
  });

  it('topK = 1, a tiny topP and a tiny temperature all equal greedy', () => {
    const lm = make({ vocabSize: V, hiddenSize: 16, numLayers: 2 }, 8);
    const prompt = Int32Array.of(3, 1, 4);
    const greedy = Array.from(lm.generate({ prompt, maxLength: 20, greedy: true, endToken: -1 }));
    for (const seed of [1, 2, 3]) {
      expect(Array.from(lm.generate({ prompt, maxLength: 20, topK: 1, temperature: 3, seed, endToken: -1 }))).toEqual(greedy);
      expect(Array.from(lm.generate({ prompt, maxLength: 20, topP: 1e-9, seed, endToken: -1 }))).toEqual(greedy);
      expect(Array.from(lm.generate({ prompt, maxLength: 20, temperature: 1e-4, seed, endToken: -1 }))).toEqual(greedy);
    }
    // and sampling at temperature 1 does differ from greedy for this model
    expect(Array.from(lm.generate({ prompt, maxLength: 20, seed: 1, endToken: -1 }))).not.toEqual(greedy);
  });
});

describe('LanguageModel argument validation', () => {
  it('constructor: TypeError for wrong types, RangeError for wrong values', () => {
    const bad: Array<[unknown, ErrorConstructor, string | RegExp]> = [
      [undefined, TypeError, 'LanguageModel: expected an options object with vocabSize and hiddenSize for options but received undefined'],
      [null, TypeError, 'expected an options object for options but received null'],
      [{ vocabSize: 5 }, TypeError, 'for hiddenSize but received undefined'],
      [{ vocabSize: '5', hiddenSize: 4 }, TypeError, 'for vocabSize but received "5" of type string'],
      [{ vocabSize: 0, hiddenSize: 4 }, RangeError, 'expected an integer in [1, 2147483647] for vocabSize but received 0'],
      [{ vocabSize: 5.5, hiddenSize: 4 }, RangeError, 'for vocabSize but received 5.5'],
      [{ vocabSize: 5, hiddenSize: 4, numLayers: 0 }, RangeError, 'for numLayers but received 0'],
      [{ vocabSize: 5, hiddenSize: 4, embeddingDim: -1 }, RangeError, 'for embeddingDim but received -1'],
      [{ vocabSize: 5, hiddenSize: 4, cell: 'tcn' }, RangeError, 'expected one of "lstm", "gru", "rnn_tanh", "rnn_relu" for cell but received "tcn"'],
      [{ vocabSize: 5, hiddenSize: 4, cell: 3 }, TypeError, 'for cell but received 3'],
      [{ vocabSize: 5, hiddenSize: 4, dropout: 1.5 }, RangeError, 'for dropout but received 1.5'],
      [{ vocabSize: 5, hiddenSize: 4, dropout: '0.1' }, TypeError, 'for dropout'],
      [{ vocabSize: 5, hiddenSize: 4, tieWeights: 1 }, TypeError, 'expected a boolean for tieWeights but received 1'],
      [{ vocabSize: 5, hiddenSize: 4, embeddingDim: 3, tieWeights: true }, RangeError, 'tieWeights needs embeddingDim (3) equal to hiddenSize (4)'],
      [{ vocabSize: 5, hiddenSize: 4, hidden: 3 }, RangeError, 'LanguageModel: unknown option "hidden"'],
    ];
    for (const [opts, Ctor, msg] of bad) {
      expect(() => new LanguageModel(opts as LanguageModelOptions)).toThrow(Ctor);
      expect(() => new LanguageModel(opts as LanguageModelOptions)).toThrow(msg);
    }
  });

  it('forward / backward / initialState', () => {
    const lm = make({ vocabSize: 5, hiddenSize: 4 });
    const cases: Array<[() => unknown, ErrorConstructor, string]> = [
      [() => lm.forward([1, 2] as unknown as Int32Array, 2, 1), TypeError, 'LanguageModel.forward: expected an Int32Array for ids but received [1, 2] of type array'],
      [() => lm.forward(Int32Array.of(1, 2, 3), 2, 1), RangeError, 'expected an Int32Array of length 2 for ids but received Int32Array(3)'],
      [() => lm.forward(Int32Array.of(1, 2), 0, 2), RangeError, 'LanguageModel.forward: expected an integer in [1, 2147483647] for T but received 0'],
      [() => lm.forward(Int32Array.of(1, 2), 2, 1.5), RangeError, 'for B but received 1.5'],
      [() => lm.forward(Int32Array.of(1, 2), '2' as unknown as number, 1), TypeError, 'for T but received "2"'],
      [() => lm.forward(Int32Array.of(1, 7), 2, 1), RangeError, 'LanguageModel.forward: expected a token id in [0, 5) for ids[1] but received 7'],
      [() => lm.forward(Int32Array.of(1, -1), 2, 1), RangeError, 'for ids[1] but received -1'],
      [() => lm.forward(Int32Array.of(1, 2), 2, 1, { h: Tensor.zeros([1, 2, 4]) }), RangeError, 'state.h must have shape [1, 1, 4]'],
      [() => lm.initialState(0), RangeError, 'LanguageModel.initialState: expected an integer in [1, 2147483647] for B but received 0'],
    ];
    for (const [f, Ctor, msg] of cases) {
      expect(f).toThrow(Ctor);
      expect(f).toThrow(msg);
    }
    const gru = make({ vocabSize: 5, hiddenSize: 4, cell: 'gru' });
    expect(() => gru.forward(Int32Array.of(1, 2), 2, 1, { h: Tensor.zeros([1, 1, 4]), c: Tensor.zeros([1, 1, 4]) })).toThrow('state.c is only for LSTM');

    const fresh = make({ vocabSize: 5, hiddenSize: 4 });
    expect(() => fresh.backward(Tensor.zeros([2, 5]))).toThrow(new RangeError('LanguageModel.backward: there is nothing to backpropagate: call forward() in training mode first'));
    fresh.eval().forward(Int32Array.of(1, 2), 2, 1);
    expect(() => fresh.backward(Tensor.zeros([2, 5]))).toThrow('nothing to backpropagate');
    fresh.train().forward(Int32Array.of(1, 2), 2, 1);
    expect(() => fresh.backward(Tensor.zeros([2, 4]))).toThrow(new RangeError('LanguageModel.backward: gradLogits must have shape [2, 5] (T·B, V), received shape [2, 4]'));
    expect(() => fresh.backward(new Float32Array(10) as unknown as Tensor)).toThrow(TypeError);
  });

  it('generate', () => {
    const lm = make({ vocabSize: 5, hiddenSize: 4 });
    const cases: Array<[unknown, ErrorConstructor, string]> = [
      [undefined, TypeError, 'LanguageModel.generate: expected an options object with maxLength for opts but received undefined'],
      [5, TypeError, 'LanguageModel.generate: expected an options object for opts but received 5'],
      [{ maxLength: -1 }, RangeError, 'for maxLength but received -1'],
      [{ maxLength: 2.5 }, RangeError, 'for maxLength but received 2.5'],
      [{ maxLength: 2, temperature: 0 }, RangeError, 'expected a finite number > 0 for temperature but received 0'],
      [{ maxLength: 2, temperature: -1 }, RangeError, 'for temperature but received -1'],
      [{ maxLength: 2, temperature: NaN }, RangeError, 'for temperature but received NaN'],
      [{ maxLength: 2, temperature: Infinity }, RangeError, 'for temperature but received Infinity'],
      [{ maxLength: 2, temperature: '1' }, TypeError, 'for temperature but received "1" of type string'],
      [{ maxLength: 2, topK: 0 }, RangeError, 'expected an integer in [1, 5] for topK but received 0'],
      [{ maxLength: 2, topK: 6 }, RangeError, 'for topK but received 6'],
      [{ maxLength: 2, topK: 1.5 }, RangeError, 'for topK but received 1.5'],
      [{ maxLength: 2, topP: 0 }, RangeError, 'expected a finite number > 0 and ≤ 1 for topP but received 0'],
      [{ maxLength: 2, topP: 1.1 }, RangeError, 'for topP but received 1.1'],
      [{ maxLength: 2, topP: null }, TypeError, 'for topP but received null'],
      [{ maxLength: 2, greedy: 1 }, TypeError, 'expected a boolean for greedy but received 1'],
      [{ maxLength: 2, endToken: 5 }, RangeError, 'expected an integer in [-1, 4] for endToken but received 5'],
      [{ maxLength: 2, endToken: -2 }, RangeError, 'for endToken but received -2'],
      [{ maxLength: 2, seed: -1 }, RangeError, 'for seed but received -1'],
      [{ maxLength: 2, seed: 1.5 }, RangeError, 'for seed but received 1.5'],
      [{ maxLength: 2, seed: '1' }, TypeError, 'for seed but received "1"'],
      [{ maxLength: 2, prompt: new Int32Array(0) }, RangeError, 'LanguageModel.generate: prompt must hold at least one token'],
      [{ maxLength: 2, prompt: [1] }, TypeError, 'expected an Int32Array for prompt but received [1]'],
      [{ maxLength: 2, prompt: Int32Array.of(1, 9) }, RangeError, 'expected a token id in [0, 5) for prompt[1] but received 9'],
      [{ maxLength: 2, prompt: Int32Array.of(-3) }, RangeError, 'for prompt[0] but received -3'],
    ];
    for (const [opts, Ctor, msg] of cases) {
      const f = () => lm.generate(opts as { maxLength: number });
      expect(f).toThrow(Ctor);
      expect(f).toThrow(msg);
    }
    // a failed call leaves the mode as it was
    expect(lm.training).toBe(true);
  });
});

describe('Vocabulary', () => {
  it('char: sorted distinct characters after <eos> and <unk>; encode/decode round-trip', () => {
    const text = 'hello, world\n';
    const v = Vocabulary.fromText(text);
    expect(v.tokens).toEqual(['<eos>', '<unk>', '\n', ' ', ',', 'd', 'e', 'h', 'l', 'o', 'r', 'w']);
    expect(v.size).toBe(12);
    expect(v.eos).toBe(0);
    expect(v.tokenization).toBe('char');
    const e = v.encode(text);
    expect(e).toBeInstanceOf(Int32Array);
    expect(Array.from(e)).toEqual(Array.from(text).map((c) => v.tokens.indexOf(c)));
    expect(v.decode(e)).toBe(text);
    expect(v.decode(Array.from(e))).toBe(text);
  });

  it('maps unknown tokens to <unk> (id 1) and handles <eos>', () => {
    const v = Vocabulary.fromText('ab');
    expect(Array.from(v.encode('abz'))).toEqual([2, 3, 1]);
    expect(v.decode(v.encode('azb'))).toBe('a<unk>b');
    expect(Array.from(v.encode('ab', { eos: true }))).toEqual([2, 3, 0]);
    expect(Array.from(v.encode('', { eos: true }))).toEqual([0]);
    expect(v.encode('')).toHaveLength(0);
    expect(v.decode(Int32Array.of(2, 0, 3))).toBe('a'); // <eos> ends the text
    expect(v.decode(Int32Array.of(2, 0, 3), { keepEos: true })).toBe('a<eos>b');
  });

  it('word: splits on any whitespace, joins with one space', () => {
    const v = Vocabulary.fromText('the cat  sat\non the\tmat <eos>', 'word');
    expect(v.tokens).toEqual(['<eos>', '<unk>', 'cat', 'mat', 'on', 'sat', 'the']);
    expect(v.tokenization).toBe('word');
    expect(Array.from(v.encode('the dog sat'))).toEqual([6, 1, 5]);
    expect(v.decode(v.encode('  the  cat\tsat\n'))).toBe('the cat sat');
    expect(Array.from(v.encode('on mat', { eos: true }))).toEqual([4, 3, 0]);
  });

  it('toJSON / fromJSON round-trip through JSON text', () => {
    for (const v of [Vocabulary.fromText('xyz😀 q'), Vocabulary.fromText('a b c a', 'word')]) {
      const back = Vocabulary.fromJSON(JSON.parse(JSON.stringify(v)));
      expect(back).toBeInstanceOf(Vocabulary);
      expect(back.tokens).toEqual(v.tokens);
      expect(back.tokenization).toBe(v.tokenization);
      expect(Array.from(back.encode('x a 😀'))).toEqual(Array.from(v.encode('x a 😀')));
    }
    // the token list is a copy, not shared
    const v = Vocabulary.fromText('ab');
    const j = v.toJSON();
    j.tokens.push('c');
    expect(v.size).toBe(4);
    expect(Object.isFrozen(v.tokens)).toBe(true);
  });

  it('treats code points, not UTF-16 halves, as characters (an emoji is one token)', () => {
    const text = 'naïve 😀 日本 😀!';
    const v = Vocabulary.fromText(text);
    expect(Array.from(v.encode('😀'))).toHaveLength(1);
    expect(v.tokens).toContain('😀');
    expect(v.tokens.every((t) => t === '<eos>' || t === '<unk>' || Array.from(t).length === 1)).toBe(true);
    expect(v.decode(v.encode(text))).toBe(text);
    expect(v.encode(text)).toHaveLength(Array.from(text).length);
    // an unseen astral character is one <unk>, not two
    expect(Array.from(v.encode('🎉'))).toEqual([1]);
  });

  it('validates its arguments', () => {
    const v = Vocabulary.fromText('ab');
    const cases: Array<[() => unknown, ErrorConstructor, string]> = [
      [() => new Vocabulary(['a']), RangeError, 'Vocabulary: tokens must start with "<eos>", "<unk>"'],
      [() => new Vocabulary('abc' as unknown as string[]), TypeError, 'Vocabulary: expected an array of strings for tokens'],
      [() => new Vocabulary(['<eos>', '<unk>', 3] as unknown as string[]), TypeError, 'expected an array of strings for tokens'],
      [() => new Vocabulary(['<eos>', '<unk>', 'a', 'a']), RangeError, 'expected a token not already in the list for tokens[3] but received "a"'],
      [() => new Vocabulary(['<eos>', '<unk>'], 'byte' as 'char'), RangeError, 'expected one of "char", "word", "wordpunct" for tokenization but received "byte"'],
      [() => Vocabulary.fromText(5 as unknown as string), TypeError, 'Vocabulary.fromText: expected a string for text but received 5'],
      [() => Vocabulary.fromText('a', 'bpe' as 'char'), RangeError, 'for tokenization but received "bpe"'],
      [() => Vocabulary.fromJSON(null), TypeError, 'Vocabulary.fromJSON: expected an object { tokens, tokenization } for json but received null'],
      [() => Vocabulary.fromJSON({ tokens: ['<eos>', '<unk>'], tokenization: 'sentence' }), RangeError, 'for tokenization but received "sentence"'],
      [() => v.encode(5 as unknown as string), TypeError, 'Vocabulary.encode: expected a string for text but received 5'],
      [() => v.encode('a', 'eos' as unknown as { eos: boolean }), TypeError, 'expected an options object for opts'],
      [() => v.decode([4]), RangeError, 'Vocabulary.decode: expected a token id in [0, 4) for ids[0] but received 4'],
      [() => v.decode(Int32Array.of(-1)), RangeError, 'but received -1'],
      [() => v.decode('ab' as unknown as number[]), TypeError, 'Vocabulary.decode: expected an Int32Array for ids but received "ab"'],
    ];
    for (const [f, Ctor, msg] of cases) {
      expect(f).toThrow(Ctor);
      expect(f).toThrow(msg);
    }
  });
});
