// Whole models composed from modules and F.* under autograd, against PyTorch 1.13
// (scripts/make_composition_fixtures.py → test/fixtures/seq2seq.json and adversarial.json):
// an attention encoder–decoder training step, adversarial training's double pass (Miyato et
// al. 2017), and module reuse within one graph.
import { Embedding, functional as F, Linear, LSTM, Module, Tensor } from '../lib';
import { FixtureTensor, loadFixture, maxError, toTensor } from './helpers/fixtures';
import { t64, toFloat64 } from './helpers/float64';

interface Seq2SeqCase {
  name: string;
  seed: number;
  sizes: { Vs: number; Vt: number; E: number; H: number; B: number; S: number; Tt: number };
  src: number[];
  srcLengths: number[];
  tgtLengths: number[];
  tgtIn: number[];
  tgtOut: number[];
  paramOrder: string[];
  params: Record<string, FixtureTensor>;
  loss: number;
  logits: FixtureTensor;
  attn: FixtureTensor;
  grads: Record<string, FixtureTensor>;
}

interface AdversarialCase {
  name: string;
  seed: number;
  sizes: { V: number; E: number; H: number; C: number; T: number; B: number };
  ids: number[];
  lengths: number[];
  targets: number[];
  epsilon: number;
  paramOrder: string[];
  params: Record<string, FixtureTensor>;
  loss1: number;
  loss2: number;
  embGrad: FixtureTensor;
  r: FixtureTensor;
  grads: Record<string, FixtureTensor>;
}

const seq2seqCases = loadFixture<{ cases: Seq2SeqCase[] }>('seq2seq.json').cases;
const adversarialCases = loadFixture<{ cases: AdversarialCase[] }>('adversarial.json').cases;

/**
 * max |a − b| / max |b|: the error relative to the tensor's own scale. The gradients here
 * span five orders of magnitude (key.weight's is ~1e-6, out.bias's ~0.2), so an error
 * relative to 1 + |b| would let a tiny gradient be anything.
 */
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

// float32 rounding through a few dozen chained ops (two LSTMs, attention, softmax, losses).
// Worst errors seen: values (loss, logits, attn, r; |a−b|/(1+|b|)) ≤ 1.2e-7. Gradients,
// relative to each gradient's largest element: ≤ 2.3e-7 for most, 1.2e-6 for the second
// adversarial case's rnn.weight_hh_l0 (a gradient ~1e-3, 60× smaller than its bias's), and
// 7.4e-6 for seq2seq's key.weight, whose gradient (~1.6e-6) is what is left of attention terms
// ~1000× larger. The float64 runs below show where those errors come from: against the same
// model in float64, our float32 key.weight gradient is 1.1e-6 off and PyTorch's 7.9e-6 (theirs
// dominates the difference); for rnn.weight_hh_l0, 0.9e-6 and 1.7e-6.
// Tolerances are ~8× the worst error of their class; a wrong sign or a zero gradient is an
// error of 1 or 2.
const TOL_VALUE = 1e-6;
const TOL_GRAD = 1e-5;
/** Gradients that are a small remainder of much larger terms (see above). */
const TOL_GRAD_CANCELLING: Record<string, number> = { 'key.weight': 6e-5 };
/** Our float32 gradients against the same model run in float64 (worst seen 1.1e-6). */
const TOL_VS_FLOAT64 = 1e-5;

// Worst errors seen, printed with REPORT_ERRORS=1.
const worst: Record<string, number> = {};
function track(what: string, err: number, tol: number): void {
  worst[what] = Math.max(worst[what] ?? 0, err);
  if (!(err <= tol)) throw new Error(`${what}: error ${err} exceeds ${tol}`);
}
const expectValue = (what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol = TOL_VALUE) =>
  track(what, maxError(actual, expected), tol);
const expectGrad = (what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol = TOL_GRAD) =>
  track(what, scaledError(actual, expected), tol);
afterAll(() => {
  if (process.env.REPORT_ERRORS) console.log('max errors (values: |a-b|/(1+|b|), gradients: max|a-b|/max|b|):', worst);
});

