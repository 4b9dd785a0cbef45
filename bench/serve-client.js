'use strict';
// A small HTTP load client for the example server (bench/serve.js and test/77): `concurrency`
// clients, each sending its next request as soon as its last one is answered, over
// keep-alive connections to 127.0.0.1. Streams (server-sent events) are read to the end.
const http = require('node:http');

/**
 * POSTs `body(k)` to url + path for k = 0, 1, … until `requests` were sent (or `seconds`
 * passed) → { seconds, sent, latenciesMs (sorted), tokens, statuses: {code: count}, errors: [first few] }.
 */
async function runLoad({ url, path = '/generate', concurrency, requests = Infinity, seconds = Infinity, body }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL(path, url);
  const latencies = [];
  const statuses = {};
  const errors = [];
  let tokens = 0;
  let next = 0;
  const t0 = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - t0) / 1e9;
  const client = async () => {
    while (next < requests && elapsed() < seconds) {
      const k = next++;
      const payload = JSON.stringify(body(k));
      const started = process.hrtime.bigint();
      try {
        const { status, text } = await post(agent, target, payload);
        statuses[status] = (statuses[status] || 0) + 1;
        if (status === 200) {
          latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
          tokens += countTokens(text);
        } else if (errors.length < 5) errors.push(`${status}: ${text.slice(0, 200)}`);
      } catch (err) {
        statuses.network = (statuses.network || 0) + 1;
        if (errors.length < 5) errors.push(err.message);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const result = { seconds: elapsed(), sent: next, latenciesMs: latencies.sort((a, b) => a - b), tokens, statuses, errors };
  agent.destroy();
  return result;
}

function post(agent, target, payload) {
  return new Promise((resolve, reject) => {
    const req = http.request(target, {
      method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Tokens in a JSON reply ("tokens") or an event stream (its `done` event's). */
function countTokens(text) {
  const done = text.lastIndexOf('event: done\ndata: ');
  const json = done >= 0 ? text.slice(done + 18).split('\n')[0] : text;
  try {
    const v = JSON.parse(json);
    return typeof v.tokens === 'number' ? v.tokens : 0;
  } catch {
    return 0;
  }
}

const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN);

async function getJson(url) {
  const res = await fetch(url);
  return res.json();
}

module.exports = { runLoad, percentile, getJson };
