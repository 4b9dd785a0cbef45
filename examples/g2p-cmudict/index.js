#!/usr/bin/env node
'use strict';
// Grapheme-to-phoneme conversion on the CMU Pronouncing Dictionary: an attention
// encoder–decoder (rnn-native's Seq2Seq) trained for a time budget, then beam search on the
// held-out words, ending with the line `g2p: test WER=<x>% PER=<y>%`.
//
//   npm run example:g2p                      # 45 minutes of training (the default budget)
//   node examples/g2p-cmudict --minutes 10   # another budget
//   node examples/g2p-cmudict --quick        # a one-minute smoke run on a tenth of the data
//
// The data, its split and the scoring rules are in data.js. The defaults below are the
// settings README reports; bench/g2p_torch.py trains the PyTorch twin of the same model with
// the same ones.
const path = require('node:path');
const { parseArgs } = require('node:util');
const rnn = require('../..');
const { load, score } = require('./data');

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '45' }, quick: { type: 'boolean', default: false },
    seed: { type: 'string', default: '1' }, beam: { type: 'string', default: '5' },
    json: { type: 'string' },
  },
});
const SETTINGS = {
  cell: 'lstm', embeddingDim: 128, hiddenSize: 256, encoderLayers: 2, decoderLayers: 1, bidirectional: true,
  attention: 'general', inputFeeding: true, dropout: 0.2,
  batchSize: 64, bucketSize: 50, lr: 2e-3, clipGradNorm: 5,
  // The learning rate follows a cosine from lr down to minLr over the time budget (stepped by
  // percent of the budget elapsed, so it anneals over any --minutes); validation loss and
  // token accuracy are reported every validateEvery batches (about 2 minutes here).
  schedule: 'cosine over the budget', minLr: 2e-5, validateEvery: 1500,
};
const minutes = args.quick ? 1 : Number(args.minutes);
if (!(minutes > 0)) throw new RangeError(`--minutes must be a positive number, received ${args.minutes}`);
const seed = Number(args.seed);
const beamSize = Number(args.beam);

const split = load();
if (args.quick) for (const k of ['train', 'valid', 'test']) split[k] = split[k].filter((_, i) => i % 10 === 0);
// Vocabularies: the training words' letters, and the 39 phonemes (ids 0 and 1 are <eos>, <unk>).
const letters = new rnn.Vocabulary(['<eos>', '<unk>', ...[...new Set(split.train.flatMap((e) => [...e.word]))].sort()], 'char');
const phonemes = new rnn.Vocabulary(['<eos>', '<unk>', ...[...new Set(split.train.flatMap((e) => e.pronunciations.flat()))].sort()], 'word');
const pairs = (entries) => {
  const out = { sources: [], targets: [] };
  for (const e of entries)
    for (const p of e.pronunciations) {
      out.sources.push(letters.encode(e.word));
      out.targets.push(phonemes.encode(p.join(' ')));
    }
  return out;
};
const train = pairs(split.train);
const valid = pairs(split.valid);
const decodeAll = (model, entries, opts) => {
  const out = [];
  for (let i = 0; i < entries.length; i += 64) {
    const batch = entries.slice(i, i + 64).map((e) => letters.encode(e.word));
    for (const ids of model.translate(batch, opts)) out.push(phonemes.decode(ids).split(' ').filter(Boolean));
  }
  return out;
};

rnn.manualSeed(seed);
const model = new rnn.Seq2Seq({
  sourceVocabSize: letters.size, targetVocabSize: phonemes.size, embeddingDim: SETTINGS.embeddingDim, hiddenSize: SETTINGS.hiddenSize,
  cell: SETTINGS.cell, encoderLayers: SETTINGS.encoderLayers, decoderLayers: SETTINGS.decoderLayers, bidirectional: SETTINGS.bidirectional,
  attention: SETTINGS.attention, inputFeeding: SETTINGS.inputFeeding, dropout: SETTINGS.dropout,
});
console.log(`g2p: ${split.train.length} training words (${train.sources.length} pronunciations), ${split.valid.length} validation, ${split.test.length} test; ` +
  `${model.numParameters().toLocaleString('en-US')} parameters; training for ${minutes} min on ${rnn.getNumThreads()} threads`);

