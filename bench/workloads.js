#!/usr/bin/env node
// rnn-native's side of the benchmark: one workload per process, one JSON line on stdout.
//
//   node bench/workloads.js <task> [--smoke] [--threads N] [--reps N] [--warmup N]
//   node bench/workloads.js --list
//
// Tasks: sgemm, charlm-lstm, charlm-gru, charlm-rnn_relu, charlm-autograd-lstm, layer-lstm, layer-gru,
// fastrnns-fwd, fastrnns-fwdbwd, bilstm, step, scaling-T, scaling-B, scaling-H, tree-lstm, tree-childsum,
// tree-rnn, seq2seq-train, seq2seq-beam, demo.
// bench/torch_workloads.py is the PyTorch twin (same task names, same sizes from
// bench/config.json). bench/run.js spawns both and compares them.
//
// Every timed metric: `warmup` iterations first (they also size a repetition so that it
// lasts about targetRepSeconds), then `reps` timed repetitions with process.hrtime.bigint;
// each sample is seconds per iteration, converted to the metric's unit.
'use strict';
const path = require('node:path');
const { parseArgs } = require('node:util');
const rnn = require('..');

const CONFIG = require('./config.json');

// ---- helpers ------------------------------------------------------------------------------

const { prng } = require('./common');
const rand = prng(12345);
function randomTensor(shape, scale = 1) {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = (rand() * 2 - 1) * scale;
  return new rnn.Tensor(d, shape);
}
function randomTokens(n, V) {
  const d = new Int32Array(n);
  for (let i = 0; i < n; i++) d[i] = Math.floor(rand() * V);
  return d;
}

const now = () => process.hrtime.bigint();
const seconds = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

/**
 * Warm-up, then `reps` repetitions of `iters` calls each. Warm-up makes `timing.warmup`
 * calls, but stops early once it has taken WARMUP_CAP seconds (a heavy call needs one);
 * `iters` is chosen from the fastest warm-up call so that a repetition lasts about
 * targetRepSeconds. Returns seconds per call, one sample per repetition.
 */
const WARMUP_CAP = 2;
function timeIt(fn, timing) {
  const warmStart = now();
  let fastest = Infinity;
  let warmCalls = 0;
  do {
    const t = now();
    fn();
    fastest = Math.min(fastest, seconds(t));
    warmCalls++;
  } while (warmCalls < timing.warmup && seconds(warmStart) < WARMUP_CAP);
  const iters = Math.max(1, Math.ceil(timing.targetRepSeconds / Math.max(fastest, 1e-9)));
  const samples = [];
  for (let r = 0; r < timing.reps; r++) {
    const t0 = now();
    for (let k = 0; k < iters; k++) fn();
    samples.push(seconds(t0) / iters);
  }
  return { samples, iters, warmCalls };
}

/** Forward GEMM FLOPs of one recurrent layer and direction: 2·T·B·G·H·(I + H). */
const gemmFlops = (T, B, G, I, H) => 2 * T * B * G * H * (I + H);
const GATES = { lstm: 4, gru: 3, rnn_relu: 1, rnn_tanh: 1 };

function makeLayer(cell, opts) {
  if (cell === 'lstm') return new rnn.LSTM(opts);
  if (cell === 'gru') return new rnn.GRU(opts);
  return new rnn.RNN({ ...opts, nonlinearity: cell === 'rnn_relu' ? 'relu' : 'tanh' });
}

const metric = (key, label, unit, better, samples, extra = {}) => ({ key, label, unit, better, samples, ...extra });

// ---- workloads ----------------------------------------------------------------------------

const tasks = {};

/**
 * SGEMM-rate proxy (for when PyTorch is absent): one large Linear forward (eval mode),
 * N×N by N×N, 2·N³ FLOPs, at 1 and at 2 threads (setNumThreads), in this one process.
 */
