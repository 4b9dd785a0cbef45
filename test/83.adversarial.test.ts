// Adversarial and virtual adversarial training (lib/train/adversarial.ts) beyond the PyTorch
// parity of one step (test/81): the perturbation's norm per sequence, what each step leaves in
// the gradients, the evaluation under attack, and that adversarial training makes a model
// clearly more robust to that attack on a task it learns.
import { adversarialStep, evaluateClassifier, fitSync, functional as F, manualSeed, perturbation, SequenceClassifier, Tensor, virtualAdversarialStep } from '../lib';

const ids = (...xs: number[]) => Int32Array.from(xs);
const grads = (m: SequenceClassifier) => m.parameters().map((p) => Array.from(p.grad));

function model(seed = 1, o: Partial<ConstructorParameters<typeof SequenceClassifier>[0]> = {}): SequenceClassifier {
  manualSeed(seed);
  return new SequenceClassifier({ vocabSize: 12, numClasses: 2, embeddingDim: 8, hiddenSize: 8, dropout: 0, normalizeEmbeddings: true, ...o });
}

/** Class 1 when token 2 occurs more often than token 3 (ties: 0); other tokens are noise. */
function task(count: number, seed: number) {
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const sequences: Int32Array[] = [];
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const seq = Int32Array.from({ length: 3 + Math.floor(rand() * 10) }, () => 2 + Math.floor(rand() * 10));
    sequences.push(seq);
    labels[i] = seq.filter((t) => t === 2).length > seq.filter((t) => t === 3).length ? 1 : 0;
  }
  return { sequences, labels };
}

describe('perturbation', () => {
  it('is ε·g/‖g_b‖ per sequence: each column has norm ε and the direction of its gradient', () => {
    const g = new Tensor(Float32Array.from({ length: 3 * 2 * 2 }, (_, i) => (i % 5) - 2 + 0.5 * (i % 2)), [3, 2, 2]);
    const r = perturbation(g, 2.5);
    for (let b = 0; b < 2; b++) {
      let rr = 0, gg = 0, rg = 0;
      for (let t = 0; t < 3; t++)
        for (let k = 0; k < 2; k++) {
          const i = (t * 2 + b) * 2 + k;
          rr += r.data[i] ** 2;
          gg += g.data[i] ** 2;
          rg += r.data[i] * g.data[i];
        }
      expect(Math.sqrt(rr)).toBeCloseTo(2.5, 5);
      expect(rg / Math.sqrt(rr * gg)).toBeCloseTo(1, 6); // parallel to g
    }
    expect(Array.from(perturbation(Tensor.zeros([2, 1, 3]), 1).data)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(() => perturbation(Tensor.zeros([2, 3]), 1)).toThrow(/3 dimensions \(T, B, E\)/);
  });
});

describe('adversarial steps', () => {
  const batchOf = (m: SequenceClassifier) => m.batch([ids(2, 3, 4, 5), ids(6, 2), ids(7, 8, 9)], [1, 0, 1]);

  it('adversarialStep: the clean gradients are in .grad after it, the perturbed pass’s are added by its backward, and the perturbed loss is higher', () => {
    const m = model(2);
    const b = batchOf(m);
    m.zeroGrad();
    const clean = m.loss(b);
    clean.backward();
    const cleanGrads = grads(m);
    m.zeroGrad();
    const step = adversarialStep(m, b, 1);
    expect(step.clean).toBeCloseTo(clean.item(), 6);
    grads(m).forEach((g, k) => g.forEach((v, i) => expect(v).toBeCloseTo(cleanGrads[k][i], 6)));
    expect(step.adversarial.item()).toBeGreaterThan(step.clean); // r ascends the loss
    step.adversarial.backward();
    expect(grads(m)).not.toEqual(cleanGrads);
  });

  it('virtualAdversarialStep leaves .grad as it was until its losses are differentiated, and its KL is ≥ 0', () => {
    const m = model(3);
    const b = batchOf(m);
    for (const p of m.parameters()) p.grad.fill(0.25); // whatever a caller accumulated
    const before = grads(m);
    const step = virtualAdversarialStep(m, b, 1);
    expect(grads(m)).toEqual(before);
    expect(step.adversarial.item()).toBeGreaterThanOrEqual(0);
    F.add(step.clean!, step.adversarial).backward();
    expect(grads(m)).not.toEqual(before);
    // Unlabelled batches have no clean loss, only the KL.
    expect(virtualAdversarialStep(m, m.batch([ids(2, 3)], [-1]), 1).clean).toBeNull();
  });
});

describe('evaluateClassifier', () => {
  const train = task(800, 1);
  const test = task(300, 2);
  const config = { epochs: 6, batchSize: 32, optimizer: { type: 'Adam', lr: 1e-2 } as const, validationFraction: 0, seed: 4 };

  it('reports accuracy, per-class metrics and the confusion matrix, and leaves the model’s mode and gradients as they were', () => {
    const m = model(4);
    fitSync(m, train, config);
    for (const p of m.parameters()) p.grad.fill(0.5);
    const before = grads(m);
    const clean = evaluateClassifier(m, test, { labels: ['even', 'more twos'] });
    const attacked = evaluateClassifier(m, test, { epsilon: 3, labels: ['even', 'more twos'] });
    expect(m.training).toBe(true);
    expect(grads(m)).toEqual(before);
    expect(clean.accuracy).toBeGreaterThan(0.9);
    expect(Object.keys(clean.classes)).toEqual(['even', 'more twos']);
    expect(clean.confusion.flat().reduce((a, b) => a + b, 0)).toBe(300);
    expect(attacked.accuracy).toBeLessThan(clean.accuracy);
    expect(attacked.loss).toBeGreaterThan(clean.loss);
    const predicted = m.predict(test.sequences);
    expect(clean.accuracy).toBeCloseTo(predicted.filter((c, i) => c === test.labels[i]).length / 300, 10);
  });

  it('adversarial training keeps clean accuracy and clearly raises accuracy under the attack (same data, steps and seed)', () => {
    const plain = model(5);
    fitSync(plain, train, config);
    const robust = model(5);
    fitSync(robust, train, { ...config, adversarial: { epsilon: 2 } });
    const acc = (m: SequenceClassifier, epsilon: number) => evaluateClassifier(m, test, { epsilon }).accuracy;
    expect(acc(robust, 0)).toBeGreaterThanOrEqual(acc(plain, 0) - 0.02);
    expect(acc(robust, 2)).toBeGreaterThan(acc(plain, 2) + 0.1);
  });

  it('checks its arguments', () => {
    const m = model();
    expect(() => evaluateClassifier(m, { sequences: [ids(2)], labels: [-1] })).toThrow(/holds −1 \(unlabelled\)/);
    expect(() => evaluateClassifier(m, test, { epsilon: -1 })).toThrow(RangeError);
    expect(() => evaluateClassifier(m, { sequences: [], labels: [] })).toThrow(TypeError);
    expect(() => evaluateClassifier({} as never, test)).toThrow(new TypeError('evaluateClassifier: expected a SequenceClassifier for model but received [object] of type object'));
  });
});
