// The threading policy under stress: the addon loads in worker_threads, and forward and
// backward calls running at once on several threads give bit-identical results to a
// serial run (OpenBLAS 0.3.21 corrupts concurrent multithreaded GEMMs of different
// transpose variants; every BLAS entry point holds one process-wide lock).
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { getNumThreads, setNumThreads } from '../lib';

// Runs in the workers and in the main thread: a deterministic LSTM forward + backward
// loop, returning a checksum of everything it produced.
const job = `
const path = require('node:path');
function run(root, rounds) {
  const native = require(path.join(root, 'node_modules', 'node-gyp-build'))(root);
  const T = 20, B = 16, I = 48, H = 96, G = 4;
  const s = new native.RecurrentStack(2, I, H, 2, true, true, false, 0);
  const weights = [];
  for (let l = 0; l < 2; l++) for (let d = 0; d < 2; d++) {
    const inSize = l === 0 ? I : 2 * H;
    for (const n of [G * H * inSize, G * H * H, G * H, G * H])
      weights.push(Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + n) * 0.1));
  }
  const grads = weights.map((w) => new Float32Array(w.length));
  const x = Float32Array.from({ length: T * B * I }, (_, i) => Math.cos(i * 0.11));
  const out = new Float32Array(T * B * 2 * H), h = new Float32Array(4 * B * H), c = new Float32Array(4 * B * H);
  const dx = new Float32Array(x.length), dh = new Float32Array(h.length), dc = new Float32Array(c.length);
  let sum = 0;
  for (let r = 0; r < rounds; r++) {
    const ctx = new Float32Array(s.arenaBytes(T, B, 1, false, false) / 4);
    s.forward(T, B, x, null, 0, null, null, null, null, weights, 1, 0, 0, out, h, c, ctx);
    s.backward(ctx, out, null, null, weights, grads, dx, null, null, -1, dh, dc);
    for (const a of [out, h, c, dx, dh, dc, ...grads]) for (let i = 0; i < a.length; i += 7) sum += a[i] * ((i % 13) + 1);
  }
  return sum;
}
`;

function inWorker(rounds: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const w = new Worker(
      `${job}; const { parentPort, workerData } = require('node:worker_threads'); parentPort.postMessage(run(workerData.root, workerData.rounds));`,
      { eval: true, workerData: { root: path.join(__dirname, '..'), rounds } },
    );
    w.once('message', resolve);
    w.once('error', reject);
  });
}

// eslint-disable-next-line no-new-func
const runHere = new Function('require', `${job}; return run;`)(require) as (root: string, rounds: number) => number;

describe('threading policy', () => {
  it('uses the cores by default and can be changed', () => {
    const n = getNumThreads();
    expect(n).toBeGreaterThanOrEqual(1);
    setNumThreads(1);
    expect(getNumThreads()).toBe(1);
    setNumThreads(n);
    expect(getNumThreads()).toBe(n);
    expect(() => setNumThreads(0)).toThrow(RangeError);
    expect(() => setNumThreads('2' as any)).toThrow(TypeError);
  });

  it.each([[0, 'RNN tanh'], [1, 'RNN relu'], [2, 'LSTM'], [3, 'GRU']])(
    'repeated forward + backward of cell %i (%s), split across the kernel threads, are bit-identical',
    (cell) => {
      const { native } = require('../lib/native/addon');
      const G = [1, 1, 4, 3][cell];
      const T = 12, B = 16, I = 40, H = 96;
      const s = new native.RecurrentStack(cell, I, H, 2, true, true, false, 0);
      const weights: Float32Array[] = [];
      for (let l = 0; l < 2; l++)
        for (let d = 0; d < 2; d++)
          for (const n of [G * H * (l === 0 ? I : 2 * H), G * H * H, G * H, G * H])
            weights.push(Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + n) * 0.1));
      const x = Float32Array.from({ length: T * B * I }, (_, i) => Math.cos(i * 0.11));
      const once = () => {
        const grads = weights.map((w) => new Float32Array(w.length));
        const out = new Float32Array(T * B * 2 * H), h = new Float32Array(4 * B * H), c = new Float32Array(4 * B * H);
        const dx = new Float32Array(x.length), dh = new Float32Array(h.length), dc = new Float32Array(c.length);
        const ctx = new Float32Array(s.arenaBytes(T, B, 1, false, false) / 4);
    s.forward(T, B, x, null, 0, null, null, null, null, weights, 1, 0, 0, out, h, c, ctx);
        const y = out.slice();
        s.backward(ctx, out, h, cell === 2 ? c : null, weights, grads, dx, null, null, -1, dh, dc);
        return [y, h, dx, dh, ...grads].map((a) => Buffer.from(a.buffer).toString('base64'));
      };
      const first = once();
      for (let k = 0; k < 8; k++) expect(once()).toEqual(first);
    },
  );

  it('concurrent forward and backward on three threads match a serial run bit for bit', async () => {
    const rounds = 6;
    const serial = runHere(path.join(__dirname, '..'), rounds);
    const concurrent = await Promise.all([inWorker(rounds), inWorker(rounds), inWorker(rounds)]);
    for (const v of concurrent) expect(v).toBe(serial);
  });
});
