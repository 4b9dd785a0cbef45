#!/usr/bin/env node
// Fuzzing the file loaders: loadSafetensors, loadLanguageModel, loadSeq2Seq, loadSequenceClassifier and resuming from checkpoints
// (fitSync's resumeFrom, and a save into the same folder).
//
// Each case takes a valid file (or checkpoint folder), mutates it (bit flips, byte edits,
// truncation, splices, and header-aware edits: shapes, offsets, dtypes, tensor names, the
// options and vocabulary JSON, hostile latest.json names, trainer.json fields) and loads it.
// The contract: a load either succeeds with a consistent result or throws an Error whose
// message starts with the loader's name (a RangeError only where the file is fine but does
// not fit the caller's model or batch size); never another exception, a crash, a hang (each
// case is timed) or a large allocation (RSS is watched), and a save never deletes outside the
// checkpoint folder. From a path and from bytes, a safetensors load must agree.
//
// Cases are deterministic: case i of seed s always builds the same file. Used by
// test/42.file-fuzz.test.ts with a bounded count (a few seconds, part of `npm test`), and
// from the command line for long runs, which write every failing case into
// test/fixtures/fuzz/ (where the test replays it forever after):
//
//   npm run fuzz:files -- [--seed N] [--count N] [--kinds safetensors,model,seq2seq,classifier,checkpoint]
//                         [--save test/fixtures/fuzz] [--time-limit-ms 2000]
//
// (node scripts/fuzz-files.js … works too; it needs the build: npm run build.)
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

// ---- deterministic randomness ------------------------------------------------------------

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
/** The generator of case `index` of run `seed`: each case reproduces on its own. */
function caseRng(seed, index) {
  return mulberry32((Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca77)) >>> 0);
}

const INTERESTING_NUMBERS = [
  0, 1, 2, 3, 7, 8, 255, 256, 65535, 65536, 65537, 2 ** 27, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, -1, -(2 ** 31),
  0.5, 1.5, 1e308, -0,
];
const INTERESTING_JSON = [
  ...INTERESTING_NUMBERS, 1e400, '8', '', 'lstm', 'gru', null, true, false, [], [8], {}, { a: 1 }, 'x'.repeat(300),
];
const INTERESTING_BYTES = [0x00, 0xff, 0x7f, 0x80, 0x7b, 0x7d, 0x5b, 0x22, 0x3a, 0x2c, 0x30, 0x39, 0x2d, 0x5c, 0x20, 0x0a];
const HOSTILE_NAMES = [
  '..', '.', '/', '/etc', '../x', 'step-1-epoch-0/..', 'step-0-epoch-0', 'step-99999999999999999-epoch-0', 'latest.json',
  'step-1-epoch-0\u0000', 'a'.repeat(300), '', 'step-1-epoch-0-1234567',
];

// ---- file surgery ------------------------------------------------------------------------

