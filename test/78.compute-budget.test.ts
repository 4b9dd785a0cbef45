// The compute budget that replaced the process-wide lock: native calls from several threads
// (worker_threads with models of their own, libuv's pool, the main thread) compute at the
// same time, never more at once than the budget's tokens; results do not depend on how many
// kernel threads a call got; exclusive mode restores one call at a time.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { GRU, LanguageModel, LSTM, manualSeed, setNumThreads, getNumThreads, Tensor } from '../lib';
import { native } from '../lib/native/addon';

const root = path.join(__dirname, '..');

/** Runs `count` generate() calls of a fresh model (options, seed) on a worker thread, starting when every worker sharing `gate` is ready; resolves with the outputs. */
function generateOnWorker(options: object, seed: number, count: number, gate?: Int32Array): Promise<number[][]> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const rnn = require(workerData.root);
    rnn.manualSeed(workerData.seed);
    const lm = new rnn.LanguageModel(workerData.options);
    const gate = workerData.gate;
    if (gate) { // start together: a worker that loads first could finish before the other begins
      Atomics.add(gate, 0, 1);
      Atomics.notify(gate, 0);
      while (Atomics.load(gate, 0) < 2) Atomics.wait(gate, 0, 1, 50);
    }
    const outs = [];
    for (let k = 0; k < workerData.count; k++) outs.push(Array.from(lm.generate({ maxLength: 40, seed: k, endToken: -1 })));
    parentPort.postMessage(outs);`;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { root, options, seed, count, gate } });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

function solo(options: object, seed: number, count: number): number[][] {
  manualSeed(seed);
  const lm = new LanguageModel(options as never);
  return Array.from({ length: count }, (_, k) => Array.from(lm.generate({ maxLength: 40, seed: k, endToken: -1 })));
}

describe('the compute budget', () => {
  afterEach(() => native.setComputeExclusive(false));

  it('lets independent models on two worker threads compute at the same time, never beyond the budget, with the same results', async () => {
    const a = { vocabSize: 30, hiddenSize: 96, numLayers: 2 };
    const b = { vocabSize: 20, hiddenSize: 64, cell: 'gru' };
    const expected = [solo(a, 1, 60), solo(b, 2, 60)];
    native.computeBudget(true);
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const got = await Promise.all([generateOnWorker(a, 1, 60, gate), generateOnWorker(b, 2, 60, gate)]);
    const s = native.computeBudget();
    expect(got).toEqual(expected);
    expect(s.tokens).toBe(getNumThreads());
    expect(s.maxHeld).toBeLessThanOrEqual(s.tokens);
    if (s.tokens >= 2) expect(s.maxRunning).toBeGreaterThanOrEqual(2); // two calls computed at once
    expect(s.held).toBe(0);
    expect(s.running).toBe(0);
  });

  it('exclusive mode runs one call at a time (the old process-wide lock), with the same results', async () => {
    const a = { vocabSize: 30, hiddenSize: 96, numLayers: 2 };
    const expected = solo(a, 3, 30);
    native.setComputeExclusive(true);
    native.computeBudget(true);
    const got = await Promise.all([generateOnWorker(a, 3, 30), generateOnWorker(a, 3, 30)]);
    const s = native.computeBudget();
    expect(got).toEqual([expected, expected]);
    expect(s.maxRunning).toBe(1);
    expect(s.maxHeld).toBe(s.tokens);
  });

  it('calls on one layer from the main thread and libuv\'s pool never overlap, and agree with a serial run', async () => {
    manualSeed(4);
    const lstm = new LSTM({ inputSize: 32, hiddenSize: 128, numLayers: 2 }).eval();
    const gru = new GRU({ inputSize: 32, hiddenSize: 128 }).eval();
    const xs = [1, 2, 3, 4, 5, 6].map((k) => new Tensor(Float32Array.from({ length: 20 * 4 * 32 }, (_, i) => Math.sin(i * 0.01 * k)), [20, 4, 32]));
    const serialL = xs.map((x) => lstm.forward(x).output.data.slice());
    const serialG = xs.map((x) => gru.forward(x).output.data.slice());
    const pending = xs.map((x, k) => (k % 2 ? lstm : gru).forwardAsync(x));
    const syncL = xs.map((x) => lstm.forward(x).output.data); // on the main thread while the async ones run
    const asyncOut = await Promise.all(pending);
    const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    syncL.forEach((o, k) => expect(bytes(o).equals(bytes(serialL[k]))).toBe(true));
    asyncOut.forEach((o, k) => expect(bytes(o.output.data).equals(bytes((k % 2 ? serialL : serialG)[k]))).toBe(true));
  });

  it('training gradients do not depend on the team a call gets: bias sums of a row-split backward while another thread computes', async () => {
    if (getNumThreads() < 2) return; // one token: every call runs alone
    manualSeed(7);
    // B 32 with two threads: the time loop is split by batch rows, bias gradients summed per part
    const lstm = new LSTM({ inputSize: 16, hiddenSize: 64 });
    const x = new Tensor(Float32Array.from({ length: 12 * 32 * 16 }, (_, i) => Math.sin(i * 0.37)), [12, 32, 16]);
    const grads = (): Buffer[] => {
      lstm.zeroGrad();
      const { output } = lstm.forward(x);
      lstm.backward(new Tensor(Float32Array.from(output.data, (_, i) => Math.cos(i * 0.11)), [...output.shape]));
      return lstm.parameters().map((p) => Buffer.from(p.grad!.slice().buffer));
    };
    const alone = grads();
    // another model computing on a worker holds a token now and then, so some of these calls get a team of one
    native.computeBudget(true);
    const busy = generateOnWorker({ vocabSize: 30, hiddenSize: 256, numLayers: 2 }, 1, 40);
    const runs: Buffer[][] = [];
    const started = Date.now();
    while (runs.length < 200 && Date.now() - started < 4000) {
      runs.push(grads());
      await new Promise((r) => setImmediate(r));
    }
    await busy;
    for (const r of runs) r.forEach((g, k) => expect(g.equals(alone[k])).toBe(true));
    expect(native.computeBudget().maxRunning).toBeGreaterThanOrEqual(2);
  });

  it('setNumThreads resizes the budget and waits for running calls', async () => {
    const before = getNumThreads();
    try {
      setNumThreads(1);
      expect(native.computeBudget().tokens).toBe(1);
      const lm = new LanguageModel({ vocabSize: 10, hiddenSize: 32 });
      const p = lm.generateAsync({ maxLength: 200, seed: 1, endToken: -1 });
      setNumThreads(2); // between the steps of the generation: never under a running kernel
      expect(native.computeBudget().tokens).toBe(2);
      await expect(p).resolves.toHaveLength(200);
    } finally {
      setNumThreads(before);
    }
  });
});