tasks.sgemm = (cfg, timing) => {
  const { N } = cfg.sgemm;
  const lin = new rnn.Linear({ inFeatures: N, outFeatures: N }).eval();
  const x = randomTensor([N, N]);
  const flops = 2 * N * N * N;
  const before = rnn.getNumThreads();
  const metrics = [];
  const iters = {};
  for (const n of [1, 2]) {
    rnn.setNumThreads(n);
    const r = timeIt(() => lin.forward(x), timing);
    iters[n] = r.iters;
    metrics.push(metric(`gflops-${n}`, `Linear forward ${N}×${N}·${N}×${N} (SGEMM proxy), ${n} thread${n > 1 ? 's' : ''}`, 'GFLOP/s', 'higher', r.samples.map((s) => flops / s / 1e9), { threads: n }));
  }
  rnn.setNumThreads(before);
  return { metrics, info: { N, iters, note: 'through rnn.Linear.forward, including the bias add and the output allocation' } };
};

/** Char-LM training step, as fitSync does it: zeroGrad, forward, loss, backward, clip, step. */
function charlm(cell) {
  return (cfg, timing) => {
    const { V, E, H, B, T, lr, maxNorm } = cfg.charlm;
    rnn.manualSeed(1);
    const model = new rnn.LanguageModel({ vocabSize: V, embeddingDim: E, hiddenSize: H, cell });
    const params = model.parameters();
    const opt = new rnn.Adam(params, { lr });
    const batches = 8;
    const stream = randomTokens((batches * T + 1) * B, V);
    let state;
    let k = 0;
    const step = () => {
      const i = (k++ % batches) * T;
      const x = stream.subarray(i * B, (i + T) * B);
      const y = stream.slice((i + 1) * B, (i + 1 + T) * B);
      model.zeroGrad();
      const out = model.forward(x, T, B, state);
      state = out.state; // carried; backward stops at the call boundary (detached)
      const { grad } = rnn.crossEntropy(out.logits, y);
      model.backward(grad);
      rnn.clipGradNorm(params, maxNorm);
      opt.step();
    };
    const r = timeIt(step, timing);
    const G = GATES[cell];
    const flops = 3 * (gemmFlops(T, B, G, E, H) + 2 * T * B * H * V);
    return {
      metrics: [
        metric('tokens', `char-LM ${cell} training step`, 'tokens/s', 'higher', r.samples.map((s) => (T * B) / s)),
        metric('gflops', `char-LM ${cell} GEMM rate`, 'GFLOP/s', 'higher', r.samples.map((s) => flops / s / 1e9)),
      ],
      info: { V, E, H, B, T, iters: r.iters, parameters: params.reduce((n, p) => n + p.size, 0) },
    };
  };
}
/**
 * The same step written with autograd, as a user composing modules would: Embedding → LSTM →
 * Linear → functional.crossEntropy, loss.backward(). The layer reads the embedding table by
 * id (V ≤ T·B) and, since the embedded tensor feeds only it, sums the table's gradient itself.
 */
function charlmAutograd(cell) {
  return (cfg, timing) => {
    const { V, E, H, B, T, lr, maxNorm } = cfg.charlm;
    rnn.manualSeed(1);
    const emb = new rnn.Embedding({ numEmbeddings: V, embeddingDim: E });
    const layer = cell === 'lstm' ? new rnn.LSTM({ inputSize: E, hiddenSize: H }) : cell === 'gru' ? new rnn.GRU({ inputSize: E, hiddenSize: H })
      : new rnn.RNN({ inputSize: E, hiddenSize: H, nonlinearity: 'relu' });
    const head = new rnn.Linear({ inFeatures: H, outFeatures: V });
    const params = [...emb.parameters(), ...layer.parameters(), ...head.parameters()];
    const opt = new rnn.Adam(params, { lr });
    const batches = 8;
    const stream = randomTokens((batches * T + 1) * B, V);
    let state;
    let k = 0;
    const step = () => {
      const i = (k++ % batches) * T;
      const x = stream.subarray(i * B, (i + T) * B);
      const y = stream.slice((i + 1) * B, (i + 1 + T) * B);
      opt.zeroGrad();
      const out = layer.forward(emb.forward(x, [T, B]), state);
      state = out.c ? { h: out.h.detach(), c: out.c.detach() } : { h: out.h.detach() }; // truncated BPTT
      rnn.functional.crossEntropy(head.forward(out.output.reshape([T * B, H])), y).backward();
      rnn.clipGradNorm(params, maxNorm);
      opt.step();
    };
    const r = timeIt(step, timing);
    const flops = 3 * (gemmFlops(T, B, GATES[cell], E, H) + 2 * T * B * H * V);
    return {
      metrics: [
        metric('tokens', `char-LM ${cell} training step, autograd`, 'tokens/s', 'higher', r.samples.map((s) => (T * B) / s)),
        metric('gflops', `char-LM ${cell} GEMM rate, autograd`, 'GFLOP/s', 'higher', r.samples.map((s) => flops / s / 1e9)),
      ],
      info: { V, E, H, B, T, iters: r.iters, parameters: params.reduce((n, p) => n + p.size, 0) },
    };
  };
}
tasks['charlm-autograd-lstm'] = charlmAutograd('lstm');
tasks['charlm-lstm'] = charlm('lstm');
tasks['charlm-gru'] = charlm('gru');
tasks['charlm-rnn_relu'] = charlm('rnn_relu');

