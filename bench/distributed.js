#!/usr/bin/env node
// The distributed benchmark: ranks as processes on 127.0.0.1 (this machine's loopback), and
//   1. allreduce: time per call against buffer size and rank count, as the trainer calls it
//      (in place, on its thread) and through the public async API (a copy each way, a libuv
//      hop); algorithm bandwidth (bytes ÷ time) and bus bandwidth (× 2(N−1)/N, what a ring
//      moves per rank);
//   2. the gradient exchange of one char-LM step three ways: the arena (one allreduce, no
//      copies: what the trainer does), a fused copy (gather every gradient into one buffer,
//      allreduce, scatter back), one allreduce per parameter;
//   3. training throughput of the char-LM step (bench/config.json's charlm sizes, Adam, clip)
//      through fitSync: one process on every core, against 2 ranks on their share of them —
//      the same global batch split in two (strong scaling), and each rank with the whole batch
//      (weak scaling).
// Prints a table; writes bench/RESULTS-distributed.md (bench/run.js folds it into RESULTS.md).
//
//   node bench/distributed.js [--smoke] [--ranks 2,3] [--json FILE] [--out FILE]
// A rank runs `node bench/distributed.js --rank-task <task> <args…>` with RANK, WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT and LOCAL_WORLD_SIZE set.
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { parseArgs } = require('node:util');

const HERE = __dirname;
const CONFIG = require('./config.json');

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    smoke: { type: 'boolean', default: false },
    ranks: { type: 'string', default: '2,3' },
    json: { type: 'string' },
    out: { type: 'string' },
    'rank-task': { type: 'string' },
  },
});
const mode = opts.smoke ? 'smoke' : 'full';

const median = (xs) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const now = () => process.hrtime.bigint();
const since = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

// ---- the rank side --------------------------------------------------------------------------

/** The char-LM of the charlm workload, its tokens, and its training options at batch size B. */
function charlmSetup(rnn, B) {
  const { V, E, H, T, lr, maxNorm } = CONFIG.charlm[mode];
  rnn.manualSeed(1);
  const lm = new rnn.LanguageModel({ vocabSize: V, embeddingDim: E, hiddenSize: H });
  const tokens = new Int32Array(600 * 64 * 4 + 1);
  let s = 7;
  for (let i = 0; i < tokens.length; i++) tokens[i] = (s = (Math.imul(s, 1103515245) + 12345) >>> 0) % V;
  return { lm, tokens, T, options: { batchSize: B, seqLength: T, optimizer: { type: 'Adam', lr }, clipGradNorm: maxNorm, validationFraction: 0, checksumEvery: 0 } };
}

/** Times `fn` (synchronous or async): warm-up, then reps repetitions of iters calls; seconds per call. */
async function timeCalls(fn, warmup, reps, targetSeconds) {
  let fastest = Infinity;
  for (let i = 0; i < warmup; i++) {
    const t = now();
    await fn();
    fastest = Math.min(fastest, since(t));
  }
  const iters = Math.max(1, Math.ceil(targetSeconds / Math.max(fastest, 1e-6)));
  const samples = [];
  for (let r = 0; r < reps; r++) {
    const t0 = now();
    for (let k = 0; k < iters; k++) await fn();
    samples.push(since(t0) / iters);
  }
  return samples;
}

