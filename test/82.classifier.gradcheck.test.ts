// Float64 finite-difference checks of what the sequence classifier adds to the tape: F.max
// along each dimension, the class-weighted cross-entropy, every pooling kind over padded
// batches, the whole classifier (each pooling, normalised embeddings, class weights, an
// unlabelled row), the perturbed pass of adversarial training (r held fixed, as in the paper),
// and the embedded input's gradient that r is made from.
import { argmax, functional as F, manualSeed, SequenceClassifier, SequencePooling, Tensor } from '../lib';
import { Generator } from '../lib/core/random';
import { rand64, t64, toFloat64 } from './helpers/float64';
import { dot, expectGradcheck, numericGradient, relativeError, reportGradcheckErrors, weightsLike } from './helpers/gradcheck-expect';

afterAll(() => reportGradcheckErrors(10));

/** Every parameter of a float64 model redrawn in [-scale, scale) (the trainable ones returned). */
function randomize(m: SequenceClassifier, g: Generator, scale = 0.6): Tensor[] {
  for (const p of m.parameters()) if (p.requiresGrad) for (let i = 0; i < p.size; i++) p.data[i] = (2 * g.uniform() - 1) * scale;
  return m.parameters().filter((p) => p.requiresGrad);
}

describe('F.max(x, dim): gradcheck (float64)', () => {
  const g = new Generator(21);
  it.each([0, 1, 2, -1])('along dim %d of a (3, 4, 5) tensor', (dim) => {
    const x = rand64(g, [3, 4, 5], 1, true);
    const w = weightsLike(g, F.max(x, dim).values);
    expectGradcheck(`F.max dim ${dim}`, () => dot(F.max(x, dim).values, w), [x]);
  });

  it('along the first of three dimensions, returns rows in x’s order with that dimension removed (argmax once reordered them)', () => {
    // x (T 2, B 2, F 3): the maximum over T of entry (b, f) must land at b·3 + f.
    const x = t64([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0], [2, 2, 3]);
    expect(Array.from(argmax(x, 0))).toEqual([0, 0, 0, 0, 1, 0]);
    expect(Array.from(F.max(x, 0).values.data)).toEqual([1, 0, 0, 0, 9, 0]);
    expect(Array.from(argmax(x, 1))).toEqual([0, 0, 0, 0, 1, 0]);
  });

  it('returns the values and positions torch.max does, and sends the gradient to the chosen position only', () => {
    const x = t64([1, 5, 2, 7, 3, 0, 4, 9, 8, 6, 5, 1], [2, 3, 2], true); // (2, 3, 2)
    const { values, indices } = F.max(x, 1);
    expect(Array.from(values.data)).toEqual([3, 7, 8, 9]);
    expect(Array.from(indices)).toEqual([2, 1, 1, 0]);
    F.sum(values).backward();
    expect(Array.from(x.grad!)).toEqual([0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0]);
  });
});

describe('F.crossEntropy with class weights: gradcheck (float64)', () => {
  const g = new Generator(22);
  const weight = new Tensor(Float32Array.of(0.5, 2, 1.25), [3]);
  it.each([[0], [0.2]])('label smoothing %d, one row ignored', (ls) => {
    const x = rand64(g, [5, 3], 2, true);
    const targets = Int32Array.of(0, 2, -100, 1, 2);
    expectGradcheck(`weighted CE ls ${ls}`, () => F.crossEntropy(x, targets, { weight, labelSmoothing: ls }), [x]);
  });

  it('equals PyTorch’s formula: Σ w_y · nll / Σ w_y (all weights 1: the unweighted loss)', () => {
    const x = rand64(g, [4, 3], 2);
    const targets = Int32Array.of(2, 0, 1, 2);
    const logp = F.logSoftmax(x, -1).data;
    const w = [0.5, 2, 1.25];
    let num = 0, den = 0;
    for (let i = 0; i < 4; i++) {
      num -= w[targets[i]] * logp[i * 3 + targets[i]];
      den += w[targets[i]];
    }
    expect(F.crossEntropy(x, targets, { weight }).item()).toBeCloseTo(num / den, 12);
    const ones = new Tensor(Float32Array.of(1, 1, 1), [3]);
    expect(F.crossEntropy(x, targets, { weight: ones, labelSmoothing: 0.3 }).item()).toBeCloseTo(F.crossEntropy(x, targets, { labelSmoothing: 0.3 }).item(), 12);
  });
});

