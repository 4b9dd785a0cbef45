#!/usr/bin/env node
// Independent models on worker threads: aggregate tokens/s of W workers, each generating with
// a model of its own, under the compute budget (calls overlap where cores are free) against
// exclusive mode (one call at a time: the process-wide lock this library had before), in the
// same process, alternating rounds. Also one worker alone, for scale.
//
//   node bench/threads.js                        # 2 workers, LSTM 1 × 128 (a small model: where overlap matters most)
//   node bench/threads.js --hidden 512 --layers 2 --workers 2 --rounds 5
'use strict';
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { parseArgs } = require('node:util');
const rnn = require('..');
const { native } = require('../dist/native/addon');

const { values: a } = parseArgs({
  options: {
    workers: { type: 'string', default: '2' }, hidden: { type: 'string', default: '128' }, layers: { type: 'string', default: '1' },
    tokens: { type: 'string', default: '4000' }, rounds: { type: 'string', default: '3' },
  },
});
const cfg = { workers: Number(a.workers), H: Number(a.hidden), L: Number(a.layers), tokens: Number(a.tokens), rounds: Number(a.rounds) };
const root = path.join(__dirname, '..');

// Each worker builds its model, waits for 'go', generates `tokens` tokens (requests of 200), reports its time.
const code = `
  const { parentPort, workerData: d } = require('node:worker_threads');
  const rnn = require(d.root);
  rnn.manualSeed(d.seed);
  const lm = new rnn.LanguageModel({ vocabSize: 96, hiddenSize: d.H, numLayers: d.L });
  lm.generate({ maxLength: 50, seed: 1 });
  parentPort.once('message', () => {
    const t0 = process.hrtime.bigint();
    let n = 0;
    for (let k = 0; n < d.tokens; k++) n += lm.generate({ maxLength: 200, seed: k, endToken: -1 }).length;
    parentPort.postMessage({ tokens: n, seconds: Number(process.hrtime.bigint() - t0) / 1e9 });
  });`;

async function round(workers) {
  const ws = Array.from({ length: workers }, (_, i) => new Worker(code, { eval: true, workerData: { root, seed: i + 1, H: cfg.H, L: cfg.L, tokens: cfg.tokens } }));
  await new Promise((r) => setTimeout(r, 300)); // models built, first calls made
  const t0 = process.hrtime.bigint();
  const results = await Promise.all(ws.map((w) => new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
    w.postMessage('go');
  })));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await Promise.all(ws.map((w) => w.terminate()));
  return results.reduce((s, r) => s + r.tokens, 0) / seconds;
}

const median = (xs) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];

(async () => {
  const rows = [];
  for (let r = 0; r < cfg.rounds; r++) {
    native.setComputeExclusive(true);
    native.computeBudget(true);
    const exclusive = await round(cfg.workers);
    const ex = native.computeBudget();
    native.setComputeExclusive(false);
    native.computeBudget(true);
    const budget = await round(cfg.workers);
    const bu = native.computeBudget();
    const alone = await round(1);
    rows.push({ exclusive, budget, alone, ratio: budget / exclusive, maxRunningBudget: bu.maxRunning, maxRunningExclusive: ex.maxRunning });
  }
  console.log(`${cfg.workers} worker threads, each its own LSTM ${cfg.L} × ${cfg.H} (V 96) generating ${cfg.tokens} tokens; ${rnn.getNumThreads()} kernel threads`);
  console.log('round  exclusive tok/s  budget tok/s  ratio  one worker alone tok/s  calls at once (budget/exclusive)');
  rows.forEach((x, i) => console.log(`${String(i + 1).padStart(5)}  ${x.exclusive.toFixed(0).padStart(15)}  ${x.budget.toFixed(0).padStart(12)}  ${x.ratio.toFixed(2).padStart(5)}  ${x.alone.toFixed(0).padStart(22)}  ${x.maxRunningBudget}/${x.maxRunningExclusive}`));
  const result = { task: 'threads', config: cfg, ratio: median(rows.map((x) => x.ratio)), budget: median(rows.map((x) => x.budget)), exclusive: median(rows.map((x) => x.exclusive)), alone: median(rows.map((x) => x.alone)), rounds: rows };
  console.log(`median: budget ${result.budget.toFixed(0)} tok/s against exclusive ${result.exclusive.toFixed(0)} (×${result.ratio.toFixed(2)}); one worker alone ${result.alone.toFixed(0)}`);
  console.log(JSON.stringify(result));
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
