// Complete training runs against PyTorch 1.13: Embedding → 2-layer LSTM/GRU → Linear →
// cross-entropy, gradient clipping, Adam/AdamW with two parameter groups, 10 steps
// (scripts/make_training_fixtures.py → test/fixtures/training.json, section "training").
import { Adam, AdamW, clipGradNorm, clipGradValue, crossEntropy, Embedding, GRU, Linear, LSTM, Module, Parameter, RecurrentBase, Tensor } from '../lib';
import { FixtureTensor, loadFixture, toTensor } from './helpers/fixtures';

interface TrainCase {
  name: string;
  cell: 'LSTM' | 'GRU';
  V: number;
  E: number;
  H: number;
  T: number;
  B: number;
  numLayers: number;
  paddingIdx: number | null;
  ignoreIndex: number | null;
  labelSmoothing: number | null;
  clip: { kind: 'norm'; maxNorm: number } | { kind: 'value'; clipValue: number };
  optimizer: 'Adam' | 'AdamW';
  options: Record<string, unknown>;
  groups: Array<{ modules: Array<'emb' | 'rnn' | 'head'> } & Record<string, unknown>>;
  tokens: number[];
  targets: number[];
  paramOrder: string[];
  initial: Record<string, FixtureTensor>;
  final: Record<string, FixtureTensor>;
  losses: number[];
  norms: number[];
}

const { training } = loadFixture<{ training: TrainCase[] }>('training.json');
const LOSS_TOL = 1e-5; // relative
const NORM_TOL = 1e-5; // relative
const WEIGHT_TOL = 1e-4; // absolute: Adam divides by √v, so float32 rounding grows step by step

const worst = { loss: 0, norm: 0, weight: 0 };
afterAll(() => {
  if (process.env.REPORT_ERRORS) console.log('max errors (loss, norm: relative; weight: absolute):', worst);
});

interface Parts {
  emb: Embedding;
  rnn: RecurrentBase;
  head: Linear;
}

function makeParts(c: TrainCase): Parts {
  const emb = new Embedding({ numEmbeddings: c.V, embeddingDim: c.E, ...(c.paddingIdx === null ? {} : { paddingIdx: c.paddingIdx }) });
  const opts = { inputSize: c.E, hiddenSize: c.H, numLayers: c.numLayers };
  const rnn = c.cell === 'LSTM' ? new LSTM(opts) : new GRU(opts);
  const head = new Linear({ inFeatures: c.H, outFeatures: c.V });
  return { emb, rnn, head };
}

/** The fixture's weights whose names start with `prefix.`, without it. */
function sub(sd: Record<string, FixtureTensor>, prefix: string): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(sd)) if (k.startsWith(`${prefix}.`)) out[k.slice(prefix.length + 1)] = toTensor(v);
  return out;
}

/** The same three layers as one module, to check the dotted names and whole-model state dicts. */
class LanguageModel extends Module {
  readonly emb: Embedding;
  readonly rnn: RecurrentBase;
  readonly head: Linear;
  constructor(parts: Parts) {
    super();
    this.emb = this.registerModule('emb', parts.emb);
    this.rnn = this.registerModule('rnn', parts.rnn);
    this.head = this.registerModule('head', parts.head);
  }
}

function makeOptimizer(c: TrainCase, parts: Parts) {
  const groups = c.groups.map(({ modules, ...opts }) => ({ params: modules.flatMap((m) => parts[m].parameters()), ...opts }));
  return c.optimizer === 'Adam' ? new Adam(groups, { ...c.options }) : new AdamW(groups, { ...c.options });
}