/** Header JSON (raw object), header length and data of a valid safetensors file, or null. */
function splitSafetensors(bytes) {
  if (bytes.length < 8) return null;
  const n = Number(Buffer.from(bytes.buffer, bytes.byteOffset, 8).readBigUInt64LE(0));
  if (8 + n > bytes.length) return null;
  try {
    return { header: JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8')), data: bytes.subarray(8 + n) };
  } catch {
    return null;
  }
}
function joinSafetensors(header, data) {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const n = json.length + ((8 - (json.length % 8)) % 8);
  const out = Buffer.alloc(8 + n + data.length, 0x20);
  out.writeBigUInt64LE(BigInt(n), 0);
  json.copy(out, 8);
  Buffer.from(data.buffer, data.byteOffset, data.length).copy(out, 8 + n);
  return out;
}

const pick = (r, a) => a[Math.floor(r() * a.length)];
const int = (r, n) => Math.floor(r() * n);

/** A JSON value with one random part changed (a field set, deleted or added; an element replaced). */
function mutateJson(r, value, depth = 0) {
  if (Array.isArray(value)) {
    const a = value.slice();
    if (a.length && r() < 0.7) {
      const i = int(r, a.length);
      a[i] = r() < 0.5 && depth < 3 && a[i] !== null && typeof a[i] === 'object' ? mutateJson(r, a[i], depth + 1) : pick(r, INTERESTING_JSON);
    } else if (r() < 0.5) a.pop();
    else a.push(pick(r, INTERESTING_JSON));
    return a;
  }
  if (value !== null && typeof value === 'object') {
    const o = { ...value };
    const keys = Object.keys(o);
    const roll = r();
    if (keys.length && roll < 0.7) {
      const k = pick(r, keys);
      o[k] = r() < 0.5 && depth < 3 && o[k] !== null && typeof o[k] === 'object' ? mutateJson(r, o[k], depth + 1) : pick(r, INTERESTING_JSON);
    } else if (keys.length && roll < 0.85) delete o[pick(r, keys)];
    else o[pick(r, ['extra', '__proto__', 'constructor', 'numLayers', 'cell', 'step'])] = pick(r, INTERESTING_JSON);
    return o;
  }
  return pick(r, INTERESTING_JSON);
}

/** A JSON text mutated at the value level, or a hostile text in its place. */
function mutateJsonText(r, text) {
  const roll = r();
  if (roll < 0.08) return '['.repeat(1 + int(r, 20000)) + ']'.repeat(int(r, 3) ? 0 : 20000);
  if (roll < 0.12) return `"${'x'.repeat(int(r, 200000))}"`;
  if (roll < 0.2) return text.slice(0, int(r, text.length + 1));
  try {
    return JSON.stringify(mutateJson(r, JSON.parse(text)));
  } catch {
    return text + pick(r, ['}', ']', ',', '"', '\\']);
  }
}

/** One header-aware edit of a safetensors file. */
function mutateHeader(r, bytes) {
  const parts = splitSafetensors(bytes);
  if (!parts || parts.header === null || typeof parts.header !== 'object' || Array.isArray(parts.header)) return mutateBytes(r, bytes);
  const { header } = parts;
  let { data } = parts;
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const roll = r();
  const meta0 = header.__metadata__;
  if (roll < 0.45 && meta0 !== null && typeof meta0 === 'object' && Object.keys(meta0).length) {
    const meta = { ...header.__metadata__ };
    const key = pick(r, Object.keys(meta));
    if (r() < 0.85) meta[key] = mutateJsonText(r, typeof meta[key] === 'string' ? meta[key] : JSON.stringify(meta[key]));
    else if (r() < 0.5) delete meta[key];
    else meta[key] = pick(r, ['', 'rnn-native/language-model@1', 'rnn-native/seq2seq@1', 'rnn-native/sequence-classifier@1', 'pt', '{}']);
    header.__metadata__ = meta;
  } else if (names.length && roll < 0.85) {
    const name = pick(r, names);
    const e = header[name] !== null && typeof header[name] === 'object' ? { ...header[name] } : { dtype: 'F32', shape: [1], data_offsets: [0, 4] };
    const what = int(r, 7);
    if (what === 0) e.dtype = pick(r, ['F32', 'F16', 'BF16', 'F64', 'I64', 'BOOL', 'f32', '']);
    else if (what === 1) e.shape = mutateJson(r, e.shape);
    else if (what === 2) e.data_offsets = mutateJson(r, e.data_offsets);
    else if (what === 3) {
      delete header[name];
      header[pick(r, ['__proto__', '', 'rnn.weight_ih_l9', 'x'.repeat(500), `${name}.x`, 'head.bias', 'embedding.weight'])] = e;
    } else if (what === 4) delete header[name];
    else if (what === 5) header[`${name}_copy`] = { ...e };
    else e.shape = Array.isArray(e.shape) ? e.shape.map((d) => (r() < 0.5 && typeof d === 'number' ? d * pick(r, [2, 65536, 0]) : d)) : [pick(r, INTERESTING_NUMBERS)];
    if (name in header) header[name] = e;
  } else {
    // the data buffer: shorter, longer
    data = r() < 0.5 ? data.subarray(0, int(r, data.length + 1)) : Buffer.concat([data, Buffer.alloc(1 + int(r, 64))]);
  }
  return joinSafetensors(header, data);
}

/** One byte-level edit. */
function mutateBytes(r, bytes) {
  const b = Buffer.from(bytes);
  const roll = r();
  if (b.length === 0) return Buffer.from([int(r, 256)]);
  if (roll < 0.3) {
    for (let k = 1 + int(r, 8); k > 0; k--) {
      const i = r() < 0.6 ? int(r, Math.min(b.length, 200)) : int(r, b.length); // mostly in the header
      b[i] ^= 1 << int(r, 8);
    }
    return b;
  }
  if (roll < 0.5) {
    const i = r() < 0.3 ? int(r, 8) : int(r, b.length);
    b[i] = pick(r, INTERESTING_BYTES);
    return b;
  }
  if (roll < 0.65) return b.subarray(0, int(r, b.length));
  if (roll < 0.75 && b.length >= 8) {
    const i = int(r, 8);
    b.writeUInt32LE(pick(r, [0, 1, 7, 8, 0xffffffff, b.length, b.length - 8, b.length - 7]) >>> 0, i < 4 ? 0 : 4);
    return b;
  }
  if (roll < 0.88) {
    const i = int(r, b.length), j = Math.min(b.length, i + 1 + int(r, 16));
    return Buffer.concat([b.subarray(0, i), b.subarray(j)]);
  }
  const i = int(r, b.length);
  return Buffer.concat([b.subarray(0, i), Buffer.from(Array.from({ length: 1 + int(r, 16) }, () => pick(r, INTERESTING_BYTES))), b.subarray(i)]);
}

function mutateFile(r, bytes) {
  const k = 1 + (r() < 0.2 ? int(r, 3) : 0);
  let out = bytes;
  for (let i = 0; i < k; i++) out = r() < 0.55 ? mutateHeader(r, out) : mutateBytes(r, out);
  return out;
}

// ---- the valid starting points -----------------------------------------------------------

const FIXTURES = path.join(__dirname, '..', 'test', 'fixtures');
const TEXT = 'a stitch in time saves nine; the early bird catches the worm. '.repeat(6);

/** The valid files every case starts from. `lib` is the library (dist or TS sources). */
function makeBases(lib) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-native-fuzz-base-'));
  try {
    const safetensors = ['f32', 'f16', 'bf16', 'f64', 'mixed'].map((n) => fs.readFileSync(path.join(FIXTURES, 'safetensors', `${n}.safetensors`)));
    const withMeta = path.join(tmp, 'meta.safetensors');
    lib.saveSafetensors(withMeta, { a: new lib.Tensor([1, 2, 3, 4, 5, 6], [2, 3]), b: new lib.Tensor([7], []), e: lib.Tensor.zeros([0, 4]) }, { format: 'pt', note: '{"x":[1,2]}' });
    safetensors.push(fs.readFileSync(withMeta));

    const vocab = lib.Vocabulary.fromText(TEXT);
    const ids = vocab.encode(TEXT);
    const modelOptions = [
      { vocabSize: vocab.size, hiddenSize: 6, numLayers: 2, cell: 'lstm', tieWeights: true, dropout: 0.1 },
      { vocabSize: vocab.size, hiddenSize: 5, embeddingDim: 3, cell: 'gru' },
      { vocabSize: vocab.size, hiddenSize: 4, cell: 'rnn_relu' },
    ];
    const models = modelOptions.map((o, k) => {
      lib.manualSeed(k + 1);
      const lm = new lib.LanguageModel(o);
      const file = path.join(tmp, `lm${k}.safetensors`);
      lib.saveLanguageModel(file, lm, k === 2 ? undefined : vocab);
      return fs.readFileSync(file);
    });

    // encoder–decoders: each attention kind, tied embeddings, GRU, stacked layers
    const letters = new lib.Vocabulary(['<eos>', '<unk>', 'a', 'b', 'c', 'd'], 'char');
    const words = new lib.Vocabulary(['<eos>', '<unk>', 'X', 'Y', 'Z'], 'word');
    const seq2seqOptions = [
      { attention: 'general' },
      { attention: 'additive', cell: 'gru', encoderLayers: 2 },
      { attention: 'dot', embeddingDim: 6, tieTargetEmbeddings: true, decoderLayers: 2 },
      { attention: 'none', bidirectional: false, hiddenSize: 5 },
    ];
    const seq2seq = seq2seqOptions.map((o, k) => {
      lib.manualSeed(k + 1);
      const m = new lib.Seq2Seq({ sourceVocabSize: letters.size, targetVocabSize: words.size, embeddingDim: 4, hiddenSize: 6, ...o });
      const file = path.join(tmp, `s2s${k}.safetensors`);
      lib.saveSeq2Seq(file, m, { source: letters, target: words });
      return fs.readFileSync(file);
    });

    // classifiers: each pooling kind, normalised embeddings (a frozen tensor), class weights, GRU, stacked layers
    const texts = new lib.Vocabulary(['<eos>', '<unk>', 'free', 'prize', 'lunch', 'noon', '!'], 'word');
    const classifierOptions = [
      { pooling: 'max', normalizeEmbeddings: true, maxLength: 50 },
      { pooling: 'attention', cell: 'gru', numLayers: 2, classWeights: [1, 2, 0.5] },
      { pooling: 'last', bidirectional: false, cell: 'rnn_tanh' },
      { pooling: 'mean', normalizeEmbeddings: true, dropout: 0.2 },
    ];
    const classifiers = classifierOptions.map((o, k) => {
      lib.manualSeed(k + 1);
      const numClasses = o.classWeights ? o.classWeights.length : 2;
      const m = new lib.SequenceClassifier({ vocabSize: texts.size, numClasses, embeddingDim: 4, hiddenSize: 5, ...o });
      if (o.normalizeEmbeddings) m.setTokenFrequencies(Float32Array.from({ length: texts.size }, (_, i) => i + 1));
      const file = path.join(tmp, `clf${k}.safetensors`);
      lib.saveSequenceClassifier(file, m, { vocabulary: texts, labels: ['ham', 'spam', 'eggs'].slice(0, numClasses) });
      return fs.readFileSync(file);
    });

    // a checkpoint with every file: carried state, optimizer moments, scheduler, best weights
    const ckOptions = { vocabSize: vocab.size, hiddenSize: 4 };
    const ckConfig = { batchSize: 2, seqLength: 8, seed: 3, validationFraction: 0.2, epochs: 2, earlyStopping: { patience: 3 }, scheduler: { type: 'StepLR', stepSize: 2 } };
    lib.manualSeed(5);
    const ckModel = new lib.LanguageModel(ckOptions);
    const ckDir = path.join(tmp, 'ck');
    const perEpoch = Math.ceil((Math.floor(Math.floor(ids.length * 0.8) / 2) - 1) / 8);
    lib.fitSync(ckModel, ids, { ...ckConfig, checkpointDir: ckDir, maxBatches: perEpoch + 2 });
    const checkpoint = {};
    const walk = (dir, rel) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) walk(path.join(dir, e.name), r);
        else checkpoint[r] = fs.readFileSync(path.join(dir, e.name));
      }
    };
    walk(ckDir, '');
    return { safetensors, models, seq2seq, classifiers, checkpoint: { files: checkpoint, options: ckOptions, config: ckConfig, ids } };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** A mutated copy of the checkpoint's files ({ relative path: bytes }). */