async function rankMain(task, args) {
  const rnn = require('..');
  const { native } = require('../dist/native/addon');
  const dist = rnn.distributed;
  await dist.initProcessGroup({ timeoutMs: 120000 });
  const rank = dist.getRank();
  const timing = CONFIG.timing[mode];
  // The ranks must make the same number of calls: every rank sizes its repetitions from the
  // same agreed figure (rank 0's warm-up), or they would wait on each other forever.
  const agreedIters = async (fn) => {
    const t = now();
    for (let i = 0; i < 3; i++) await fn();
    const guess = Float32Array.of(Math.max(1, Math.ceil(timing.targetRepSeconds / Math.max(since(t) / 3, 1e-6))));
    await dist.broadcast(guess, 0);
    return guess[0];
  };
  const timeAgreed = async (fn) => {
    const iters = await agreedIters(fn);
    const samples = [];
    for (let r = 0; r < timing.reps; r++) {
      await dist.barrier();
      const t0 = now();
      for (let k = 0; k < iters; k++) await fn();
      samples.push(since(t0) / iters);
    }
    return samples;
  };
  const result = { rank, worldSize: dist.getWorldSize(), threads: rnn.getNumThreads() };
  if (task === 'allreduce') {
    const sizes = args.map(Number);
    result.sizes = [];
    for (const n of sizes) {
      const buf = new Float32Array(n).fill(1);
      const sync = await timeAgreed(() => native.distAllReduceSync(buf, 0, 120000, 0, 'bench'));
      const asyncApi = n <= (1 << 22) ? await timeAgreed(() => dist.allReduce(buf)) : null;
      result.sizes.push({ n, sync, async: asyncApi });
    }
  } else if (task === 'exchange') {
    // The gradients of the char-LM (its parameters' sizes), exchanged three ways.
    const { lm } = charlmSetup(rnn, 1);
    const grads = lm.parameters().map((p) => new Float32Array(p.size).fill(0.5));
    const total = grads.reduce((a, g) => a + g.length, 0);
    const arena = new Float32Array(total + 4);
    const fused = new Float32Array(total);
    result.parameters = total;
    result.tensors = grads.length;
    result.arena = await timeAgreed(() => native.distAllReduceSync(arena, 0, 120000, 0, 'bench'));
    result.fusedCopy = await timeAgreed(() => {
      let at = 0;
      for (const g of grads) {
        fused.set(g, at);
        at += g.length;
      }
      native.distAllReduceSync(fused, 0, 120000, 0, 'bench');
      at = 0;
      for (const g of grads) {
        g.set(fused.subarray(at, at + g.length));
        at += g.length;
      }
    });
    result.perTensor = await timeAgreed(() => {
      for (const g of grads) native.distAllReduceSync(g, 0, 120000, 0, 'bench');
    });
    // What the copies alone cost (no network): the fused copy's overhead over the arena.
    result.copiesOnly = await timeCalls(() => {
      let at = 0;
      for (const g of grads) {
        fused.set(g, at);
        at += g.length;
      }
      at = 0;
      for (const g of grads) {
        g.set(fused.subarray(at, at + g.length));
        at += g.length;
      }
    }, 2, timing.reps, timing.targetRepSeconds);
  } else if (task === 'train') {
    Object.assign(result, await trainThroughput(rnn, Number(args[0]), Number(args[1])));
  }
  await dist.destroyProcessGroup();
  if (rank === 0) process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Global tokens per second of fitSync on the char-LM: `steps` timed steps after a warm-up. */
async function trainThroughput(rnn, B, steps) {
  const { lm, tokens, T, options } = charlmSetup(rnn, B);
  const world = rnn.distributed.isInitialized() ? rnn.distributed.getWorldSize() : 1;
  const warm = 3;
  const stepSeconds = [];
  let t = now();
  rnn.fitSync(lm, tokens, { ...options, maxBatches: warm + steps }, {
    onBatch: (b) => {
      if (b.step > warm) stepSeconds.push(since(t));
      t = now();
    },
  });
  const s = median(stepSeconds);
  return { B, globalBatch: B * world, stepMs: s * 1000, tokensPerSecond: (B * world * T) / s, steps: stepSeconds.length };
}

// ---- the driver side ------------------------------------------------------------------------

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Runs `worldSize` ranks of a task (or one process alone for worldSize 0); resolves with rank 0's JSON. */
async function runRanks(worldSize, task, args, extraEnv = {}) {
  const port = await freePort();
  const n = Math.max(1, worldSize);
  const runs = Array.from({ length: n }, (_, r) => new Promise((resolve, reject) => {
    const env = { ...process.env, ...extraEnv };
    if (worldSize > 0) Object.assign(env, { RANK: String(r), LOCAL_RANK: String(r), WORLD_SIZE: String(n), LOCAL_WORLD_SIZE: String(n), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) });
    const child = spawn(process.execPath, [__filename, '--rank-task', task, ...(opts.smoke ? ['--smoke'] : []), ...args.map(String)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`rank ${r} of ${task} exited with ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`))));
  }));
  const outs = await Promise.all(runs);
  const line = outs.join('').split('\n').find((l) => l.startsWith('{'));
  return JSON.parse(line);
}