/** One layer, forward + backward (training mode), with the RSS it peaks at. */
function layer(cell) {
  return (cfg, timing) => {
    const { I, H, B, T } = cfg.layer;
    // The workload's own input and output gradient exist before the baseline: the growth
    // is what the layer holds (parameters, gradients, saved activations, its workspaces).
    const x = randomTensor([T, B, I]);
    const dy = randomTensor([T, B, H], 0.01);
    if (global.gc) global.gc();
    const baselineRss = process.memoryUsage().rss;
    const lstm = makeLayer(cell, { inputSize: I, hiddenSize: H });
    // Memory first, before the timing loop: each call returns fresh output and gradient
    // arrays, and without a collection between calls V8 keeps several generations of them
    // alive, which measures the garbage collector's schedule, not the library (PyTorch
    // frees its outputs by reference counting). With --expose-gc, collect after each call.
    for (let i = 0; i < 3; i++) {
      lstm.forward(x);
      lstm.backward(dy);
      if (global.gc) global.gc();
    }
    const memory = memoryInfo(baselineRss);
    memory.collected = Boolean(global.gc);
    const r = timeIt(() => {
      lstm.forward(x);
      lstm.backward(dy);
    }, timing);
    const G = GATES[cell];
    const flops = 3 * gemmFlops(T, B, G, I, H);
    const P = lstm.parameters().reduce((n, p) => n + p.size, 0);
    return {
      metrics: [metric('gflops', `${cell.toUpperCase()} layer forward+backward`, 'GFLOP/s', 'higher', r.samples.map((s) => flops / s / 1e9), { flops })],
      info: { I, H, B, T, G, iters: r.iters, parameters: P, memory },
    };
  };
}
function memoryInfo(baselineRss) {
  return { baselineRss, peakRss: process.resourceUsage().maxRSS * 1024 };
}
tasks['layer-lstm'] = layer('lstm');
tasks['layer-gru'] = layer('gru');

/** PyTorch's fastrnns default: LSTM I = H = 512, B 64, T 100. */
function fastrnns(withBackward) {
  return (cfg, timing) => {
    const { I, H, B, T } = cfg.fastrnns;
    const lstm = new rnn.LSTM({ inputSize: I, hiddenSize: H });
    const x = randomTensor([T, B, I]);
    const dy = randomTensor([T, B, H], 0.01);
    const fn = withBackward
      ? () => {
          lstm.forward(x);
          lstm.backward(dy);
        }
      : () => lstm.forward(x);
    if (!withBackward) lstm.eval();
    const r = timeIt(fn, timing);
    const flops = (withBackward ? 3 : 1) * gemmFlops(T, B, 4, I, H);
    const what = withBackward ? 'forward+backward' : 'forward (eval)';
    return {
      metrics: [
        metric('ms', `fastrnns LSTM ${what}`, 'ms', 'lower', r.samples.map((s) => s * 1e3)),
        metric('gflops', `fastrnns LSTM ${what} rate`, 'GFLOP/s', 'higher', r.samples.map((s) => flops / s / 1e9)),
      ],
      info: { I, H, B, T, iters: r.iters },
    };
  };
}
tasks['fastrnns-fwd'] = fastrnns(false);
tasks['fastrnns-fwdbwd'] = fastrnns(true);

