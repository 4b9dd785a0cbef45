// Files from elsewhere, and files left by crashes: model files checked against their own
// options before anything is built (no denial of service from a tiny file), input that is not
// a safetensors file said to be so, write errors naming the caller's path, and temporaries of
// dead writers swept by the next save.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LanguageModel, LanguageModelOptions, loadLanguageModel, loadSafetensors, manualSeed, saveLanguageModel, saveSafetensors, Tensor, Vocabulary } from '../lib';
import { languageModelLayout, parseLanguageModelOptions } from '../lib/io/model-file';
import { parseTemporaryName, temporaryName } from '../lib/io/atomic-write';

const FIXTURES = path.join(__dirname, 'fixtures', 'files');
const FORMAT = 'rnn-native/language-model@1';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-native-41-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A file with the language-model format tag, the given options (JSON text) and tensors. */
function lmFile(options: string, tensors: Record<string, Tensor> = {}, extra: Record<string, string> = {}): Buffer {
  const file = path.join(dir, `lm-${Math.random().toString(36).slice(2)}.safetensors`);
  saveSafetensors(file, tensors, { format: FORMAT, options, ...extra });
  const bytes = fs.readFileSync(file);
  fs.unlinkSync(file);
  return bytes;
}

/** Throws an Error (not a crash, not a TypeError/RangeError) with every part in its message, within `ms`. */
function rejectsFast(fn: () => unknown, ms: number, ...parts: Array<string | RegExp>): Error {
  const t0 = performance.now();
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  const took = performance.now() - t0;
  expect(err).toBeInstanceOf(Error);
  expect(err).not.toBeInstanceOf(TypeError);
  expect(err).not.toBeInstanceOf(RangeError);
  for (const p of parts) expect((err as Error).message).toMatch(p);
  expect(took).toBeLessThan(ms);
  return err as Error;
}

