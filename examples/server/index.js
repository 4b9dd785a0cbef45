#!/usr/bin/env node
'use strict';
// An HTTP service for rnn-native models (node:http, no framework).
//
//   node examples/server --lm demo-model.safetensors            # a language model saved by `npm run demo`
//   node examples/server --lm lm.safetensors --seq2seq g2p.safetensors --port 8080
//   node examples/server --random --hidden 512 --layers 2       # an untrained model (load testing)
//
// Routes:
//   POST /generate   {"prompt": "The ", "maxLength": 200, "temperature": 0.8, "seed": 1}
//                    → {"ids": […], "text": "…", "tokens": 200, "finishReason": "length", "ms": 41.2}
//                    with "stream": true: server-sent events `token` ({index, id, text}), then `done`
//   POST /translate  {"source": "hello"} or {"sources": […], "beamSize": 5}   (with --seq2seq)
//                    → {"outputs": ["HH AH0 L OW1"], "ids": [[…]], "sources": 1, "ms": 12.5}
//   GET  /health, GET /stats (batching, in-flight requests, event-loop delay, memory; ?reset=1)
// Errors: 400 (the field, what it must be, what arrived), 404, 405, 413, 415, 503 (queue full
// or shutting down, with Retry-After). SIGINT/SIGTERM: in-flight requests finish, then exit.
// On start, one JSON line on stdout: {"listening": "http://127.0.0.1:8080", …}.
const { parseArgs } = require('node:util');
const rnn = require('../..');
const { createApp } = require('./app');

const { values: a } = parseArgs({
  options: {
    lm: { type: 'string' },
    seq2seq: { type: 'string' },
    random: { type: 'boolean', default: false },
    hidden: { type: 'string', default: '512' },
    layers: { type: 'string', default: '2' },
    port: { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
    'max-batch': { type: 'string', default: '64' },
    'max-queue': { type: 'string', default: '1024' },
    'max-wait-ms': { type: 'string', default: '0' },
    'max-length': { type: 'string', default: '1000' },
    threads: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

function fail(message) {
  console.error(`examples/server: ${message}`);
  process.exit(2);
}

/** An untrained character model over printable ASCII: real sizes, meaningless text. */
function randomModel() {
  const chars = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i));
  const vocabulary = new rnn.Vocabulary(['<eos>', '<unk>', ...chars], 'char');
  rnn.manualSeed(1);
  const lm = new rnn.LanguageModel({ vocabSize: vocabulary.size, hiddenSize: Number(a.hidden), numLayers: Number(a.layers) });
  return { model: lm, vocabulary };
}

function main() {
  if (a.help) {
    console.log(require('node:fs').readFileSync(__filename, 'utf8').split('\n').slice(2, 20).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
    return;
  }
  if (!a.lm && !a.random) fail('give a language model file (--lm FILE, as saved by saveLanguageModel or `npm run demo`) or --random');
  if (a.threads) rnn.setNumThreads(Number(a.threads));
  let lm;
  try {
    lm = a.lm ? rnn.loadLanguageModel(a.lm, { requireVocabulary: false }) : randomModel();
  } catch (err) {
    fail(err.message);
  }
  let s2s = null;
  if (a.seq2seq) {
    try {
      s2s = rnn.loadSeq2Seq(a.seq2seq);
    } catch (err) {
      fail(err.message);
    }
  }
  lm.model.eval();
  lm.model.scheduler.configure({ maxBatch: Number(a['max-batch']), maxQueue: Number(a['max-queue']), maxWaitMs: Number(a['max-wait-ms']) });
  const app = createApp({
    lm: lm.model, vocabulary: lm.vocabulary,
    seq2seq: s2s?.model, sourceVocabulary: s2s?.sourceVocabulary, targetVocabulary: s2s?.targetVocabulary,
    maxLength: Number(a['max-length']),
  });
  app.server.listen(Number(a.port), a.host, () => {
    const { port } = app.server.address();
    const o = lm.model.options;
    const describe = (m) => `${m.numParameters().toLocaleString('en-US')} parameters`;
    console.log(JSON.stringify({
      listening: `http://${a.host}:${port}`, pid: process.pid,
      lm: `${o.cell} ${o.numLayers} × ${o.hiddenSize}, vocabulary ${o.vocabSize}, ${describe(lm.model)}`,
      seq2seq: s2s ? `${s2s.model.options.cell} encoder–decoder, ${describe(s2s.model)}` : null,
    }));
  });
  app.server.on('error', (err) => fail(err.message));
  let stopping = false;
  const stop = (signal) => {
    if (stopping) return;
    stopping = true;
    console.error(`examples/server: ${signal}: finishing in-flight requests`);
    app.close().then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main();