/**
 * What the gradient arena does on one machine: zeroing and clipping the char-LM's gradients
 * as separate arrays (every parameter's own) and as views into one arena (one call covers
 * all). Seconds per call.
 */
async function arenaOnOneProcess() {
  const rnn = require('..');
  const timing = CONFIG.timing[mode];
  const measure = async (params) => ({
    zero: await timeCalls(() => params.forEach((p) => p.zeroGrad()), 3, timing.reps, timing.targetRepSeconds),
    clip: await timeCalls(() => rnn.clipGradNorm(params, 1e9), 3, timing.reps, timing.targetRepSeconds),
  });
  const { lm } = charlmSetup(rnn, 1);
  const params = lm.parameters();
  for (const p of params) p.grad.fill(0.25);
  const separate = await measure(params);
  const total = params.reduce((a, p) => a + Math.ceil(p.size / 16) * 16, 0);
  const arena = new Float32Array(total); // as lib/train/data-parallel.ts lays it out
  let at = 0;
  for (const p of params) {
    const view = arena.subarray(at, at + p.size);
    view.set(p.grad);
    p.grad = view;
    at += Math.ceil(p.size / 16) * 16;
  }
  const views = await measure(params);
  const whole = { zero: await timeCalls(() => arena.fill(0), 3, timing.reps, timing.targetRepSeconds) };
  return { tensors: params.length, parameters: params.reduce((a, p) => a + p.size, 0), separate, views, whole };
}

/** The one process, no group, of the throughput comparison. */
async function alone(B, steps) {
  const rnn = require('..');
  return trainThroughput(rnn, B, steps);
}