/** Inference: a 2-layer bidirectional LSTM over a (T, B, I) batch, eval mode. */
tasks.bilstm = (cfg, timing) => {
  const { I, H, L, B, T } = cfg.bilstm;
  const lstm = new rnn.LSTM({ inputSize: I, hiddenSize: H, numLayers: L, bidirectional: true }).eval();
  const x = randomTensor([T, B, I]);
  const r = timeIt(() => lstm.forward(x), timing);
  let flops = 0;
  for (let l = 0; l < L; l++) flops += 2 * gemmFlops(T, B, 4, l === 0 ? I : 2 * H, H);
  return {
    metrics: [
      metric('seqs', `${L}-layer bidirectional LSTM inference`, 'sequences/s', 'higher', r.samples.map((s) => B / s)),
      metric('gflops', `${L}-layer bidirectional LSTM inference rate`, 'GFLOP/s', 'higher', r.samples.map((s) => flops / s / 1e9)),
    ],
    info: { I, H, L, B, T, iters: r.iters },
  };
};

/**
 * A forest for the tree tasks, the same in bench/torch_workloads.py (same generator, same
 * arithmetic): per tree, minLeaves..maxLeaves leaves, then random runs of 2..fan adjacent
 * nodes merged under a new parent until one root is left (fan 2: binary trees, as a parse).
 * Node ids: in creation order (leaves of a tree first, then its parents).
 */
function benchForest(seed, trees, minLeaves, maxLeaves, fan) {
  const r = prng(seed);
  const kids = [];
  for (let t = 0; t < trees; t++) {
    const L = minLeaves + Math.floor(r() * (maxLeaves - minLeaves + 1));
    const frontier = [];
    for (let i = 0; i < L; i++) {
      frontier.push(kids.length);
      kids.push([]);
    }
    while (frontier.length > 1) {
      const k = Math.min(frontier.length, fan === 2 ? 2 : 2 + Math.floor(r() * (fan - 1)));
      const i = Math.floor(r() * (frontier.length - k + 1));
      kids.push(frontier.slice(i, i + k));
      frontier.splice(i, k, kids.length - 1);
    }
  }
  const offsets = new Int32Array(kids.length + 1);
  kids.forEach((k, n) => (offsets[n + 1] = offsets[n] + k.length));
  return { N: kids.length, offsets, index: Int32Array.from(kids.flat()) };
}

/**
 * Tree layer training step: forward over a forest of random trees and backward of
 * sum(h ⊙ R) (every node's state matters, as with a loss at every node), parameter gradients.
 * Nodes per second. PyTorch's twin times a node-by-node and a level-batched implementation.
 */
function treeTask(kind) {
  return (cfg, timing) => {
    const { I, H, trees, minLeaves, maxLeaves, maxFan, seed } = cfg.trees;
    const { N, offsets, index } = benchForest(seed, trees, minLeaves, maxLeaves, kind === 'childsum' ? maxFan : 2);
    rnn.manualSeed(1);
    const layer = kind === 'nary' ? new rnn.NaryTreeLSTM({ inputSize: I, hiddenSize: H, arity: 2 })
      : kind === 'childsum' ? new rnn.ChildSumTreeLSTM({ inputSize: I, hiddenSize: H })
        : new rnn.TreeRNN({ inputSize: I, hiddenSize: H, arity: 2 });
    const x = randomTensor([N, I]);
    const R = randomTensor([N, H], 0.01);
    const children = { offsets, index };
    const F = rnn.functional;
    const step = () => {
      layer.zeroGrad();
      F.sum(F.mul(layer.forward(x, children).h, R)).backward();
    };
    const r = timeIt(step, timing);
    const names = { nary: 'N-ary TreeLSTM (arity 2)', childsum: 'child-sum TreeLSTM', rnn_tanh: 'TreeRNN (tanh, arity 2)' };
    return {
      metrics: [metric('nodes', `${names[kind]} training step`, 'nodes/s', 'higher', r.samples.map((s) => N / s))],
      info: { kind, I, H, trees, minLeaves, maxLeaves, maxFan, N, edges: index.length, levels: rnn.treeLevels(children).numLevels, iters: r.iters },
    };
  };
}
tasks['tree-lstm'] = treeTask('nary');
tasks['tree-childsum'] = treeTask('childsum');
tasks['tree-rnn'] = treeTask('rnn_tanh');