function stateDict(params: Record<string, FixtureTensor>): Record<string, Tensor> {
  const sd: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(params)) sd[name] = toTensor(t);
  return sd;
}

// ---------------------------------------------------------------- seq2seq

/** The fixture's modules, in PyTorch's ModuleDict order, so that dotted names match. */
class Seq2Seq extends Module {
  readonly src_emb: Embedding;
  readonly tgt_emb: Embedding;
  readonly encoder: LSTM;
  readonly bridge_h: Linear;
  readonly bridge_c: Linear;
  readonly decoder: LSTM;
  readonly key: Linear;
  readonly combine: Linear;
  readonly out: Linear;

  constructor(readonly sizes: Seq2SeqCase['sizes']) {
    super();
    const { Vs, Vt, E, H } = sizes;
    this.src_emb = this.registerModule('src_emb', new Embedding({ numEmbeddings: Vs, embeddingDim: E, paddingIdx: 0 }));
    this.tgt_emb = this.registerModule('tgt_emb', new Embedding({ numEmbeddings: Vt, embeddingDim: E, paddingIdx: 0 }));
    this.encoder = this.registerModule('encoder', new LSTM({ inputSize: E, hiddenSize: H, bidirectional: true }));
    this.bridge_h = this.registerModule('bridge_h', new Linear({ inFeatures: 2 * H, outFeatures: H }));
    this.bridge_c = this.registerModule('bridge_c', new Linear({ inFeatures: 2 * H, outFeatures: H }));
    this.decoder = this.registerModule('decoder', new LSTM({ inputSize: E, hiddenSize: H }));
    this.key = this.registerModule('key', new Linear({ inFeatures: 2 * H, outFeatures: H, bias: false }));
    this.combine = this.registerModule('combine', new Linear({ inFeatures: 3 * H, outFeatures: H }));
    this.out = this.registerModule('out', new Linear({ inFeatures: H, outFeatures: Vt }));
  }

  /**
   * The fixture's forward, op by op. `shortcut` false hides the embeddings' provenance from
   * the LSTMs (a reshape to the same shape), so they take the looked-up rows instead of
   * reading the table by id: both paths must give PyTorch's numbers.
   */
  forward(c: Seq2SeqCase, shortcut = true): { loss: Tensor; logits: Tensor; attn: Tensor } {
    const { Vt, H, B, S, Tt } = this.sizes;
    const lengths = Int32Array.from(c.srcLengths);
    let xs = this.src_emb.forward(Int32Array.from(c.src), [S, B]); // (S, B, E)
    if (!shortcut) xs = xs.reshape(xs.shape.slice());
    const { output: enc, h: hN, c: cN } = this.encoder.forward(xs, undefined, { lengths }); // (S, B, 2H), (2, B, H)
    const hCat = hN.transpose(0, 1).reshape([B, 2 * H]); // [fwd | bwd]
    const cCat = cN.transpose(0, 1).reshape([B, 2 * H]);
    const h0 = F.tanh(this.bridge_h.forward(hCat)).reshape([1, B, H]);
    const c0 = F.tanh(this.bridge_c.forward(cCat)).reshape([1, B, H]);
    let ys = this.tgt_emb.forward(Int32Array.from(c.tgtIn), [Tt, B]);
    if (!shortcut) ys = ys.reshape(ys.shape.slice());
    const dec = this.decoder.forward(ys, { h: h0, c: c0 }).output; // (Tt, B, H)
    const keys = this.key.forward(enc); // (S, B, H)
    const q = dec.transpose(0, 1); // (B, Tt, H)
    const k = keys.transpose(0, 1).transpose(1, 2); // (B, H, S)
    const scores = F.matmul(q, k); // (B, Tt, S)
    const mask = new Uint8Array(B * Tt * S);
    for (let b = 0; b < B; b++)
      for (let t = 0; t < Tt; t++) for (let s = 0; s < S; s++) mask[(b * Tt + t) * S + s] = s >= c.srcLengths[b] ? 1 : 0;
    const attn = F.softmax(F.maskedFill(scores, mask, -Infinity), -1); // (B, Tt, S)
    const ctx = F.matmul(attn, enc.transpose(0, 1)); // (B, Tt, 2H)
    const comb = F.tanh(this.combine.forward(F.cat([ctx, q], -1))); // (B, Tt, H)
    const logits = this.out.forward(comb).reshape([B * Tt, Vt]); // row b·Tt + t
    const targets = new Int32Array(B * Tt);
    for (let b = 0; b < B; b++) for (let t = 0; t < Tt; t++) targets[b * Tt + t] = c.tgtOut[t * B + b]; // batch-major
    const loss = F.crossEntropy(logits, targets, { ignoreIndex: -100 });
    return { loss, logits, attn };
  }
}