function mutateCheckpoint(r, files) {
  const out = { ...files };
  const names = Object.keys(out);
  const step = names.find((n) => n.includes('/')).split('/')[0];
  const roll = r();
  if (roll < 0.15) out['latest.json'] = Buffer.from(JSON.stringify({ checkpoint: pick(r, HOSTILE_NAMES) }));
  else if (roll < 0.22) out['latest.json'] = mutateBytes(r, out['latest.json']);
  else if (roll < 0.42) out[`${step}/trainer.json`] = Buffer.from(mutateJsonText(r, out[`${step}/trainer.json`].toString('utf8')));
  else if (roll < 0.5) delete out[pick(r, names)];
  else if (roll < 0.55) out[pick(r, [`${step}/extra.bin`, 'step-1-epoch-0/model.safetensors', `.${step}.1.0123456789ab.tmp/x`])] = Buffer.from('junk');
  else {
    const file = pick(r, names.filter((n) => n.endsWith('.safetensors')));
    out[file] = mutateFile(r, out[file]);
  }
  return out;
}

// ---- the oracle --------------------------------------------------------------------------

/** The instance check of an error, whichever realm (jest's vm or node's) created it. */
function errorKind(e) {
  if (e === null || typeof e !== 'object' || typeof e.message !== 'string') return 'not an Error';
  return e.name; // 'Error', 'TypeError', 'RangeError', …
}

