#!/usr/bin/env node
// Continuous batching, measured: N concurrent seeded generateAsync requests on one language
// model against the same requests served one at a time (each awaited before the next starts),
// in the same process, alternating, several rounds; aggregate tokens/s and the median ratio.
// Every round also checks that the batched outputs equal the one-at-a-time ones.
//
//   node bench/batching.js                 # 64 requests × 128 tokens, 2 × 512 LSTM, V 96
//   node bench/batching.js --requests 16 --hidden 256 --layers 1 --rounds 5
//   node bench/batching.js --precision bf16  # both sides on bf16 weights (or int8)
//   node bench/batching.js --smoke         # seconds: tiny model, few tokens
//
// Prints a table and one JSON line (--json FILE writes it to a file too).
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const { parseArgs } = require('node:util');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const rnn = require('..');

const { values: a } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    requests: { type: 'string' },
    length: { type: 'string' },
    hidden: { type: 'string' },
    layers: { type: 'string' },
    vocab: { type: 'string' },
    cell: { type: 'string', default: 'lstm' },
    rounds: { type: 'string' },
    'max-batch': { type: 'string' },
    precision: { type: 'string', default: 'float32' },
    json: { type: 'string' },
  },
});
const num = (v, d) => (v === undefined ? d : Number(v));
const cfg = {
  requests: num(a.requests, a.smoke ? 8 : 64),
  length: num(a.length, a.smoke ? 8 : 128),
  H: num(a.hidden, a.smoke ? 32 : 512),
  L: num(a.layers, 2),
  V: num(a.vocab, 96),
  cell: a.cell,
  rounds: num(a.rounds, a.smoke ? 1 : 3),
  maxBatch: num(a['max-batch'], 64),
  precision: a.precision,
};

rnn.manualSeed(1);
const lm = new rnn.LanguageModel({ vocabSize: cfg.V, hiddenSize: cfg.H, numLayers: cfg.L, cell: cfg.cell });
lm.scheduler.configure({ maxBatch: cfg.maxBatch, maxQueue: 1 << 20 });
lm.setPrecision(cfg.precision);

// Seeded requests with their own options: prompts of 1–16 tokens, sampling settings varied.
const requests = Array.from({ length: cfg.requests }, (_, k) => ({
  prompt: Int32Array.from({ length: 1 + (k % 16) }, (_, i) => (i * 7 + k) % cfg.V),
  maxLength: cfg.length,
  endToken: -1,
  seed: 1000 + k,
  temperature: 0.8,
  ...(k % 2 ? { topK: 40 } : { topP: 0.95 }),
}));

async function oneAtATime() {
  const outs = [];
  const t0 = process.hrtime.bigint();
  for (const r of requests) outs.push(await lm.generateAsync(r));
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, outs };
}

async function concurrent() {
  const t0 = process.hrtime.bigint();
  const outs = await Promise.all(requests.map((r) => lm.generateAsync(r)));
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, outs };
}

const median = (xs) => {
  const s = [...xs].sort((p, q) => p - q);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

(async () => {
  const tokens = cfg.requests * cfg.length;
  await lm.generateAsync({ maxLength: 8, seed: 1 }); // warm-up: first native calls, allocations
  const rows = [];
  const loop = monitorEventLoopDelay({ resolution: 5 });
  for (let round = 0; round < cfg.rounds; round++) {
    const solo = await oneAtATime();
    loop.enable();
    const batched = await concurrent();
    loop.disable();
    const same = solo.outs.every((o, k) => Buffer.from(o.buffer).equals(Buffer.from(batched.outs[k].buffer)));
    if (!same) throw new Error('batched outputs differ from one-at-a-time outputs');
    rows.push({ solo: tokens / solo.seconds, batched: tokens / batched.seconds, ratio: solo.seconds / batched.seconds });
  }
  const result = {
    task: 'batching',
    config: cfg,
    machine: { cpus: os.cpus().length, model: os.cpus()[0].model, node: process.version, threads: rnn.getNumThreads() },
    oneAtATimeTokensPerSecond: median(rows.map((r) => r.solo)),
    batchedTokensPerSecond: median(rows.map((r) => r.batched)),
    ratio: median(rows.map((r) => r.ratio)),
    rounds: rows,
    eventLoopDelayP99Ms: loop.count > 0 ? Math.max(0, loop.percentile(99) / 1e6 - 5) : null, // samples every 5 ms: the delay is the excess
    outputsEqual: true,
  };
  console.log(`${cfg.requests} requests × ${cfg.length} tokens, ${cfg.L} × ${cfg.H} ${cfg.cell.toUpperCase()}, V ${cfg.V}, ${cfg.precision}, maxBatch ${cfg.maxBatch}, ${rnn.getNumThreads()} threads`);
  console.log('round  one-at-a-time tok/s  batched tok/s  ratio');
  rows.forEach((r, i) => console.log(`${String(i + 1).padStart(5)}  ${r.solo.toFixed(0).padStart(19)}  ${r.batched.toFixed(0).padStart(13)}  ${r.ratio.toFixed(2).padStart(5)}`));
  console.log(`median ratio ${result.ratio.toFixed(2)}; batched outputs equal the one-at-a-time ones; event-loop delay p99 while batched ${result.eventLoopDelayP99Ms === null ? 'n/a (too short)' : `${result.eventLoopDelayP99Ms.toFixed(1)} ms`}`);
  console.log(JSON.stringify(result));
  if (a.json) fs.writeFileSync(a.json, JSON.stringify(result, null, 2) + '\n');
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
