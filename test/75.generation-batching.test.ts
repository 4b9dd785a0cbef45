// Continuous batching of LanguageModel.generateAsync: concurrent requests decoded together
// get exactly what each gets alone while requests join and leave mid-generation; the native
// decode step agrees with forward(); a full queue refuses at once; an aborted request frees
// its slot; the scheduler's settings and statistics.
import { GenerateAsyncOptions, LanguageModel, LanguageModelOptions, manualSeed, QueueFullError } from '../lib';

function make(o: LanguageModelOptions, seed = 1): LanguageModel {
  manualSeed(seed);
  return new LanguageModel(o);
}

const prompt = (n: number, V: number, k: number) => Int32Array.from({ length: n }, (_, i) => (i * 7 + k * 3 + 1) % V);

/** A varied set of requests: prompt lengths 1–9, every sampling option, different lengths and end tokens. */
function requests(V: number): GenerateAsyncOptions[] {
  const out: GenerateAsyncOptions[] = [];
  for (let k = 0; k < 24; k++) {
    const o: GenerateAsyncOptions = { prompt: prompt(1 + (k % 9), V, k), maxLength: 5 + ((k * 13) % 40), seed: 100 + k, endToken: k % 4 === 0 ? 3 : -1 };
    if (k % 5 === 1) o.greedy = true;
    if (k % 5 === 2) Object.assign(o, { temperature: 0.7, topK: 5 });
    if (k % 5 === 3) Object.assign(o, { topP: 0.8 });
    if (k % 5 === 4) Object.assign(o, { temperature: 1.3, topK: 8, topP: 0.9 });
    out.push(o);
  }
  return out;
}

const nextTurn = () => new Promise((r) => setImmediate(r));

describe.each([
  ['lstm', { vocabSize: 31, hiddenSize: 40, embeddingDim: 12, numLayers: 2, cell: 'lstm' }],
  ['gru', { vocabSize: 29, hiddenSize: 33, numLayers: 3, cell: 'gru' }],
  ['rnn_tanh, tied weights', { vocabSize: 26, hiddenSize: 20, cell: 'rnn_tanh', tieWeights: true }],
  ['lstm, two kernel threads (H 256)', { vocabSize: 50, hiddenSize: 256, numLayers: 2, cell: 'lstm' }],
] as Array<[string, LanguageModelOptions]>)('LanguageModel#generateAsync() batching: %s', (_name, options) => {
  it('requests joining and leaving mid-generation get exactly the tokens generate() gives each alone', async () => {
    const lm = make(options, 3);
    const V = lm.options.vocabSize;
    const reqs = requests(V);
    const solo = reqs.map((o) => Array.from(lm.generate(o)));
    // A third start at once; the others one by one as the first request produces tokens (so
    // they join a running batch at different steps), each from a later turn of the loop.
    let peak = 0;
    const pending: Array<Promise<Int32Array>> = [];
    const late = reqs.slice(8);
    const launchLate = (token: number, index: number) => {
      void token;
      peak = Math.max(peak, lm.scheduler.stats().running);
      if (index % 2 === 0 && late.length > 0) {
        const o = late.shift()!;
        pending.push(nextTurn().then(() => lm.generateAsync(o)));
      }
    };
    const first = lm.generateAsync({ ...reqs[0], maxLength: 60, endToken: -1, onToken: launchLate });
    for (const o of reqs.slice(1, 8)) pending.push(lm.generateAsync(o));
    const firstOut = await first;
    while (late.length > 0) pending.push(lm.generateAsync(late.shift()!));
    const got = await Promise.all(pending);
    const expected = reqs.map((o, k) => (k === 0 ? Array.from(lm.generate({ ...o, maxLength: 60, endToken: -1 })) : solo[k]));
    expect(Array.from(firstOut)).toEqual(expected[0]);
    // pending is in launch order: reqs 1..7, then reqs 8.. in order
    got.forEach((g, i) => expect(Array.from(g)).toEqual(expected[i + 1]));
    expect(peak).toBeGreaterThan(4); // the requests really shared steps
    const s = lm.scheduler.stats();
    expect(s.running).toBe(0);
    expect(s.queued).toBe(0);
    expect(s.steps).toBeLessThan(s.tokens); // fewer steps than tokens: batched
  });
});

