#!/usr/bin/env node
'use strict';
// Spam filtering on the SpamAssassin public corpus: a bidirectional LSTM classifier
// (rnn-native's SequenceClassifier) trained twice for the same wall time — plainly, and with
// adversarial training on its embedded words (Miyato et al. 2017) — against a word-level naive
// Bayes baseline. Reported on the held-out test messages: accuracy, F1 for spam, and accuracy
// under the embedding-space attack at two ε.
//
//   npm run example:spam                  # 5 minutes per run (the default budget)
//   node examples/spam --minutes 10       # another budget
//   node examples/spam --quick            # a smoke run: 20 s per run on a quarter of the data
//   node examples/spam --json out.json    # also write the results as JSON
//
// The corpus, its split and the header stripping are in data.js; the model's settings in
// settings.js; one training run in run.js; the baseline in naive-bayes.js; the PyTorch twin of
// the same run in twin.js.
const fs = require('node:fs');
const { parseArgs } = require('node:util');
const rnn = require('../..');
const { load } = require('./data');
const { scoreOn, trainNaiveBayes } = require('./naive-bayes');
const { trainRun } = require('./run');
const { SETTINGS, encodeSplit } = require('./settings');

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' }, quick: { type: 'boolean', default: false },
    seed: { type: 'string', default: '1' }, json: { type: 'string' },
  },
});
const minutes = args.quick ? 1 / 3 : Number(args.minutes);
if (!(minutes > 0)) throw new RangeError(`--minutes must be a positive number, received ${args.minutes}`);
const seed = Number(args.seed);
/** The two attack strengths reported: the training ε and twice it. */
const ATTACKS = [SETTINGS.epsilon, 2 * SETTINGS.epsilon];

const split = load();
if (args.quick) for (const k of ['train', 'valid', 'test']) split[k] = split[k].filter((_, i) => i % 4 === 0);
const encoded = encodeSplit(split);
const { vocabulary, train, valid, test } = encoded;
/** A run's figures without its model. */
const figures = ({ model: _model, ...rest }) => rest;
const spamShare = (d) => `${((100 * d.labels.filter((y) => y === 1).length) / d.labels.length).toFixed(0)}% spam`;
console.log(`spam: ${train.labels.length} training messages (${spamShare(train)}), ${valid.labels.length} validation, ${test.labels.length} test (${spamShare(test)}); ` +
  `${vocabulary.size.toLocaleString('en-US')} words; ${minutes} min per run on ${rnn.getNumThreads()} threads`);

// The baseline: naive Bayes over whitespace-separated, lower-cased words of the whole message.
const words = new rnn.Vocabulary(['<eos>', '<unk>'], 'word', { lowercase: true });
const nbStarted = Date.now();
const bayes = scoreOn(split.test, trainNaiveBayes(split.train, (t) => words.tokenize(t)));
console.log(`naive Bayes: test accuracy ${bayes.accuracy.toFixed(2)}%, spam F1 ${bayes.spamF1.toFixed(2)}% (${((Date.now() - nbStarted) / 1000).toFixed(1)} s)`);

const plain = figures(trainRun(encoded, { name: 'plain', minutes, seed, attacks: ATTACKS }));
const robust = figures(trainRun(encoded, { name: 'adversarial', minutes, seed, attacks: ATTACKS, adversarial: true }));

const row = (name, r) => `| ${name} | ${r.accuracy.toFixed(2)} % | ${r.spamF1.toFixed(2)} % | ${r.attacked.map((a) => `${a.accuracy.toFixed(2)} %`).join(' | ')} | ${r.steps} |`;
console.log(`\n| model | test accuracy | spam F1 | ${ATTACKS.map((e) => `attacked, ε ${e}`).join(' | ')} | steps |`);
console.log(`|---|---|---|${ATTACKS.map(() => '---|').join('')}---|`);
console.log(`| naive Bayes (words) | ${bayes.accuracy.toFixed(2)} % | ${bayes.spamF1.toFixed(2)} % | ${ATTACKS.map(() => '–').join(' | ')} | – |`);
console.log(row('BiLSTM', plain));
console.log(row('BiLSTM, adversarial', robust));
const results = { minutes, seed, threads: rnn.getNumThreads(), settings: SETTINGS, naiveBayes: bayes, plain, adversarial: robust };
if (args.json) fs.writeFileSync(args.json, JSON.stringify(results, null, 2) + '\n');
console.log(`spam: ${JSON.stringify({ naiveBayes: bayes.accuracy, plain: plain.accuracy, adversarial: robust.accuracy })}`);
