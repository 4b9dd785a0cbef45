// Inference off the event loop: forwardAsync on the recurrent layers, Linear and
// LanguageModel, and LanguageModel.generateAsync. Each must give exactly what its synchronous
// twin gives in eval mode, leave the event loop free while it runs, reject (not throw) on bad
// arguments, and keep backward's bookkeeping consistent.
import { GRU, LanguageModel, Linear, LSTM, manualSeed, RNN, Tensor } from '../lib';

function filled(shape: number[], seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor(Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed) * 0.8), shape);
}

/** Counts event-loop turns (setImmediate) until `p` settles: 0 means the loop was blocked. */
async function turnsWhile<T>(p: Promise<T>): Promise<{ value: T; turns: number }> {
  let turns = 0;
  let done = false;
  const spin = () => {
    if (done) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  try {
    return { value: await p, turns };
  } finally {
    done = true;
  }
}

describe.each([
  ['RNN tanh', () => new RNN({ inputSize: 6, hiddenSize: 20, numLayers: 2, bidirectional: true })],
  ['RNN relu', () => new RNN({ inputSize: 6, hiddenSize: 20, nonlinearity: 'relu', batchFirst: true })],
  ['LSTM', () => new LSTM({ inputSize: 6, hiddenSize: 20, numLayers: 2, bidirectional: true, batchFirst: true })],
  ['GRU', () => new GRU({ inputSize: 6, hiddenSize: 20, numLayers: 3, dropout: 0.5 })],
])('%s.forwardAsync', (_name, make) => {
  it('gives exactly what forward gives in eval mode, with state and lengths', async () => {
    manualSeed(4);
    const layer = make();
    const [T, B] = [7, 3];
    const input = filled(layer.batchFirst ? [B, T, 6] : [T, B, 6], 1);
    const L = layer.numLayers * layer.directions;
    const state = { h: filled([L, B, 20], 2), ...(layer instanceof LSTM ? { c: filled([L, B, 20], 3) } : {}) };
    const lengths = Int32Array.of(7, 2, 5);
    layer.eval();
    const expected = layer.forward(input, state, { lengths });
    layer.train(); // forwardAsync computes as in eval mode whatever the mode: no dropout
    const got = await layer.forwardAsync(input, state, { lengths });
    expect(Array.from(got.output.data)).toEqual(Array.from(expected.output.data));
    expect(got.output.shape).toEqual(expected.output.shape);
    expect(Array.from(got.h.data)).toEqual(Array.from(expected.h.data));
    if (expected.c) expect(Array.from(got.c!.data)).toEqual(Array.from(expected.c.data));
    expect(layer.training).toBe(true);
  });

  it('serves concurrent calls on one layer one at a time, each with its own result', async () => {
    manualSeed(5);
    const layer = make().eval();
    const shape = layer.batchFirst ? [2, 5, 6] : [5, 2, 6];
    const inputs = [0, 1, 2, 3, 4].map((k) => filled(shape, 10 + k));
    const expected = inputs.map((x) => layer.forward(x).output.data);
    const got = await Promise.all(inputs.map((x) => layer.forwardAsync(x)));
    got.forEach((g, k) => expect(Array.from(g.output.data)).toEqual(Array.from(expected[k])));
  });

  it('rejects bad arguments with the same TypeError / RangeError as forward', async () => {
    const layer = make();
    await expect(layer.forwardAsync(null as unknown as Tensor)).rejects.toThrow(TypeError);
    await expect(layer.forwardAsync(filled([2, 2, 5], 0))).rejects.toThrow(/forwardAsync: input must have 6 features/);
    const x = filled([4, 2, 6], 0);
    await expect(layer.forwardAsync(x, undefined, { lengths: Int32Array.of(9, 1) })).rejects.toThrow(RangeError);
  });
});

describe('forwardAsync and backward', () => {
  it('a training forward keeps its own activations: a forwardAsync in between changes nothing', async () => {
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 4 });
    const x = filled([5, 2, 3], 1);
    const reference = new LSTM({ inputSize: 3, hiddenSize: 4 });
    reference.loadStateDict(lstm.stateDict());
    reference.forward(x);
    const expected = reference.backward(filled([5, 2, 4], 2)).gradInput.data;
    lstm.forward(x);
    await lstm.forwardAsync(filled([5, 2, 3], 3));
    expect(Array.from(lstm.backward(filled([5, 2, 4], 2)).gradInput.data)).toEqual(Array.from(expected));
  });

  it('backward and training forwards may run while a forwardAsync is pending, with the same results', async () => {
    const gru = new GRU({ inputSize: 3, hiddenSize: 4 });
    const x = filled([5, 2, 3], 1);
    const first = gru.forward(x).output.data.slice();
    const pending = gru.forwardAsync(filled([5, 2, 3], 4));
    const grad = gru.backward(filled([5, 2, 4], 2)).gradInput.data.slice();
    expect(Array.from(gru.forward(x).output.data)).toEqual(Array.from(first));
    expect(Array.from(gru.backward(filled([5, 2, 4], 2)).gradInput.data)).toEqual(Array.from(grad));
    const asyncOut = await pending;
    expect(Array.from(asyncOut.output.data)).toEqual(Array.from(gru.eval().forward(filled([5, 2, 3], 4)).output.data));
  });
});