describe('SequencePooling: gradcheck (float64) over a padded batch', () => {
  const g = new Generator(23);
  const lengths = Int32Array.of(4, 1, 3);
  /** Recurrent-style outputs: zeros past each length, as a layer with `lengths` gives. */
  function outputs(T: number, B: number, Fd: number): Tensor {
    const out = rand64(g, [T, B, Fd], 1, true);
    for (let b = 0; b < B; b++) for (let t = lengths[b]; t < T; t++) out.data.fill(0, (t * B + b) * Fd, (t * B + b + 1) * Fd);
    return out;
  }
  it.each(['mean', 'max', 'attention'] as const)('%s', (kind) => {
    const pool = toFloat64(new SequencePooling({ kind, hiddenSize: 3, directions: 2 }));
    for (const p of pool.parameters()) for (let i = 0; i < p.size; i++) p.data[i] = 2 * g.uniform() - 1;
    const out = outputs(4, 3, 6);
    const h = rand64(g, [2, 3, 3]);
    const w = weightsLike(g, pool.forward(out, h, lengths));
    const loss = () => dot(pool.forward(out, h, lengths), w);
    expectGradcheck(`pooling ${kind}`, loss, [out, ...pool.parameters()]);
    // max and attention send padded steps no gradient. (mean sums all T steps, which relies on
    // the zeros a recurrent layer leaves there; that layer's backward ignores those steps.)
    if (kind === 'mean') return;
    out.grad!.fill(0);
    loss().backward();
    for (let b = 0; b < 3; b++) for (let t = lengths[b]; t < 4; t++) for (let k = 0; k < 6; k++) expect(out.grad![(t * 3 + b) * 6 + k]).toBe(0);
  });
  it('last: the top layer’s final states, forward direction then backward', () => {
    const pool = new SequencePooling({ kind: 'last', hiddenSize: 3, directions: 2 });
    const h = rand64(g, [4, 3, 3], 1, true); // two layers × two directions
    const out = outputs(4, 3, 6);
    const w = weightsLike(g, pool.forward(out, h, lengths));
    expectGradcheck('pooling last', () => dot(pool.forward(out, h, lengths), w), [h]);
    const pooled = pool.forward(out, h, lengths);
    for (let b = 0; b < 3; b++)
      for (let d = 0; d < 2; d++) for (let k = 0; k < 3; k++) expect(pooled.data[b * 6 + d * 3 + k]).toBe(h.data[((2 + d) * 3 + b) * 3 + k]);
  });
});

describe('SequenceClassifier: gradcheck (float64) of the loss with respect to every trained parameter', () => {
  const sequences = [Int32Array.of(3, 1, 4, 1, 5), Int32Array.of(2), Int32Array.of(6, 5, 3)];
  const base = { vocabSize: 8, numClasses: 3, embeddingDim: 3, hiddenSize: 2, dropout: 0 };
  const cases: Array<[string, ConstructorParameters<typeof SequenceClassifier>[0], number[]]> = [
    ['last, bidirectional LSTM', { ...base, pooling: 'last' }, [0, 2, 1]],
    ['mean, GRU, class weights', { ...base, pooling: 'mean', cell: 'gru', bidirectional: false, classWeights: [1, 3, 0.5] }, [2, 2, 1]],
    ['max, two layers', { ...base, pooling: 'max', numLayers: 2 }, [1, 0, 2]],
    ['attention, normalised embeddings, an unlabelled row', { ...base, pooling: 'attention', normalizeEmbeddings: true }, [1, -1, 0]],
  ];
  it.each(cases)('%s', (_name, options, labels) => {
    manualSeed(3);
    const g = new Generator(24);
    const model = toFloat64(new SequenceClassifier(options));
    if (options.normalizeEmbeddings) model.setTokenFrequencies([0, 4, 9, 1, 3, 7, 2, 5]);
    const params = randomize(model, g);
    const batch = model.batch(sequences, labels);
    expectGradcheck(`classifier ${_name}`, () => model.loss(batch), params, 2e-7);
  });
});

describe('adversarial training: gradchecks (float64)', () => {
  const sequences = [Int32Array.of(3, 1, 4, 1), Int32Array.of(2, 7), Int32Array.of(6, 5, 3)];
  it('the perturbed pass L(e + r), r held fixed, with respect to every parameter (normalised embeddings)', () => {
    manualSeed(5);
    const g = new Generator(25);
    const model = toFloat64(new SequenceClassifier({ vocabSize: 8, numClasses: 2, embeddingDim: 3, hiddenSize: 2, pooling: 'max', normalizeEmbeddings: true, dropout: 0 }));
    model.setTokenFrequencies([1, 4, 9, 1, 3, 7, 2, 5]);
    const params = randomize(model, g);
    const batch = model.batch(sequences, [1, 0, 1]);
    const r = rand64(g, [4, 3, 3], 0.5);
    expectGradcheck('adversarial pass', () => model.lossOf(model.forwardEmbedded(F.add(model.embed(batch), r), batch), batch), params, 2e-7);
  });

  it('the embedded input’s gradient (what r is made from) matches central differences', () => {
    manualSeed(6);
    const g = new Generator(26);
    const model = toFloat64(new SequenceClassifier({ vocabSize: 8, numClasses: 2, embeddingDim: 3, hiddenSize: 2, pooling: 'attention', dropout: 0 }));
    randomize(model, g);
    const batch = model.batch(sequences, [1, 0, 1]);
    const e = model.embed(batch).detach();
    e.requiresGrad = true;
    const loss = () => model.lossOf(model.forwardEmbedded(e, batch), batch);
    loss().backward();
    expect(relativeError(e.grad!, numericGradient(loss, e))).toBeLessThan(1e-8);
  });
});
