#!/usr/bin/env node
// `npm run bench:serve`: a bounded load test of examples/server on 127.0.0.1. The server runs
// in a child process (an untrained model of service size: its speed is a trained one's); the
// clients run here. Phases at 1, 8, 64 and 256 concurrent clients report requests/s, tokens/s,
// p50/p99 latency and the server's event-loop delay and RSS; a soak phase then sends many
// short requests and samples the server's RSS as it goes (it should stay flat).
//
//   npm run bench:serve                          # 2 × 512 LSTM, 64 tokens per request, 15 s per phase, 100,000-request soak
//   node bench/serve.js --seconds 5 --soak 20000 # shorter
//   node bench/serve.js --smoke                  # seconds: tiny model, a few hundred requests
//
// Options: --hidden H --layers L --tokens N (per request) --seconds S (per phase)
// --clients 1,8,64,256 --soak N (requests; 0 skips) --soak-tokens N --stream (server-sent
// events) --max-batch B --json FILE.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { parseArgs } = require('node:util');
const { runLoad, percentile, getJson } = require('./serve-client');

const { values: a } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    hidden: { type: 'string' }, layers: { type: 'string' }, tokens: { type: 'string' },
    seconds: { type: 'string' }, clients: { type: 'string' }, soak: { type: 'string' },
    'soak-tokens': { type: 'string' }, stream: { type: 'boolean', default: false },
    'max-batch': { type: 'string', default: '64' }, json: { type: 'string' },
  },
});
const cfg = {
  hidden: Number(a.hidden ?? (a.smoke ? 32 : 512)),
  layers: Number(a.layers ?? 2),
  tokens: Number(a.tokens ?? (a.smoke ? 8 : 64)),
  seconds: Number(a.seconds ?? (a.smoke ? 1 : 15)),
  clients: (a.clients ?? '1,8,64,256').split(',').map(Number),
  soak: Number(a.soak ?? (a.smoke ? 500 : 100_000)),
  soakTokens: Number(a['soak-tokens'] ?? 8),
  stream: a.stream,
  maxBatch: Number(a['max-batch']),
};

function startServer() {
  const script = path.join(__dirname, '..', 'examples', 'server', 'index.js');
  const child = spawn(process.execPath, [script, '--random', '--hidden', String(cfg.hidden), '--layers', String(cfg.layers), '--port', '0',
    '--max-batch', String(cfg.maxBatch), '--max-queue', '100000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve({ child, info: JSON.parse(line) });
    });
    child.on('exit', (code) => reject(new Error(`the server exited (code ${code}) before listening`)));
  });
}

const prompts = ['The ', 'We the people ', 'In the year ', 'Our nation ', 'Tonight ', 'A', 'It is ', 'Jobs and '];
const body = (tokens) => (k) => ({ prompt: prompts[k % prompts.length], maxLength: tokens, seed: k, temperature: 0.8, endToken: -1, ...(cfg.stream ? { stream: true } : {}) });
const mib = (b) => (b / 2 ** 20).toFixed(0);

(async () => {
  const { child, info } = await startServer();
  const url = info.listening;
  const phases = [];
  try {
    await runLoad({ url, concurrency: 4, requests: 40, body: body(cfg.tokens) }); // warm-up
    for (const c of cfg.clients) {
      await getJson(`${url}/stats?reset=1`);
      const r = await runLoad({ url, concurrency: c, seconds: cfg.seconds, body: body(cfg.tokens) });
      const s = await getJson(`${url}/stats`);
      phases.push({
        clients: c, requests: r.latenciesMs.length, seconds: r.seconds, requestsPerSecond: r.latenciesMs.length / r.seconds,
        tokensPerSecond: r.tokens / r.seconds, p50Ms: percentile(r.latenciesMs, 50), p99Ms: percentile(r.latenciesMs, 99),
        eventLoopP99Ms: s.eventLoopDelayMs.p99, rssMiB: Number(mib(s.memory.rss)), statuses: r.statuses, errors: r.errors,
      });
    }
    let soak = null;
    if (cfg.soak > 0) {
      const samples = [];
      const first = await getJson(`${url}/stats`);
      samples.push({ requests: 0, rss: first.memory.rss });
      const chunk = Math.max(1, Math.round(cfg.soak / 10));
      const t0 = Date.now();
      let sent = 0, ok = 0;
      const statuses = {};
      while (sent < cfg.soak) {
        const n = Math.min(chunk, cfg.soak - sent);
        const r = await runLoad({ url, concurrency: 64, requests: n, body: (k) => body(cfg.soakTokens)(sent + k) });
        sent += n;
        ok += r.latenciesMs.length;
        for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] || 0) + v;
        samples.push({ requests: sent, rss: (await getJson(`${url}/stats`)).memory.rss });
      }
      const rss = samples.map((x) => x.rss);
      // Flat: the second half of the run grows by less than 5 % of where it started.
      const half = samples[Math.floor(samples.length / 2)].rss;
      soak = {
        requests: sent, ok, statuses, seconds: (Date.now() - t0) / 1000, tokensPerRequest: cfg.soakTokens,
        rssMiB: samples.map((x) => ({ requests: x.requests, rss: Number(mib(x.rss)) })),
        growthSecondHalfPercent: ((rss[rss.length - 1] - half) / half) * 100,
      };
    }
    const result = { task: 'serve', config: cfg, server: info, machine: { cpus: os.cpus().length, model: os.cpus()[0].model, node: process.version }, phases, soak };
    console.log(`examples/server, ${info.lm}, ${cfg.tokens} tokens per request${cfg.stream ? ' (streamed)' : ''}, maxBatch ${cfg.maxBatch}`);
    console.log('| clients | requests/s | tokens/s | p50 ms | p99 ms | event-loop p99 ms | RSS MiB | non-200 |');
    console.log('|--:|--:|--:|--:|--:|--:|--:|--:|');
    for (const p of phases) {
      const bad = Object.entries(p.statuses).filter(([k]) => k !== '200').map(([k, v]) => `${k}: ${v}`).join(', ') || '0';
      console.log(`| ${p.clients} | ${p.requestsPerSecond.toFixed(1)} | ${p.tokensPerSecond.toFixed(0)} | ${p.p50Ms.toFixed(1)} | ${p.p99Ms.toFixed(1)} | ${p.eventLoopP99Ms.toFixed(1)} | ${p.rssMiB} | ${bad} |`);
    }
    if (soak) {
      console.log(`soak: ${soak.requests.toLocaleString('en-US')} requests of ${soak.tokensPerRequest} tokens in ${soak.seconds.toFixed(0)} s (${soak.ok.toLocaleString('en-US')} answered 200); ` +
        `server RSS MiB by requests: ${soak.rssMiB.map((x) => `${x.requests}: ${x.rss}`).join(', ')}; second half ${soak.growthSecondHalfPercent >= 0 ? '+' : ''}${soak.growthSecondHalfPercent.toFixed(1)} %`);
    }
    console.log(JSON.stringify(result));
    if (a.json) fs.writeFileSync(a.json, JSON.stringify(result, null, 2) + '\n');
    const failed = phases.some((p) => Object.keys(p.statuses).some((k) => k !== '200')) || (soak && soak.ok !== soak.requests);
    if (failed) process.exitCode = 1;
  } finally {
    child.kill('SIGTERM');
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