describe('async calls are queued', () => {
  it('settle in the order they were made, across layers', async () => {
    manualSeed(3);
    const big = new LSTM({ inputSize: 64, hiddenSize: 128 }).eval();
    const small = new GRU({ inputSize: 4, hiddenSize: 8 }).eval();
    const lin = new Linear({ inFeatures: 8, outFeatures: 3 });
    const order: string[] = [];
    await Promise.all([
      big.forwardAsync(filled([40, 16, 64], 1)).then(() => order.push('big')),
      small.forwardAsync(filled([2, 1, 4], 2)).then(() => order.push('small')),
      lin.forwardAsync(filled([5, 8], 3)).then(() => order.push('linear')),
    ]);
    expect(order).toEqual(['big', 'small', 'linear']);
  });

  it('the binding runs a backward while its own async forward is pending (the two share no activations)', async () => {
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 4 });
    const handle = (lstm as unknown as { handle: { forwardAsync: (...a: unknown[]) => Promise<void>; backward: (...a: unknown[]) => void; forward: (...a: unknown[]) => unknown; arenaBytes: (...a: unknown[]) => number } }).handle;
    const weights = lstm.parameters().map((p) => p.data);
    const x = new Float32Array(5 * 2 * 3).fill(0.5);
    const out = () => [new Float32Array(5 * 2 * 4), new Float32Array(8), new Float32Array(8)];
    const [y, h, c] = out();
    const [y2, h2, c2] = out();
    const ctx = new Float32Array(handle.arenaBytes(5, 2, 1, false, false) / 4);
    handle.forward(5, 2, x, null, 0, null, null, null, null, weights, 1, 0, 0, y2, h2, c2, ctx);
    const pending = handle.forwardAsync(5, 2, x, null, 0, null, null, null, null, weights, 0, 0, 0, y, h, c, null);
    const grads = lstm.parameters().map((p) => p.grad);
    handle.backward(ctx, y2, null, null, weights, grads, new Float32Array(30), null, null, -1, new Float32Array(8), new Float32Array(8));
    await pending;
    expect(Array.from(y)).toEqual(Array.from(y2));
    expect(grads[0].some((v) => v !== 0)).toBe(true);
  });
});

describe('the event loop stays free', () => {
  it('turns while a long LSTM forwardAsync runs; never during the synchronous forward', async () => {
    const lstm = new LSTM({ inputSize: 256, hiddenSize: 256 }).eval();
    const x = filled([60, 32, 256], 3);
    const blocked = await turnsWhile(Promise.resolve().then(() => lstm.forward(x)));
    expect(blocked.turns).toBe(0);
    const free = await turnsWhile(lstm.forwardAsync(x));
    expect(free.turns).toBeGreaterThan(0);
    // byte for byte (toEqual on 800 k numbers would take seconds)
    const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    expect(bytes(free.value.output.data).equals(bytes(blocked.value.output.data))).toBe(true);
  });
});

