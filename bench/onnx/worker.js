#!/usr/bin/env node
// The processes of bench/onnx/bench.js (see there). One of:
//
//   node bench/onnx/worker.js weights SPEC   # our layers from their seeds → safetensors files
//   node bench/onnx/worker.js check SPEC     # ours (sync, async) against ORT on the same inputs
//   node bench/onnx/worker.js serve SPEC ours|ort [--ort-threads N] [--threads N]
//                                            # timing, one repetition at a time on request (IPC)
//
// SPEC is a JSON file bench.js writes: { models: [{ name, I, H, L, bidirectional, T, seed,
// weights, onnx }], batches: [64, 1], timing: { warmup, targetRepSeconds } }.
// A workload is one model at one batch size, its id `${name}-B${B}`; its input is (T, B, I),
// sequence-first, the same deterministic numbers in every process.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const HERE = __dirname;
const ROOT = path.resolve(HERE, '..', '..');
const [mode, specFile, side] = process.argv.slice(2);
const spec = JSON.parse(fs.readFileSync(specFile, 'utf8'));
const argValue = (name) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

// rnn-native is loaded where it is used: not in the ORT timing process.
let rnnModule = null;
function rnn() {
  if (!rnnModule) {
    rnnModule = require(ROOT);
    if (argValue('--threads')) rnnModule.setNumThreads(Number(argValue('--threads')));
  }
  return rnnModule;
}
let ortModule = null;
function ort() {
  return (ortModule ??= require(require.resolve('onnxruntime-node', { paths: [HERE] })));
}

const { prng } = require('../common');
function inputData(model, B) {
  const r = prng(1000 + B);
  const d = new Float32Array(model.T * B * model.I);
  for (let i = 0; i < d.length; i++) d[i] = r() * 2 - 1;
  return d;
}
const workloads = () => spec.models.flatMap((m) => spec.batches.map((B) => ({ id: `${m.name}-B${B}`, model: m, B })));

