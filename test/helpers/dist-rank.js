// One rank of the distributed tests (test/8x.distributed.*): joins the group the environment
// describes (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, as `rnn-native launch` sets them; no
// group when WORLD_SIZE is unset), does what `mode` says and prints one JSON line on stdout.
//   node dist-rank.js collectives            allReduce/broadcast/barrier results, a refused mismatch
//   node dist-rank.js die <victim> <ms>      the victim SIGKILLs itself; the others time an allReduce
//   node dist-rank.js hang <victim> <ms>     the victim stops answering; the others time an allReduce
//   node dist-rank.js rendezvous <ms>        times initProcessGroup (for a job missing a rank)
//   node dist-rank.js train-lm <B> <fit|fitSync>   trains a language model, prints its weights
//   node dist-rank.js train-s2s <B> <fit|fitSync>  the same for an encoder–decoder
//   node dist-rank.js train-die <victim> <step>    the victim SIGKILLs itself inside fit()
//   node dist-rank.js resume <B> <dir> <whole|first|rest>  a language model trained at once, or
//                                            stopped after 7 steps (checkpoints in dir) and resumed
//   node dist-rank.js exit <victim> <code>   the victim exits with code; the others wait to be stopped
//   node dist-rank.js signal                 prints the environment, then waits for SIGTERM
//   node dist-rank.js forget                 joins, reduces once, and ends without destroyProcessGroup
'use strict';
const path = require('node:path');
const lib = require(path.join(__dirname, '..', '..'));

const dist = lib.distributed;
const [mode, ...args] = process.argv.slice(2);
const grouped = process.env.WORLD_SIZE !== undefined;
// One JSON line. Ranks under the launcher share one stdout pipe, where a write longer than
// PIPE_BUF (4 KiB) can interleave with another rank's: with DIGEST_WEIGHTS=1 the weights are
// reported as a SHA-256 of their JSON, which keeps the line short.
const out = (o) => {
  if (process.env.DIGEST_WEIGHTS === '1' && o.weights !== undefined)
    o = { ...o, weights: require('node:crypto').createHash('sha256').update(JSON.stringify(o.weights)).digest('hex') };
  process.stdout.write(`${JSON.stringify(o)}\n`);
};

/** Runs f and reports whether it settled well, how long it took, and its error. */
async function timed(f) {
  const t0 = Date.now();
  try {
    await f();
    return { ok: true, ms: Date.now() - t0 };
  } catch (e) {
    return { ok: false, ms: Date.now() - t0, name: e.name, message: e.message };
  }
}

const TEXT = 'the quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. '.repeat(12);

/** Every parameter's values, by name. */
function weightsOf(model) {
  return Object.fromEntries(model.namedParameters().map(([n, p]) => [n, Array.from(p.data)]));
}

/** Training options shared by the single process and the ranks (SGD: equal up to rounding). */
function trainOptions(B, extra = {}) {
  return {
    epochs: 2, batchSize: B, seqLength: 8, optimizer: { type: 'SGD', lr: 0.5, momentum: 0.5 }, clipGradNorm: 0.5,
    validationFraction: 0.1, seed: 7, checksumEvery: 3, ...extra,
  };
}