describe('Linear.forwardAsync', () => {
  it('equals forward and keeps a training forward\'s saved input', async () => {
    manualSeed(2);
    const lin = new Linear({ inFeatures: 33, outFeatures: 17 });
    const x = filled([4, 5, 33], 1);
    const y = lin.forward(x);
    const ya = await lin.forwardAsync(x);
    expect(ya.shape).toEqual([4, 5, 17]);
    expect(Array.from(ya.data)).toEqual(Array.from(y.data));
    expect(lin.backward(filled([4, 5, 17], 2)).shape).toEqual([4, 5, 33]);
    await expect(lin.forwardAsync(filled([3, 2], 0))).rejects.toThrow(RangeError);
  });
});

describe('LanguageModel async inference', () => {
  const make = (cell: 'lstm' | 'gru' | 'rnn_tanh') => {
    manualSeed(9);
    return new LanguageModel({ vocabSize: 23, embeddingDim: 7, hiddenSize: 19, numLayers: 2, cell });
  };

  it.each(['lstm', 'gru', 'rnn_tanh'] as const)('%s: forwardAsync equals forward in eval mode, state carried', async (cell) => {
    const lm = make(cell);
    const ids = Int32Array.from({ length: 12 }, (_, i) => (i * 7) % 23);
    lm.eval();
    const a = lm.forward(ids.subarray(0, 6), 3, 2);
    const b = lm.forward(ids.subarray(6), 3, 2, a.state);
    lm.train();
    const c = await lm.forwardAsync(ids.subarray(0, 6), 3, 2);
    const d = await lm.forwardAsync(ids.subarray(6), 3, 2, c.state);
    expect(Array.from(c.logits.data)).toEqual(Array.from(a.logits.data));
    expect(Array.from(d.logits.data)).toEqual(Array.from(b.logits.data));
    expect(Array.from(d.state.h.data)).toEqual(Array.from(b.state.h.data));
    expect(lm.training).toBe(true);
  });

  it('generateAsync returns what generate returns for the same seed and options', async () => {
    const lm = make('lstm');
    for (const opts of [
      { maxLength: 40, seed: 3 },
      { maxLength: 40, seed: 4, temperature: 0.7, topK: 5 },
      { maxLength: 40, seed: 5, topP: 0.9, prompt: Int32Array.of(1, 2, 3) },
      { maxLength: 40, greedy: true, endToken: -1 },
    ]) {
      const sync = lm.generate(opts);
      const async_ = await lm.generateAsync(opts);
      expect(Array.from(async_)).toEqual(Array.from(sync));
    }
  });

  it('generateAsync equals generate when the prompt takes the token path (V <= prompt length)', async () => {
    const lm = make('gru');
    const prompt = Int32Array.from({ length: 40 }, (_, i) => (i * 5 + 1) % 23); // T·B = 40 ≥ V = 23
    for (const opts of [{ maxLength: 30, seed: 7, prompt }, { maxLength: 30, greedy: true, endToken: -1, prompt }]) {
      expect(Array.from(await lm.generateAsync(opts))).toEqual(Array.from(lm.generate(opts)));
    }
    lm.eval();
    const ids = Int32Array.from({ length: 48 }, (_, i) => (i * 3) % 23);
    const a = lm.forward(ids, 12, 4);
    const b = await lm.forwardAsync(ids, 12, 4);
    expect(Array.from(b.logits.data)).toEqual(Array.from(a.logits.data));
  });

  it('generateAsync stops at the end token and rejects bad options', async () => {
    const lm = make('gru');
    const out = await lm.generateAsync({ maxLength: 500, seed: 1, endToken: 4 });
    expect(out.length).toBeLessThanOrEqual(500);
    if (out.length < 500) expect(out[out.length - 1]).toBe(4);
    await expect(lm.generateAsync({ maxLength: -1 })).rejects.toThrow(RangeError);
    await expect(lm.generateAsync({ maxLength: 3, prompt: Int32Array.of(99) })).rejects.toThrow(/prompt\[0\]/);
    await expect(lm.generateAsync(undefined as never)).rejects.toThrow(TypeError);
  });
});