/** Why a thrown value breaks the contract, or null when it is a proper file error of `ctx`. */
function badError(e, ctx, allowRange) {
  const kind = errorKind(e);
  if (kind === 'not an Error') return `threw a non-Error: ${String(e)}`;
  if (kind !== 'Error' && !(allowRange && kind === 'RangeError')) return `threw a ${kind}: ${e.message}`;
  if (!e.message.startsWith(`${ctx}:`)) return `an error without the "${ctx}:" prefix: ${e.message}`;
  return null;
}

function sameTensors(a, b) {
  const ka = Object.keys(a), kb = Object.keys(b);
  if (ka.join('\0') !== kb.join('\0')) return false;
  return ka.every((k) => a[k].shape.join() === b[k].shape.join() && Buffer.compare(Buffer.from(a[k].data.buffer, a[k].data.byteOffset, a[k].data.byteLength), Buffer.from(b[k].data.buffer, b[k].data.byteOffset, b[k].data.byteLength)) === 0);
}

function checkSafetensors(lib, bytes, tmp) {
  let fromBytes, bytesErr, fromPath, pathErr;
  try {
    fromBytes = lib.loadSafetensors(bytes);
  } catch (e) {
    bytesErr = e;
  }
  const file = path.join(tmp, 'case.safetensors');
  fs.writeFileSync(file, bytes);
  try {
    fromPath = lib.loadSafetensors(file);
  } catch (e) {
    pathErr = e;
  }
  if (bytesErr) {
    const bad = badError(bytesErr, 'loadSafetensors', false);
    if (bad) return bad;
    if (!pathErr) return `loads from a path but not from bytes (${bytesErr.message})`;
    const tail = (m) => m.replace(/^loadSafetensors(: "[^"]*")?: /, '');
    if (tail(pathErr.message) !== tail(bytesErr.message)) return `bytes and path disagree: "${bytesErr.message}" vs "${pathErr.message}"`;
    return null;
  }
  if (pathErr) return `loads from bytes but not from a path (${pathErr.message})`;
  let total = 0;
  for (const [k, t] of Object.entries(fromBytes.tensors)) {
    if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) return `tensor ${k}: ${t.data.length} elements for shape [${t.shape}]`;
    total += t.data.byteLength;
  }
  if (total > 2 * bytes.length) return `${total} bytes of tensors from a ${bytes.length}-byte file`;
  if (!sameTensors(fromBytes.tensors, fromPath.tensors)) return 'bytes and path give different tensors';
  return null;
}