async function train(kind, B, how) {
  const rank = grouped ? Number(process.env.RANK) : 0;
  if (grouped) await dist.initProcessGroup({ timeoutMs: 20000 });
  // Ranks build their models from different seeds: the run must start from rank 0's weights.
  lib.manualSeed(1 + rank);
  let model, data;
  if (kind === 'lm') {
    const vocab = lib.Vocabulary.fromText(TEXT);
    model = new lib.LanguageModel({ vocabSize: vocab.size, embeddingDim: 8, hiddenSize: 16, numLayers: 2 });
    data = vocab.encode(TEXT);
  } else {
    // An encoder–decoder (embeddings, a bidirectional GRU encoder, attention, a GRU decoder,
    // a linear head) learning to reverse strings of 2–6 tokens.
    model = new lib.Seq2Seq({ sourceVocabSize: 7, targetVocabSize: 7, embeddingDim: 8, hiddenSize: 12, cell: 'gru', encoderLayers: 1, dropout: 0 });
    const g = new lib.Generator(5);
    const sources = [], targets = [];
    // 42 pairs, 37 to train on: with 3 ranks × 4 the last global batch has one pair, and two
    // ranks an empty share of it.
    for (let i = 0; i < 42; i++) {
      const s = Int32Array.from({ length: 2 + (g.nextUint32() % 5) }, () => 1 + (g.nextUint32() % 6));
      sources.push(s);
      targets.push(s.slice().reverse());
    }
    data = { sources, targets };
  }
  const losses = [];
  const opts = trainOptions(B, kind === 's2s' ? { bucketSize: 2 } : {});
  let result;
  if (how === 'fit') result = await lib.fit(model, data, { ...opts, progress: false, onBatch: (b) => losses.push(b.loss) });
  else result = lib.fitSync(model, data, opts, { onBatch: (b) => losses.push(b.loss) });
  out({ rank, threads: lib.getNumThreads(), steps: result.steps, valLoss: result.epochs.map((e) => e.valLoss), losses, weights: weightsOf(model) });
  if (grouped) await dist.destroyProcessGroup();
}

