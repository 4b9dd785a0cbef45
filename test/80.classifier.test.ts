// SequenceClassifier beyond PyTorch parity (test/81): its options and file layout, batching
// and truncation, predictions in order and their async twins, the word vocabulary it reads,
// its files (and the files of other kinds), and training through the general trainer (a
// learnable task with its metrics, exact resume with adversarial training and dropout, fit on
// the worker equal to fitSync).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  fit, fitSync, functional as F, LanguageModel, loadSeq2Seq, loadSequenceClassifier, manualSeed, noGrad, saveLanguageModel,
  saveSequenceClassifier, SequenceClassifier, SequenceClassifierOptions, Vocabulary,
} from '../lib';
import { classifierLayout } from '../lib/io/classifier-file';

// fit() hands back weights deserialized in the worker's realm (see test/61).
Object.defineProperty(Float32Array, Symbol.hasInstance, {
  value: (v: unknown) => Object.prototype.toString.call(v) === '[object Float32Array]',
});

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-native-80-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const ids = (...xs: number[]) => Int32Array.from(xs);
const weights = (m: SequenceClassifier) => Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.data)]));

function model(o: Partial<SequenceClassifierOptions> = {}, seed = 1): SequenceClassifier {
  manualSeed(seed);
  return new SequenceClassifier({ vocabSize: 10, numClasses: 3, embeddingDim: 8, hiddenSize: 8, dropout: 0, ...o });
}

/** Sequences over tokens 2..9; class 0 when 7 occurs, else 1 when 8 occurs, else 2. */
function task(count: number, seed: number): { sequences: Int32Array[]; labels: Int32Array } {
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const sequences: Int32Array[] = [];
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const seq = Int32Array.from({ length: 2 + Math.floor(rand() * 9) }, () => 2 + Math.floor(rand() * 8));
    sequences.push(seq);
    labels[i] = seq.includes(7) ? 0 : seq.includes(8) ? 1 : 2;
  }
  return { sequences, labels };
}

describe('SequenceClassifier options and layout', () => {
  const CONFIGS: Array<[string, Partial<SequenceClassifierOptions>]> = [
    ['defaults (bidirectional LSTM, max pooling)', {}],
    ['GRU, two layers, attention', { cell: 'gru', numLayers: 2, pooling: 'attention' }],
    ['RNN, unidirectional, last, normalised embeddings', { cell: 'rnn_tanh', bidirectional: false, pooling: 'last', normalizeEmbeddings: true }],
  ];
  it.each(CONFIGS)('%s: the file layout lists the state dict’s names and shapes, in order', (_name, o) => {
    const m = model(o);
    const layout = [...classifierLayout(m.options)].map(([n, s]) => [n, [...s]]);
    expect(layout).toEqual(Object.entries(m.stateDict()).map(([n, t]) => [n, [...t.shape]]));
  });

  it('fills the defaults, and checks every option with a named error', () => {
    const m = new SequenceClassifier({ vocabSize: 5, numClasses: 2 });
    expect(m.options).toEqual({
      vocabSize: 5, numClasses: 2, embeddingDim: 128, hiddenSize: 128, numLayers: 1, cell: 'lstm', bidirectional: true, pooling: 'max',
      dropout: 0.3, classWeights: null, normalizeEmbeddings: false, maxLength: null,
    });
    expect(() => new SequenceClassifier({ vocabSize: 5, numClasses: 1 })).toThrow(new RangeError('SequenceClassifier: expected an integer in [2, 65536] for numClasses but received 1 of type number'));
    expect(() => new SequenceClassifier({ vocabSize: 5, numClasses: 2, pooling: 'sum' as never })).toThrow(RangeError);
    expect(() => new SequenceClassifier({ vocabSize: 5, numClasses: 2, classWeights: [1] })).toThrow(/an array of 2 numbers \(one per class\) for classWeights/);
    expect(() => new SequenceClassifier({ vocabSize: 5, numClasses: 2, classWeights: [1, -1] })).toThrow(/classWeights\[1\]/);
    expect(() => new SequenceClassifier({ vocabSize: 5, numClasses: 2, hiddenSise: 4 } as never)).toThrow(/unknown option "hiddenSise" \(did you mean "hiddenSize"\?\)/);
  });
});