/**
 * One-step latency at B 1, carrying {h, c}: LSTM.forward in eval mode with T = B = 1; then the
 * same layer with bf16 and int8 weights (setPrecision; no PyTorch twin for those rows).
 */
tasks.step = (cfg, timing) => {
  const metrics = [];
  const info = { sizes: cfg.step.sizes, iters: {}, kernels: { bf16: null, int8: null } };
  for (const n of cfg.step.sizes) {
    for (const precision of ['float32', 'bf16', 'int8']) {
      const lstm = new rnn.LSTM({ inputSize: n, hiddenSize: n }).eval().setPrecision(precision);
      const x = randomTensor([1, 1, n]);
      let state = { h: rnn.Tensor.zeros([1, 1, n]), c: rnn.Tensor.zeros([1, 1, n]) };
      const r = timeIt(() => {
        const out = lstm.forward(x, state);
        state = { h: out.h, c: out.c };
      }, { ...timing, warmup: Math.max(timing.warmup, 20) });
      const suffix = precision === 'float32' ? '' : `-${precision}`;
      info.iters[`${n}${suffix}`] = r.iters;
      const kernel = precision === 'float32' ? '' : `, ${precision} weights (${kernelOf(precision)})`;
      if (precision !== 'float32') info.kernels[precision] = kernelOf(precision);
      metrics.push(metric(`us-${n}${suffix}`, `LSTM one step, B 1, I = H = ${n}${kernel}`, 'µs/step', 'lower', r.samples.map((s) => s * 1e6)));
    }
  }
  return { metrics, info };
};

/** The kernel a precision's products run on here. */
function kernelOf(precision) {
  return require('../dist/native/addon').native.rowDotIsa(precision === 'bf16' ? 1 : 2);
}

/** LSTM forward+backward against T, B and H, each doubled from the base. */
function scaling(axis) {
  return (cfg, timing) => {
    const base = cfg.scaling;
    const metrics = [];
    const configs = [];
    for (let d = 0; d <= base.doublings; d++) {
      const c = { T: base.T, B: base.B, H: base.H, I: base.I };
      c[axis] *= 2 ** d;
      const lstm = new rnn.LSTM({ inputSize: c.I, hiddenSize: c.H });
      const x = randomTensor([c.T, c.B, c.I]);
      const dy = randomTensor([c.T, c.B, c.H], 0.01);
      const r = timeIt(() => {
        lstm.forward(x);
        lstm.backward(dy);
      }, timing);
      const flops = 3 * gemmFlops(c.T, c.B, 4, c.I, c.H);
      configs.push({ ...c, flops, iters: r.iters });
      metrics.push(
        metric(`${axis}${c[axis]}`, `LSTM fwd+bwd ${axis} ${c[axis]} (T ${c.T}, B ${c.B}, H ${c.H}, I ${c.I})`, 'ms', 'lower', r.samples.map((s) => s * 1e3), {
          flops,
          config: c,
        }),
      );
    }
    return { metrics, info: { axis, configs } };
  };
}
tasks['scaling-T'] = scaling('T');
tasks['scaling-B'] = scaling('B');
tasks['scaling-H'] = scaling('H');

/**
 * The demo's configuration (examples/demo.js): train for a fixed wall time with fit() and
 * report the validation bits per character reached. The corpus comes from
 * bench/demo_corpus.js, the same one demo_torch.py reads.
 */