describe('loadLanguageModel(): the options are checked against the tensors before anything is built', () => {
  it("the issue's 136-byte file asking for 65,536 layers fails at once, allocating nothing", () => {
    const file = path.join(FIXTURES, 'lm-65536-layers.safetensors');
    expect(fs.statSync(file).size).toBe(136);
    const before = process.memoryUsage().rss;
    // before the fix: 70 s and 16 GB, then a RangeError
    rejectsFast(() => loadLanguageModel(file), 500, 'metadata.options do not match the tensors in the file', /missing tensor "embedding\.weight" \(they describe it with shape \[65, 256\]\)/, /holds 0 tensors/);
    rejectsFast(() => loadLanguageModel(fs.readFileSync(file)), 500, /missing tensor/);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 2 ** 20);
  });

  it('a vocabulary of 2^27 rows claimed by a 144-byte file fails at once (it took 1.6 GB)', () => {
    const before = process.memoryUsage().rss;
    rejectsFast(() => loadLanguageModel(path.join(FIXTURES, 'lm-vocab-2p27.safetensors')), 500, /missing tensor "embedding\.weight" \(they describe it with shape \[134217728, 1\]\)/);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 2 ** 20);
  });

  it('a real model file whose options claim more layers, or other sizes, than its tensors: the first mismatch is named', () => {
    manualSeed(3);
    const lm = new LanguageModel({ vocabSize: 7, hiddenSize: 6, numLayers: 2, cell: 'gru' });
    const sd = lm.stateDict();
    const more = lmFile(JSON.stringify({ ...lm.options, numLayers: 64 }), sd);
    rejectsFast(() => loadLanguageModel(more), 200, /missing tensor "rnn\.weight_ih_l2" \(they describe it with shape \[18, 6\]\)/, /holds 11 tensors of \d+ values/);
    const wider = lmFile(JSON.stringify({ ...lm.options, hiddenSize: 600, embeddingDim: 6 }), sd);
    rejectsFast(() => loadLanguageModel(wider), 200, /they describe "rnn\.weight_ih_l0" with shape \[1800, 6\] \(10800 values\), the file holds shape \[18, 6\]/);
    const lstm = lmFile(JSON.stringify({ ...lm.options, cell: 'lstm' }), sd);
    rejectsFast(() => loadLanguageModel(lstm), 200, /"rnn\.weight_ih_l0" with shape \[24, 6\]/);
    const fewer = lmFile(JSON.stringify({ ...lm.options, numLayers: 1 }), sd);
    rejectsFast(() => loadLanguageModel(fewer), 200, /the file holds tensors they do not describe: "rnn\.bias_hh_l1", "rnn\.bias_ih_l1", "rnn\.weight_hh_l1", "rnn\.weight_ih_l1"/);
    // and the honest file loads
    const ok = loadLanguageModel(lmFile(JSON.stringify(lm.options), sd), { requireVocabulary: false });
    expect(ok.model.options).toEqual(lm.options);
  });

  it('the arithmetic layout is exactly what a LanguageModel holds (names, shapes, order-free)', () => {
    const cases: LanguageModelOptions[] = [];
    for (const cell of ['lstm', 'gru', 'rnn_tanh', 'rnn_relu'] as const)
      for (const numLayers of [1, 3])
        for (const [embeddingDim, tieWeights] of [[5, false], [4, true], [undefined, false]] as const)
          cases.push({ vocabSize: 9, hiddenSize: 4, embeddingDim, numLayers, cell, tieWeights, dropout: numLayers > 1 ? 0.2 : 0 });
    for (const opts of cases) {
      const fail = (m: string): never => {
        throw new Error(m);
      };
      const full = parseLanguageModelOptions(JSON.parse(JSON.stringify(opts)), fail);
      const lm = new LanguageModel(opts);
      expect(full).toEqual(lm.options);
      const fromModel = Object.fromEntries(Object.entries(lm.stateDict()).map(([k, t]) => [k, t.shape.slice()]));
      const fromLayout = Object.fromEntries([...languageModelLayout(full)].map(([k, s]) => [k, s.slice()]));
      expect([opts, fromLayout]).toEqual([opts, fromModel]);
      expect([...languageModelLayout(full)]).toHaveLength(Object.keys(fromModel).length); // no name twice
    }
  });

  it('hostile options JSON: a clear Error naming the field, never a crash or a hang', () => {
    const cases: Array<[string, RegExp]> = [
      ['not json', /metadata\.options is not valid JSON/],
      ['[1, 2]', /metadata\.options must be a JSON object, found \[1, 2\]/],
      ['null', /metadata\.options must be a JSON object, found null/],
      ['"lstm"', /metadata\.options must be a JSON object, found "lstm"/],
      ['{}', /metadata\.options\.vocabSize must be an integer in \[1, 2147483647\], found undefined/],
      ['{"vocabSize":"65","hiddenSize":8}', /metadata\.options\.vocabSize must be an integer in \[1, 2147483647\], found "65"/],
      ['{"vocabSize":65,"hiddenSize":1e400}', /metadata\.options\.hiddenSize must be an integer .* found Infinity/],
      ['{"vocabSize":65,"hiddenSize":-3}', /hiddenSize must be an integer .* found -3/],
      ['{"vocabSize":65,"hiddenSize":2.5}', /hiddenSize must be an integer .* found 2\.5/],
      ['{"vocabSize":65,"hiddenSize":4294967296}', /hiddenSize must be an integer in \[1, 2147483647\], found 4294967296/],
      ['{"vocabSize":65,"hiddenSize":8,"numLayers":65537}', /numLayers must be an integer in \[1, 65536\], found 65537/],
      ['{"vocabSize":65,"hiddenSize":8,"numLayers":[2]}', /numLayers must be an integer .* found \[2\]/],
      ['{"vocabSize":65,"hiddenSize":8,"cell":"transformer"}', /cell must be one of "lstm", "gru", "rnn_tanh", "rnn_relu", found "transformer"/],
      ['{"vocabSize":65,"hiddenSize":8,"cell":{}}', /cell must be one of .* found \[object\]/],
      ['{"vocabSize":65,"hiddenSize":8,"dropout":2}', /dropout must be a number in \[0, 1\], found 2/],
      ['{"vocabSize":65,"hiddenSize":8,"dropout":"0.1"}', /dropout must be a number in \[0, 1\], found "0\.1"/],
      ['{"vocabSize":65,"hiddenSize":8,"tieWeights":"yes"}', /tieWeights must be a boolean, found "yes"/],
      ['{"vocabSize":65,"hiddenSize":8,"embeddingDim":4,"tieWeights":true}', /tieWeights is true but embeddingDim \(4\) differs from hiddenSize \(8\)/],
      ['{"vocabSize":65,"hiddenSize":8,"layers":2}', /metadata\.options has an unknown field "layers"/],
      ['{"vocabSize":65,"hiddenSize":8,"__proto__":{"numLayers":5}}', /unknown field "__proto__"/],
      ['['.repeat(100000) + ']'.repeat(100000), /metadata\.options is 200000 characters long, more than the 65536 it can be/],
      ['{"vocabSize":65,"hiddenSize":8,"cell":[[[[["lstm"]]]]]}', /metadata\.options nests arrays or objects more than 4 deep/],
      ['{"vocabSize":65,"hiddenSize":[[1]]}', /hiddenSize must be an integer .* found an array of 1 elements/],
    ];
    for (const [json, message] of cases) rejectsFast(() => loadLanguageModel(lmFile(json)), 500, message, /^loadLanguageModel: /);
    // a missing options field
    const noOptions = path.join(dir, 'no-options.safetensors');
    saveSafetensors(noOptions, {}, { format: FORMAT });
    rejectsFast(() => loadLanguageModel(noOptions), 200, /metadata\.options is missing/);
  });

  it('tied weights must be stored equal; a hostile vocabulary is an Error', () => {
    const lm = new LanguageModel({ vocabSize: 5, hiddenSize: 3, tieWeights: true });
    const sd = lm.stateDict();
    const untied = { ...sd, 'head.weight': new Tensor(sd['head.weight'].data.map((v) => v + 1), [5, 3]) };
    rejectsFast(() => loadLanguageModel(lmFile(JSON.stringify(lm.options), untied)), 200, /tieWeights is true but head\.weight differs from embedding\.weight/);
    const vocab = (v: string) => lmFile(JSON.stringify(lm.options), sd, { vocabulary: v });
    rejectsFast(() => loadLanguageModel(vocab('{')), 200, /metadata\.vocabulary is not valid JSON/);
    rejectsFast(() => loadLanguageModel(vocab('[]')), 200, /metadata\.vocabulary must be an object \{ tokens, tokenization \}/);
    // 20 MB of nested brackets: JSON.parse would take seconds; the nesting is refused first
    rejectsFast(() => loadLanguageModel(vocab(`{"tokens":${'['.repeat(1e7)}${']'.repeat(1e7)}}`)), 1500, /metadata\.vocabulary nests arrays or objects more than 4 deep/);
    rejectsFast(() => loadLanguageModel(vocab('{"tokens":[1,2]}')), 200, /metadata\.vocabulary is not a valid vocabulary \(Vocabulary: expected an array of strings/);
    rejectsFast(() => loadLanguageModel(vocab('{"tokens":["<eos>","<unk>"],"tokenization":"bpe"}')), 200, /not a valid vocabulary .*tokenization/);
    rejectsFast(() => loadLanguageModel(vocab(JSON.stringify(new Vocabulary(['<eos>', '<unk>', 'a']).toJSON()))), 200, /metadata\.vocabulary has 3 tokens but metadata\.options\.vocabSize is 5/);
    const good = loadLanguageModel(vocab(JSON.stringify(new Vocabulary(['<eos>', '<unk>', 'a', 'b', 'c']).toJSON())));
    expect(good.vocabulary!.tokens).toEqual(['<eos>', '<unk>', 'a', 'b', 'c']);
  });
});

