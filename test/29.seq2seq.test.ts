// Seq2Seq beyond PyTorch parity (test/28): its file layout and files, decoding (beam search
// against an exhaustive search, greedy decoding against the teacher-forced logits,
// translateAsync against translate), and training through the general trainer (a learnable
// task, exact resume, fit on the worker equal to fitSync).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  fit, fitSync, LanguageModel, loadLanguageModel, loadSeq2Seq, manualSeed, noGrad, saveLanguageModel, saveSeq2Seq, Seq2Seq, Seq2SeqData,
  Seq2SeqOptions, Vocabulary,
} from '../lib';
import * as F from '../lib/nn/functional';
import { seq2seqLayout } from '../lib/io/seq2seq-file';

// fit() hands back weights deserialized in the worker's realm (see test/61).
Object.defineProperty(Float32Array, Symbol.hasInstance, {
  value: (v: unknown) => Object.prototype.toString.call(v) === '[object Float32Array]',
});

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-native-29-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function model(o: Partial<Seq2SeqOptions> = {}, seed = 1): Seq2Seq {
  manualSeed(seed);
  return new Seq2Seq({ sourceVocabSize: 7, targetVocabSize: 6, embeddingDim: 8, hiddenSize: 12, dropout: 0, ...o });
}

const ids = (...xs: number[]) => Int32Array.from(xs);
const weights = (m: Seq2Seq) => Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.data)]));

/** Reversal of strings over letters 2..(2+n): a task a small model learns in seconds. */
function reversal(count: number, letters: number, seed: number): Seq2SeqData {
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const sources: Int32Array[] = [], targets: Int32Array[] = [];
  for (let i = 0; i < count; i++) {
    const n = 2 + Math.floor(rand() * 4);
    const src = Int32Array.from({ length: n }, () => 2 + Math.floor(rand() * letters));
    sources.push(src);
    targets.push(src.slice().reverse());
  }
  return { sources, targets };
}

const CONFIGS: Array<[string, Partial<Seq2SeqOptions>]> = [
  ['lstm, general, input feeding', {}],
  ['gru, dot, 2+2 layers', { cell: 'gru', attention: 'dot', encoderLayers: 2, decoderLayers: 2 }],
  ['rnn_tanh, additive, unidirectional', { cell: 'rnn_tanh', attention: 'additive', bidirectional: false, hiddenSize: 11 }],
  ['lstm, no attention', { attention: 'none' }],
  ['lstm, tied target embeddings', { embeddingDim: 12, tieTargetEmbeddings: true, decoderLayers: 2 }],
];

describe('Seq2Seq files', () => {
  it.each(CONFIGS)('the layout derived from the options is the state dict (%s)', (_name, o) => {
    const m = model(o);
    const fromModel = Object.entries(m.stateDict()).map(([k, t]) => [k, [...t.shape]]);
    const derived = [...seq2seqLayout(m.options)].map(([k, s]) => [k, [...s]]);
    expect(new Map(derived as Array<[string, number[]]>)).toEqual(new Map(fromModel as Array<[string, number[]]>));
  });

  it.each(CONFIGS)('save and load give back the same model, options and vocabularies (%s)', (_name, o) => {
    const m = model(o);
    const source = new Vocabulary(['<eos>', '<unk>', 'a', 'b', 'c', 'd', 'e'], 'char');
    const target = new Vocabulary(['<eos>', '<unk>', 'W', 'X', 'Y', 'Z'], 'word');
    const file = path.join(dir, 'roundtrip.safetensors');
    saveSeq2Seq(file, m, { source, target });
    const back = loadSeq2Seq(file);
    expect(back.model.options).toEqual(m.options);
    expect(weights(back.model)).toEqual(weights(m));
    expect(back.sourceVocabulary.toJSON()).toEqual(source.toJSON());
    expect(back.targetVocabulary.toJSON()).toEqual(target.toJSON());
    const srcs = [ids(2, 3, 4), ids(6, 5)];
    expect(back.model.translate(srcs, { beamSize: 3 }).map((x) => Array.from(x))).toEqual(m.translate(srcs, { beamSize: 3 }).map((x) => Array.from(x)));
  });

  it('a language model file and a Seq2Seq file each name the loader they need', () => {
    const s2s = path.join(dir, 'kind.s2s.safetensors'), lmFile = path.join(dir, 'kind.lm.safetensors');
    saveSeq2Seq(s2s, model(), { source: new Vocabulary(['<eos>', '<unk>', 'a', 'b', 'c', 'd', 'e']), target: new Vocabulary(['<eos>', '<unk>', 'a', 'b', 'c', 'd']) });
    manualSeed(1);
    saveLanguageModel(lmFile, new LanguageModel({ vocabSize: 5, hiddenSize: 4 }), new Vocabulary(['<eos>', '<unk>', 'x', 'y', 'z']));
    expect(() => loadSeq2Seq(lmFile)).toThrow(
      `loadSeq2Seq: ${JSON.stringify(lmFile)} holds a language model (metadata.format "rnn-native/language-model@1"), not a Seq2Seq model; load it with loadLanguageModel`,
    );
    expect(() => loadLanguageModel(s2s)).toThrow(
      `loadLanguageModel: ${JSON.stringify(s2s)} holds a Seq2Seq model (metadata.format "rnn-native/seq2seq@1"), not a language model; load it with loadSeq2Seq`,
    );
  });
});

