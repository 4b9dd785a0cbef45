#!/usr/bin/env node
// Paired A/B, in one process and one build, of the per-parameter path against the
// ParameterArena path (model.flattenParameters(), which the trainer does for every run):
//
//   node bench/arena.js [charlm|seq2seq|all] [--rounds N] [--a DIR]
//
// Two identical models (same seed): A keeps one array per parameter, B is flattened with the
// optimizer's group order. With --a DIR, side A runs another tree's build (dist/ and build/,
// e.g. the commit before the arena, exported and compiled): the per-parameter code as it was,
// with its own kernel threads (as bench/ab.js runs two builds). For each workload it measures
//   - clip + step: clipGradNorm(params, maxNorm) + Adam.step() on saved gradients (restored,
//     untimed, before each call), the optimizer and clipping cost of one training step;
//   - zeroGrad: model.zeroGrad();
//   - train step: the whole training step as bench/workloads.js times it (zeroGrad, forward,
//     loss, backward, clip, step), from which tokens/s;
//   - fitSync: the trainer end to end (A: a tree whose trainer keeps one array per parameter,
//     with --a; B: this tree's, which flattens), tokens/s from onBatch over 8 batches per run,
//     the first left out, one run of each per round.
// Each round times a block of calls of A, then of B (the order alternates by round), with a
// pause between blocks; the verdict is the median over rounds of the paired ratio B/A, which
// a slow phase of the machine moves for both alike. Sizes: bench/config.json (full). Run it
// alone (cpu-lock): the kernels use both cores.
'use strict';
const path = require('node:path');
const config = require('./config.json');

const args = process.argv.slice(2);
const option = (name) => (args.indexOf(name) >= 0 ? args[args.indexOf(name) + 1] : undefined);
const which = args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--'))) ?? 'all';
const ROUNDS = Number(option('--rounds') ?? 41);
const rnnB = require(path.join(__dirname, '..'));
const rnnA = option('--a') ? require(path.resolve(option('--a'))) : rnnB;

const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const median = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];
const now = () => process.hrtime.bigint();

const { prng } = require('./common');

/** The char-LM of bench/workloads.js (Embedding → LSTM 256 → Linear, Adam, clip): one side. */
function charlmSide(flat) {
  const rnn = flat ? rnnB : rnnA;
  const { V, E, H, B, T, lr, maxNorm } = config.charlm.full;
  rnn.manualSeed(1);
  const model = new rnn.LanguageModel({ vocabSize: V, embeddingDim: E, hiddenSize: H, cell: 'lstm' });
  const params = model.parameters();
  const opt = new rnn.Adam(params, { lr });
  if (flat) model.flattenParameters({ order: params });
  const r = prng(12345);
  const batches = 8;
  const stream = Int32Array.from({ length: (batches * T + 1) * B }, () => Math.floor(r() * V));
  let state;
  let k = 0;
  const step = () => {
    const i = (k++ % batches) * T;
    const x = stream.subarray(i * B, (i + T) * B);
    const y = stream.slice((i + 1) * B, (i + 1 + T) * B);
    model.zeroGrad();
    const out = model.forward(x, T, B, state);
    state = out.state;
    const { grad } = rnn.crossEntropy(out.logits, y);
    model.backward(grad);
    rnn.clipGradNorm(params, maxNorm);
    opt.step();
  };
  return { rnn, model, params, opt, maxNorm, step, tokensPerStep: T * B };
}

