'use strict';
// The example service: a language model behind POST /generate (JSON, or server-sent events
// with "stream": true), an encoder–decoder behind POST /translate when one is given, GET
// /health and GET /stats. Concurrent /generate requests are decoded together by the model's
// batching scheduler (generateAsync); concurrent /translate requests share batches on the
// model's worker thread (translateAsync). The event loop only parses, validates and writes.
const http = require('node:http');
const { monitorEventLoopDelay, performance } = require('node:perf_hooks');
const { QueueFullError } = require('../..');
const { HttpError, readJson, sendJson, sendError, startEvents } = require('./http');
const { generateRequest, translateRequest } = require('./requests');

const DEFAULTS = { maxBodyBytes: 64 * 1024, maxLength: 1000, maxPromptChars: 4096, maxSources: 64, shutdownTimeoutMs: 10_000 };

/**
 * createApp({ lm, vocabulary?, seq2seq?, sourceVocabulary?, targetVocabulary?, ...limits })
 * → { server, close(timeoutMs?) }. Call server.listen(port, host) yourself.
 */
function createApp(options) {
  const o = { ...DEFAULTS, ...options };
  const { lm, vocabulary, seq2seq, sourceVocabulary, targetVocabulary } = o;
  const inFlight = new Set(); // AbortControllers of running requests
  const counts = { byStatus: {}, started: 0 };
  // The histogram records the time between samples taken every RESOLUTION_MS: the delay is what exceeds it.
  const RESOLUTION_MS = 10;
  const loopDelay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  loopDelay.enable();
  let draining = false;

  const routes = {
    'POST /generate': generate,
    ...(seq2seq ? { 'POST /translate': translate } : {}),
    'GET /health': (req, res) => sendJson(res, 200, { ok: !draining }),
    'GET /stats': stats,
  };

  const server = http.createServer((req, res) => {
    counts.started++;
    res.on('finish', () => (counts.byStatus[res.statusCode] = (counts.byStatus[res.statusCode] || 0) + 1));
    handle(req, res).catch((err) => {
      if (!(err instanceof HttpError)) console.error(`examples/server: ${req.method} ${req.url}:`, err); // a bug, not the client's mistake
      sendError(res, err);
    });
  });

  async function handle(req, res) {
    if (draining) throw new HttpError(503, 'the server is shutting down', { connection: 'close', 'retry-after': '1' });
    const path = req.url.split('?')[0];
    const route = routes[`${req.method} ${path}`];
    if (route) return route(req, res);
    const methods = Object.keys(routes).filter((r) => r.endsWith(` ${path}`)).map((r) => r.split(' ')[0]);
    if (methods.length) throw new HttpError(405, `${req.method} is not allowed on ${path}; use ${methods.join(' or ')}`, { allow: methods.join(', ') });
    throw new HttpError(404, `no route ${req.method} ${path}; routes: ${Object.keys(routes).join(', ')}`);
  }

  /** Runs `work(signal)` as an in-flight request: aborted if the client goes away or shutdown times out. */
  async function tracked(res, work) {
    const ac = new AbortController();
    const gone = () => {
      if (!res.writableFinished) ac.abort(new HttpError(499, 'the client closed the connection'));
    };
    res.on('close', gone);
    inFlight.add(ac);
    try {
      return await work(ac.signal);
    } finally {
      res.off('close', gone);
      inFlight.delete(ac);
      if (draining) server.closeIdleConnections();
    }
  }

  /** A library error as an HTTP error: argument errors are the client's, a full queue is 503. */
  function httpError(err) {
    if (err instanceof HttpError) return err;
    if (err instanceof QueueFullError) return new HttpError(503, err.message, { 'retry-after': '1' });
    if (err instanceof TypeError || err instanceof RangeError) return new HttpError(400, err.message);
    return err;
  }

  async function generate(req, res) {
    const body = await readJson(req, o.maxBodyBytes);
    const { opts, stream } = generateRequest(body, { vocabulary, vocabSize: lm.options.vocabSize, maxLength: o.maxLength, maxPromptChars: o.maxPromptChars });
    const started = performance.now();
    // The event stream starts with the first token: a request refused before that (a full
    // queue) still gets its HTTP status.
    let send = null;
    const events = () => (send ??= startEvents(res));
    if (stream) opts.onToken = (id, index) => events()('token', { index, id, ...(vocabulary ? { text: vocabulary.decode([id], { keepEos: true }) } : {}) });
    await tracked(res, async (signal) => {
      let ids;
      try {
        ids = await lm.generateAsync({ ...opts, signal });
      } catch (err) {
        if (signal.aborted) return; // the client left: nobody to answer
        const e = httpError(err);
        if (!send) throw e;
        send('error', { error: e instanceof HttpError ? e.message : 'internal error', status: e.status || 500 });
        res.end();
        return;
      }
      const end = opts.endToken ?? 0;
      const result = {
        ids: Array.from(ids),
        ...(vocabulary ? { text: vocabulary.decode(ids) } : {}),
        tokens: ids.length,
        finishReason: ids.length > 0 && ids[ids.length - 1] === end ? 'end' : 'length',
        ms: Math.round((performance.now() - started) * 10) / 10,
      };
      if (stream) {
        events()('done', result);
        res.end();
      } else {
        sendJson(res, 200, result, draining ? { connection: 'close' } : {});
      }
    });
  }

  async function translate(req, res) {
    const body = await readJson(req, o.maxBodyBytes);
    const { texts, sources, opts } = translateRequest(body, {
      sourceVocabulary, targetVocabSize: seq2seq.options.targetVocabSize, maxLength: o.maxLength, maxPromptChars: o.maxPromptChars, maxSources: o.maxSources,
    });
    const started = performance.now();
    await tracked(res, async (signal) => {
      let outputs;
      try {
        outputs = await seq2seq.translateAsync(sources, opts);
      } catch (err) {
        throw httpError(err);
      }
      if (signal.aborted) return;
      sendJson(res, 200, {
        outputs: outputs.map((ids) => targetVocabulary.decode(Array.from(ids))),
        ids: outputs.map((ids) => Array.from(ids)),
        sources: texts.length,
        ms: Math.round((performance.now() - started) * 10) / 10,
      }, draining ? { connection: 'close' } : {});
    });
  }

  function stats(req, res) {
    const reset = /[?&]reset=1\b/.test(req.url);
    const ms = (ns) => Math.max(0, Math.round(ns / 1e4) / 100 - RESOLUTION_MS);
    const m = process.memoryUsage();
    sendJson(res, 200, {
      generate: lm.scheduler.stats(),
      inFlight: inFlight.size,
      requests: counts,
      eventLoopDelayMs: { p50: ms(loopDelay.percentile(50)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max) },
      memory: { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers },
      uptimeSeconds: Math.round(process.uptime()),
    });
    if (reset) loopDelay.reset();
  }

  /**
   * Graceful shutdown: stop accepting connections, answer new requests on open ones with 503,
   * let in-flight requests finish; after timeoutMs abort the rest. Resolves when every
   * connection is closed.
   */
  function close(timeoutMs = o.shutdownTimeoutMs) {
    draining = true;
    const closed = new Promise((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const timer = setTimeout(() => {
      for (const ac of inFlight) ac.abort(new Error('the server is shutting down'));
      server.closeAllConnections();
    }, timeoutMs);
    timer.unref();
    return closed.then(() => {
      clearTimeout(timer);
      loopDelay.disable();
    });
  }

  return { server, close };
}

module.exports = { createApp };