describe('Seq2Seq decoding', () => {
  /** Log-probability of `target` then EOS (or of `target` alone, `finished` false) under teacher forcing. */
  function logProb(m: Seq2Seq, source: Int32Array, target: number[], finished: boolean): number {
    const batch = m.batch([source], [Int32Array.from(target)]);
    const logp = noGrad(() => F.logSoftmax(m.forward(batch), -1)).data;
    const V = m.options.targetVocabSize;
    const steps = finished ? [...target, 0] : target;
    return steps.reduce((sum, tok, t) => sum + logp[t * V + tok], 0);
  }

  /** Every output of at most maxLength tokens: its log-probability, and whether it ends with EOS. */
  function exhaustive(m: Seq2Seq, source: Int32Array, maxLength: number): Array<{ tokens: number[]; logp: number; ended: boolean }> {
    const V = m.options.targetVocabSize;
    const all: Array<{ tokens: number[]; logp: number; ended: boolean }> = [];
    const grow = (prefix: number[]) => {
      if (prefix.length === maxLength) {
        all.push({ tokens: prefix, logp: logProb(m, source, prefix, false), ended: false }); // cut at the limit
        return;
      }
      all.push({ tokens: prefix, logp: logProb(m, source, prefix, true), ended: true });
      for (let tok = 1; tok < V; tok++) grow([...prefix, tok]);
    };
    grow([]);
    return all;
  }

  /** The best output under a ranking rule: log-probability / length^lengthPenalty, EOS counted in the length or not. */
  function best(all: ReturnType<typeof exhaustive>, lengthPenalty: number, countEos: boolean): { tokens: number[]; score: number; margin: number } {
    const scored = all
      .map((h) => ({ tokens: h.tokens, score: h.logp / Math.pow(Math.max(1, h.tokens.length + (h.ended && countEos ? 1 : 0)), lengthPenalty) }))
      .sort((a, b) => b.score - a.score);
    return { ...scored[0], margin: scored[0].score - scored[1].score };
  }

  it.each([0, 1, 2])('beam search as wide as the candidate set finds the best output (lengthPenalty %p)', (lengthPenalty) => {
    // V = 4 (EOS and 3 tokens), maxLength 3: 1 + 3 + 9 outputs that end, 27 cut at the limit.
    const m = model({ targetVocabSize: 4, hiddenSize: 8 }, 7);
    // Sharpen the output layer so that the candidates' scores are well apart.
    const out = m.decoder.out.weight.data;
    for (let i = 0; i < out.length; i++) out[i] *= 6;
    let discriminating = 0;
    for (const source of Array.from({ length: 24 }, (_, i) => Int32Array.from({ length: 1 + (i % 5) }, (_, j) => 1 + ((i * 7 + j * 3) % 6)))) {
      const all = exhaustive(m, source, 3);
      expect(all.length).toBe(40);
      const truth = best(all, lengthPenalty, true);
      expect(truth.margin).toBeGreaterThan(1e-4); // a unique best
      const [beam] = m.translate([source], { beamSize: 40, maxLength: 3, lengthPenalty });
      expect(Array.from(beam)).toEqual(truth.tokens);
      // Sources whose best output changes when EOS is left out of the length or lengths are
      // ignored: on those the check above would catch either mistake.
      const offByOne = best(all, lengthPenalty, false), unnormalised = best(all, 0, true);
      if (offByOne.tokens.join() !== truth.tokens.join() || unnormalised.tokens.join() !== truth.tokens.join()) discriminating++;
      // A narrower beam finds no better output than the best (and one that is a candidate).
      const [narrow] = m.translate([source], { beamSize: 2, maxLength: 3, lengthPenalty });
      expect(all.some((h) => h.tokens.join() === Array.from(narrow).join())).toBe(true);
    }
    if (lengthPenalty > 0) expect(discriminating).toBeGreaterThan(0);
  });

  it('a beam of one is greedy decoding', () => {
    const m = model({}, 3);
    const srcs = [ids(2, 3, 4, 5), ids(6), ids(5, 5, 2)];
    const greedy = m.translate(srcs, { mode: 'greedy', maxLength: 8 });
    const beam1 = m.translate(srcs, { mode: 'beam', beamSize: 1, maxLength: 8 });
    expect(beam1.map((x) => Array.from(x))).toEqual(greedy.map((x) => Array.from(x)));
  });

  it.each(CONFIGS)('greedy decoding fed its own outputs as teacher inputs reproduces the teacher-forced logits (%s)', (_name, o) => {
    const m = model(o, 5);
    m.eval();
    const srcs = [ids(2, 3, 4, 5), ids(6), ids(5, 5, 2)];
    const outs = m.translate(srcs, { mode: 'greedy', maxLength: 6 });
    const batch = m.batch(srcs, outs);
    const V = m.options.targetVocabSize;
    const logits = noGrad(() => m.forward(batch)).data;
    const stepwise = noGrad(() => m.stepwiseLogits(batch)).data;
    outs.forEach((out, b) => {
      // At each step the teacher-forced argmax is the token greedy decoding chose, then EOS
      // (unless the output was cut at maxLength).
      const expected = out.length < 6 ? [...out, 0] : [...out];
      expected.forEach((tok, t) => {
        const row = logits.subarray((t * batch.B + b) * V, (t * batch.B + b + 1) * V);
        expect(row.indexOf(Math.max(...row))).toBe(tok);
      });
    });
    for (let i = 0; i < logits.length; i++) expect(Math.abs(stepwise[i] - logits[i])).toBeLessThan(1e-5);
  });

  it('translateAsync gives what translate gives, keeps the event loop free, and follows the weights as they change', async () => {
    const m = model({ hiddenSize: 64, embeddingDim: 32 }, 2);
    const srcs = Array.from({ length: 48 }, (_, i) => ids(2 + (i % 5), 3, 4 + (i % 3), 5, 6, 2 + (i % 4)));
    const opts = { beamSize: 5, maxLength: 20 };
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const asyncOut = await m.translateAsync(srcs, opts);
    clearInterval(timer);
    expect(asyncOut.map((x) => Array.from(x))).toEqual(m.translate(srcs, opts).map((x) => Array.from(x)));
    expect(ticks).toBeGreaterThan(0);
    // New weights (as training makes them) are the ones the next call decodes with.
    const bias = m.decoder.out.bias!.data;
    bias.fill(0);
    bias[3] = 50; // token 3 always wins: greedy outputs are 3, 3, 3, …
    const [forced] = await m.translateAsync([ids(2, 2)], { mode: 'greedy', maxLength: 4 });
    expect(Array.from(forced)).toEqual([3, 3, 3, 3]);
    // Concurrent calls are all answered, each with its own output.
    const many = await Promise.all(srcs.slice(0, 6).map((s) => m.translateAsync([s], { mode: 'greedy', maxLength: 3 })));
    expect(many.map(([x]) => Array.from(x))).toEqual(srcs.slice(0, 6).map(() => [3, 3, 3]));
  });

  it('translateAsync rejects bad arguments with the error translate throws, before queueing anything', async () => {
    const m = model();
    await expect(m.translateAsync([])).rejects.toThrow(TypeError);
    await expect(m.translateAsync([ids(2, 99)])).rejects.toThrow(new RangeError('Seq2Seq.translateAsync: expected a token id in [0, 7) for sources[0][1] but received 99 of type number'));
    await expect(m.translateAsync([ids(2)], { beamSize: 0 })).rejects.toThrow(RangeError);
    await expect(m.translateAsync([ids(2)], { beam: 3 } as never)).rejects.toThrow(/beam/);
  });

  it('sampling through translateAsync with a seed is reproducible, and equals translate with that seed', async () => {
    const m = model({}, 4);
    const srcs = [ids(2, 3), ids(4, 5, 6)];
    const opts = { mode: 'sample' as const, seed: 11, temperature: 1.5, maxLength: 8 };
    const a = await m.translateAsync(srcs, opts);
    const b = m.translate(srcs, opts);
    expect(a.map((x) => Array.from(x))).toEqual(b.map((x) => Array.from(x)));
  });
});