async function main() {
  if (mode === 'collectives') {
    await dist.initProcessGroup({ timeoutMs: 10000 });
    const r = dist.getRank(), n = dist.getWorldSize();
    const res = { rank: r, worldSize: n, available: dist.isAvailable(), initialized: dist.isInitialized() };
    for (const op of ['sum', 'mean', 'max', 'min']) {
      const a = Float32Array.from([r, 1, -r, 2 * r + 0.5]);
      await dist.allReduce(a, op);
      res[op] = Array.from(a);
    }
    const b = Float32Array.from({ length: 5 }, (_, i) => r * 10 + i);
    await dist.broadcast(b, n - 1);
    res.broadcast = Array.from(b);
    const t = new lib.Tensor(Float32Array.from([r + 1, 2]), [2]);
    await dist.allReduce(t, 'sum');
    res.tensor = Array.from(t.data);
    // 3 million elements: several of Gloo's 1 MiB segments per rank
    const big = new Float32Array(3_000_000).fill(r + 1);
    await dist.allReduce(big);
    res.bigAllEqual = big.every((x) => x === (n * (n + 1)) / 2);
    // A length that differs by rank: refused on every rank, and the group stays usable.
    res.mismatch = await timed(() => dist.allReduce(new Float32Array(r + 1)));
    res.wrongSrc = await timed(() => dist.broadcast(new Float32Array(2), r));
    const again = Float32Array.of(1);
    await dist.allReduce(again);
    res.after = again[0];
    // A collective whose array the caller changes at once: the result lands when it is done.
    const early = Float32Array.of(r);
    const pending = dist.allReduce(early);
    early[0] = 1000;
    await pending;
    res.copied = early[0];
    res.barrier = await timed(() => dist.barrier());
    await dist.destroyProcessGroup();
    res.initializedAfter = dist.isInitialized();
    out(res);
  } else if (mode === 'die' || mode === 'hang') {
    const victim = Number(args[0]), timeoutMs = Number(args[1]);
    await dist.initProcessGroup({ timeoutMs: 20000 });
    const r = dist.getRank();
    await dist.allReduce(new Float32Array(4)); // everyone connected and working
    if (r === victim) {
      if (mode === 'die') process.kill(process.pid, 'SIGKILL');
      out({ rank: r, hanging: true });
      // Alive (its sockets open) but never answering: the event loop is blocked.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000);
      return;
    }
    const first = await timed(() => dist.allReduce(new Float32Array(1000), 'sum', { timeoutMs }));
    const second = await timed(() => dist.allReduce(new Float32Array(1000), 'sum', { timeoutMs }));
    const destroy = await timed(() => dist.destroyProcessGroup());
    out({ rank: r, first, second, destroy });
  } else if (mode === 'rendezvous') {
    out({ init: await timed(() => dist.initProcessGroup({ timeoutMs: Number(args[0]) })), initialized: dist.isInitialized() });
  } else if (mode === 'train-lm' || mode === 'train-s2s') {
    await train(mode === 'train-lm' ? 'lm' : 's2s', Number(args[0]), args[1]);
  } else if (mode === 'train-die') {
    const victim = Number(args[0]), at = Number(args[1]);
    await dist.initProcessGroup({ timeoutMs: 4000 });
    const r = dist.getRank();
    lib.manualSeed(1);
    const vocab = lib.Vocabulary.fromText(TEXT);
    const lm = new lib.LanguageModel({ vocabSize: vocab.size, hiddenSize: 16 });
    const t0 = Date.now();
    let lastStep = 0;
    try {
      await lib.fit(lm, vocab.encode(TEXT), {
        epochs: 50, batchSize: 2, seqLength: 8, progress: false,
        onBatch: (b) => {
          lastStep = b.step;
          if (r === victim && b.step === at) process.kill(process.pid, 'SIGKILL');
        },
      });
      out({ rank: r, ok: true });
    } catch (e) {
      process.stderr.write(`rank ${r}: ${e.message}\n`);
      out({ rank: r, ok: false, message: e.message, lastStep, msAfterLastStep: Date.now() - t0 });
      process.exitCode = 1;
    }
  } else if (mode === 'resume') {
    const [B, dir, phase] = [Number(args[0]), args[1], args[2]];
    if (grouped) await dist.initProcessGroup({ timeoutMs: 20000 });
    lib.manualSeed(1);
    const vocab = lib.Vocabulary.fromText(TEXT);
    const lm = new lib.LanguageModel({ vocabSize: vocab.size, embeddingDim: 8, hiddenSize: 16, numLayers: 2 });
    const opts = { ...trainOptions(B), optimizer: { type: 'Adam', lr: 0.01 }, checkpointEvery: 3 };
    if (phase !== 'whole') opts.checkpointDir = dir;
    if (phase === 'first') opts.maxBatches = 7;
    if (phase === 'rest') opts.resumeFrom = dir;
    try {
      const result = lib.fitSync(lm, vocab.encode(TEXT), opts);
      out({ rank: grouped ? dist.getRank() : 0, steps: result.steps, reason: result.reason, weights: weightsOf(lm) });
    } catch (e) {
      out({ rank: grouped ? dist.getRank() : 0, error: e.message, name: e.name });
    }
    if (grouped) await dist.destroyProcessGroup();
  } else if (mode === 'forget') {
    await dist.initProcessGroup({ timeoutMs: 10000 });
    await dist.allReduce(new Float32Array(4));
    out({ rank: dist.getRank(), t: Date.now() });
    // no destroyProcessGroup(): the process must still end, at once and with code 0
  } else if (mode === 'exit') {
    const victim = Number(args[0]), code = Number(args[1]);
    if (Number(process.env.RANK) === victim) setTimeout(() => process.exit(code), 200);
    else setTimeout(() => out({ rank: Number(process.env.RANK), stillRunning: true }), 30000);
  } else if (mode === 'signal') {
    const env = ['RANK', 'LOCAL_RANK', 'WORLD_SIZE', 'LOCAL_WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'];
    process.on('SIGTERM', () => {
      out({ rank: Number(process.env.RANK), signal: 'SIGTERM' });
      process.exit(0);
    });
    out({ ready: true, env: Object.fromEntries(env.map((k) => [k, process.env[k]])) });
    setTimeout(() => process.exit(5), 30000);
  } else {
    throw new Error(`dist-rank.js: unknown mode ${mode}`);
  }
}

main().catch((e) => {
  process.stderr.write(`dist-rank.js ${mode}: ${e.stack}\n`);
  process.exit(1);
});
