'use strict';
// What the benchmark scripts share: deterministic inputs and the statistics and number
// formatting of their tables.

/** Deterministic data (mulberry32): the inputs' values do not matter for speed. */
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

/** Median (the mean of the middle two for an even count), min, max and count of the samples. */
function stats(samples) {
  const s = samples.slice().sort((a, b) => a - b);
  const n = s.length;
  const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  return { median, min: s[0], max: s[n - 1], n };
}

/** A table cell: three significant digits or so, thousands separated, '–' for nothing. */
function fmt(v) {
  if (v === undefined || v === null || Number.isNaN(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}
/** "median [min–max]" of a stats() result. */
const fmtStat = (st) => (st ? `${fmt(st.median)} [${fmt(st.min)}–${fmt(st.max)}]` : '–');

module.exports = { prng, stats, fmt, fmtStat };