describe('SequenceClassifier batches and predictions', () => {
  it('pads time-major with 0, cuts sequences to maxLength, and checks labels', () => {
    const m = model({ maxLength: 3 });
    const b = m.batch([ids(2, 3, 4, 5, 6), ids(7)], [1, -1]);
    expect(b).toMatchObject({ T: 3, B: 2 });
    expect(Array.from(b.ids)).toEqual([2, 7, 3, 0, 4, 0]);
    expect(Array.from(b.lengths)).toEqual([3, 1]);
    expect(Array.from(b.labels!)).toEqual([1, -1]);
    expect(() => m.batch([ids(2)], [3])).toThrow(new RangeError('SequenceClassifier.batch: expected a class id in [0, 3) or −1 (unlabelled) for labels[0] but received 3 of type number'));
    expect(() => m.batch([ids(2), ids()])).toThrow(new RangeError('SequenceClassifier.batch: sequences[1] is empty; a sequence needs at least one token'));
    expect(() => m.batch([ids(2, 10)])).toThrow(/token id in \[0, 10\) for sequences\[0\]\[1\]/);
  });

  it('predictProba gives each sequence’s own probabilities, in order, whatever it is batched with; predict is their argmax', () => {
    const m = model({ pooling: 'attention', dropout: 0.5 }, 3); // dropout: eval mode must switch it off
    const { sequences } = task(150, 4);
    const p = m.predictProba(sequences);
    expect(p.shape).toEqual([150, 3]);
    expect(m.training).toBe(true); // restored
    for (const i of [0, 17, 64, 149]) {
      const alone = m.predictProba([sequences[i]]).data;
      for (let c = 0; c < 3; c++) expect(p.data[i * 3 + c]).toBeCloseTo(alone[c], 6);
      expect(alone[0] + alone[1] + alone[2]).toBeCloseTo(1, 6);
    }
    const predicted = m.predict(sequences);
    for (let i = 0; i < 150; i++) expect(p.data[i * 3 + predicted[i]]).toBe(Math.max(...p.data.subarray(i * 3, i * 3 + 3)));
  });

  it('max pooling ignores padded steps: a sequence’s logits do not depend on the longer ones padded beside it', () => {
    const m = model({ pooling: 'max' }, 5);
    m.eval();
    const alone = noGrad(() => m.forward(m.batch([ids(3, 4)])).data);
    const padded = noGrad(() => m.forward(m.batch([ids(3, 4), ids(5, 6, 7, 8, 9, 2, 3)])).data.subarray(0, 3));
    for (let c = 0; c < 3; c++) expect(padded[c]).toBeCloseTo(alone[c], 6);
  });

  it('class weights weigh the loss as PyTorch’s weighted cross-entropy', () => {
    const m = model({ classWeights: [1, 4, 0.5] }, 6);
    const b = m.batch([ids(2, 3), ids(4), ids(5, 6, 7)], [1, 0, 2]);
    const logits = m.forward(b);
    const logp = F.logSoftmax(logits, -1).data;
    const expected = -(4 * logp[1] + 1 * logp[3] + 0.5 * logp[8]) / 5.5;
    expect(m.lossOf(logits, b).item()).toBeCloseTo(expected, 5);
  });

  it('normalised embeddings have frequency-weighted mean 0 and variance 1 in every dimension', () => {
    const m = model({ normalizeEmbeddings: true, embeddingDim: 4 }, 7);
    const counts = [0, 3, 10, 1, 1, 4, 8, 2, 6, 5];
    m.setTokenFrequencies(counts);
    const total = counts.reduce((a, b) => a + b, 0);
    const all = Int32Array.from({ length: 10 }, (_, i) => i);
    const e = noGrad(() => m.eval().embed(m.batch([all]))).data; // (10, 1, 4)
    for (let k = 0; k < 4; k++) {
      let mean = 0, sq = 0;
      for (let v = 0; v < 10; v++) mean += (counts[v] / total) * e[v * 4 + k];
      for (let v = 0; v < 10; v++) sq += (counts[v] / total) * (e[v * 4 + k] - mean) ** 2;
      expect(mean).toBeCloseTo(0, 5);
      expect(sq).toBeCloseTo(1, 4);
    }
    expect(() => m.setTokenFrequencies([1, 2])).toThrow(RangeError);
    expect(() => model().setTokenFrequencies(counts)).toThrow(/does not normalise its embeddings/);
    // The frequencies are not trained (the optimizer leaves them) but travel with the weights.
    expect(m.namedParameters().find(([n]) => n === 'token_frequencies')![1].requiresGrad).toBe(false);
  });

  it('predictProbaAsync and predictAsync give what predictProba and predict give, and follow the weights as they change', async () => {
    const m = model({ hiddenSize: 32 }, 8);
    const { sequences } = task(80, 9);
    const p = await m.predictProbaAsync(sequences);
    const expected = m.predictProba(sequences);
    expect(p.shape).toEqual([80, 3]);
    for (let i = 0; i < p.size; i++) expect(p.data[i]).toBeCloseTo(expected.data[i], 6);
    expect(Array.from(await m.predictAsync(sequences))).toEqual(Array.from(m.predict(sequences)));
    m.classifier.bias!.data.set([0, 0, 60]); // class 2 always wins now
    expect(Array.from(await m.predictAsync(sequences.slice(0, 5)))).toEqual([2, 2, 2, 2, 2]);
    await expect(m.predictAsync([])).rejects.toThrow(TypeError);
    await expect(m.predictProbaAsync([ids(2, 99)])).rejects.toThrow(new RangeError('SequenceClassifier.predictProbaAsync: expected a token id in [0, 10) for sequences[0][1] but received 99 of type number'));
  });
});

