// Training checkpoints (checkpointDir / checkpointEvery / resumeFrom) and language model files
// (saveLanguageModel / loadLanguageModel).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  fitSync, LanguageModel, LanguageModelOptions, loadLanguageModel, loadSafetensors, manualSeed, saveLanguageModel, saveSafetensors,
  Tensor, TrainingConfig, Vocabulary,
} from '../lib';

const TEXT = 'a stitch in time saves nine; ' + 'the early bird catches the worm. '.repeat(30);
const vocab = Vocabulary.fromText(TEXT);
const IDS = vocab.encode(TEXT);
const V = vocab.size;

const dirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-native-62-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function model(extra: Partial<LanguageModelOptions> = {}, seed = 1): LanguageModel {
  manualSeed(seed);
  return new LanguageModel({ vocabSize: V, hiddenSize: 12, ...extra });
}

function weights(lm: LanguageModel): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(lm.stateDict())) out[k] = Array.from(t.data);
  return out;
}

function latest(dir: string): string {
  return path.join(dir, (JSON.parse(fs.readFileSync(path.join(dir, 'latest.json'), 'utf8')) as { checkpoint: string }).checkpoint);
}

/** Runs fitSync, collecting [step, loss, lr] per batch. */
function run(lm: LanguageModel, config: TrainingConfig): { losses: Array<[number, number, number]>; reason: string; steps: number } {
  const losses: Array<[number, number, number]> = [];
  const r = fitSync(lm, IDS, config, { onBatch: (b) => losses.push([b.step, b.loss, b.lr]) });
  return { losses, reason: r.reason, steps: r.steps };
}

const B = 4, T = 10;
const trainTokens = Math.floor(IDS.length * 0.95);
const perEpoch = Math.ceil((Math.floor(trainTokens / B) - 1) / T);

