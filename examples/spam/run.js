'use strict';
// One training run of the spam example: the model of settings.js trained for a wall-time
// budget (plainly or adversarially), ending with the weights of the epoch with the lowest
// validation loss (restoreBest), then evaluated on the test messages — clean and under the
// embedding attack at each ε of `attacks`.
const rnn = require('../..');
const { SETTINGS } = require('./settings');

function trainRun({ vocabulary, train, valid, test }, { name, minutes, seed, attacks, adversarial = false, log = console.log }) {
  rnn.manualSeed(seed);
  const model = new rnn.SequenceClassifier({ ...SETTINGS.model, vocabSize: vocabulary.size, numClasses: 2 });
  model.setTokenFrequencies(vocabulary.counts);
  const started = Date.now();
  const result = rnn.fitSync(model, train, {
    epochs: 1e9, maxSeconds: minutes * 60, batchSize: SETTINGS.batchSize, seed, validationData: valid,
    optimizer: { type: 'Adam', lr: SETTINGS.lr }, clipGradNorm: SETTINGS.clip,
    scheduler: { type: 'ReduceLROnPlateau', factor: 0.5, patience: 1 }, restoreBest: true,
    ...(adversarial ? { adversarial: { method: 'at', epsilon: SETTINGS.epsilon } } : {}),
  }, {
    onEpoch: (e) => {
      log(`  ${name} epoch ${e.epoch + 1}${e.partial ? ' (partial)' : ''}: ${e.seconds.toFixed(0)} s, train loss ${e.trainLoss.toFixed(4)}, ` +
        `val loss ${e.valLoss.toFixed(4)}, val accuracy ${e.metrics.accuracy.toFixed(2)}%`);
    },
  });
  const seconds = (Date.now() - started) / 1000;
  const full = result.epochs.filter((e) => !e.partial);
  const bestEpoch = full.findIndex((e) => e.valLoss === result.bestValLoss) + 1;
  const evaluate = (epsilon) => rnn.evaluateClassifier(model, test, { labels: ['ham', 'spam'], ...(epsilon ? { epsilon } : {}) });
  const clean = evaluate(0);
  const out = {
    steps: result.steps, seconds: Math.round(seconds), epochs: full.length, bestEpoch,
    accuracy: 100 * clean.accuracy, spamF1: 100 * clean.classes.spam.f1,
    attacked: attacks.map((epsilon) => ({ epsilon, accuracy: 100 * evaluate(epsilon).accuracy })),
  };
  log(`${name}: ${out.steps} steps (${out.epochs} epochs) in ${out.seconds} s, weights of ${out.bestEpoch ? `epoch ${out.bestEpoch}` : 'the last step'}; test accuracy ${out.accuracy.toFixed(2)}%, spam F1 ${out.spamF1.toFixed(2)}%` +
    out.attacked.map((a) => `; under attack ε ${a.epsilon}: ${a.accuracy.toFixed(2)}%`).join(''));
  return { model, ...out };
}

module.exports = { trainRun };