function checkModel(lib, bytes) {
  let loaded;
  try {
    loaded = lib.loadLanguageModel(bytes);
  } catch (e) {
    return badError(e, 'loadLanguageModel', false);
  }
  const n = loaded.model.parameters().reduce((a, p) => a + p.size, 0);
  if (4 * n > bytes.length) return `a model of ${n} parameters from a ${bytes.length}-byte file`;
  try {
    loaded.model.eval().forward(Int32Array.of(0), 1, 1);
  } catch (e) {
    return `the loaded model fails: ${e.message}`;
  }
  if (loaded.vocabulary && !(loaded.vocabulary instanceof lib.Vocabulary)) return 'vocabulary is not a Vocabulary';
  return null;
}

function checkSeq2Seq(lib, bytes) {
  let loaded;
  try {
    loaded = lib.loadSeq2Seq(bytes);
  } catch (e) {
    return badError(e, 'loadSeq2Seq', false);
  }
  // The file pays for every tensor it lists (a tied weight is stored twice, built once).
  const n = [...new Set(loaded.model.parameters())].reduce((a, p) => a + p.size, 0);
  if (4 * n > bytes.length) return `a model of ${n} parameters from a ${bytes.length}-byte file`;
  for (const v of [loaded.sourceVocabulary, loaded.targetVocabulary]) if (!(v instanceof lib.Vocabulary)) return 'a vocabulary is not a Vocabulary';
  try {
    loaded.model.translate([Int32Array.of(0)], { beamSize: 2, maxLength: 3 });
  } catch (e) {
    return `the loaded model fails: ${e.message}`;
  }
  return null;
}

