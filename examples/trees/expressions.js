// The data of the tree example: arithmetic expressions over the digits 0–9 with +, − and ×,
// evaluated modulo 10, generated from a fixed seed.
//
// Grammar (fully specified):
//   expr  := digit | (op expr expr)         op ∈ { +, -, * }, digit ∈ { 0, …, 9 }
//   value((op a b)) = (value(a) op value(b)) mod 10, with the mathematical mod (always 0–9:
//   (3 - 7) mod 10 = 6).
//   depth(digit) = 0; depth((op a b)) = 1 + max(depth(a), depth(b)).
// An expression of depth exactly d > 0: a random op; one operand (left or right at random)
// of depth exactly d − 1, the other of a depth drawn uniformly from 0..d − 1. Datasets are
// balanced: every depth gets the same number of expressions, and within a depth every value
// 0–9 equally often (rejection sampling), so guessing scores 10% everywhere.
'use strict';
const { Tree } = require('../..');

const OPS = ['+', '-', '*'];

/** mulberry32: a small, fast, seedable generator of uniforms in [0, 1). */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random expression of depth exactly d, as nested arrays ([op, a, b] or a digit string). */
function generate(rand, d) {
  if (d === 0) return String(Math.floor(rand() * 10));
  const op = OPS[Math.floor(rand() * 3)];
  const deep = generate(rand, d - 1);
  const other = generate(rand, Math.floor(rand() * d));
  return rand() < 0.5 ? [op, deep, other] : [op, other, deep];
}

function evaluate(e) {
  if (!Array.isArray(e)) return Number(e);
  const a = evaluate(e[1]), b = evaluate(e[2]);
  const v = e[0] === '+' ? a + b : e[0] === '-' ? a - b : a * b;
  return ((v % 10) + 10) % 10;
}

/** The expression as a token sequence: its bracketed form, "( + ( * 3 4 ) 5 )". */
function tokens(e) {
  if (!Array.isArray(e)) return [e];
  return ['(', e[0], ...tokens(e[1]), ...tokens(e[2]), ')'];
}

/**
 * count expressions of each depth in `depths`, values balanced, as { tree, value, depth,
 * text }. `exclude`: bracketed texts not to produce (the test set's, for the training set).
 */
function dataset(rand, depths, count, exclude = new Set()) {
  const out = [];
  const perValue = Math.ceil(count / 10);
  for (const d of depths) {
    const have = new Array(10).fill(0);
    let made = 0;
    for (let guard = 0; made < count && guard < count * 1000; guard++) {
      const e = generate(rand, d);
      const value = evaluate(e);
      if (have[value] >= perValue) continue;
      const tree = Tree.fromArray(e);
      const text = tree.toString();
      if (d >= 3 && exclude.has(text)) continue;
      have[value]++;
      made++;
      out.push({ tree, value, depth: d, text, tokens: tokens(e) });
    }
  }
  return out;
}

module.exports = { OPS, prng, generate, evaluate, tokens, dataset };
