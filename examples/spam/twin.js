#!/usr/bin/env node
'use strict';
// rnn-native against its PyTorch twin (scripts/classifier_torch.py: the same module, names and
// math, checked step for step by test/81) on the spam task: the same split, vocabulary, token
// ids, settings and wall time, one thread each, trained one after the other. Each run keeps
// the weights it has when the time is up (no best-epoch selection, which the twin lacks) and
// is scored on the test messages.
//
//   node examples/spam/twin.js [--minutes 5] [--adversarial]
//
// Prints both runs' steps, epochs and test accuracy, then one JSON line. Needs PyTorch
// (/usr/bin/python3 with torch); says so and stops without it.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const rnn = require('../..');
const { load, tsvLine } = require('./data');
const { SETTINGS, encodeSplit } = require('./settings');

const { values: args } = parseArgs({
  options: { minutes: { type: 'string', default: '5' }, adversarial: { type: 'boolean', default: false }, seed: { type: 'string', default: '1' } },
});
const minutes = Number(args.minutes);
const seed = Number(args.seed);
const PYTHON = '/usr/bin/python3';
if (spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0) {
  console.log(`twin: skipped: ${PYTHON} cannot import torch`);
  process.exit(0);
}

const split = load();
const encoded = encodeSplit(split);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spam-twin-'));
const files = { dump: path.join(dir, 'spam.tsv'), vocab: path.join(dir, 'vocab.json'), settings: path.join(dir, 'settings.json') };
fs.writeFileSync(files.dump, ['train', 'valid', 'test'].flatMap((part) => split[part].map((e) => `${part}\t${tsvLine(e)}`)).join('\n') + '\n');
fs.writeFileSync(files.vocab, JSON.stringify({ tokens: encoded.vocabulary.tokens, counts: Array.from(encoded.vocabulary.counts) }));
fs.writeFileSync(files.settings, JSON.stringify({ ...SETTINGS.model, tokenization: SETTINGS.tokenization, maxLength: SETTINGS.maxLength, batchSize: SETTINGS.batchSize, lr: SETTINGS.lr, clip: SETTINGS.clip }));

// rnn-native: the same loop as the twin's (Adam, clipping, bucketed batches), one thread.
rnn.setNumThreads(1);
rnn.manualSeed(seed);
const model = new rnn.SequenceClassifier({ ...SETTINGS.model, vocabSize: encoded.vocabulary.size, numClasses: 2 });
model.setTokenFrequencies(encoded.vocabulary.counts);
const started = Date.now();
const result = rnn.fitSync(model, encoded.train, {
  epochs: 1e9, maxSeconds: minutes * 60, batchSize: SETTINGS.batchSize, seed, validationFraction: 0,
  optimizer: { type: 'Adam', lr: SETTINGS.lr }, clipGradNorm: SETTINGS.clip,
  ...(args.adversarial ? { adversarial: { method: 'at', epsilon: SETTINGS.epsilon } } : {}),
});
const ours = {
  library: `rnn-native ${rnn.version.package}`, steps: result.steps, epochs: result.epochs.length,
  seconds: Math.round((Date.now() - started) / 100) / 10, testAccuracy: 100 * rnn.evaluateClassifier(model, encoded.test).accuracy,
  spamF1: 100 * rnn.evaluateClassifier(model, encoded.test, { labels: ['ham', 'spam'] }).classes.spam.f1,
};
console.log(`rnn-native: ${ours.steps} steps (${ours.epochs} epochs) in ${ours.seconds} s; test accuracy ${ours.testAccuracy.toFixed(2)}%, spam F1 ${ours.spamF1.toFixed(2)}%`);

const py = spawnSync(PYTHON, [
  path.join(__dirname, '..', '..', 'scripts', 'classifier_torch.py'), files.dump, '--vocab', files.vocab, '--settings', files.settings,
  '--minutes', String(minutes), '--seed', String(seed), ...(args.adversarial ? ['--adversarial', String(SETTINGS.epsilon)] : []),
], { encoding: 'utf8', maxBuffer: 1 << 24 });
fs.rmSync(dir, { recursive: true, force: true });
if (py.status !== 0) throw new Error(`the PyTorch twin failed (exit ${py.status}): ${py.stderr}`);
const theirs = JSON.parse(py.stdout.trim().split('\n').pop());
console.log(`PyTorch:    ${theirs.steps} steps (${theirs.epochs} epochs) in ${theirs.seconds} s; test accuracy ${theirs.testAccuracy.toFixed(2)}%, spam F1 ${theirs.spamF1.toFixed(2)}%`);
console.log(`twin: ${JSON.stringify({ minutes, adversarial: args.adversarial, stepsRatio: ours.steps / theirs.steps, rnnNative: ours, pytorch: theirs })}`);