/** The training loop of the fixture; returns the loss and (for clipGradNorm) the norm per step. */
function train(c: TrainCase, parts: Parts, steps = c.losses.length): { losses: number[]; norms: number[] } {
  const { emb, rnn, head } = parts;
  const { T, B, H } = c;
  const opt = makeOptimizer(c, parts);
  const all: Parameter[] = [...emb.parameters(), ...rnn.parameters(), ...head.parameters()];
  const tokens = Int32Array.from(c.tokens);
  const targets = Int32Array.from(c.targets);
  const ceOpts = {
    ...(c.ignoreIndex === null ? {} : { ignoreIndex: c.ignoreIndex }),
    ...(c.labelSmoothing === null ? {} : { labelSmoothing: c.labelSmoothing }),
  };
  const losses: number[] = [];
  const norms: number[] = [];
  for (let step = 0; step < steps; step++) {
    opt.zeroGrad();
    const x = emb.forward(tokens, [T, B]); // (T, B, E)
    const { output } = rnn.forward(x); // (T, B, H)
    const logits = head.forward(output.reshape([T * B, H])); // (T·B, V)
    const { loss, grad } = crossEntropy(logits, targets, ceOpts);
    const dOutput = head.backward(grad);
    const { gradInput } = rnn.backward(dOutput.reshape([T, B, H]));
    emb.backward(gradInput);
    if (c.clip.kind === 'norm') norms.push(clipGradNorm(all, c.clip.maxNorm));
    else clipGradValue(all, c.clip.clipValue);
    opt.step();
    losses.push(loss);
  }
  return { losses, norms };
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('training runs against PyTorch', () => {
  it('cover LSTM and GRU, clipGradNorm and clipGradValue', () => {
    expect(new Set(training.map((c) => c.cell))).toEqual(new Set(['LSTM', 'GRU']));
    expect(new Set(training.map((c) => c.clip.kind))).toEqual(new Set(['norm', 'value']));
    // clipping by norm is active on some steps and not on others
    const normRuns = training.filter((c) => c.clip.kind === 'norm');
    expect(normRuns.some((c) => c.norms.some((n) => n > (c.clip as { maxNorm: number }).maxNorm))).toBe(true);
    expect(normRuns.some((c) => c.norms.some((n) => n < (c.clip as { maxNorm: number }).maxNorm))).toBe(true);
  });

  it.each(training.map((c) => [c.name, c] as const))('%s: losses, clip norms and final weights match', (_n, c) => {
    const parts = makeParts(c);
    parts.emb.loadStateDict(sub(c.initial, 'emb'));
    parts.rnn.loadStateDict(sub(c.initial, 'rnn'));
    parts.head.loadStateDict(sub(c.initial, 'head'));
    const { losses, norms } = train(c, parts);

    expect(losses).toHaveLength(c.losses.length);
    losses.forEach((l, i) => {
      const e = rel(l, c.losses[i]);
      worst.loss = Math.max(worst.loss, e);
      if (!(e <= LOSS_TOL)) throw new Error(`${c.name}: loss at step ${i + 1} is ${l}, torch ${c.losses[i]} (relative error ${e})`);
    });
    expect(norms).toHaveLength(c.norms.length);
    norms.forEach((n, i) => {
      const e = rel(n, c.norms[i]);
      worst.norm = Math.max(worst.norm, e);
      if (!(e <= NORM_TOL)) throw new Error(`${c.name}: clip norm at step ${i + 1} is ${n}, torch ${c.norms[i]} (relative error ${e})`);
    });
    const model = new LanguageModel(parts);
    const sd = model.stateDict();
    expect(Object.keys(sd)).toEqual(c.paramOrder);
    for (const name of c.paramOrder) {
      const a = sd[name].data;
      const b = c.final[name].data;
      expect(sd[name].shape).toEqual(c.final[name].shape);
      let e = 0;
      for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]));
      worst.weight = Math.max(worst.weight, e);
      if (!(e <= WEIGHT_TOL)) throw new Error(`${c.name}: final ${name}: max absolute error ${e} exceeds ${WEIGHT_TOL}`);
    }
    // training moved every parameter (nothing silently left out of the optimizer or backward)
    for (const name of c.paramOrder) expect(c.final[name].data).not.toEqual(c.initial[name].data);
  });

  it.each(training.map((c) => [c.name, c] as const))('%s: a composed Module has PyTorch\'s names and trains identically', (_n, c) => {
    const model = new LanguageModel(makeParts(c));
    expect(model.namedParameters().map(([n]) => n)).toEqual(c.paramOrder);
    const initial: Record<string, Tensor> = {};
    for (const n of c.paramOrder) initial[n] = toTensor(c.initial[n]);
    model.loadStateDict(initial);
    const a = train(c, model, 3);

    const parts = makeParts(c);
    parts.emb.loadStateDict(sub(c.initial, 'emb'));
    parts.rnn.loadStateDict(sub(c.initial, 'rnn'));
    parts.head.loadStateDict(sub(c.initial, 'head'));
    const b = train(c, parts, 3);
    expect(a).toEqual(b);
    const sa = model.stateDict();
    const sb = new LanguageModel(parts).stateDict();
    for (const n of c.paramOrder) expect(sa[n].data).toEqual(sb[n].data);
  });

  it('is deterministic: the same run twice gives bit-identical weights', () => {
    const c = training[0];
    const runOnce = () => {
      const parts = makeParts(c);
      parts.emb.loadStateDict(sub(c.initial, 'emb'));
      parts.rnn.loadStateDict(sub(c.initial, 'rnn'));
      parts.head.loadStateDict(sub(c.initial, 'head'));
      const r = train(c, parts, 4);
      return { r, w: new LanguageModel(parts).stateDict() };
    };
    const x = runOnce();
    const y = runOnce();
    expect(x.r).toEqual(y.r);
    for (const n of c.paramOrder) expect(x.w[n].data).toEqual(y.w[n].data);
  });
});