describe('Vocabulary for words', () => {
  const texts = ['Win a FREE prize!', 'free money, free time', 'Meeting at noon?', 'the prize is yours'];
  it('fromTexts splits words and punctuation, lower-cases, counts, and keeps frequent words first', () => {
    const v = Vocabulary.fromTexts(texts, { lowercase: true });
    expect(v.tokens.slice(0, 5)).toEqual(['<eos>', '<unk>', 'free', 'prize', '!']);
    expect(v.counts![2]).toBe(3);
    expect(v.tokenize('FREE-money')).toEqual(['free', '-', 'money']);
    expect(Array.from(v.encode('Free prize?? zzz', { maxLength: 3 }))).toEqual([2, 3, v.tokens.indexOf('?')]);
    expect(v.decode(v.encode('free time'))).toBe('free time');
  });
  it('minCount and maxSize send rare words to <unk>, whose count they add to', () => {
    const v = Vocabulary.fromTexts(texts, { lowercase: true, minCount: 2 });
    expect(v.tokens).toEqual(['<eos>', '<unk>', 'free', 'prize']);
    expect(v.counts![1]).toBe(v.tokenize(texts.join(' ')).length - 5);
    expect(Vocabulary.fromTexts(texts, { maxSize: 3, tokenization: 'word' }).tokens).toEqual(['<eos>', '<unk>', 'free']);
  });
  it('keeps lower-casing through toJSON / fromJSON, and checks its options', () => {
    const v = Vocabulary.fromTexts(texts, { lowercase: true });
    const w = Vocabulary.fromJSON(JSON.parse(JSON.stringify(v)));
    expect(w.lowercase).toBe(true);
    expect(Array.from(w.encode('FREE'))).toEqual([2]);
    expect(JSON.parse(JSON.stringify(Vocabulary.fromText('ab')))).toEqual({ tokens: ['<eos>', '<unk>', 'a', 'b'], tokenization: 'char' });
    expect(() => Vocabulary.fromTexts(texts, { minCount: 0 })).toThrow(new RangeError('Vocabulary.fromTexts: expected an integer in [1, 2147483647] for opts.minCount but received 0 of type number'));
    expect(() => Vocabulary.fromTexts([1 as never])).toThrow(TypeError);
    expect(() => Vocabulary.fromTexts(texts, { lowerCase: true } as never)).toThrow(/did you mean "lowercase"/);
  });
});