const fmt = (v, d = 2) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(d));
const bytes = (b) => (b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(b >= 10 * 2 ** 20 ? 0 : 1)} MiB` : `${(b / 1024).toFixed(0)} KiB`);
function mdTable(header, rows) {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

async function driver() {
  const rnn = require('..');
  if (!rnn.distributed.isAvailable()) {
    console.error(`bench/distributed.js: not run: ${require('../dist/native/addon').native.distBackend}`);
    process.exit(1);
  }
  const ranks = opts.ranks.split(',').map(Number).filter((n) => n >= 2);
  const sizes = opts.smoke ? [256, 65536] : [256, 4096, 65536, 262144, 1 << 20, 1 << 22, 1 << 24];
  const started = Date.now();
  const results = { machine: { cpu: os.cpus()[0]?.model, cpus: os.cpus().length }, node: process.version, backend: require('../dist/native/addon').native.distBackend, allreduce: {}, exchange: {}, training: {} };
  for (const n of ranks) {
    process.stderr.write(`allreduce, ${n} ranks … `);
    results.allreduce[n] = await runRanks(n, 'allreduce', sizes);
    process.stderr.write('done\n');
  }
  for (const n of ranks) {
    process.stderr.write(`gradient exchange, ${n} ranks … `);
    results.exchange[n] = await runRanks(n, 'exchange', []);
    process.stderr.write('done\n');
  }
  process.stderr.write('the arena on one process … ');
  results.arena = await arenaOnOneProcess();
  process.stderr.write('done\n');
  const B = CONFIG.charlm[mode].B;
  const steps = opts.smoke ? 3 : 30;
  process.stderr.write('training: 1 process … ');
  results.training.one = await alone(B, steps);
  process.stderr.write('2 ranks × B/2 … ');
  results.training.strong = await runRanks(2, 'train', [B / 2, steps]);
  process.stderr.write('2 ranks × B … ');
  results.training.weak = await runRanks(2, 'train', [B, steps]);
  process.stderr.write('done\n');
  results.seconds = (Date.now() - started) / 1000;
  results.load = os.loadavg();

  const md = report(results, ranks);
  console.log(md);
  const out = opts.out || (opts.smoke ? path.join(os.tmpdir(), 'rnn-native-bench-distributed.md') : path.join(HERE, 'RESULTS-distributed.md'));
  fs.writeFileSync(out, `${md}\n`);
  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify(results, null, 1));
  process.stderr.write(`wrote ${path.relative(process.cwd(), out)}\n`);
}

/**
 * The ring allreduce's cost, t(N, S) = 4(N−1)·α + 2(N−1)/N · S / β: 2(N−1) steps of latency α
 * for the agreement check and as many for the allreduce itself, and 2(N−1)/N of the S bytes
 * sent and received by every rank at bandwidth β (which folds in the reduction). α and β are
 * fitted (least squares) on the 2-rank measurements and the model predicts the rest.
 */
function fitCostModel(r, N) {
  const pts = r.allreduce[N].sizes.map((s) => ({ x: ((2 * (N - 1)) / N) * 4 * s.n, t: median(s.sync) }));
  const n = pts.length;
  const mx = pts.reduce((a, p) => a + p.x, 0) / n, mt = pts.reduce((a, p) => a + p.t, 0) / n;
  const slope = pts.reduce((a, p) => a + (p.x - mx) * (p.t - mt), 0) / pts.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  const intercept = mt - slope * mx;
  return { alpha: intercept / (4 * (N - 1)), beta: 1 / slope };
}
const predict = (m, N, bytesTotal) => 4 * (N - 1) * m.alpha + (((2 * (N - 1)) / N) * bytesTotal) / m.beta;

function costModel(r, ranks) {
  const m = fitCostModel(r, ranks[0]);
  r.costModel = m;
  const lines = ['## Distributed: the ring cost model against these measurements', ''];
  lines.push(`t(N, S) = 4(N−1)·α + 2(N−1)/N · S ÷ β, fitted on the ${ranks[0]}-rank rows: α = ${fmt(m.alpha * 1e6)} µs per step, β = ${fmt(m.beta / 1e9)} GB/s. Predicted against measured (trainer path, ms):`, '');
  const rows = r.allreduce[ranks[0]].sizes.map((s) => {
    const row = [s.n.toLocaleString('en-US'), bytes(4 * s.n)];
    for (const N of ranks) {
      const meas = median(r.allreduce[N].sizes.find((x) => x.n === s.n).sync);
      const pred = predict(m, N, 4 * s.n);
      row.push(fmt(pred * 1000, 3), fmt(meas * 1000, 3), `${(meas / pred).toFixed(2)}`);
    }
    return row;
  });
  lines.push(mdTable(['floats', 'bytes', ...ranks.flatMap((N) => [`${N} ranks: model`, `${N} ranks: measured`, `${N} ranks: measured ÷ model`])], rows), '');
  return lines;
}

function report(r, ranks) {
  const lines = [];
  lines.push('## Distributed: allreduce on this machine\'s loopback (Gloo ring)', '');
  lines.push(`Generated by \`node bench/distributed.js${opts.smoke ? ' --smoke' : ''}\` on ${new Date().toISOString()}: ${r.machine.cpus} × ${r.machine.cpu}, node ${r.node}, ${r.backend}; load average ${r.load.map((x) => x.toFixed(2)).join(', ')} at the end; ${r.seconds.toFixed(0)} s. Every rank is a process on 127.0.0.1 with cores ÷ ranks kernel threads (at least 1). Times are rank 0's medians over ${CONFIG.timing[mode].reps} repetitions, each repetition about ${CONFIG.timing[mode].targetRepSeconds} s of back-to-back calls after a barrier.`, '');
  const header = ['floats', 'bytes', ...ranks.flatMap((n) => [`${n} ranks: ms (trainer path)`, `${n} ranks: bus GB/s`, `${n} ranks: ms (allReduce API)`])];
  const rows = [];
  const sizes = r.allreduce[ranks[0]].sizes.map((s) => s.n);
  for (const n of sizes) {
    const row = [n.toLocaleString('en-US'), bytes(4 * n)];
    for (const N of ranks) {
      const s = r.allreduce[N].sizes.find((x) => x.n === n);
      const t = median(s.sync);
      row.push(fmt(t * 1000, 3), fmt(((2 * (N - 1)) / N) * 4 * n / t / 1e9, 2), s.async ? fmt(median(s.async) * 1000, 3) : '–');
    }
    rows.push(row);
  }
  lines.push(mdTable(header, rows), '');
  lines.push('Trainer path: `distAllReduceSync` on the calling thread, in place (what fit() does each step). allReduce API: `await distributed.allReduce(x)`, which copies x, queues the call on libuv\'s pool, and copies the result back. Bus bandwidth = 2(N−1)/N × bytes ÷ time: the bytes each rank sends (and receives) in a ring allreduce, per second; every call also starts with a 64-byte agreement check (a tiny allreduce), which is most of the time at small sizes.', '');

  lines.push(...costModel(r, ranks));

  lines.push('## Distributed: one char-LM step\'s gradient exchange', '');
  const e0 = r.exchange[ranks[0]];
  lines.push(`The gradients of the charlm workload's model (${e0.parameters.toLocaleString('en-US')} floats, ${bytes(4 * e0.parameters)}, in ${e0.tensors} parameters), allreduced three ways (ms, rank 0's median).`, '');
  const erows = ranks.map((N) => {
    const e = r.exchange[N];
    return [`${N}`, fmt(median(e.arena) * 1000, 3), fmt(median(e.fusedCopy) * 1000, 3), fmt(median(e.copiesOnly) * 1000, 3), fmt(median(e.perTensor) * 1000, 3)];
  });
  lines.push(mdTable(['ranks', 'arena: one allreduce, no copy', 'fused copy: gather, allreduce, scatter', 'the two copies alone', `one allreduce per parameter (${e0.tensors})`], erows), '');

  const a = r.arena;
  lines.push(`On one process, the same gradients zeroed and clipped (clipGradNorm, the global 2-norm) as ${a.tensors} separate arrays and as views into one arena (µs per call):`, '');
  lines.push(mdTable(['operation', 'separate arrays', 'views into the arena', 'the arena as one array'], [
    ['zeroGrad of every parameter', fmt(median(a.separate.zero) * 1e6), fmt(median(a.views.zero) * 1e6), fmt(median(a.whole.zero) * 1e6)],
    ['clipGradNorm (the norm, no scaling)', fmt(median(a.separate.clip) * 1e6), fmt(median(a.views.clip) * 1e6), '–'],
  ]), '');

  lines.push('## Distributed: char-LM training throughput, 1 process against 2 ranks', '');
  const t = r.training;
  const cfg = CONFIG.charlm[mode];
  lines.push(`fitSync on the charlm workload (V ${cfg.V}, E ${cfg.E}, H ${cfg.H}, T ${cfg.T}, Adam, clip ${cfg.maxNorm}); median step time over the timed steps after 3 warm-up steps; tokens/s of the whole job (global batch × T ÷ step time).`, '');
  lines.push(mdTable(['run', 'threads per process', 'batch per process', 'global batch', 'step ms', 'tokens/s (job)', 'vs 1 process'], [
    ['1 process', String(os.cpus().length), String(t.one.B), String(t.one.globalBatch), fmt(t.one.stepMs), fmt(t.one.tokensPerSecond, 0), '1.00×'],
    ['2 ranks, the batch split (strong scaling)', String(t.strong.threads), String(t.strong.B), String(t.strong.globalBatch), fmt(t.strong.stepMs), fmt(t.strong.tokensPerSecond, 0), `${(t.strong.tokensPerSecond / t.one.tokensPerSecond).toFixed(2)}×`],
    ['2 ranks, the batch each (weak scaling)', String(t.weak.threads), String(t.weak.B), String(t.weak.globalBatch), fmt(t.weak.stepMs), fmt(t.weak.tokensPerSecond, 0), `${(t.weak.tokensPerSecond / t.one.tokensPerSecond).toFixed(2)}×`],
  ]), '');
  return lines.join('\n');
}

if (require.main !== module) {
  module.exports = { report }; // for checking the report's layout on recorded results
} else if (opts['rank-task']) {
  rankMain(opts['rank-task'], positionals).catch((err) => {
    process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  });
} else {
  driver().catch((err) => {
    process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  });
}
