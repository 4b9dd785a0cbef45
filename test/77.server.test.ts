// examples/server: a crash-free load run at CI size (the load test's client, bench/serve-client),
// answers equal to the library's, every error status with its message, a full queue, a
// client that leaves mid-stream, graceful shutdown, and /translate.
/* eslint-disable @typescript-eslint/no-require-imports */
import type { AddressInfo } from 'node:net';
import * as http from 'node:http';

// The server requires the built package, so the test builds its models from the same one.
const rnn = require('..');
const { createApp } = require('../examples/server/app');
const { runLoad } = require('../bench/serve-client');

type App = { server: http.Server; close: (ms?: number) => Promise<void> };

function charModel(hidden = 24) {
  const vocabulary = new rnn.Vocabulary(['<eos>', '<unk>', ...'abcdefghijklmnopqrstuvwxyz .'.split('')], 'char');
  rnn.manualSeed(7);
  const lm = new rnn.LanguageModel({ vocabSize: vocabulary.size, hiddenSize: hidden, numLayers: 2 });
  return { lm, vocabulary };
}

async function start(extra: object = {}): Promise<{ app: App; url: string; lm: any; vocabulary: any }> {
  const { lm, vocabulary } = charModel();
  const app: App = createApp({ lm, vocabulary, ...extra });
  await new Promise<void>((resolve) => app.server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return { app, url, lm, vocabulary };
}

/** GET url → its JSON body. */
const getJson = async (url: string): Promise<any> => (await fetch(url)).json();

async function post(url: string, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await fetch(url, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* an event stream */
  }
  return { status: res.status, json, text, headers: res.headers };
}

describe('examples/server', () => {
  let ctx: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    ctx = await start({ maxBodyBytes: 2048 });
  });
  afterAll(() => ctx.app.close(100));

  it('serves a small load run without a failure, JSON and streamed', async () => {
    const plain = await runLoad({ url: ctx.url, concurrency: 16, requests: 300, body: (k: number) => ({ prompt: 'ab c', maxLength: 6, seed: k, endToken: -1 }) });
    expect(plain.statuses).toEqual({ 200: 300 });
    expect(plain.tokens).toBe(1800);
    const streamed = await runLoad({ url: ctx.url, concurrency: 8, requests: 40, body: (k: number) => ({ maxLength: 5, seed: k, endToken: -1, stream: true }) });
    expect(streamed.statuses).toEqual({ 200: 40 });
    expect(streamed.tokens).toBe(200);
    const stats = await getJson(`${ctx.url}/stats`);
    expect(stats.generate).toMatchObject({ running: 0, queued: 0, failed: 0 });
    expect(stats.generate.completed).toBeGreaterThanOrEqual(340);
    expect(stats.inFlight).toBe(0);
    expect(stats.eventLoopDelayMs.p99).toBeGreaterThanOrEqual(0);
  });

  it('answers what generate() gives for the same options; streams the same tokens', async () => {
    const opts = { prompt: 'the cat ', maxLength: 20, seed: 5, temperature: 0.9, topK: 10 };
    const expected = Array.from(ctx.lm.generate({ ...opts, prompt: ctx.vocabulary.encode(opts.prompt) }));
    const r = await post(`${ctx.url}/generate`, opts);
    expect(r.status).toBe(200);
    expect(r.json.ids).toEqual(expected);
    expect(r.json.text).toBe(ctx.vocabulary.decode(Int32Array.from(expected)));
    expect(r.json.tokens).toBe(expected.length);
    const s = await post(`${ctx.url}/generate`, { ...opts, stream: true });
    expect(s.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = s.text.trim().split('\n\n').map((e) => {
      const [ev, data] = e.split('\n');
      return { event: ev.slice(7), data: JSON.parse(data.slice(6)) };
    });
    expect(events.filter((e) => e.event === 'token').map((e) => e.data.id)).toEqual(expected);
    expect(events[events.length - 1]).toMatchObject({ event: 'done', data: { ids: expected } });
  });

  it('answers every mistake with its status and a message naming the field', async () => {
    const g = `${ctx.url}/generate`;
    const cases: Array<[unknown, number, string]> = [
      [{ maxLength: 'ten' }, 400, '"maxLength" must be an integer in [1, 1000], received "ten"'],
      [{ maxLength: 0 }, 400, '"maxLength" must be an integer in [1, 1000], received 0'],
      [{ temperature: -1 }, 400, '"temperature" must be a number > 0, received -1'],
      [{ topP: 2 }, 400, '"topP" must be a number in (0, 1], received 2'],
      [{ topK: 31 }, 400, '"topK" must be an integer in [1, 30], received 31'],
      [{ temp: 1 }, 400, 'unknown field "temp"; known: prompt, promptIds'],
      [{ prompt: '' }, 400, '"prompt" must be a string of 1 to 4096 characters, received ""'],
      [{ prompt: 'a', promptIds: [1] }, 400, 'give "prompt" (text) or "promptIds" (token ids), not both'],
      [{ promptIds: [1, 99] }, 400, '"promptIds" must be an array of 1 to 4096 token ids in [0, 30), received an array of 2'],
      [{ stream: 'yes' }, 400, '"stream" must be true or false, received "yes"'],
      ['[1, 2]', 400, 'the body must be a JSON object, received an array'],
      ['{"a":', 400, 'the body is not valid JSON'],
      [JSON.stringify({ prompt: 'x'.repeat(3000) }), 413, 'the body is 3013 bytes; the limit is 2048'],
    ];
    for (const [body, status, message] of cases) {
      const r = await post(g, body);
      expect({ status: r.status, error: r.json?.error }).toEqual({ status, error: expect.stringContaining(message) });
    }
    const wrongType = await post(g, '{}', { 'content-type': 'text/plain' });
    expect(wrongType.status).toBe(415);
    expect(wrongType.json.error).toBe('the body must be JSON: send Content-Type: application/json (received "text/plain")');
    const get = await fetch(g);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const none = await fetch(`${ctx.url}/nowhere`);
    expect(none.status).toBe(404);
    expect(((await none.json()) as any).error).toBe('no route GET /nowhere; routes: POST /generate, GET /health, GET /stats');
  });

  it('a client that leaves mid-stream frees its batch slot', async () => {
    const { app, url } = await start({ maxLength: 1_000_000 });
    const before = (await getJson(`${url}/stats`)).generate.aborted;
    await new Promise<void>((resolve, reject) => {
      const payload = JSON.stringify({ maxLength: 1_000_000, endToken: -1, stream: true });
      const req = http.request(`${url}/generate`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.once('data', () => {
          req.destroy(); // the first token arrived: leave
          resolve();
        });
      });
      req.on('error', () => undefined);
      req.on('close', resolve);
      setTimeout(() => reject(new Error('no token arrived')), 10_000).unref();
      req.end(payload);
    });
    let s: any = null;
    for (let i = 0; i < 200; i++) {
      s = (await getJson(`${url}/stats`)).generate;
      if (s.aborted === before + 1 && s.running === 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await app.close(100);
    expect(s).toMatchObject({ aborted: before + 1, running: 0, completed: 0 });
  });
});

describe('examples/server under pressure', () => {
  it('a full queue answers 503 with Retry-After at once', async () => {
    const { app, url, lm } = await start();
    lm.scheduler.configure({ maxBatch: 1, maxQueue: 0 });
    const body = { maxLength: 200, endToken: -1 };
    const replies = await Promise.all([1, 2, 3].map(() => post(`${url}/generate`, body)));
    const refused = replies.filter((r) => r.status === 503);
    expect(replies.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused[0].headers.get('retry-after')).toBe('1');
    expect(refused[0].json.error).toMatch(/^LanguageModel\.generateAsync: the queue is full/);
    await app.close(100);
  });

  it('graceful shutdown lets an in-flight request finish, then closes', async () => {
    const { app, url } = await start({ maxLength: 1_000_000 });
    const inFlight = post(`${url}/generate`, { maxLength: 3000, endToken: -1, seed: 1 });
    await new Promise((r) => setTimeout(r, 20)); // the request is running
    const closed = app.close(30_000);
    const r = await inFlight;
    expect(r.status).toBe(200);
    expect(r.json.tokens).toBe(3000);
    await closed;
    await expect(fetch(`${url}/health`)).rejects.toThrow(); // no longer listening
  });

  it('shutdown aborts what is still running after its timeout', async () => {
    const { app, url, lm } = await start({ maxLength: 1_000_000 });
    const stuck = post(`${url}/generate`, { maxLength: 1_000_000, endToken: -1 }).catch((e: Error) => e);
    await new Promise((r) => setTimeout(r, 20));
    await app.close(50);
    expect(await stuck).toMatchObject({ message: 'fetch failed' }); // the connection was closed under it
    for (let i = 0; i < 100 && lm.scheduler.stats().running > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(lm.scheduler.stats()).toMatchObject({ running: 0, aborted: 1 });
  });
});

describe('examples/server /translate', () => {
  it('translates with the model\'s vocabularies and checks its fields', async () => {
    const src = new rnn.Vocabulary(['<eos>', '<unk>', ...'abcdefgh'.split('')], 'char');
    const tgt = new rnn.Vocabulary(['<eos>', '<unk>', 'AA', 'BB', 'CC', 'DD'], 'word');
    rnn.manualSeed(3);
    const seq2seq = new rnn.Seq2Seq({ sourceVocabSize: src.size, targetVocabSize: tgt.size, embeddingDim: 8, hiddenSize: 16, dropout: 0 });
    const { app, url } = await start({ seq2seq, sourceVocabulary: src, targetVocabulary: tgt });
    const words = ['abc', 'hhh', 'gafe'];
    const expected = seq2seq.translate(words.map((w) => src.encode(w)), { beamSize: 3 }).map((ids: Int32Array) => tgt.decode(ids));
    const r = await post(`${url}/translate`, { sources: words, beamSize: 3 });
    expect(r.status).toBe(200);
    expect(r.json.outputs).toEqual(expected);
    const one = await post(`${url}/translate`, { source: 'abc', beamSize: 3 });
    expect(one.json.outputs).toEqual([expected[0]]);
    const bad = await post(`${url}/translate`, { source: 'abc', sources: ['x'] });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toBe('give "source" (one text) or "sources" (an array of texts), exactly one of them');
    const badMode = await post(`${url}/translate`, { source: 'abc', mode: 'fast' });
    expect(badMode.json.error).toBe('"mode" must be "greedy", "beam" or "sample", received "fast"');
    await app.close(100);
  });
});