describe('SequenceClassifier files', () => {
  it('save and load keep the weights, options, vocabulary and labels; predictions are the same', () => {
    const vocab = Vocabulary.fromTexts(['a b c d e f g h'], { tokenization: 'word' });
    const m = model({ pooling: 'attention', normalizeEmbeddings: true, classWeights: [1, 2, 3], maxLength: 5 }, 9);
    m.setTokenFrequencies([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const file = path.join(dir, 'clf.safetensors');
    saveSequenceClassifier(file, m, { vocabulary: vocab, labels: ['x', 'y', 'z'] });
    const loaded = loadSequenceClassifier(file);
    expect(loaded.labels).toEqual(['x', 'y', 'z']);
    expect(loaded.vocabulary.tokens).toEqual(vocab.tokens);
    expect(loaded.model.options).toEqual(m.options);
    expect(weights(loaded.model)).toEqual(weights(m));
    const { sequences } = task(20, 10);
    expect(Array.from(loaded.model.predictProba(sequences).data)).toEqual(Array.from(m.predictProba(sequences).data));
    expect(() => saveSequenceClassifier(file, m, { vocabulary: vocab, labels: ['x', 'x', 'z'] })).toThrow(new RangeError('saveSequenceClassifier: contents.labels holds "x" twice'));
    expect(() => saveSequenceClassifier(file, m, { vocabulary: vocab, labels: ['x', 'y'] })).toThrow(/contents.labels holds 2 labels, but the model has 3 classes/);
  });

  it('a file of another kind names the loader it needs, both ways', () => {
    const lmFile = path.join(dir, 'lm.safetensors');
    saveLanguageModel(lmFile, new LanguageModel({ vocabSize: 10, hiddenSize: 4 }), Vocabulary.fromText('abcdefgh'));
    expect(() => loadSequenceClassifier(lmFile)).toThrow(
      `loadSequenceClassifier: ${JSON.stringify(lmFile)} holds a language model (metadata.format "rnn-native/language-model@1"), not a SequenceClassifier; load it with loadLanguageModel`,
    );
    const file = path.join(dir, 'clf2.safetensors');
    saveSequenceClassifier(file, model(), { vocabulary: Vocabulary.fromText('abcdefgh'), labels: ['a', 'b', 'c'] });
    expect(() => loadSeq2Seq(file)).toThrow(/holds a SequenceClassifier .*; load it with loadSequenceClassifier/);
  });
});

describe('SequenceClassifier training through the general trainer', () => {
  const train = task(600, 1);
  const valid = task(200, 2);

  it('learns the task: validation loss falls, accuracy and macro F1 rise, per-class metrics are reported', () => {
    const m = model({ hiddenSize: 16 });
    const before = m.predict(valid.sequences).filter((c, i) => c === valid.labels[i]).length / 200;
    const result = fitSync(m, train, { epochs: 6, batchSize: 16, optimizer: { type: 'Adam', lr: 1e-2 }, validationData: valid, seed: 3 });
    const e = result.epochs;
    expect(e[5].valLoss).toBeLessThan(e[0].valLoss / 2);
    expect(e[5].metrics!.accuracy).toBeGreaterThan(95);
    expect(e[5].metrics!.macroF1).toBeGreaterThan(95);
    expect(Object.keys(e[5].metrics!).sort()).toEqual(['accuracy', 'f1/0', 'f1/1', 'f1/2', 'macroF1', 'precision/0', 'precision/1', 'precision/2', 'recall/0', 'recall/1', 'recall/2']);
    expect(before).toBeLessThan(0.7);
  });

  it('restoreBest leaves the model with the weights of its best validation epoch, not its last', () => {
    // A third of the validation labels are wrong: the more the model learns, the worse its validation loss.
    const noisy = { sequences: valid.sequences, labels: Int32Array.from(valid.labels, (y, i) => (i % 3 === 0 ? (y + 1) % 3 : y)) };
    const m = model({ hiddenSize: 16 });
    const snapshots: Array<{ valLoss: number; weights: ReturnType<typeof weights> }> = [];
    const result = fitSync(m, train, { epochs: 4, batchSize: 16, optimizer: { type: 'Adam', lr: 1e-2 }, validationData: noisy, seed: 3, restoreBest: true }, {
      onEpoch: (e) => snapshots.push({ valLoss: e.valLoss, weights: weights(m) }),
    });
    const best = snapshots.reduce((b, s, i) => (s.valLoss < snapshots[b].valLoss ? i : b), 0);
    expect(best).toBeLessThan(3);
    expect(result.bestValLoss).toBe(snapshots[best].valLoss);
    expect(weights(m)).toEqual(snapshots[best].weights);
    expect(weights(m)).not.toEqual(snapshots[3].weights);
  });

  it('a run with adversarial training and dropout, stopped and resumed from its checkpoint, ends with the weights of an uninterrupted run', () => {
    const config = { epochs: 2, batchSize: 32, optimizer: { type: 'Adam', lr: 5e-3 } as const, validationData: valid, seed: 5, adversarial: { epsilon: 0.5 } };
    const o = { dropout: 0.3, normalizeEmbeddings: true };
    const full = model(o);
    fitSync(full, train, config);
    const stopDir = path.join(dir, 'stop'), resumeDir = path.join(dir, 'resume');
    const first = fitSync(model(o), train, { ...config, checkpointDir: stopDir, checkpointEvery: 7, maxBatches: 25 });
    expect(first.reason).toBe('max-batches');
    const resumed = model(o, 99); // other weights: all must come from the checkpoint
    fitSync(resumed, train, { ...config, resumeFrom: stopDir, checkpointDir: resumeDir });
    expect(weights(resumed)).toEqual(weights(full));
  });

  it('resumes exactly with optimizer groups that order the parameters otherwise than the model (and a frozen one)', () => {
    const config = {
      epochs: 2, batchSize: 32, validationData: valid, seed: 6,
      optimizer: { type: 'AdamW' as const, lr: 5e-3, groups: [{ params: ['classifier'], lr: 1e-2, weightDecay: 0 }] },
    };
    const o = { normalizeEmbeddings: true };
    const full = model(o);
    fitSync(full, train, config);
    const stopDir = path.join(dir, 'stop-groups'), resumeDir = path.join(dir, 'resume-groups');
    fitSync(model(o), train, { ...config, checkpointDir: stopDir, checkpointEvery: 9, maxBatches: 27 });
    const resumed = model(o, 98);
    fitSync(resumed, train, { ...config, resumeFrom: stopDir, checkpointDir: resumeDir });
    expect(weights(resumed)).toEqual(weights(full));
    // The frozen frequencies are as set at the start: AdamW's weight decay never touched them.
    expect(Array.from(resumed.token_frequencies!.data)).toEqual(Array.from(model(o).token_frequencies!.data));
  });

  it('fit() on the worker thread trains to the same weights as fitSync(), with virtual adversarial training on unlabelled examples', async () => {
    const withUnlabelled = { sequences: train.sequences, labels: Int32Array.from(train.labels, (y, i) => (i % 3 === 0 ? -1 : y)) };
    const config = { epochs: 1, batchSize: 32, optimizer: { type: 'Adam', lr: 5e-3 } as const, validationData: valid, seed: 8, adversarial: { method: 'vat' as const, epsilon: 1 } };
    const a = model(), b = model();
    const syncResult = fitSync(a, withUnlabelled, config);
    const asyncResult = await fit(b, withUnlabelled, { ...config, progress: false });
    expect(asyncResult.epochs.map((e) => e.valLoss)).toEqual(syncResult.epochs.map((e) => e.valLoss));
    expect(weights(b)).toEqual(weights(a));
    expect(() => fitSync(model(), withUnlabelled, { epochs: 1, validationData: valid })).toThrow(
      "fit: train holds 200 unlabelled examples (label −1); only virtual adversarial training (adversarial: { method: 'vat' }) learns from them",
    );
  });

  it('rejects data of the wrong shape with named errors', () => {
    const m = model();
    expect(() => fitSync(m, { sequences: [ids(2)], labels: [5] })).toThrow(new RangeError('fit: expected a class id in [0, 3) or −1 (unlabelled) for train.labels[0] but received 5 of type number'));
    expect(() => fitSync(m, { sequences: [ids(2)], labels: [1, 2] })).toThrow(/train.sequences and train.labels must pair up, received 1 and 2/);
    expect(() => fitSync(m, ids(2, 3) as never)).toThrow(TypeError);
    expect(() => fitSync(m, train, { adversarial: { epsilon: 0 } })).toThrow(/adversarial.epsilon/);
    expect(() => fitSync(m, train, { adversarial: { epsilom: 1 } } as never)).toThrow(/unknown option "epsilom" \(did you mean "epsilon"\?\)/);
  });
});