function checkClassifier(lib, bytes) {
  let loaded;
  try {
    loaded = lib.loadSequenceClassifier(bytes);
  } catch (e) {
    return badError(e, 'loadSequenceClassifier', false);
  }
  const n = loaded.model.parameters().reduce((a, p) => a + p.size, 0);
  if (4 * n > bytes.length) return `a model of ${n} parameters from a ${bytes.length}-byte file`;
  if (!(loaded.vocabulary instanceof lib.Vocabulary)) return 'vocabulary is not a Vocabulary';
  if (loaded.vocabulary.size !== loaded.model.options.vocabSize) return `a vocabulary of ${loaded.vocabulary.size} tokens for vocabSize ${loaded.model.options.vocabSize}`;
  if (!Array.isArray(loaded.labels) || loaded.labels.length !== loaded.model.options.numClasses) return 'labels do not match numClasses';
  try {
    const p = loaded.model.predictProba([Int32Array.of(0), Int32Array.of(1, 0)]);
    if (p.shape[0] !== 2 || p.shape[1] !== loaded.model.options.numClasses) return `predictProba gave shape [${p.shape}]`;
  } catch (e) {
    return `the loaded model fails: ${e.message}`;
  }
  return null;
}

function checkCheckpoint(lib, { files, save }, base, tmp) {
  const parent = fs.mkdtempSync(path.join(tmp, 'ck-'));
  const dir = path.join(parent, 'checkpoints');
  fs.writeFileSync(path.join(parent, 'sentinel'), 'keep');
  for (const [rel, bytes] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), bytes);
  }
  lib.manualSeed(9);
  const model = new lib.LanguageModel(base.options);
  let completed = false;
  try {
    lib.fitSync(model, base.ids, { ...base.config, resumeFrom: dir, maxBatches: 40, ...(save ? { checkpointDir: dir } : {}) });
    completed = true;
  } catch (e) {
    const bad = badError(e, 'fit', true);
    if (bad) return bad;
  }
  if (!fs.existsSync(path.join(parent, 'sentinel'))) return 'a file outside the checkpoint folder was deleted';
  // a run that ends normally has finite weights (the trainer stops on anything else)
  if (completed) for (const p of model.parameters()) if (!p.data.every(Number.isFinite)) return 'non-finite weights after a run that completed';
  return null;
}

// ---- the driver --------------------------------------------------------------------------

/**
 * Runs `count` cases per kind. Returns { cases, failures, ms }; each failure is
 * { kind, seed, index, reason, input } where input is the file's bytes, or for a checkpoint
 * { files: { relative path: bytes }, save }.
 */