/** The Seq2Seq of bench/workloads.js (the G2P shape: many small parameters), one side. */
function seq2seqSide(flat) {
  const rnn = flat ? rnnB : rnnA;
  const c = config.seq2seq.full;
  rnn.manualSeed(1);
  const model = new rnn.Seq2Seq({
    sourceVocabSize: c.Vs, targetVocabSize: c.Vt, embeddingDim: c.E, hiddenSize: c.H, cell: 'lstm', encoderLayers: c.encoderLayers,
    decoderLayers: c.decoderLayers, bidirectional: true, attention: c.attention, inputFeeding: true, dropout: c.dropout,
  });
  const r = prng(c.seed);
  const batches = [];
  for (let b = 0; b < c.batches; b++) {
    const sources = [], targets = [];
    for (let i = 0; i < c.B; i++) {
      const n = c.minLength + Math.floor(r() * (c.maxLength - c.minLength + 1));
      sources.push(Int32Array.from({ length: n }, () => 2 + Math.floor(r() * (c.Vs - 2))));
      targets.push(Int32Array.from({ length: n }, () => 2 + Math.floor(r() * (c.Vt - 2))));
    }
    batches.push(model.batch(sources, targets));
  }
  const params = model.parameters();
  const opt = new rnn.Adam(params, { lr: c.lr });
  if (flat) model.flattenParameters({ order: params });
  let k = 0;
  const tokens = batches.reduce((n, b) => n + b.tokens, 0) / batches.length;
  const step = () => {
    const batch = batches[k++ % batches.length];
    model.zeroGrad();
    model.loss(batch).backward();
    rnn.clipGradNorm(params, c.maxNorm);
    opt.step();
  };
  return { rnn, model, params, opt, maxNorm: c.maxNorm, step, tokensPerStep: tokens };
}

/** Paired blocks of A and B; per round the mean µs per call of each; returns the medians and the paired ratio. */
function paired(name, a, b, block, prepare) {
  const us = [[], []];
  const sides = [a, b];
  for (let w = 0; w < Math.max(3, block); w++) for (const s of sides) { prepare?.(s); s(); } // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? [0, 1] : [1, 0];
    for (const j of order) {
      let total = 0n;
      for (let i = 0; i < block; i++) {
        prepare?.(sides[j]);
        const t0 = now();
        sides[j]();
        total += now() - t0;
      }
      us[j].push(Number(total) / 1e3 / block);
      pause(3);
    }
  }
  const ratio = median(us[1].map((t, k) => t / us[0][k]));
  const row = { name, perParameterUs: median(us[0]), arenaUs: median(us[1]), ratio };
  console.log(`${name.padEnd(34)} per-parameter ${row.perParameterUs.toFixed(1).padStart(9)} µs   arena ${row.arenaUs.toFixed(1).padStart(9)} µs   paired arena/per-parameter ${ratio.toFixed(3)}`);
  return row;
}

/** The trainer end to end: fitSync on the same data and seed with each tree; µs per batch between onBatch calls (median over a run's batches 2..n). */
function fitPaired(label, rnnOf, modelOf, data, config) {
  const us = [[], []];
  const rounds = Math.max(5, Math.round(ROUNDS / 3));
  for (let round = -1; round < rounds; round++) { // round -1: warm-up
    for (const j of round % 2 === 0 ? [0, 1] : [1, 0]) {
      const r = rnnOf[j];
      const model = modelOf(r);
      const at = [];
      r.fitSync(model, data, { ...config, seed: 1, maxBatches: 10, validationFraction: 0, epochs: 100 }, { onBatch: () => at.push(now()) });
      const gaps = at.slice(1).map((t, k) => Number(t - at[k]) / 1e3);
      if (round >= 0) us[j].push(median(gaps.slice(1)));
      pause(3);
    }
  }
  const ratio = median(us[1].map((t, k) => t / us[0][k]));
  const a = median(us[0]), b = median(us[1]);
  console.log(`${`${label} fitSync batch`.padEnd(34)} per-parameter ${a.toFixed(1).padStart(9)} µs   arena ${b.toFixed(1).padStart(9)} µs   paired arena/per-parameter ${ratio.toFixed(3)}`);
  return { a, b, ratio };
}

