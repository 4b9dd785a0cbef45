#!/usr/bin/env node
// A short tour of the native code for `npm run test:valgrind` (scripts/test-valgrind.sh runs
// it under valgrind memcheck; docs/sanitizers.md). Uses the public API from dist/, so build
// the TypeScript first. Every part is small: under memcheck each kernel call is ~50x slower.
// Exits non-zero if a result is not finite or a round trip differs.
'use strict';
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const rnn = require('..');

const { Tensor, RNN, LSTM, GRU, Linear, Embedding, Adam, SGD, clipGradNorm, clipGradValue, crossEntropy } = rnn;
const t0 = Date.now();
const step = (what) => console.log(`valgrind-smoke: ${what} (${Date.now() - t0} ms)`);

function filled(shape, seed) {
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor(Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed) * 0.5), shape);
}
function finite(what, ...arrays) {
  for (const a of arrays) for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) throw new Error(`${what}: element ${i} is ${a[i]}`);
}

async function main() {
  rnn.manualSeed(1);
  rnn.setNumThreads(2); // the kernels' own threads, and OpenBLAS inside them

  // Every cell, stacked and bidirectional, variable lengths, batch-first, dropout: forward
  // and backward through time, then one optimizer step with clipping.
  const T = 5, B = 3, I = 4, H = 6;
  const layers = [
    new RNN({ inputSize: I, hiddenSize: H, numLayers: 2, bidirectional: true }),
    new RNN({ inputSize: I, hiddenSize: H, nonlinearity: 'relu', batchFirst: true }),
    new LSTM({ inputSize: I, hiddenSize: H, numLayers: 2, bidirectional: true, dropout: 0.25 }),
    new GRU({ inputSize: I, hiddenSize: H, numLayers: 2, bidirectional: true }),
    new LSTM({ inputSize: I, hiddenSize: H, bias: false, batchFirst: true }),
  ];
  const lengths = Int32Array.from([5, 2, 4]);
  for (const layer of layers) {
    const x = filled(layer.batchFirst ? [B, T, I] : [T, B, I], 1);
    const { output } = layer.forward(x, undefined, { lengths });
    const grads = layer.backward(filled(output.shape, 2));
    finite(`${layer.constructor.name}.backward`, output.data, grads.gradInput.data, ...layer.parameters().map((p) => p.grad));
    const params = layer.parameters();
    clipGradNorm(params, 1.0);
    clipGradValue(params, 0.5);
    new Adam(params, { lr: 1e-2, amsgrad: true }).step();
    layer.eval();
    const sync = layer.forward(x, undefined, { lengths });
    const async = await layer.forwardAsync(x, undefined, { lengths });
    assert.deepStrictEqual(Array.from(async.output.data), Array.from(sync.output.data));
  }
  step('RNN/LSTM/GRU forward, backward, forwardAsync, Adam, clipping');

  // Sizes past the kernels' thresholds for splitting work over the two threads (row-split
  // GEMMs, the batch-1 GEMV path, the optimizer's parallel chunks of 2^16 elements).
  for (const Layer of [LSTM, GRU]) {
    const big = new Layer({ inputSize: 32, hiddenSize: 128, bidirectional: true });
    for (const b of [1, 8]) {
      const x = filled([6, b, 32], b);
      const { output } = big.forward(x);
      big.backward(filled(output.shape, 3));
      big.eval();
      const one = await big.forwardAsync(x);
      big.train();
      finite(`${Layer.name} H=128 B=${b}`, one.output.data, ...big.parameters().map((p) => p.grad));
    }
    new Adam(big.parameters(), { lr: 1e-3 }).step();
  }
  step('LSTM/GRU H=128 at B=1 and B=8, two threads');

  // Embedding -> Linear -> cross-entropy, by hand, with SGD (momentum, nesterov).
  const emb = new Embedding({ numEmbeddings: 11, embeddingDim: 5, paddingIdx: 0 });
  const lin = new Linear({ inFeatures: 5, outFeatures: 11 });
  const ids = Int32Array.from([1, 4, 0, 10, 3, 3]);
  const targets = Int32Array.from([4, 0, 10, 3, 3, -100]);
  const opt = new SGD([...emb.parameters(), ...lin.parameters()], { lr: 0.1, momentum: 0.9, nesterov: true });
  for (let k = 0; k < 3; k++) {
    opt.zeroGrad();
    const logits = lin.forward(emb.forward(ids, [ids.length]));
    const { loss, grad } = crossEntropy(logits, targets, { labelSmoothing: 0.1 });
    assert(Number.isFinite(loss));
    emb.backward(lin.backward(grad));
    opt.step();
  }
  finite('Linear', (await lin.forwardAsync(emb.forward(ids, [ids.length]))).data);
  step('Embedding, Linear, crossEntropy, SGD, Linear.forwardAsync');

  // A tiny character language model: a few training steps with fitSync (clipping, AdamW,
  // a scheduler, validation), generation both ways, then a save/load round trip.
  const text = 'the quick brown fox jumps over the lazy dog. '.repeat(12);
  const vocab = rnn.Vocabulary.fromText(text, 'char');
  const lm = new rnn.LanguageModel({ vocabSize: vocab.size, hiddenSize: 16, embeddingDim: 8, numLayers: 2, cell: 'lstm', dropout: 0.1 });
  const result = rnn.fitSync(lm, vocab.encode(text), {
    epochs: 1, batchSize: 4, seqLength: 8, maxBatches: 6, clipGradNorm: 1, seed: 3,
    optimizer: { type: 'AdamW', lr: 1e-2 }, scheduler: { type: 'CosineAnnealingLR', tMax: 10 },
  });
  assert(result.steps > 0 && Number.isFinite(result.epochs[result.epochs.length - 1].valLoss), 'fitSync losses');
  step('LanguageModel fitSync');
  const prompt = vocab.encode('the ');
  const a = lm.generate({ prompt, maxLength: 20, topP: 0.9, seed: 5 });
  const b = await lm.generateAsync({ prompt, maxLength: 20, topP: 0.9, seed: 5 });
  assert.deepStrictEqual(Array.from(b), Array.from(a));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-valgrind-'));
  try {
    const file = path.join(dir, 'model.safetensors');
    rnn.saveLanguageModel(file, lm, vocab);
    const { model } = rnn.loadLanguageModel(file);
    assert.deepStrictEqual(Array.from(model.generate({ prompt, maxLength: 20, topP: 0.9, seed: 5 })), Array.from(a));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  step('generate, generateAsync, save and load a model file');
  for (const gru of [new rnn.LanguageModel({ vocabSize: vocab.size, hiddenSize: 8, embeddingDim: 4, cell: 'gru' })]) {
    rnn.fitSync(gru, vocab.encode(text), { epochs: 1, batchSize: 2, seqLength: 6, maxBatches: 2, seed: 4, optimizer: { type: 'RMSprop', lr: 1e-2, centered: true, momentum: 0.5 } });
  }
  step('GRU language model with RMSprop');
  console.log('valgrind-smoke: ok');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