function fuzzFiles(lib, { seed = 1, count = { safetensors: 100, model: 100, seq2seq: 100, classifier: 100, checkpoint: 10 }, timeLimitMs = 2000, maxRssGrowth = 1.5 * 2 ** 30, bases, onFailure } = {}) {
  const b = bases || makeBases(lib);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-native-fuzz-'));
  const failures = [];
  const started = Date.now();
  const rss0 = process.memoryUsage().rss;
  let cases = 0;
  const run = (kind, index, make, check) => {
    const r = caseRng(seed + { safetensors: 0, model: 1e6, checkpoint: 2e6, seq2seq: 3e6, classifier: 4e6 }[kind], index);
    let input;
    try {
      input = make(r);
    } catch (e) {
      // a bug of this script, not of the library: say so and go on
      failures.push({ kind, seed, index, reason: `the mutator itself threw: ${e && e.stack}`, input: Buffer.alloc(0) });
      return;
    }
    const t0 = Date.now();
    let reason;
    try {
      reason = check(input);
    } catch (e) {
      reason = `the oracle itself threw: ${e && e.stack}`;
    }
    const ms = Date.now() - t0;
    if (!reason && ms > timeLimitMs) reason = `took ${ms} ms (limit ${timeLimitMs})`;
    if (!reason && process.memoryUsage().rss - rss0 > maxRssGrowth) reason = `RSS grew by ${Math.round((process.memoryUsage().rss - rss0) / 2 ** 20)} MB`;
    cases++;
    if (reason) {
      const f = { kind, seed, index, reason, input };
      failures.push(f);
      if (onFailure) onFailure(f);
    }
  };
  try {
    for (let i = 0; i < (count.safetensors || 0); i++)
      run('safetensors', i, (r) => mutateFile(r, pick(r, b.safetensors)), (bytes) => checkSafetensors(lib, bytes, tmp));
    for (let i = 0; i < (count.model || 0); i++)
      run('model', i, (r) => mutateFile(r, pick(r, b.models)), (bytes) => checkModel(lib, bytes));
    for (let i = 0; i < (count.seq2seq || 0); i++)
      run('seq2seq', i, (r) => mutateFile(r, pick(r, b.seq2seq)), (bytes) => checkSeq2Seq(lib, bytes));
    for (let i = 0; i < (count.classifier || 0); i++)
      run('classifier', i, (r) => mutateFile(r, pick(r, b.classifiers)), (bytes) => checkClassifier(lib, bytes));
    for (let i = 0; i < (count.checkpoint || 0); i++)
      // save: also save into the folder, which exercises the sweep and the deletion of the previous checkpoint
      run('checkpoint', i, (r) => ({ files: mutateCheckpoint(r, b.checkpoint.files), save: r() < 0.3 }), (input) => checkCheckpoint(lib, input, b.checkpoint, tmp));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return { cases, failures, ms: Date.now() - started };
}

/** Replays a saved failing case (a file of test/fixtures/fuzz/): the contract's verdict, null when it holds. */
function replay(lib, file, bases) {
  const b = bases || makeBases(lib);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-native-fuzz-replay-'));
  try {
    if (file.endsWith('.json')) {
      const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
      const files = Object.fromEntries(Object.entries(saved.files).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
      return checkCheckpoint(lib, { files, save: saved.save }, b.checkpoint, tmp);
    }
    const bytes = fs.readFileSync(file);
    const name = path.basename(file);
    if (name.startsWith('model-')) return checkModel(lib, bytes);
    if (name.startsWith('seq2seq-')) return checkSeq2Seq(lib, bytes);
    if (name.startsWith('classifier-')) return checkClassifier(lib, bytes);
    return checkSafetensors(lib, bytes, tmp);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Writes a failure as a regression fixture: `<kind>-<seed>-<index>.bin`, or `.json` for a checkpoint folder. */
function saveFailure(dir, f) {
  fs.mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `${f.kind}-${f.seed}-${f.index}`);
  if (Buffer.isBuffer(f.input)) {
    fs.writeFileSync(`${base}.bin`, f.input);
    return `${base}.bin`;
  }
  const files = Object.fromEntries(Object.entries(f.input.files).map(([k, v]) => [k, v.toString('base64')]));
  fs.writeFileSync(`${base}.json`, JSON.stringify({ reason: f.reason, save: f.input.save, files }, null, 1));
  return `${base}.json`;
}

module.exports = { fuzzFiles, makeBases, replay, saveFailure, mutateFile, mutateCheckpoint, caseRng };

if (require.main === module) {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : dflt;
  };
  const seed = Number(opt('seed', String(Date.now() % 1e9)));
  const count = Number(opt('count', '20000'));
  const kinds = opt('kinds', 'safetensors,model,seq2seq,classifier,checkpoint').split(',');
  const saveDir = opt('save', path.join(__dirname, '..', 'test', 'fixtures', 'fuzz'));
  const timeLimitMs = Number(opt('time-limit-ms', '2000'));
  const lib = require('..');
  const per = { safetensors: 0, model: 0, seq2seq: 0, classifier: 0, checkpoint: 0 };
  for (const k of kinds) per[k] = k === 'checkpoint' ? Math.ceil(count / 20) : count;
  console.log(`fuzz:files seed ${seed}, ${JSON.stringify(per)} cases; failures go to ${saveDir}`);
  const result = fuzzFiles(lib, {
    seed, count: per, timeLimitMs,
    onFailure: (f) => console.log(`FAIL ${f.kind} seed ${f.seed} case ${f.index}: ${f.reason}\n  saved as ${saveDir && saveFailure(saveDir, f)}`),
  });
  console.log(`${result.cases} cases in ${(result.ms / 1000).toFixed(1)} s, ${result.failures.length} failures`);
  process.exitCode = result.failures.length ? 1 : 0;
}