function ourLayer(m) {
  const r = rnn();
  const lstm = new r.LSTM({ inputSize: m.I, hiddenSize: m.H, numLayers: m.L, bidirectional: m.bidirectional }).eval();
  lstm.loadStateDict(r.loadSafetensors(m.weights).tensors);
  return lstm;
}
function ortSession(m, threads) {
  // Sequential execution of the graph, its nodes parallel on intraOpNumThreads threads (the
  // calling thread one of them); everything else at ORT's defaults (all graph optimisations,
  // its workers spin between runs).
  return ort().InferenceSession.create(m.onnx, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
}

const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

// ---- weights: our layers, initialised from their seeds, saved with PyTorch's names --------
function weights() {
  const r = rnn();
  const files = {};
  for (const m of spec.models) {
    r.manualSeed(m.seed);
    const lstm = new r.LSTM({ inputSize: m.I, hiddenSize: m.H, numLayers: m.L, bidirectional: m.bidirectional });
    r.saveSafetensors(m.weights, Object.fromEntries(lstm.namedParameters()));
    files[m.name] = { file: m.weights, parameters: lstm.numParameters() };
  }
  out({ ok: true, files });
}

// ---- check: the outputs of ours (sync and async) and ORT's on each workload's input --------
function maxAbsDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
function maxAbs(a) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
async function check() {
  const r = rnn();
  const results = [];
  for (const m of spec.models) {
    const lstm = ourLayer(m);
    const session = await ortSession(m, 1);
    for (const B of spec.batches) {
      const x = inputData(m, B);
      const ours = lstm.forward(new r.Tensor(x, [m.T, B, m.I]));
      const oursAsync = await lstm.forwardAsync(new r.Tensor(x, [m.T, B, m.I]));
      const theirs = await session.run({ input: new (ort().Tensor)('float32', x, [m.T, B, m.I]) });
      const shapeOk = JSON.stringify(theirs.output.dims) === JSON.stringify(ours.output.shape) && JSON.stringify(theirs.h_n.dims) === JSON.stringify(ours.h.shape);
      results.push({
        id: `${m.name}-B${B}`,
        shapeOk,
        outputShape: ours.output.shape,
        diff: { output: maxAbsDiff(ours.output.data, theirs.output.data), h_n: maxAbsDiff(ours.h.data, theirs.h_n.data), c_n: maxAbsDiff(ours.c.data, theirs.c_n.data) },
        asyncVsSync: Math.max(maxAbsDiff(ours.output.data, oursAsync.output.data), maxAbsDiff(ours.h.data, oursAsync.h.data), maxAbsDiff(ours.c.data, oursAsync.c.data)),
        maxAbs: { output: maxAbs(ours.output.data), c_n: maxAbs(ours.c.data) },
      });
    }
    await session.release();
  }
  out({ ok: true, results });
}

// ---- serve: timing on request ------------------------------------------------------------
// The parent alternates the contestants (processes) one repetition at a time, so that all of
// them meet the same fast and slow phases of a shared machine; between requests a process is
// idle (its threads asleep once they stop spinning).
const now = () => process.hrtime.bigint();
const secondsSince = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;
const WARMUP_CAP = 2;

async function serve() {
  const calls = {}; // `${id}/${contestant}` → async () => void (one inference)
  const info = {};
  if (side === 'ours') {
    const r = rnn();
    for (const w of workloads()) {
      const lstm = ourLayer(w.model);
      const x = new r.Tensor(inputData(w.model, w.B), [w.model.T, w.B, w.model.I]);
      calls[`${w.id}/sync`] = () => lstm.forward(x);
      calls[`${w.id}/async`] = () => lstm.forwardAsync(x);
    }
    info.threads = r.getNumThreads();
    info.version = r.version;
  } else {
    const threads = Number(argValue('--ort-threads') || 1);
    const sessions = {};
    for (const m of spec.models) sessions[m.name] = await ortSession(m, threads);
    for (const w of workloads()) {
      const feeds = { input: new (ort().Tensor)('float32', inputData(w.model, w.B), [w.model.T, w.B, w.model.I]) };
      calls[`${w.id}/ort`] = () => sessions[w.model.name].run(feeds);
    }
    info.threads = threads;
    info.version = ort().env.versions;
  }
  const isAsync = (key) => !key.endsWith('/sync');
  process.on('message', async (msg) => {
    try {
      if (msg.op === 'quit') {
        process.disconnect();
        return;
      }
      const key = `${msg.id}/${msg.contestant}`;
      const fn = calls[key];
      if (!fn) throw new Error(`no such workload here: ${key}`);
      const asy = isAsync(key);
      if (msg.op === 'warm') {
        // `warmup` calls (capped at WARMUP_CAP s); the fastest sizes a repetition
        const t0 = now();
        let fastest = Infinity;
        let n = 0;
        do {
          const t = now();
          if (asy) await fn(); else fn();
          fastest = Math.min(fastest, secondsSince(t));
          n++;
        } while (n < spec.timing.warmup && secondsSince(t0) < WARMUP_CAP);
        const iters = Math.max(1, Math.ceil(spec.timing.targetRepSeconds / Math.max(fastest, 1e-9)));
        process.send({ ok: true, iters, warmCalls: n, fastest });
      } else if (msg.op === 'sample') {
        const t0 = now();
        if (asy) for (let k = 0; k < msg.iters; k++) await fn();
        else for (let k = 0; k < msg.iters; k++) fn();
        process.send({ ok: true, seconds: secondsSince(t0) / msg.iters });
      } else throw new Error(`unknown op ${msg.op}`);
    } catch (e) {
      process.send({ ok: false, error: String(e && e.stack ? e.stack : e) });
    }
  });
  process.send({ ok: true, ready: true, info });
}

const modes = { weights, check, serve };
if (!modes[mode]) {
  console.error(`usage: worker.js weights|check|serve SPEC [ours|ort]`);
  process.exit(2);
}
Promise.resolve()
  .then(modes[mode])
  .catch((e) => {
    if (process.send) process.send({ ok: false, error: String(e && e.stack ? e.stack : e) });
    out({ ok: false, error: String(e && e.message ? e.message : e) });
    process.exitCode = 1;
    if (process.connected) process.disconnect();
  });
