// Seeded fuzzing of the file loaders (loadSafetensors, loadLanguageModel, loadSeq2Seq, loadSequenceClassifier, resuming from a
// checkpoint folder), bounded to a few seconds; the long run is `npm run fuzz:files`
// (scripts/fuzz-files.js, which holds the mutations and the contract checked here). Every
// case that ever failed is kept in test/fixtures/fuzz/ and replayed here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as lib from '../lib';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const fuzz = require('../scripts/fuzz-files.js') as {
  makeBases(lib: unknown): unknown;
  fuzzFiles(lib: unknown, opts: object): { cases: number; ms: number; failures: Array<{ kind: string; index: number; reason: string }> };
  replay(lib: unknown, file: string, bases: unknown): string | null;
  mutateFile(r: () => number, bytes: Buffer): Buffer;
  caseRng(seed: number, index: number): () => number;
};

const REGRESSIONS = path.join(__dirname, 'fixtures', 'fuzz');
const SEED = 20240611;
let bases: unknown;
beforeAll(() => {
  bases = fuzz.makeBases(lib);
});

const describeFailures = (fs: Array<{ kind: string; index: number; reason: string }>) => fs.map((f) => `${f.kind} #${f.index}: ${f.reason}`);

describe('file loaders under seeded mutation', () => {
  it('is deterministic: a case builds the same bytes every time', () => {
    const base = fs.readFileSync(path.join(__dirname, 'fixtures', 'safetensors', 'mixed.safetensors'));
    for (const i of [0, 1, 77]) expect(fuzz.mutateFile(fuzz.caseRng(SEED, i), base).equals(fuzz.mutateFile(fuzz.caseRng(SEED, i), base))).toBe(true);
  });

  it('safetensors files: 2500 cases, each an Error with the loader\'s name or a consistent load, bytes and path agreeing', () => {
    const r = fuzz.fuzzFiles(lib, { seed: SEED, count: { safetensors: 2500 }, bases });
    expect(describeFailures(r.failures)).toEqual([]);
    expect(r.cases).toBe(2500);
  });

  it('language-model files: 2500 cases, never more parameters than the file pays for', () => {
    const r = fuzz.fuzzFiles(lib, { seed: SEED, count: { model: 2500 }, bases });
    expect(describeFailures(r.failures)).toEqual([]);
  });

  it('Seq2Seq files: 1500 cases, never more parameters than the file pays for, and a loaded model decodes', () => {
    const r = fuzz.fuzzFiles(lib, { seed: SEED, count: { seq2seq: 1500 }, bases });
    expect(describeFailures(r.failures)).toEqual([]);
    expect(r.cases).toBe(1500);
  });

  it('SequenceClassifier files: 1500 cases, never more parameters than the file pays for, and a loaded model predicts', () => {
    const r = fuzz.fuzzFiles(lib, { seed: SEED, count: { classifier: 1500 }, bases });
    expect(describeFailures(r.failures)).toEqual([]);
    expect(r.cases).toBe(1500);
  });

  it('checkpoint folders: 60 cases resumed (and some saved into), never deleting outside the folder', () => {
    const r = fuzz.fuzzFiles(lib, { seed: SEED, count: { checkpoint: 60 }, bases });
    expect(describeFailures(r.failures)).toEqual([]);
  });

  it('replays every file that ever failed (test/fixtures/fuzz/)', () => {
    const files = fs.readdirSync(REGRESSIONS).filter((f) => /\.(bin|json)$/.test(f));
    expect(files.length).toBeGreaterThan(0);
    const verdicts = files.map((f) => [f, fuzz.replay(lib, path.join(REGRESSIONS, f), bases)]);
    expect(verdicts).toEqual(files.map((f) => [f, null]));
  });
});