function run(label, make) {
  const A = make(false), B = make(true);
  const count = A.params.length, floats = A.params.reduce((n, p) => n + p.size, 0);
  console.log(`\n${label}: ${count} parameters, ${floats.toLocaleString('en-US')} floats; arena ${rnnB.ParameterArena.of(B.params[0]).data.length.toLocaleString('en-US')} floats (padding included)`);
  // gradients of one real step, saved and restored before each timed clip + step
  for (const s of [A, B]) { s.step(); s.model.zeroGrad(); }
  A.step();
  const saved = A.params.map((p) => p.grad.slice());
  const restore = (side) => side.params.forEach((p, i) => p.grad.set(saved[i]));
  const clipStep = (side) => { const f = () => { side.rnn.clipGradNorm(side.params, side.maxNorm); side.opt.step(); }; f.side = side; return f; };
  const ca = clipStep(A), cb = clipStep(B);
  const rows = [];
  rows.push(paired(`${label} clip + Adam step`, ca, cb, 20, (f) => restore(f.side)));
  const ja = () => A.rnn.clipGradNorm(A.params, A.maxNorm), jb = () => B.rnn.clipGradNorm(B.params, B.maxNorm);
  ja.side = A; jb.side = B;
  rows.push(paired(`${label} clip only`, ja, jb, 20, (f) => restore(f.side)));
  const sa = () => A.opt.step(), sb = () => B.opt.step();
  rows.push(paired(`${label} Adam step only`, sa, sb, 20));
  rows.push(paired(`${label} zeroGrad`, () => A.model.zeroGrad(), () => B.model.zeroGrad(), 50));
  const t = paired(`${label} training step`, A.step, B.step, 3);
  console.log(`${label} training tokens/s: per-parameter ${(A.tokensPerStep / t.perParameterUs * 1e6).toFixed(0)}, arena ${(B.tokensPerStep / t.arenaUs * 1e6).toFixed(0)}`);
  rows.push(t);
  return rows;
}

function fitCharlm() {
  const { V, E, H, B, T, lr, maxNorm } = config.charlm.full;
  const r = prng(777);
  const ids = Int32Array.from({ length: 40 * B * T }, () => Math.floor(r() * V));
  const make = (rnn) => { rnn.manualSeed(1); return new rnn.LanguageModel({ vocabSize: V, embeddingDim: E, hiddenSize: H, cell: 'lstm' }); };
  const f = fitPaired('char-LM LSTM 256', [rnnA, rnnB], make, ids, { batchSize: B, seqLength: T, optimizer: { type: 'Adam', lr }, clipGradNorm: maxNorm });
  console.log(`char-LM LSTM 256 fitSync tokens/s: per-parameter ${(B * T / f.a * 1e6).toFixed(0)}, arena ${(B * T / f.b * 1e6).toFixed(0)}`);
}

function fitSeq2seq() {
  const c = config.seq2seq.full;
  const r = prng(c.seed);
  const sources = [], targets = [];
  for (let i = 0; i < c.B * c.batches * 4; i++) {
    const n = c.minLength + Math.floor(r() * (c.maxLength - c.minLength + 1));
    sources.push(Int32Array.from({ length: n }, () => 2 + Math.floor(r() * (c.Vs - 2))));
    targets.push(Int32Array.from({ length: n }, () => 2 + Math.floor(r() * (c.Vt - 2))));
  }
  const make = (rnn) => {
    rnn.manualSeed(1);
    return new rnn.Seq2Seq({
      sourceVocabSize: c.Vs, targetVocabSize: c.Vt, embeddingDim: c.E, hiddenSize: c.H, cell: 'lstm', encoderLayers: c.encoderLayers,
      decoderLayers: c.decoderLayers, bidirectional: true, attention: c.attention, inputFeeding: true, dropout: c.dropout,
    });
  };
  const f = fitPaired('Seq2Seq (G2P shape)', [rnnA, rnnB], make, { sources, targets }, { batchSize: c.B, optimizer: { type: 'Adam', lr: c.lr }, clipGradNorm: c.maxNorm });
  console.log(`Seq2Seq (G2P shape) fitSync pairs/s: per-parameter ${(c.B / f.a * 1e6).toFixed(0)}, arena ${(c.B / f.b * 1e6).toFixed(0)}`);
}

console.log(`rnn-native ${rnnB.version.package}, ${rnnB.getNumThreads()} kernel threads, ${ROUNDS} rounds; A (per-parameter): ${option('--a') ?? 'this tree'}, B (arena): this tree`);
if (which === 'charlm' || which === 'all') { run('char-LM LSTM 256', charlmSide); fitCharlm(); }
if (which === 'seq2seq' || which === 'all') { run('Seq2Seq (G2P shape)', seq2seqSide); fitSeq2seq(); }