// The curve: greedy WER on (up to) 1000 validation words after every epoch, against minutes.
const curveWords = split.valid.slice(0, 1000);
const curve = [];
const validations = []; // every validateEvery batches: loss and token accuracy
const started = Date.now();
let words = 0;
const result = rnn.fitSync(model, train, {
  epochs: 1e9, maxSeconds: minutes * 60, batchSize: SETTINGS.batchSize, bucketSize: SETTINGS.bucketSize, seed,
  optimizer: { type: 'Adam', lr: SETTINGS.lr }, clipGradNorm: SETTINGS.clipGradNorm,
  scheduler: { type: 'CosineAnnealingLR', tMax: 100, etaMin: SETTINGS.minLr, interval: 'budget' },
  validationData: valid, validateEvery: SETTINGS.validateEvery,
}, {
  onBatch: (b) => {
    words += SETTINGS.batchSize;
    if (process.stderr.isTTY && b.step % 20 === 0)
      process.stderr.write(`\r  epoch ${b.epoch + 1}, batch ${b.batch}/${b.batchesPerEpoch}, loss ${b.loss.toFixed(3)}, ${(words / ((Date.now() - started) / 1000)).toFixed(0)} words/s   `);
  },
  onValidation: (v) => {
    const at = (Date.now() - started) / 60000;
    if (process.stderr.isTTY) process.stderr.write('\n');
    validations.push({ minutes: Number(at.toFixed(2)), step: v.step, validationLoss: Number(v.valLoss.toFixed(4)), tokenAccuracy: Number(v.metrics.tokenAccuracy.toFixed(2)) });
    console.log(`  step ${v.step}: ${at.toFixed(1)} min, validation loss ${v.valLoss.toFixed(3)}, token accuracy ${v.metrics.tokenAccuracy.toFixed(1)}%`);
  },
  onEpoch: (e) => {
    const wer = score(curveWords, decodeAll(model, curveWords, { mode: 'greedy' })).wer;
    const at = (Date.now() - started) / 60000;
    curve.push({ minutes: Number(at.toFixed(2)), validationWer: Number(wer.toFixed(2)), validationLoss: Number(e.valLoss.toFixed(4)) });
    if (process.stderr.isTTY) process.stderr.write('\n');
    console.log(`  epoch ${e.epoch + 1}${e.partial ? ' (partial)' : ''}: ${at.toFixed(1)} min, train loss ${e.trainLoss.toFixed(3)}, ` +
      `validation loss ${e.valLoss.toFixed(3)}, token accuracy ${e.metrics ? e.metrics.tokenAccuracy.toFixed(1) : '?'}%, greedy WER ${wer.toFixed(1)}%, lr ${e.lr.toExponential(1)}`);
  },
});
const trainedMinutes = (Date.now() - started) / 60000;
const t0 = Date.now();
const test = score(split.test, decodeAll(model, split.test, { beamSize, lengthPenalty: 1 }));
const decodeSeconds = (Date.now() - t0) / 1000;
const out = {
  settings: { ...SETTINGS, minutes, seed, beamSize }, steps: result.steps, trainedMinutes: Number(trainedMinutes.toFixed(2)),
  wordsPerSecond: Math.round(result.steps * SETTINGS.batchSize / (trainedMinutes * 60)),
  test: { wer: Number(test.wer.toFixed(2)), per: Number(test.per.toFixed(2)), words: split.test.length, beamWordsPerSecond: Math.round(split.test.length / decodeSeconds) },
  curve,
  validations,
};
if (args.json) require('node:fs').writeFileSync(path.resolve(args.json), JSON.stringify(out, null, 2));
console.log(`g2p: ${result.steps} steps in ${trainedMinutes.toFixed(1)} min (${out.wordsPerSecond} words/s); beam ${beamSize} on ${split.test.length} test words in ${decodeSeconds.toFixed(0)} s`);
console.log(`g2p: test WER=${test.wer.toFixed(2)}% PER=${test.per.toFixed(2)}%`);