function seq2seqModel(c: Seq2SeqCase): Seq2Seq {
  const m = new Seq2Seq(c.sizes);
  m.loadStateDict(stateDict(c.params));
  return m;
}

function checkSeq2SeqGrads(m: Seq2Seq, c: Seq2SeqCase, scale: number, label: string): void {
  for (const [name, p] of m.namedParameters())
    expectGrad(`${label} grad ${name}`, p.grad, c.grads[name].data.map((v) => scale * v), TOL_GRAD_CANCELLING[name] ?? TOL_GRAD);
}

describe('attention encoder–decoder (seq2seq.json) against PyTorch', () => {
  it('has the fixture\'s cases', () => expect(seq2seqCases.length).toBe(2));

  it.each(seq2seqCases.map((c) => [c.name, c] as const))("%s: parameter names, order and shapes are PyTorch's", (_n, c) => {
    const m = new Seq2Seq(c.sizes);
    expect(m.namedParameters().map(([n]) => n)).toEqual(c.paramOrder);
    for (const [n, p] of m.namedParameters()) expect(p.shape).toEqual(c.params[n].shape);
    expect(m.training).toBe(true);
  });

  describe.each([
    ['embeddings read by id (the LSTMs\' token path)', true],
    ['embeddings as looked-up rows', false],
  ] as const)('%s', (_label, shortcut) => {
    it.each(seq2seqCases.map((c) => [c.name, c] as const))('%s: loss, logits, attention and every parameter gradient match', (_n, c) => {
      const m = seq2seqModel(c);
      const { loss, logits, attn } = m.forward(c, shortcut);
      expect(loss.shape).toEqual([]);
      expectValue('seq2seq loss', [loss.item()], [c.loss]);
      expect(logits.shape).toEqual(c.logits.shape);
      expectValue('seq2seq logits', logits.data, c.logits.data);
      expect(attn.shape).toEqual(c.attn.shape);
      expectValue('seq2seq attn', attn.data, c.attn.data);
      // masked source positions get exactly zero attention
      const { B, Tt, S } = c.sizes;
      for (let b = 0; b < B; b++)
        for (let t = 0; t < Tt; t++) for (let s = c.srcLengths[b]; s < S; s++) expect(attn.data[(b * Tt + t) * S + s]).toBe(0);
      loss.backward();
      checkSeq2SeqGrads(m, c, 1, 'seq2seq');
      // the padding rows of both embeddings get no gradient, as PyTorch's padding_idx
      for (const emb of [m.src_emb, m.tgt_emb]) expect(Array.from(emb.weight.grad.subarray(0, c.sizes.E))).toEqual(new Array(c.sizes.E).fill(0));
    });
  });

  it.each(seq2seqCases.map((c) => [c.name, c] as const))(
    '%s: the model used twice in one graph (loss + loss′, one backward) gets twice the gradients',
    (_n, c) => {
      const m = seq2seqModel(c);
      const first = m.forward(c);
      const second = m.forward(c);
      expect(second.loss.item()).toBe(first.loss.item()); // same inputs, same parameters: bit for bit
      expect(Array.from(second.logits.data)).toEqual(Array.from(first.logits.data));
      F.add(first.loss, second.loss).backward();
      checkSeq2SeqGrads(m, c, 2, 'seq2seq twice');
    },
  );

  it.each(seq2seqCases.map((c) => [c.name, c] as const))('%s: two steps of backward accumulate into .grad until zeroGrad()', (_n, c) => {
    const m = seq2seqModel(c);
    m.forward(c).loss.backward();
    m.forward(c).loss.backward();
    checkSeq2SeqGrads(m, c, 2, 'seq2seq accumulated');
    m.zeroGrad();
    m.forward(c).loss.backward();
    checkSeq2SeqGrads(m, c, 1, 'seq2seq');
  });
});