describe('the native decode step', () => {
  it('gives forward()\'s logits (float tolerance) for every cell kind', () => {
    for (const cell of ['lstm', 'gru', 'rnn_tanh', 'rnn_relu'] as const) {
      const lm = make({ vocabSize: 17, hiddenSize: 37, embeddingDim: 9, numLayers: 2, cell }, 5).eval();
      const ids = Int32Array.of(3, 9, 0, 16, 4);
      const ref = lm.forward(ids, ids.length, 1).logits.data;
      const dec = lm.decoder;
      const n = dec.rowSize;
      let h = new Float32Array(n), c = dec.lstm ? new Float32Array(n) : null;
      let h2 = new Float32Array(n), c2 = dec.lstm ? new Float32Array(n) : null;
      const logits = new Float32Array(17);
      for (let t = 0; t < ids.length; t++) {
        dec.run(1, ids.subarray(t, t + 1), h, c, h2, c2, logits, null, null);
        [h, h2, c, c2] = [h2, h, c2, c];
        for (let v = 0; v < 17; v++) expect(Math.abs(logits[v] - ref[t * 17 + v])).toBeLessThan(2e-5);
      }
    }
  });

  it('a row\'s logits and state are the same bits alone and in any batch, at any position', () => {
    const lm = make({ vocabSize: 40, hiddenSize: 300, embeddingDim: 70, numLayers: 2, cell: 'lstm' }, 6);
    const dec = lm.decoder;
    const n = dec.rowSize, V = 40;
    const B = 13;
    const tokens = Int32Array.from({ length: B }, (_, b) => (b * 11) % V);
    const h = Float32Array.from({ length: B * n }, (_, i) => Math.sin(i * 0.013));
    const c = Float32Array.from({ length: B * n }, (_, i) => Math.cos(i * 0.007));
    const [hb, cb, lb] = [new Float32Array(B * n), new Float32Array(B * n), new Float32Array(B * V)];
    dec.run(B, tokens, h, c, hb, cb, lb, null, null);
    for (const b of [0, 5, 12]) {
      const [h1, c1, l1] = [new Float32Array(n), new Float32Array(n), new Float32Array(V)];
      dec.run(1, tokens.subarray(b, b + 1), h.subarray(b * n, (b + 1) * n), c.subarray(b * n, (b + 1) * n), h1, c1, l1, null, null);
      expect(Buffer.from(l1.buffer).equals(Buffer.from(lb.buffer, b * V * 4, V * 4))).toBe(true);
      expect(Buffer.from(h1.buffer).equals(Buffer.from(hb.buffer, b * n * 4, n * 4))).toBe(true);
      expect(Buffer.from(c1.buffer).equals(Buffer.from(cb.buffer, b * n * 4, n * 4))).toBe(true);
    }
  });

  it('refuses bad arguments with the argument named', () => {
    const lm = make({ vocabSize: 10, hiddenSize: 8 });
    const dec = lm.decoder;
    const n = dec.rowSize;
    const f = (k: number) => new Float32Array(k);
    expect(() => dec.run(1, Int32Array.of(10), f(n), f(n), f(n), f(n), f(10), null, null)).toThrow(/tokens\[0\] must be in \[0, 10\), received 10/);
    expect(() => dec.run(2, Int32Array.of(1, 2), f(n), f(2 * n), f(2 * n), f(2 * n), f(20), null, null)).toThrow(/hIn must have 16 elements, received 8/);
    const hc = f(n);
    expect(() => dec.run(1, Int32Array.of(1), hc, f(n), hc, f(n), f(10), null, null)).toThrow(/distinct arrays/);
    const specs = Float64Array.of(0, 1, 11, 1, 0.5);
    expect(() => dec.run(1, Int32Array.of(1), f(n), f(n), f(n), f(n), f(10), specs, new Int32Array(1))).toThrow(/specs\[0\]\.topK is out of range/);
    expect(() => dec.run(1, Int32Array.of(1), f(n), f(n), f(n), f(n), f(10), Float64Array.of(0, 1, 0, 1, 1), new Int32Array(1))).toThrow(/specs\[0\]\.u/);
  });
});