// ---- encoder–decoder (the G2P model's shape) ------------------------------------------------

/**
 * Pairs for the seq2seq tasks, the same in bench/torch_workloads.py: `batches` batches of B
 * pairs, source lengths uniform in [minLength, maxLength], the target as long as its source
 * (as in grapheme-to-phoneme), ids from 2 (0 is EOS, 1 unknown).
 */
function seq2seqPairs(c) {
  const r = prng(c.seed);
  const out = [];
  for (let k = 0; k < c.batches; k++) {
    const sources = [], targets = [];
    for (let b = 0; b < c.B; b++) {
      const n = c.minLength + Math.floor(r() * (c.maxLength - c.minLength + 1));
      sources.push(Int32Array.from({ length: n }, () => 2 + Math.floor(r() * (c.Vs - 2))));
      targets.push(Int32Array.from({ length: n }, () => 2 + Math.floor(r() * (c.Vt - 2))));
    }
    out.push({ sources, targets });
  }
  return out;
}
function seq2seqModel(c) {
  rnn.manualSeed(1);
  return new rnn.Seq2Seq({
    sourceVocabSize: c.Vs, targetVocabSize: c.Vt, embeddingDim: c.E, hiddenSize: c.H, cell: 'lstm', encoderLayers: c.encoderLayers,
    decoderLayers: c.decoderLayers, bidirectional: true, attention: c.attention, inputFeeding: true, dropout: c.dropout,
  });
}

/**
 * Seq2Seq training step (teacher forcing, dropout on, Adam, clip): target tokens (EOS
 * included) and pairs per second, cycling through the batches.
 */
tasks['seq2seq-train'] = (cfg, timing) => {
  const c = cfg.seq2seq;
  const model = seq2seqModel(c);
  const batches = seq2seqPairs(c).map((p) => model.batch(p.sources, p.targets));
  const params = model.parameters();
  const opt = new rnn.Adam(params, { lr: c.lr });
  let k = 0;
  const step = () => {
    const batch = batches[k++ % batches.length];
    opt.zeroGrad();
    model.loss(batch).backward();
    rnn.clipGradNorm(params, c.maxNorm);
    opt.step();
  };
  // A repetition must cover whole cycles of the batches: time the cycle, report per batch.
  const cycle = () => { for (let i = 0; i < batches.length; i++) step(); };
  const r = timeIt(cycle, timing);
  const tokens = batches.reduce((n, b) => n + b.tokens, 0), pairs = batches.length * c.B;
  return {
    metrics: [
      metric('tokens', 'Seq2Seq training step', 'target tokens/s', 'higher', r.samples.map((s) => tokens / s)),
      metric('pairs', 'Seq2Seq training step', 'pairs/s', 'higher', r.samples.map((s) => pairs / s)),
    ],
    info: { ...c, params: model.numParameters(), tokensPerCycle: tokens, iters: r.iters },
  };
};

/**
 * Beam search over one batch of B sources (beam K, eval mode). The output layer's EOS bias is
 * pushed down so that every hypothesis runs to beamMaxLength: both sides decode exactly the
 * same number of steps whatever their weights. Sources (words) per second.
 */
tasks['seq2seq-beam'] = (cfg, timing) => {
  const c = cfg.seq2seq;
  const model = seq2seqModel(c);
  model.decoder.out.bias.data[0] = -1e4;
  const { sources } = seq2seqPairs(c)[0];
  const decode = () => model.translate(sources, { beamSize: c.beam, maxLength: c.beamMaxLength });
  const r = timeIt(decode, timing);
  return {
    metrics: [metric('words', `Seq2Seq beam search (K ${c.beam}, ${c.beamMaxLength} steps)`, 'words/s', 'higher', r.samples.map((s) => c.B / s))],
    info: { ...c, iters: r.iters },
  };
};

