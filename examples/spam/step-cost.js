#!/usr/bin/env node
'use strict';
// What adversarial training costs per step: the median time of one training step (forward,
// backward, clipping, Adam) of the spam example's model on real batches of the corpus, plain,
// with adversarial training (AT) and with virtual adversarial training (VAT), in one process
// after a warm-up. `node examples/spam/step-cost.js [--steps N]` prints one line per kind and
// their ratios to the plain step.
const { parseArgs } = require('node:util');
const rnn = require('../..');
const { load } = require('./data');
const { SETTINGS, encodeSplit } = require('./settings');

const { values: args } = parseArgs({ options: { steps: { type: 'string', default: '20' } } });
const steps = Number(args.steps);
const split = load();
const { vocabulary, train } = encodeSplit(split);
// The same batches for every kind: B texts of typical lengths (the training order's first batches).
const B = SETTINGS.batchSize;
const batches = [];
for (let s = 0; s + B <= train.sequences.length && batches.length < steps + 3; s += B)
  batches.push({ sequences: train.sequences.slice(s, s + B), labels: train.labels.slice(s, s + B) });

function time(kind) {
  rnn.manualSeed(1);
  const model = new rnn.SequenceClassifier({ ...SETTINGS.model, vocabSize: vocabulary.size, numClasses: 2 });
  model.setTokenFrequencies(vocabulary.counts);
  const opt = new rnn.Adam(model.parameters().filter((p) => p.requiresGrad), { lr: SETTINGS.lr });
  const ms = [];
  for (const b of batches) {
    const batch = model.batch(b.sequences, b.labels);
    const t0 = process.hrtime.bigint();
    model.zeroGrad();
    if (kind === 'plain') model.loss(batch).backward();
    else if (kind === 'at') rnn.adversarialStep(model, batch, SETTINGS.epsilon).adversarial.backward();
    else {
      const { clean, adversarial } = rnn.virtualAdversarialStep(model, batch, SETTINGS.epsilon);
      rnn.functional.add(clean, adversarial).backward();
    }
    rnn.clipGradNorm(model.parameters(), SETTINGS.clip);
    opt.step();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return ms.slice(3).sort((a, b) => a - b)[Math.floor((ms.length - 3) / 2)]; // after 3 warm-up steps
}

const tokens = batches.slice(3).reduce((n, b) => n + b.sequences.reduce((m, s) => m + s.length, 0), 0) / (batches.length - 3);
console.log(`step cost: batches of ${B} texts (${Math.round(tokens)} tokens on average), ${rnn.getNumThreads()} threads, median of ${batches.length - 3} steps`);
const plain = time('plain');
for (const [kind, label] of [['plain', 'plain'], ['at', 'adversarial (AT)'], ['vat', 'virtual adversarial (VAT)']]) {
  const t = kind === 'plain' ? plain : time(kind);
  console.log(`  ${label.padEnd(26)} ${t.toFixed(1).padStart(7)} ms  ${(t / plain).toFixed(2)}×`);
}