// ---------------------------------------------------------------- adversarial

class Classifier extends Module {
  readonly emb: Embedding;
  readonly rnn: LSTM;
  readonly head: Linear;
  constructor(readonly sizes: AdversarialCase['sizes']) {
    super();
    const { V, E, H, C } = sizes;
    this.emb = this.registerModule('emb', new Embedding({ numEmbeddings: V, embeddingDim: E }));
    this.rnn = this.registerModule('rnn', new LSTM({ inputSize: E, hiddenSize: H }));
    this.head = this.registerModule('head', new Linear({ inFeatures: H, outFeatures: C }));
  }
  /** head(hN[0]) over the packed sequences: (T, B, E) → (B, C). */
  classify(e: Tensor, lengths: Int32Array): Tensor {
    const { B, H } = this.sizes;
    return this.head.forward(this.rnn.forward(e, undefined, { lengths }).h.reshape([B, H]));
  }
}

/** The perturbation ε·g / (‖g_b‖ + 1e-12), the norm per sequence over all steps and features (in float64). */
function perturbation(g: Float32Array, c: AdversarialCase): Float64Array {
  const { T, B, E } = c.sizes;
  const norm = new Float64Array(B);
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) for (let k = 0; k < E; k++) norm[b] += g[(t * B + b) * E + k] ** 2;
  const r = new Float64Array(g.length);
  for (let t = 0; t < T; t++)
    for (let b = 0; b < B; b++) for (let k = 0; k < E; k++) r[(t * B + b) * E + k] = (c.epsilon * g[(t * B + b) * E + k]) / (Math.sqrt(norm[b]) + 1e-12);
  return r;
}

/**
 * The docstring's double pass: loss1 on the embedded input (its gradient retained), r from
 * that gradient, loss2 on the perturbed input; both backwards accumulate into the
 * parameters. `float64` runs the same model in double precision (the exact reference).
 */
function adversarialStep(c: AdversarialCase, float64 = false) {
  const m = new Classifier(c.sizes);
  m.loadStateDict(stateDict(c.params));
  if (float64) toFloat64(m);
  const { T, B, E } = c.sizes;
  const ids = Int32Array.from(c.ids);
  const lengths = Int32Array.from(c.lengths);
  const targets = Int32Array.from(c.targets);

  const e = m.emb.forward(ids, [T, B]);
  e.retainGrad();
  const loss1 = F.crossEntropy(m.classify(e, lengths), targets);
  loss1.backward();
  const eGrad = e.grad;
  if (eGrad === null) throw new Error('e.grad was not retained');
  const r64 = perturbation(eGrad, c);
  const r = float64 ? t64(r64, [T, B, E]) : new Tensor(Float32Array.from(r64), [T, B, E]); // a plain tensor: no gradient flows into r
  const e2 = F.add(m.emb.forward(ids, [T, B]), r);
  const loss2 = F.crossEntropy(m.classify(e2, lengths), targets);
  loss2.backward();
  return { m, loss1, loss2, eGrad, r };
}