describe('input that is not a safetensors file says so', () => {
  it('a text file: loadSafetensors says "not a safetensors file", loadLanguageModel "not an rnn-native model file"', () => {
    const text = path.join(FIXTURES, 'not-safetensors.txt');
    rejectsFast(() => loadSafetensors(text), 200, `loadSafetensors: ${JSON.stringify(text)}: not a safetensors file: header length`, /runs past the end of the file/);
    rejectsFast(
      () => loadLanguageModel(text), 200,
      `loadLanguageModel: ${JSON.stringify(text)} is not an rnn-native model file (not a safetensors file: header length `,
    );
    rejectsFast(() => loadLanguageModel(fs.readFileSync(text)), 200, /^loadLanguageModel: not an rnn-native model file \(not a safetensors file: /);
    const empty = path.join(dir, 'empty.bin');
    fs.writeFileSync(empty, '');
    rejectsFast(() => loadLanguageModel(empty), 200, /is not an rnn-native model file \(not a safetensors file: the file is 0 bytes/);
  });

  it('a plausible length whose header does not start with "{" is not a safetensors file either', () => {
    const b = Buffer.alloc(8 + 8, 0x20);
    b.writeBigUInt64LE(8n, 0);
    b.write('[1,2]', 8);
    rejectsFast(() => loadSafetensors(b), 200, /^loadSafetensors: not a safetensors file: header is not a JSON object \(it starts with an array\)/);
    b.write('hello   ', 8);
    rejectsFast(() => loadSafetensors(b), 200, /^loadSafetensors: not a safetensors file: header is not valid JSON/);
    // a real header with a problem is reported as such, without the "not a safetensors file" verdict
    const bad = Buffer.alloc(16, 0x20);
    bad.writeBigUInt64LE(8n, 0);
    bad.write('{"a":1}', 8);
    const err = rejectsFast(() => loadSafetensors(bad), 200, /tensor "a" must be an object/);
    expect(err.message).not.toContain('not a safetensors file');
  });

  it('a path is read header first: a 3 GiB file that is not safetensors fails at once (it was read whole, or refused as too large)', () => {
    const big = path.join(dir, 'big.bin');
    const fd = fs.openSync(big, 'w');
    fs.writeSync(fd, 'GIF89a..');
    fs.ftruncateSync(fd, 3 * 2 ** 30); // sparse
    fs.closeSync(fd);
    rejectsFast(() => loadSafetensors(big), 500, /not a safetensors file: header length \d+ runs past the end of the file/);
    fs.unlinkSync(big);
  });

  it('F64 and F16 data at odd offsets of a Buffer load (found by the fuzzer: a RangeError from Float64Array)', () => {
    // a Buffer's slice() is a view, so the "aligned copy" of the F64 data was not a copy
    const file = path.join(__dirname, 'fixtures', 'fuzz', 'safetensors-8-112884.bin');
    const fromBuffer = loadSafetensors(fs.readFileSync(file));
    const fromPath = loadSafetensors(file);
    expect(fromBuffer.tensors.r.shape).toEqual([]);
    expect(Array.from(fromBuffer.tensors.r.data)).toEqual(Array.from(fromPath.tensors.r.data));
    expect(Array.from(fromBuffer.tensors.h.data)).toEqual(Array.from(fromPath.tensors.h.data));
    // and at an odd offset of a Buffer whose own offset in its pool is odd
    const pooled = Buffer.concat([Buffer.from([1, 2, 3]), fs.readFileSync(file)]).subarray(3);
    expect(Array.from(loadSafetensors(pooled).tensors.r.data)).toEqual(Array.from(fromPath.tensors.r.data));
  });

  it('a header length over the limit in a file big enough to hold it is still "over the limit"', () => {
    const b = Buffer.alloc(8 + 100_000_008, 0x20);
    b.writeBigUInt64LE(100_000_008n, 0);
    b[8] = 0x7b;
    rejectsFast(() => loadSafetensors(b), 2000, /^loadSafetensors: header length 100000008 is over the limit of 100000000 bytes$/);
  });
});

describe('save errors name the path the caller gave', () => {
  it('a missing folder: the message names the file and the folder that is missing, not a temporary', () => {
    const target = path.join(dir, 'no', 'such', 'model.safetensors');
    let err: NodeJS.ErrnoException | undefined;
    try {
      saveSafetensors(target, { w: Tensor.zeros([2]) });
    } catch (e) {
      err = e as NodeJS.ErrnoException;
    }
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toBe(`saveSafetensors: cannot write ${JSON.stringify(target)}: the folder ${JSON.stringify(path.join(dir, 'no'))} does not exist (ENOENT)`);
    expect(err!.message).not.toMatch(/\.tmp/);
    expect(err!.code).toBe('ENOENT');
    expect(err!.path).toBe(target);
    // the model-file writer goes through the same path
    expect(() => saveLanguageModel(target, new LanguageModel({ vocabSize: 3, hiddenSize: 2 }))).toThrow(`saveSafetensors: cannot write ${JSON.stringify(target)}: the folder`);
  });

  it('a folder in the way: named, and no temporary is left', () => {
    const target = path.join(dir, 'a-folder');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'inside'), 'x');
    expect(() => saveSafetensors(target, { w: Tensor.zeros([2]) })).toThrow(new RegExp(`^saveSafetensors: cannot write ${JSON.stringify(target).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `));
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('a long multi-byte name still gets a temporary name within the 255-byte limit', () => {
    const name = `${'模'.repeat(80)}.st`; // 243 bytes: legal, but "." + name + ".<pid>.<hex>.tmp" is not
    const target = path.join(dir, name);
    saveSafetensors(target, { w: new Tensor([1, 2], [2]) });
    expect(Array.from(loadSafetensors(target).tensors.w.data)).toEqual([1, 2]);
    expect(Buffer.byteLength(temporaryName(name))).toBeLessThanOrEqual(255);
    expect(parseTemporaryName(temporaryName(name))!.pid).toBe(process.pid);
  });
});

describe('the next save sweeps the temporaries of writers that no longer run', () => {
  /** A process id that ran and exited: no process has it now. */
  function deadPid(): number {
    const r = spawnSync(process.execPath, ['-e', '0']);
    return r.pid!;
  }

  it('removes dead writers\' temporaries, keeps live ones and everything not ours', () => {
    const d = fs.mkdtempSync(path.join(dir, 'sweep-'));
    const dead = deadPid();
    const live = process.ppid; // jest's parent: alive, not us
    const files: Record<string, boolean> = {
      // name → should survive the sweep
      [`.model.safetensors.${dead}.0123456789ab.tmp`]: false,
      [`.other.safetensors.${dead}.ffffffffffff.tmp`]: false, // any target in the folder, not only the one saved
      [`.model.safetensors.${live}.0123456789ab.tmp`]: true,
      [`.model.safetensors.${process.pid}.0123456789ab.tmp`]: true, // another thread of this process may be writing it
      [`.model.safetensors.${dead}.0123.tmp`]: true, // not our pattern
      [`model.safetensors.${dead}.0123456789ab.tmp`]: true,
      '.model.safetensors.tmp': true,
      'notes.txt': true,
    };
    for (const name of Object.keys(files)) fs.writeFileSync(path.join(d, name), 'partial');
    // a pid that runs now but wrote before this boot: it cannot be the writer (pid reused)
    const stale = `.model.safetensors.${live}.aaaaaaaaaaaa.tmp`;
    fs.writeFileSync(path.join(d, stale), 'x');
    const longAgo = (Date.now() - os.uptime() * 1000 - 3600_000) / 1000;
    fs.utimesSync(path.join(d, stale), longAgo, longAgo);
    files[stale] = false;
    // a folder with a temporary name is not a file the writer sweeps
    fs.mkdirSync(path.join(d, `.x.${dead}.0123456789ab.tmp`));
    files[`.x.${dead}.0123456789ab.tmp`] = true;

    saveSafetensors(path.join(d, 'model.safetensors'), { w: Tensor.zeros([3]) });
    const left = new Set(fs.readdirSync(d));
    for (const [name, survives] of Object.entries(files)) expect([name, left.has(name)]).toEqual([name, survives]);
    expect(left.has('model.safetensors')).toBe(true);
  });
});
