#!/usr/bin/env node
// Paired A/B of two builds of rnn-native in one process, for judging a kernel change on a
// noisy machine (on this VM a 2-thread step can take 29 or 40 ms for minutes at a time, so
// two separate runs disagree by more than most changes gain).
//
//   node bench/ab.js snapshot NAME          # copies the current build to /tmp/rnn-native-ab/NAME
//   node bench/ab.js TASK DIR_A DIR_B [...]  # alternates blocks of calls, prints medians and B/A
//   (a DIR may be written DIR@TASK to run another task there: two paths of one build compared)
//
// Tasks: train-lstm, train-gru, train-rnn_relu (the char-LM training step of bench/config.json),
// ag-lstm, ag-gru, ag-rnn_relu (the same step written with autograd: Embedding → LSTM → Linear →
// functional.crossEntropy, loss.backward()),
// fwd-lstm, fwd-gru, fwd-rnn_relu (its forward only), step-N (one LSTM step, B 1, I = H = N),
// layer-lstm, layer-gru (the layer workload: forward + backward), fastrnns-fwd, fastrnns-fwdbwd,
// bilstm (the 2-layer bidirectional inference) — sizes from bench/config.json.
// Each round runs a block of calls of every build in turn (A, B, A, B, …, 30 rounds) with a
// short pause between blocks so that each build's idle kernel threads fall asleep; the
// verdict is the median over rounds of the paired ratio B/A, which a slow phase moves for
// both builds alike. Two builds in one process each have their own kernel threads: never
// run anything else meanwhile.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const SNAPSHOTS = '/tmp/rnn-native-ab';
const config = require('./config.json');
const charlm = config.charlm.full;

/** A (T, B, n) tensor of small deterministic values. */
function filled(rnn, shape, scale) {
  const t = rnn.Tensor.zeros(shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = scale * Math.sin(i * 0.37);
  return t;
}

function snapshot(name) {
  const dir = path.join(SNAPSHOTS, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'build', 'Release'), { recursive: true });
  fs.cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  fs.copyFileSync(path.join(ROOT, 'build', 'Release', 'rnn_native.node'), path.join(dir, 'build', 'Release', 'rnn_native.node'));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  console.log(`snapshot of the current build (dist/ and build/Release) in ${dir}`);
}

/** One build's workload: a function doing one call, and how many calls make a block. */
function workload(task, dir) {
  const rnn = require(path.resolve(dir));
  rnn.manualSeed(1);
  const [kind, arg] = task.split('-');
  if (kind === 'step') {
    const n = Number(arg || 256);
    const lstm = new rnn.LSTM({ inputSize: n, hiddenSize: n }).eval();
    const x = rnn.Tensor.zeros([1, 1, n]);
    x.data.fill(0.1);
    let state = { h: rnn.Tensor.zeros([1, 1, n]), c: rnn.Tensor.zeros([1, 1, n]) };
    return { block: 2000, call: () => { const o = lstm.forward(x, state); state = { h: o.h, c: o.c }; } };
  }
  if (kind === 'layer' || kind === 'fastrnns') {
    const { I, H, B, T } = config[kind].full;
    const cell = kind === 'layer' ? arg : 'lstm';
    const layer = cell === 'gru' ? new rnn.GRU({ inputSize: I, hiddenSize: H }) : new rnn.LSTM({ inputSize: I, hiddenSize: H });
    const x = filled(rnn, [T, B, I], 1);
    const dy = filled(rnn, [T, B, H], 0.01);
    if (arg === 'fwd') {
      layer.eval();
      return { block: 2, call: () => layer.forward(x) };
    }
    return { block: 1, call: () => { layer.forward(x); layer.backward(dy); } };
  }
  if (kind === 'bilstm') {
    const { I, H, L, B, T } = config.bilstm.full;
    const layer = new rnn.LSTM({ inputSize: I, hiddenSize: H, numLayers: L, bidirectional: true }).eval();
    const x = filled(rnn, [T, B, I], 1);
    return { block: 2, call: () => layer.forward(x) };
  }
  const { V, E, H, B, T, lr, maxNorm } = charlm;
  if (kind === 'ag') {
    const cell = arg || 'lstm';
    const emb = new rnn.Embedding({ numEmbeddings: V, embeddingDim: E });
    const layer = cell === 'lstm' ? new rnn.LSTM({ inputSize: E, hiddenSize: H }) : cell === 'gru' ? new rnn.GRU({ inputSize: E, hiddenSize: H })
      : new rnn.RNN({ inputSize: E, hiddenSize: H, nonlinearity: 'relu' });
    const head = new rnn.Linear({ inFeatures: H, outFeatures: V });
    const params = [...emb.parameters(), ...layer.parameters(), ...head.parameters()];
    const opt = new rnn.Adam(params, { lr });
    const ids = Int32Array.from({ length: (T + 1) * B }, (_, i) => (i * 7919) % V);
    const x = ids.subarray(0, T * B);
    const y = ids.slice(B);
    return {
      block: 5,
      call: () => {
        opt.zeroGrad();
        const { output } = layer.forward(emb.forward(x, [T, B]));
        const loss = rnn.functional.crossEntropy(head.forward(output.reshape([T * B, H])), y);
        loss.backward();
        rnn.clipGradNorm(params, maxNorm);
        opt.step();
      },
    };
  }
  const model = new rnn.LanguageModel({ vocabSize: V, embeddingDim: E, hiddenSize: H, cell: arg || 'lstm' });
  const params = model.parameters();
  const opt = new rnn.Adam(params, { lr });
  const ids = Int32Array.from({ length: (T + 1) * B }, (_, i) => (i * 7919) % V);
  const x = ids.subarray(0, T * B);
  const y = ids.slice(B);
  const train = kind === 'train';
  if (!train && kind !== 'fwd') throw new Error(`unknown task ${task}`);
  return {
    block: 5,
    call: () => {
      model.zeroGrad();
      const out = model.forward(x, T, B);
      if (!train) return;
      model.backward(rnn.crossEntropy(out.logits, y).grad);
      rnn.clipGradNorm(params, maxNorm);
      opt.step();
    },
  };
}

function main(argv) {
  if (argv[0] === 'snapshot' && argv[1]) return snapshot(argv[1]);
  const [task, ...dirs] = argv;
  if (!task || dirs.length < 2) {
    console.error('usage: node bench/ab.js snapshot NAME | node bench/ab.js TASK DIR_A DIR_B [...]');
    process.exit(2);
  }
  const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  const builds = dirs.map((spec) => {
    const [d, own] = spec.split('@');
    return { dir: spec, ...workload(own || task, d), us: [] };
  });
  for (let round = 0; round < 30; round++)
    for (const b of builds) {
      b.call(); // the first call of a block wakes the kernel threads
      const t0 = process.hrtime.bigint();
      for (let k = 0; k < b.block; k++) b.call();
      b.us.push(Number(process.hrtime.bigint() - t0) / b.block / 1e3);
      pause(3);
    }
  const median = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];
  for (const b of builds) console.log(`${task}  ${b.dir}: median ${median(b.us).toFixed(1)} µs, min ${Math.min(...b.us).toFixed(1)} µs`);
  for (const b of builds.slice(1))
    console.log(`paired ratio ${path.basename(b.dir)} / ${path.basename(builds[0].dir)}: ${median(b.us.map((t, k) => t / builds[0].us[k])).toFixed(3)}`);
}

main(process.argv.slice(2));
