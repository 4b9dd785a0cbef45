// SequenceClassifier against PyTorch 1.13 (scripts/make_classifier_fixtures.py →
// test/fixtures/classifier.json, from the twin module in scripts/classifier_torch.py): logits,
// loss and every parameter's gradient for each pooling kind (LSTM and GRU, one and two layers,
// one and two directions, class weights, normalised embeddings, an unlabelled row), and one
// adversarial training step (clean pass and backward, the perturbation, the perturbed pass and
// its backward, the gradients accumulated) through adversarialStep.
import { adversarialStep, functional as F, SequenceClassifier, Tensor } from '../lib';
import { FixtureTensor, loadFixture, maxError, toTensor } from './helpers/fixtures';
import { toFloat64 } from './helpers/float64';

interface Case {
  name: string;
  kind: 'forward' | 'adversarial';
  options: ConstructorParameters<typeof SequenceClassifier>[0];
  ids: number[];
  lengths: number[];
  labels: number[];
  params: Record<string, FixtureTensor>;
  logits?: FixtureTensor;
  loss: number;
  grads: Record<string, FixtureTensor>;
  epsilon?: number;
  weight?: number;
  loss2?: number;
  r?: FixtureTensor;
}

const cases = loadFixture<{ cases: Case[] }>('classifier.json').cases;

/** max |a − b| / max |b|: the error relative to the tensor's own scale. */
function scaledError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let diff = 0, scale = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= diff)) diff = d;
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return scale === 0 ? (diff === 0 ? 0 : Infinity) : diff / scale;
}

// float32 through an embedding, a (bi)recurrent stack, pooling and a loss: worst errors seen
// (REPORT_ERRORS=1) are ≤ 2e-7 for values and ≤ 1e-6 for gradients relative to their largest
// element, except attention pooling's pooling.proj.bias, whose gradient (~1e-5) is what is left
// of terms ~100× larger (the attention weights sum to 1): 3.3e-5 in attention_unlabelled_row.
// The float64 run shows where that comes from: both float32 gradients are off the same model in
// float64 by ~6e-10 (5.3e-6 of the scale for ours), PyTorch's a little more. The tolerances are about 5–10× the worst error of their class;
// a wrong sign or a missing term is an error of 1.
const TOL_VALUE = 2e-6;
const TOL_GRAD = 1e-5;
const TOL_GRAD_CANCELLING: Record<string, number> = { 'pooling.proj.bias': 2e-4 };
/** Our float32 gradients against the same model run in float64. */
const TOL_VS_FLOAT64 = 1e-5;
const worst: Record<string, number> = {};
function track(what: string, err: number, tol: number): void {
  worst[what] = Math.max(worst[what] ?? 0, err);
  if (!(err <= tol)) throw new Error(`${what}: error ${err} exceeds ${tol}`);
}
afterAll(() => {
  if (process.env.REPORT_ERRORS) console.log('max errors:', worst);
});

/** The fixture's model (its weights loaded; in float64 when asked) and batch. */
function setUp(c: Case, float64 = false) {
  const model = new SequenceClassifier({ ...c.options, dropout: 0 });
  const sd: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(c.params)) sd[name] = toTensor(t);
  model.loadStateDict(sd);
  if (float64) toFloat64(model);
  const B = c.lengths.length;
  const sequences = c.lengths.map((n, b) => Int32Array.from({ length: n }, (_, t) => c.ids[t * B + b]));
  return { model, batch: model.batch(sequences, c.labels) };
}

function expectGrads(c: Case, model: SequenceClassifier, exact: SequenceClassifier): void {
  const named = new Map(model.namedParameters());
  const named64 = new Map(exact.namedParameters());
  for (const [name, g] of Object.entries(c.grads)) {
    track(`${c.name} ${name}.grad`, scaledError(named.get(name)!.grad, g.data), TOL_GRAD_CANCELLING[name] ?? TOL_GRAD);
    track(`${c.name} ${name}.grad vs float64`, scaledError(named.get(name)!.grad, named64.get(name)!.grad), TOL_GRAD_CANCELLING[name] ?? TOL_VS_FLOAT64);
  }
  // Every trainable parameter has a reference gradient; the token frequencies are not trained.
  for (const [name, p] of named) if (p.requiresGrad) expect(c.grads[name]).toBeDefined();
}

describe('SequenceClassifier against PyTorch: forward and backward', () => {
  it.each(cases.filter((c) => c.kind === 'forward').map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const { model, batch } = setUp(c);
    expect(batch.ids).toEqual(Int32Array.from(c.ids)); // the same padded (T, B) layout
    const logits = model.forward(batch);
    track(`${c.name} logits`, maxError(logits.data, c.logits!.data), TOL_VALUE);
    const loss = model.lossOf(logits, batch);
    track(`${c.name} loss`, maxError([loss.item()], [c.loss]), TOL_VALUE);
    loss.backward();
    const exact = setUp(c, true);
    exact.model.loss(exact.batch).backward();
    expectGrads(c, model, exact.model);
  });
});

describe('adversarialStep against PyTorch: one adversarial training step', () => {
  it.each(cases.filter((c) => c.kind === 'adversarial').map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const { model, batch } = setUp(c);
    model.zeroGrad();
    const { clean, adversarial, r } = adversarialStep(model, batch, c.epsilon!);
    track(`${c.name} loss`, maxError([clean], [c.loss]), TOL_VALUE);
    track(`${c.name} r`, maxError(r.data, c.r!.data), TOL_VALUE);
    track(`${c.name} loss2`, maxError([adversarial.item()], [c.loss2!]), TOL_VALUE);
    F.mul(adversarial, c.weight!).backward();
    const exact = setUp(c, true);
    F.mul(adversarialStep(exact.model, exact.batch, c.epsilon!).adversarial, c.weight!).backward();
    expectGrads(c, model, exact.model);
    // r has norm ε per sequence and is zero on padding (the gradient there is).
    const [T, B, E] = r.shape;
    for (let b = 0; b < B; b++) {
      let sq = 0;
      for (let t = 0; t < T; t++)
        for (let k = 0; k < E; k++) {
          const v = r.data[(t * B + b) * E + k];
          sq += v * v;
          if (t >= c.lengths[b]) expect(v).toBe(0);
        }
      expect(Math.sqrt(sq)).toBeCloseTo(c.epsilon!, 5);
    }
  });
});