describe('fitSync() checkpoints: stop and resume', () => {
  const cases: Array<[string, Partial<LanguageModelOptions>, number]> = [
    ['LSTM, 2 layers, dropout, mid-epoch', { cell: 'lstm', numLayers: 2, dropout: 0.3 }, 7],
    ['GRU, 2 layers, dropout, mid-epoch of epoch 2', { cell: 'gru', numLayers: 2, dropout: 0.4 }, perEpoch + 3],
    ['LSTM at an epoch boundary', { cell: 'lstm', numLayers: 2, dropout: 0.2 }, perEpoch],
  ];
  for (const [name, opts, k] of cases)
    it(`gives bit-identical weights, optimizer state and losses (${name})`, () => {
      const config: TrainingConfig = {
        epochs: 3, batchSize: B, seqLength: T, seed: 5, clipGradNorm: 1,
        optimizer: { type: 'Adam', lr: 1e-2, groups: [{ params: ['embedding'], lr: 5e-3 }] },
        scheduler: { type: 'StepLR', stepSize: 3, gamma: 0.8 },
      };
      const dFull = tmp(), dStop = tmp(), dResumed = tmp();
      const full = model(opts);
      const a = run(full, { ...config, checkpointDir: dFull, checkpointEvery: k });
      expect(a.reason).toBe('completed');
      expect(a.steps).toBe(3 * perEpoch);

      const stopped = model(opts);
      const b = run(stopped, { ...config, checkpointDir: dStop, checkpointEvery: k, maxBatches: k });
      expect(b.reason).toBe('max-batches');
      expect(b.losses).toEqual(a.losses.slice(0, k));

      const resumed = model(opts, 99); // different initial weights: all must come from the checkpoint
      const c = run(resumed, { ...config, resumeFrom: dStop, checkpointDir: dResumed });
      expect(c.reason).toBe('completed');
      expect(c.steps).toBe(a.steps);
      expect(c.losses.map(([s]) => s)).toEqual(a.losses.slice(k).map(([s]) => s));
      expect(c.losses).toEqual(a.losses.slice(k)); // losses and learning rates, bit for bit
      expect(weights(resumed)).toEqual(weights(full));
      // the optimizer state (Adam moments, step counts, groups), the RNG and the scheduler at the end
      const fa = latest(dFull), fc = latest(dResumed);
      expect(path.basename(fc)).toBe(path.basename(fa));
      for (const file of ['model.safetensors', 'optimizer.safetensors', 'state.safetensors'])
        expect([file, fs.readFileSync(path.join(fc, file)).equals(fs.readFileSync(path.join(fa, file)))]).toEqual([file, true]);
      const ja = JSON.parse(fs.readFileSync(path.join(fa, 'trainer.json'), 'utf8'));
      const jc = JSON.parse(fs.readFileSync(path.join(fc, 'trainer.json'), 'utf8'));
      expect(jc.rng).toEqual(ja.rng);
      expect(jc.scheduler).toEqual(ja.scheduler);
      expect(Object.keys(loadSafetensors(path.join(fa, 'optimizer.safetensors')).tensors).length).toBeGreaterThan(0);
    });

  it('restores the carried hidden state and the RNG: tampering with either changes the resumed run', () => {
    const opts = { cell: 'lstm' as const, numLayers: 2, dropout: 0.5 };
    const config: TrainingConfig = { epochs: 1, batchSize: B, seqLength: T, seed: 8, optimizer: { type: 'Adam', lr: 1e-2 } };
    const k = 5;
    const full = run(model(opts), config);
    const dStop = tmp();
    run(model(opts), { ...config, checkpointDir: dStop, maxBatches: k });
    const ck = latest(dStop);
    const state = loadSafetensors(path.join(ck, 'state.safetensors')).tensors;
    expect(Object.keys(state).sort()).toEqual(['c', 'h']);
    expect(state.h.shape).toEqual([2, B, 12]);
    expect(state.h.data.some((v) => v !== 0)).toBe(true); // mid-epoch: a real carried state

    const honest = run(model(opts), { ...config, resumeFrom: dStop });
    expect(honest.losses).toEqual(full.losses.slice(k));

    // zero the carried state
    const dZero = tmp();
    fs.cpSync(dStop, dZero, { recursive: true });
    saveSafetensors(path.join(latest(dZero), 'state.safetensors'), { h: Tensor.zeros([2, B, 12]), c: Tensor.zeros([2, B, 12]) });
    const zeroed = run(model(opts), { ...config, resumeFrom: dZero });
    expect(zeroed.losses[0][1]).not.toBe(full.losses[k][1]);

    // change the RNG state (dropout masks)
    const dRng = tmp();
    fs.cpSync(dStop, dRng, { recursive: true });
    const tj = path.join(latest(dRng), 'trainer.json');
    const j = JSON.parse(fs.readFileSync(tj, 'utf8'));
    j.rng = [1, 2, 3, 4];
    fs.writeFileSync(tj, JSON.stringify(j));
    const reseeded = run(model(opts), { ...config, resumeFrom: dRng });
    expect(reseeded.losses[0][1]).not.toBe(full.losses[k][1]);
  });

  it('keeps one complete checkpoint: latest.json names it and older ones are removed', () => {
    const dir = tmp();
    const seen: string[][] = [];
    let checked = 0;
    fitSync(model(), IDS, { epochs: 2, batchSize: B, seqLength: T, checkpointDir: dir, checkpointEvery: 3 }, {
      onBatch: (b) => {
        // called before this batch's checkpoint: the directory holds the previous one
        if (b.step <= 3) return;
        const entries = fs.readdirSync(dir).sort();
        seen.push(entries);
        const subdirs = entries.filter((e) => e !== 'latest.json');
        expect(subdirs).toHaveLength(1);
        expect(path.basename(latest(dir))).toBe(subdirs[0]);
        checked++;
      },
    });
    expect(checked).toBe(2 * perEpoch - 3);
    const entries = fs.readdirSync(dir).sort();
    expect(entries).toHaveLength(2);
    const ck = latest(dir);
    expect(path.basename(ck)).toBe(`step-${2 * perEpoch}-epoch-2`);
    expect(fs.readdirSync(ck).sort()).toEqual(['model.safetensors', 'optimizer.safetensors', 'state.safetensors', 'trainer.json']);
    const m = loadSafetensors(path.join(ck, 'model.safetensors'));
    expect(JSON.parse(m.metadata.options)).toEqual(model().options);
    expect(Object.keys(m.tensors).sort()).toEqual(Object.keys(model().stateDict()).sort());
    // an epoch-end checkpoint starts the next epoch with a fresh state
    expect(loadSafetensors(path.join(ck, 'state.safetensors')).tensors).toEqual({});
    const tj = JSON.parse(fs.readFileSync(path.join(ck, 'trainer.json'), 'utf8'));
    expect(tj.progress).toMatchObject({ epoch: 2, offset: 0, step: 2 * perEpoch });
    // checkpoints were written every 3 batches: the names went step-3, step-6, …
    expect(seen[0].filter((e) => e !== 'latest.json')).toEqual(['step-3-epoch-0']);
    expect(seen[3].filter((e) => e !== 'latest.json')).toEqual(['step-6-epoch-0']);
  });

  it('refuses to resume a checkpoint of a differently configured model (RangeError)', () => {
    const dir = tmp();
    fitSync(model(), IDS, { batchSize: B, seqLength: T, checkpointDir: dir, maxBatches: 2 });
    for (const other of [{ hiddenSize: 16 }, { cell: 'gru' as const }, { numLayers: 2 }]) {
      const lm = model(other);
      const before = weights(lm);
      expect(() => fitSync(lm, IDS, { batchSize: B, seqLength: T, resumeFrom: dir })).toThrow(RangeError);
      expect(() => fitSync(lm, IDS, { batchSize: B, seqLength: T, resumeFrom: dir })).toThrow(/fit: the checkpoint in .* is of a model with options \{"vocabSize"/);
      expect(weights(lm)).toEqual(before);
    }
  });

  it('a missing checkpoint is an Error that names the directory', () => {
    const missing = path.join(tmp(), 'nope');
    expect(() => fitSync(model(), IDS, { batchSize: B, seqLength: T, resumeFrom: missing })).toThrow(`fit: no checkpoint to resume from in ${missing}`);
    expect(() => fitSync(model(), IDS, { batchSize: B, seqLength: T, resumeFrom: missing })).toThrow(/ENOENT/);
    const empty = tmp();
    expect(() => fitSync(model(), IDS, { batchSize: B, seqLength: T, resumeFrom: empty })).toThrow(`fit: no checkpoint to resume from in ${empty}`);
    expect(() => fitSync(model(), IDS, { batchSize: B, seqLength: T, resumeFrom: '' })).toThrow(TypeError);
  });
});

describe('saveLanguageModel() / loadLanguageModel()', () => {
  it('round-trips weights, options and vocabulary: the loaded model computes the same outputs', () => {
    const dir = tmp();
    for (const opts of [{ cell: 'gru' as const, numLayers: 2, embeddingDim: 5 }, { cell: 'lstm' as const, tieWeights: true }, { cell: 'rnn_relu' as const }]) {
      const lm = model(opts, 4);
      fitSync(lm, IDS, { batchSize: B, seqLength: T, maxBatches: 3 }); // not the seeded init
      const file = path.join(dir, `${opts.cell}.safetensors`);
      saveLanguageModel(file, lm, vocab);
      const { model: back, vocabulary } = loadLanguageModel(file);
      expect(back).toBeInstanceOf(LanguageModel);
      expect(back.options).toEqual(lm.options);
      expect(weights(back)).toEqual(weights(lm));
      if (opts.tieWeights) expect(back.head.weight).toBe(back.embedding.weight);
      expect(vocabulary).toBeInstanceOf(Vocabulary);
      expect(vocabulary!.tokens).toEqual(vocab.tokens);
      expect(vocabulary!.tokenization).toBe('char');
      const x = vocab.encode('the early bird');
      lm.eval();
      expect(Array.from(back.eval().forward(x, x.length, 1).logits.data)).toEqual(Array.from(lm.forward(x, x.length, 1).logits.data));
      expect(Array.from(back.generate({ maxLength: 30, seed: 3 }))).toEqual(Array.from(lm.generate({ maxLength: 30, seed: 3 })));
      // also from the bytes
      const fromBytes = loadLanguageModel(fs.readFileSync(file));
      expect(weights(fromBytes.model)).toEqual(weights(lm));
    }
  });

  it('stores the format and options in the metadata; a word vocabulary and no vocabulary both work', () => {
    const dir = tmp();
    const lm = model();
    const words = new Vocabulary(['<eos>', '<unk>', ...Array.from({ length: lm.options.vocabSize - 2 }, (_, i) => `word${i}`)], 'word');
    expect(() => saveLanguageModel(path.join(dir, 'x.safetensors'), lm, Vocabulary.fromText('one two three', 'word'))).toThrow(/the vocabulary has 5 tokens but the model's vocabSize is 22/);
    saveLanguageModel(path.join(dir, 'w.safetensors'), lm, words);
    const meta = loadSafetensors(path.join(dir, 'w.safetensors')).metadata;
    expect(meta.format).toBe('rnn-native/language-model@1');
    expect(JSON.parse(meta.options)).toEqual(lm.options);
    expect(loadLanguageModel(path.join(dir, 'w.safetensors')).vocabulary!.tokenization).toBe('word');
    saveLanguageModel(path.join(dir, 'bare.safetensors'), lm);
    expect(() => loadLanguageModel(path.join(dir, 'bare.safetensors'))).toThrow(/holds no vocabulary .* pass \{ requireVocabulary: false \}/);
    const bare = loadLanguageModel(path.join(dir, 'bare.safetensors'), { requireVocabulary: false });
    expect(bare.vocabulary).toBeUndefined();
    expect('vocabulary' in bare).toBe(false);
    expect(weights(bare.model)).toEqual(weights(lm));
  });

  it('rejects what is not a language model file with a clear Error', () => {
    const dir = tmp();
    const plain = path.join(dir, 'plain.safetensors');
    saveSafetensors(plain, { weight: Tensor.zeros([2, 2]) }, { note: 'hi' });
    expect(() => loadLanguageModel(plain)).toThrow(
      new Error(`loadLanguageModel: ${JSON.stringify(plain)} is not an rnn-native model file (metadata.format is undefined, expected "rnn-native/language-model@1")`),
    );
    const other = path.join(dir, 'other.safetensors');
    saveSafetensors(other, { weight: Tensor.zeros([2, 2]) }, { format: 'pt' });
    expect(() => loadLanguageModel(other)).toThrow('(metadata.format is "pt", expected');
    const garbage = path.join(dir, 'garbage.safetensors');
    fs.writeFileSync(garbage, 'this is not a safetensors file at all');
    expect(() => loadLanguageModel(garbage)).toThrow(Error);
    expect(() => loadLanguageModel(path.join(dir, 'missing.safetensors'))).toThrow(/ENOENT/);
    // the right format but a tensor missing
    const lm = model();
    const sd = lm.stateDict();
    delete sd['head.bias'];
    const partial = path.join(dir, 'partial.safetensors');
    saveSafetensors(partial, sd, { format: 'rnn-native/language-model@1', options: JSON.stringify(lm.options) });
    expect(() => loadLanguageModel(partial)).toThrow(/missing tensor "head\.bias"/);
  });

  it('validates its arguments', () => {
    const file = path.join(tmp(), 'x.safetensors');
    expect(() => saveLanguageModel(file, {} as LanguageModel)).toThrow(TypeError);
    expect(() => saveLanguageModel(file, {} as LanguageModel)).toThrow('saveLanguageModel: expected a LanguageModel for model');
    expect(() => saveLanguageModel(file, model(), { tokens: ['<eos>', '<unk>'] } as unknown as Vocabulary)).toThrow('saveLanguageModel: expected a Vocabulary for vocabulary');
    expect(fs.existsSync(file)).toBe(false);
  });
});