describe('Seq2Seq training through the general trainer', () => {
  const train = reversal(600, 4, 1);
  const valid = reversal(100, 4, 2);
  const small = { hiddenSize: 32, embeddingDim: 16, dropout: 0 } as const;
  const exact = (m: Seq2Seq, d: Seq2SeqData) =>
    m.translate(d.sources, { mode: 'greedy' }).filter((o, i) => o.length === d.targets[i].length && o.every((x, j) => x === d.targets[i][j])).length / d.sources.length;

  it('learns to reverse strings: validation loss falls, token accuracy and exact match rise', () => {
    const m = model({ sourceVocabSize: 6, targetVocabSize: 6, ...small });
    const before = exact(m, valid);
    const result = fitSync(m, train, { epochs: 8, batchSize: 16, optimizer: { type: 'Adam', lr: 1e-2 }, clipGradNorm: 5, validationData: valid, seed: 3 });
    const e = result.epochs;
    expect(e).toHaveLength(8);
    expect(e[7].valLoss).toBeLessThan(e[0].valLoss / 3);
    expect(e[7].metrics!.tokenAccuracy).toBeGreaterThan(90);
    expect(before).toBeLessThan(0.1);
    expect(exact(m, valid)).toBeGreaterThan(0.8);
  });

  it('ReduceLROnPlateau steps on the validations inside an epoch (validateEvery), not only at its end', () => {
    const m = model({ sourceVocabSize: 6, targetVocabSize: 6, ...small });
    const lrs: number[] = [], validations: number[] = [];
    // Only a 50 % better loss counts as better: every validation after the first is a
    // plateau, so with patience 0 each one halves the rate.
    fitSync(m, train, {
      epochs: 1, batchSize: 32, optimizer: { type: 'SGD', lr: 0.01 }, validationData: valid, validateEvery: 4, seed: 1,
      scheduler: { type: 'ReduceLROnPlateau', factor: 0.5, patience: 0, threshold: 0.5 },
    }, { onBatch: (b) => lrs.push(b.lr), onValidation: (v) => validations.push(v.step) });
    expect(lrs).toHaveLength(19);
    expect(validations).toEqual([4, 8, 12, 16]);
    // Validations after steps 8, 12 and 16 halve the rate that steps 9–12, 13–16 and 17–19 use.
    const expected = lrs.map((_, i) => 0.01 * 0.5 ** Math.max(0, Math.floor(i / 4) - 1));
    lrs.forEach((lr, i) => expect(lr).toBeCloseTo(expected[i], 12));
  });

  it('a run stopped and resumed from its checkpoint ends with the weights of an uninterrupted run', () => {
    const config = { epochs: 3, batchSize: 32, optimizer: { type: 'Adam', lr: 5e-3 } as const, validationData: valid, seed: 5 };
    const full = model({ sourceVocabSize: 6, targetVocabSize: 6, ...small });
    fitSync(full, train, config);
    const stopDir = path.join(dir, 'stop'), resumeDir = path.join(dir, 'resume');
    const stopped = model({ sourceVocabSize: 6, targetVocabSize: 6, ...small });
    const first = fitSync(stopped, train, { ...config, checkpointDir: stopDir, checkpointEvery: 7, maxBatches: 30 });
    expect(first.reason).toBe('max-batches');
    const resumed = model({ sourceVocabSize: 6, targetVocabSize: 6, ...small }, 99); // other weights: all must come from the checkpoint
    fitSync(resumed, train, { ...config, resumeFrom: stopDir, checkpointDir: resumeDir });
    expect(weights(resumed)).toEqual(weights(full));
  });

  it('fit() on the worker thread trains to the same weights as fitSync()', async () => {
    const config = { epochs: 2, batchSize: 32, optimizer: { type: 'Adam', lr: 5e-3 } as const, validationData: valid, seed: 8, bucketSize: 4 };
    const a = model({ sourceVocabSize: 6, targetVocabSize: 6, ...small });
    const b = model({ sourceVocabSize: 6, targetVocabSize: 6, ...small });
    const syncResult = fitSync(a, train, config);
    const asyncResult = await fit(b, train, { ...config, progress: false });
    expect(asyncResult.epochs.map((e) => e.valLoss)).toEqual(syncResult.epochs.map((e) => e.valLoss));
    expect(weights(b)).toEqual(weights(a));
  });
});