describe('GenerationScheduler', () => {
  const small = () => make({ vocabSize: 12, hiddenSize: 16 }, 2);

  it('refuses requests beyond maxBatch + maxQueue at once with a QueueFullError; the accepted ones finish', async () => {
    const lm = small();
    lm.scheduler.configure({ maxBatch: 2, maxQueue: 3 });
    const accepted = [0, 1, 2, 3, 4].map((k) => lm.generateAsync({ maxLength: 20, seed: k, endToken: -1 }));
    const refused = lm.generateAsync({ maxLength: 20, seed: 9 });
    await expect(refused).rejects.toThrow(QueueFullError);
    await expect(refused).rejects.toThrow(/LanguageModel\.generateAsync: the queue is full \(5 requests waiting for one of 2 batch slots, maxQueue 3\)/);
    await expect(refused).rejects.toMatchObject({ code: 'RNN_QUEUE_FULL' });
    const outs = await Promise.all(accepted);
    outs.forEach((o, k) => expect(Array.from(o)).toEqual(Array.from(lm.generate({ maxLength: 20, seed: k, endToken: -1 }))));
    expect(lm.scheduler.stats().rejected).toBe(1);
    // the queue drained: a new request is accepted again
    await expect(lm.generateAsync({ maxLength: 3, seed: 1 })).resolves.toBeInstanceOf(Int32Array);
  });

  it('an aborted request rejects with the signal\'s reason and frees its slot for a queued one', async () => {
    const lm = small();
    lm.scheduler.configure({ maxBatch: 1, maxQueue: 10 });
    const ac = new AbortController();
    let produced = 0;
    const long = lm.generateAsync({
      maxLength: 1_000_000, endToken: -1, seed: 1, signal: ac.signal,
      onToken: (_t, i) => {
        produced = i + 1;
        if (i === 9) ac.abort();
      },
    });
    const waiting = lm.generateAsync({ maxLength: 15, seed: 4, endToken: -1 });
    await expect(long).rejects.toMatchObject({ name: 'AbortError' });
    expect(Array.from(await waiting)).toEqual(Array.from(lm.generate({ maxLength: 15, seed: 4, endToken: -1 })));
    expect(produced).toBe(10);
    const s = lm.scheduler.stats();
    expect(s.aborted).toBe(1);
    expect(s.running).toBe(0);
    // a reason of the caller's own, and a signal aborted before the call
    const ac2 = new AbortController();
    const p = lm.generateAsync({ maxLength: 1_000_000, endToken: -1, signal: ac2.signal });
    ac2.abort(new Error('client went away'));
    await expect(p).rejects.toThrow('client went away');
    await expect(lm.generateAsync({ maxLength: 5, signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('a queued request can be aborted before it starts', async () => {
    const lm = small();
    lm.scheduler.configure({ maxBatch: 1 });
    const first = lm.generateAsync({ maxLength: 30, seed: 1, endToken: -1 });
    const ac = new AbortController();
    const queued = lm.generateAsync({ maxLength: 30, seed: 2, signal: ac.signal });
    expect(lm.scheduler.stats().queued).toBe(2); // neither has started in this turn
    ac.abort();
    await expect(queued).rejects.toMatchObject({ name: 'AbortError' });
    expect(lm.scheduler.stats().queued).toBe(1);
    await first;
  });

  it('onToken streams every token in order; a throwing onToken rejects only its own request', async () => {
    const lm = small();
    const seen: number[] = [];
    const out = await lm.generateAsync({ maxLength: 25, seed: 3, endToken: -1, onToken: (t, i) => { expect(i).toBe(seen.length); seen.push(t); } });
    expect(seen).toEqual(Array.from(out));
    const bad = lm.generateAsync({ maxLength: 25, seed: 3, endToken: -1, onToken: (_t, i) => { if (i === 2) throw new Error('listener failed'); } });
    const good = lm.generateAsync({ maxLength: 25, seed: 5, endToken: -1 });
    await expect(bad).rejects.toThrow('listener failed');
    expect(Array.from(await good)).toEqual(Array.from(lm.generate({ maxLength: 25, seed: 5, endToken: -1 })));
  });

  it('counts tokens, steps and requests; tokens per second while running', async () => {
    const lm = small();
    let rate = 0;
    const outs = await Promise.all([1, 2, 3].map((seed) => lm.generateAsync({
      maxLength: 200, seed, endToken: -1, onToken: (_t, i) => { if (i === 150) rate = lm.scheduler.stats().tokensPerSecond; },
    })));
    const s = lm.scheduler.stats();
    expect(s.tokens).toBe(outs.reduce((a, o) => a + o.length, 0));
    expect(s.completed).toBe(3);
    expect(s.steps).toBe(200);
    expect(rate).toBeGreaterThan(0);
    expect(s).toMatchObject({ queued: 0, prefilling: 0, running: 0, maxBatch: 64, maxWaitMs: 0, maxQueue: 1024, failed: 0 });
  });

  it('maxWaitMs gathers requests that arrive while the model is idle', async () => {
    const lm = small();
    lm.scheduler.configure({ maxWaitMs: 30 });
    const a = lm.generateAsync({ maxLength: 10, seed: 1, endToken: -1 });
    await new Promise((r) => setTimeout(r, 5));
    const b = lm.generateAsync({ maxLength: 10, seed: 2, endToken: -1 });
    await Promise.all([a, b]);
    expect(lm.scheduler.stats().steps).toBe(10); // both ran in the same ten steps
  });

  it('rejects bad options with the argument named', async () => {
    const lm = small();
    const s = lm.scheduler;
    expect(() => s.configure({ maxBatch: 0 })).toThrow(RangeError);
    expect(() => s.configure({ maxBatch: 0 })).toThrow('GenerationScheduler.configure: expected an integer in [1, 4096] for maxBatch but received 0');
    expect(() => s.configure({ maxQueue: -1 })).toThrow(RangeError);
    expect(() => s.configure({ maxWaitMs: 'soon' as never })).toThrow(TypeError);
    expect(() => s.configure({ maxBatchSize: 3 } as never)).toThrow(/maxBatchSize/);
    expect(() => s.configure(undefined as never)).toThrow(TypeError);
    await expect(lm.generateAsync({ maxLength: 3, signal: {} as never })).rejects.toThrow('LanguageModel.generateAsync: expected an AbortSignal for signal but received [object] of type object');
    await expect(lm.generateAsync({ maxLength: 3, onToken: 5 as never })).rejects.toThrow(TypeError);
    await expect(lm.generateAsync({ maxLength: 3, prompt: Int32Array.of(12) })).rejects.toThrow(/prompt\[0\]/);
    await expect(lm.generateAsync({ maxLength: 3, topK: 13 })).rejects.toThrow(RangeError);
    expect(lm.scheduler.stats().queued).toBe(0);
  });
});