tasks.demo = async (cfg) => {
  const d = cfg.demo;
  const { loadCorpus } = require('./demo_corpus.js');
  const { text, what } = loadCorpus(d.maxChars);
  const vocab = rnn.Vocabulary.fromText(text, 'char');
  const ids = vocab.encode(text);
  const cut = Math.floor(ids.length * d.trainFraction); // demo.js: the last 2% is validation
  const train = ids.subarray(0, cut);
  const validation = ids.subarray(cut);
  rnn.manualSeed(d.seed ?? 1234);
  const model = new rnn.LanguageModel({ vocabSize: vocab.size, embeddingDim: d.E, hiddenSize: d.H, cell: 'lstm' });
  const curve = [];
  const started = now();
  const result = await rnn.fit(model, train, {
    validationData: validation,
    epochs: d.epochs ?? 1, // as examples/demo.js: maxSeconds ends the run first
    batchSize: d.B,
    seqLength: d.T,
    optimizer: { type: 'Adam', lr: d.lr },
    scheduler: { type: 'StepLR', stepSize: d.stepSize, gamma: d.gamma },
    clipGradNorm: d.maxNorm,
    maxSeconds: d.seconds,
    validateEvery: d.validateEvery,
    progress: false,
    onValidation: (v) => curve.push({ step: v.step, seconds: seconds(started), bpc: v.bitsPerToken }),
  });
  const last = result.epochs[result.epochs.length - 1];
  curve.push({ step: result.steps, seconds: seconds(started), bpc: last.bitsPerToken });
  return {
    metrics: [metric('bpc', `demo: validation bits/char after ${d.seconds} s`, 'bits/char', 'lower', [last.bitsPerToken])],
    info: { corpus: what, characters: ids.length, vocab: vocab.size, E: d.E, H: d.H, B: d.B, T: d.T, lr: d.lr, stepSize: d.stepSize, gamma: d.gamma, maxNorm: d.maxNorm, validateEvery: d.validateEvery, steps: result.steps, reason: result.reason, seconds: d.seconds, wallSeconds: seconds(started), curve },
  };
};

// ---- main ---------------------------------------------------------------------------------

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      smoke: { type: 'boolean', default: false },
      threads: { type: 'string' },
      reps: { type: 'string' },
      warmup: { type: 'string' },
      list: { type: 'boolean', default: false },
      seconds: { type: 'string' }, // demo only: the wall time to train for
      seed: { type: 'string' }, // demo only: the initialisation seed (default 1234, as the demo)
    },
  });
  if (values.list) {
    console.log(Object.keys(tasks).join('\n'));
    return;
  }
  const name = positionals[0];
  if (!name || !tasks[name]) {
    console.error(`usage: node bench/workloads.js <task> [--smoke] [--threads N]\ntasks: ${Object.keys(tasks).join(', ')}`);
    process.exit(2);
  }
  if (process.env.BENCH_SMOKE === '1') values.smoke = true;
  const mode = values.smoke ? 'smoke' : 'full';
  const cfg = Object.fromEntries(Object.entries(CONFIG).filter(([k]) => !k.startsWith('_')).map(([k, v]) => [k, v[mode]]));
  const timing = { ...cfg.timing };
  if (values.reps) timing.reps = Number(values.reps);
  if (values.warmup) timing.warmup = Number(values.warmup);
  if (values.threads) rnn.setNumThreads(Number(values.threads));
  if (values.seconds) cfg.demo = { ...cfg.demo, seconds: Number(values.seconds) };
  if (values.seed) cfg.demo = { ...cfg.demo, seed: Number(values.seed) };
  const t0 = now();
  const out = await tasks[name](cfg, timing);
  console.log(
    JSON.stringify({
      impl: 'rnn-native',
      task: name,
      mode,
      threads: rnn.getNumThreads(),
      timing,
      wallSeconds: seconds(t0),
      ...out,
      env: {
        node: process.version,
        package: rnn.version.package,
        openblas: rnn.version.openblas,
        napi: rnn.version.napi,
        OPENBLAS_NUM_THREADS: process.env.OPENBLAS_NUM_THREADS ?? null,
        script: path.relative(process.cwd(), __filename),
      },
    }),
  );
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
