// The Seq2Seq model (lib/models/seq2seq.ts) against its PyTorch twin (scripts/seq2seq_torch.py,
// PyTorch 1.13; fixtures by scripts/make_seq2seq_fixtures.py → test/fixtures/seq2seq-model.json):
// the same state dict loaded into ours gives the same batch, teacher-forced loss, logits and
// gradients, and the same greedy and beam-search outputs, over dot/general/additive/no
// attention, input feeding on and off, LSTM and GRU, stacked encoders and decoders, a
// unidirectional encoder and tied target embeddings.
import { noGrad, Seq2Seq, Tensor } from '../lib';
import type { Seq2SeqOptions } from '../lib';
import { FixtureTensor, loadFixture, maxError, toTensor } from './helpers/fixtures';

interface Case {
  name: string;
  seed: number;
  trainSteps: number;
  options: Required<Seq2SeqOptions>;
  paramOrder: string[];
  stateDict: Record<string, FixtureTensor>;
  sources: number[][];
  targets: number[][];
  batch: { S: number; T: number; B: number; tokens: number; source: number[]; sourceLengths: number[]; targetIn: number[]; targetOut: number[] };
  loss: number;
  logits: FixtureTensor;
  grads: Record<string, FixtureTensor>;
  greedy: number[][];
  beam: number[][];
  beamPaths: string[];
}

const fixture = loadFixture<{ decode: { maxLength: number; beamSize: number; lengthPenalty: number }; cases: Case[] }>('seq2seq-model.json');
const { maxLength, beamSize, lengthPenalty } = fixture.decode;

/** max |a − b| / max |b|: the error relative to the gradient's own scale (as test/19). */
function scaledError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let diff = 0, scale = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= diff)) diff = d; // NaN propagates as a failure
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return scale === 0 ? (diff === 0 ? 0 : Infinity) : diff / scale;
}

// float32 rounding through two recurrent stacks, attention and softmaxes. Worst errors seen
// (REPORT_ERRORS=1): loss 8.2e-8 and logits 8.8e-7 (|a−b|/(1+|b|); general-gru-nofeed-enc2,
// whose toy-task training left logits of magnitude ~10); gradients, relative to each
// gradient's largest element, 1.0e-6 (additive-lstm-feed-dec2's decoder.attention.v).
// Tolerances ~8–10× those. The decodings are compared exactly: the fixture script checks that
// none of them is a near-tie (each survives perturbing every weight by 1e-4 of its scale).
const TOL_VALUE = 7e-6;
const TOL_GRAD = 1e-5;

const worst: Record<string, { err: number; where: string }> = {};
function track(kind: string, where: string, err: number, tol: number): void {
  if (!worst[kind] || err > worst[kind].err) worst[kind] = { err, where };
  if (!(err <= tol)) throw new Error(`${where}: error ${err} exceeds ${tol}`);
}
afterAll(() => {
  if (process.env.REPORT_ERRORS) console.log('max errors (values: |a-b|/(1+|b|), gradients: max|a-b|/max|b|):', worst);
});

function load(c: Case): Seq2Seq {
  const model = new Seq2Seq(c.options);
  const sd: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(c.stateDict)) sd[name] = toTensor(t);
  model.loadStateDict(sd); // strict: every name ours has, and no other
  return model;
}

const ids = (seqs: number[][]) => seqs.map((s) => Int32Array.from(s));

describe.each(fixture.cases.map((c) => [c.name, c] as const))('Seq2Seq vs PyTorch: %s', (_name, c) => {
  test('same parameter names and order, state dict keys included', () => {
    const model = new Seq2Seq(c.options);
    expect(model.namedParameters().map(([n]) => n)).toEqual(c.paramOrder);
    expect(Object.keys(model.stateDict())).toEqual(Object.keys(c.stateDict));
    expect(model.options).toEqual(c.options);
  });

  test('batch(), loss, logits and every gradient', () => {
    const model = load(c);
    const batch = model.batch(ids(c.sources), ids(c.targets));
    const b = c.batch;
    expect([batch.S, batch.T, batch.B, batch.tokens]).toEqual([b.S, b.T, b.B, b.tokens]);
    expect(Array.from(batch.source)).toEqual(b.source);
    expect(Array.from(batch.sourceLengths)).toEqual(b.sourceLengths);
    expect(Array.from(batch.targetIn)).toEqual(b.targetIn);
    expect(Array.from(batch.targetOut)).toEqual(b.targetOut);

    model.train();
    model.zeroGrad();
    const loss = model.loss(batch);
    loss.backward();
    track('loss', `${c.name} loss`, maxError([loss.item()], [c.loss]), TOL_VALUE);
    const logits = noGrad(() => model.forward(batch));
    expect(logits.shape).toEqual(c.logits.shape);
    track('logits', `${c.name} logits`, maxError(logits.data, c.logits.data), TOL_VALUE);
    // The decoder run one step at a time (as decoding runs it) gives the same logits.
    const stepwise = noGrad(() => model.stepwiseLogits(batch));
    track('logits', `${c.name} stepwise logits`, maxError(stepwise.data, c.logits.data), TOL_VALUE);

    const named = model.namedParameters();
    expect(named.map(([n]) => n)).toEqual(Object.keys(c.grads));
    for (const [name, p] of named) {
      const g = c.grads[name];
      expect(p.shape).toEqual(g.shape);
      track('grad', `${c.name} ${name}`, scaledError(p.grad, g.data), TOL_GRAD);
    }
  });

  test('greedy and beam-search decodings: the same tokens', () => {
    const model = load(c);
    const greedy = model.translate(ids(c.sources), { mode: 'greedy', maxLength });
    expect(greedy.map((t) => Array.from(t))).toEqual(c.greedy);
    const beam = model.translate(ids(c.sources), { beamSize, maxLength, lengthPenalty });
    expect(beam.map((t) => Array.from(t))).toEqual(c.beam);
    c.beam.forEach((h, i) => expect(h.length === maxLength ? 'maxLength' : 'eos').toBe(c.beamPaths[i]));
  });
});

test('the fixtures cover what they claim', () => {
  const cases = fixture.cases;
  for (const kind of ['none', 'dot', 'general', 'additive']) expect(cases.some((c) => c.options.attention === kind)).toBe(true);
  for (const cell of ['lstm', 'gru']) expect(cases.some((c) => c.options.cell === cell)).toBe(true);
  expect(cases.some((c) => c.options.inputFeeding)).toBe(true);
  expect(cases.some((c) => !c.options.inputFeeding && c.options.attention !== 'none')).toBe(true);
  expect(cases.some((c) => c.options.encoderLayers > 1)).toBe(true);
  expect(cases.some((c) => c.options.decoderLayers > 1)).toBe(true);
  expect(cases.some((c) => c.options.tieTargetEmbeddings)).toBe(true);
  expect(cases.some((c) => !c.options.bidirectional)).toBe(true);
  // Masks matter: every case's sources have different lengths.
  for (const c of cases) expect(new Set(c.sources.map((s) => s.length)).size).toBeGreaterThan(1);
  // Both ends of a beam: hypotheses that ended with EOS and ones alive at maxLength.
  const paths = cases.flatMap((c) => c.beamPaths);
  expect(paths).toContain('eos');
  expect(paths).toContain('maxLength');
  // Greedy and beam search disagree somewhere (the beam search is not a greedy search).
  expect(cases.some((c) => JSON.stringify(c.greedy) !== JSON.stringify(c.beam))).toBe(true);
});