describe('adversarial training\'s double pass (adversarial.json) against PyTorch', () => {
  it('has the fixture\'s cases', () => expect(adversarialCases.length).toBe(2));

  it.each(adversarialCases.map((c) => [c.name, c] as const))("%s: parameter names, order and shapes are PyTorch's", (_n, c) => {
    const m = new Classifier(c.sizes);
    expect(m.namedParameters().map(([n]) => n)).toEqual(c.paramOrder);
    for (const [n, p] of m.namedParameters()) expect(p.shape).toEqual(c.params[n].shape);
  });

  it.each(adversarialCases.map((c) => [c.name, c] as const))(
    '%s: loss1, e.grad, r, loss2 and the gradients accumulated over both passes match',
    (_n, c) => {
      const { m, loss1, loss2, eGrad, r } = adversarialStep(c);
      expectValue('adversarial loss1', [loss1.item()], [c.loss1]);
      expect(eGrad.length).toBe(c.embGrad.data.length);
      expectGrad('adversarial e.grad', eGrad, c.embGrad.data);
      // padded steps get no gradient (the LSTM stops at each length)
      const { T, B, E } = c.sizes;
      for (let b = 0; b < B; b++)
        for (let t = c.lengths[b]; t < T; t++) for (let k = 0; k < E; k++) expect(eGrad[(t * B + b) * E + k]).toBe(0);
      expectValue('adversarial r', r.data, c.r.data);
      expectValue('adversarial loss2', [loss2.item()], [c.loss2]);
      expect(r.grad).toBeNull();
      for (const [name, p] of m.namedParameters()) expectGrad(`adversarial accumulated grad ${name}`, p.grad, c.grads[name].data);
    },
  );
});

// ---------------------------------------------------------------- float64

describe('the same models in float64: our float32 gradients are within float32 rounding of the exact ones', () => {
  const compare = (label: string, m32: Module, m64: Module, fixture: Record<string, FixtureTensor>) => {
    const p64 = new Map(m64.namedParameters());
    for (const [name, p] of m32.namedParameters()) {
      const exact = p64.get(name)!.grad;
      expect(exact).toBeInstanceOf(Float64Array);
      track(`${label} float32 vs float64 ${name}`, scaledError(p.grad, exact), TOL_VS_FLOAT64);
      // PyTorch's float32 gradients are within the same rounding of the exact ones (its
      // key.weight is the furthest, which is why that one has its own tolerance)
      expectGrad(`${label} PyTorch vs float64 ${name}`, fixture[name].data, exact, TOL_GRAD_CANCELLING[name] ?? TOL_GRAD);
    }
  };

  it.each(seq2seqCases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const m32 = seq2seqModel(c);
    m32.forward(c).loss.backward();
    const m64 = toFloat64(seq2seqModel(c));
    const { loss } = m64.forward(c);
    expect(loss.data).toBeInstanceOf(Float64Array);
    loss.backward();
    compare('seq2seq', m32, m64, c.grads);
  });

  it.each(adversarialCases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    compare('adversarial', adversarialStep(c).m, adversarialStep(c, true).m, c.grads);
  });
});

// ---------------------------------------------------------------- sanity

describe('the tolerances are tight compared with the signal', () => {
  const gradTol = (name: string) => TOL_GRAD_CANCELLING[name] ?? TOL_GRAD;

  it('every gradient of the fixtures is non-zero: comparing with zeros is an error of 1, ≥ 100× any tolerance', () => {
    for (const c of [...seq2seqCases, ...adversarialCases])
      for (const [name, g] of Object.entries(c.grads)) {
        expect([name, scaledError(new Float32Array(g.data.length), g.data)]).toEqual([name, 1]);
        expect(1).toBeGreaterThan(100 * gradTol(name));
      }
  });

  it('one element off by 1e-4 of its gradient\'s scale is caught', () => {
    for (const c of [...seq2seqCases, ...adversarialCases])
      for (const [name, g] of Object.entries(c.grads)) {
        const scale = Math.max(...g.data.map(Math.abs));
        const off = g.data.slice();
        off[0] += 1e-4 * scale;
        expect([name, scaledError(off, g.data) > gradTol(name)]).toEqual([name, true]);
      }
  });

  it('a seq2seq step with the loss\'s sign flipped is caught on every parameter', () => {
    const c = seq2seqCases[0];
    const m = seq2seqModel(c);
    m.forward(c).loss.backward(new Tensor([-1], []));
    for (const [name, p] of m.namedParameters()) expect([name, scaledError(p.grad, c.grads[name].data)]).toEqual([name, expect.closeTo(2, 3)]);
  });

  it('the value tolerance separates the clean loss from the perturbed one', () => {
    for (const c of adversarialCases) expect(maxError([c.loss1], [c.loss2])).toBeGreaterThan(100 * TOL_VALUE);
  });
});
