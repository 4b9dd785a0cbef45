// Embedding, Linear and crossEntropy against PyTorch 1.13
// (scripts/make_training_fixtures.py → test/fixtures/training.json, section "layers").
import { crossEntropy, Embedding, Linear, Tensor } from '../lib';
import { expectClose, FixtureTensor, loadFixture, maxError, toTensor } from './helpers/fixtures';
import { throwsWith } from './helpers/errors';

interface EmbeddingCase {
  name: string;
  numEmbeddings: number;
  embeddingDim: number;
  paddingIdx: number | null;
  indices: number[];
  shape: number[];
  weight: FixtureTensor;
  output: FixtureTensor;
  gradOutput: FixtureTensor;
  gradWeight: FixtureTensor;
}
interface LinearCase {
  name: string;
  inFeatures: number;
  outFeatures: number;
  bias: boolean;
  x: FixtureTensor;
  weight: FixtureTensor;
  biasValue: FixtureTensor | null;
  output: FixtureTensor;
  gradOutput: FixtureTensor;
  gradInput: FixtureTensor;
  gradWeight: FixtureTensor;
  gradBias: FixtureTensor | null;
}
interface CECase {
  name: string;
  logits: FixtureTensor;
  targets: number[];
  opts: { ignoreIndex?: number; labelSmoothing?: number };
  loss: number;
  grad: FixtureTensor;
}

const { layers } = loadFixture<{ layers: { embedding: EmbeddingCase[]; linear: LinearCase[]; crossEntropy: CECase[] } }>('training.json');

// Worst errors seen, printed with REPORT_ERRORS=1.
const worst: Record<string, number> = {};
const track = (what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number) => {
  worst[what] = Math.max(worst[what] ?? 0, maxError(actual, expected));
  expectClose(what, actual, expected, tol);
};
afterAll(() => {
  if (process.env.REPORT_ERRORS) console.log('max errors (|a-b|/(1+|b|)):', worst);
});

function buildEmbedding(c: EmbeddingCase): Embedding {
  const emb = new Embedding({ numEmbeddings: c.numEmbeddings, embeddingDim: c.embeddingDim, ...(c.paddingIdx === null ? {} : { paddingIdx: c.paddingIdx }) });
  emb.loadStateDict({ weight: toTensor(c.weight) });
  return emb;
}

describe('Embedding against PyTorch', () => {
  it('has fixtures with and without paddingIdx', () => {
    expect(layers.embedding.some((c) => c.paddingIdx === null)).toBe(true);
    expect(layers.embedding.some((c) => c.paddingIdx !== null)).toBe(true);
  });

  it.each(layers.embedding.map((c) => [c.name, c] as const))('%s: forward is an exact lookup, backward sums repeated rows', (_n, c) => {
    const emb = buildEmbedding(c);
    const out = emb.forward(Int32Array.from(c.indices), c.shape);
    expect(out.shape).toEqual([...c.shape, c.embeddingDim]);
    expect(Array.from(out.data)).toEqual(c.output.data); // a copy of float32 rows: bit-exact
    emb.backward(toTensor(c.gradOutput));
    track('embedding gradWeight', emb.weight.grad, c.gradWeight.data, 1e-6);
    if (c.paddingIdx !== null) {
      const p = emb.paddingIdx!;
      expect(p).toBe(((c.paddingIdx % c.numEmbeddings) + c.numEmbeddings) % c.numEmbeddings);
      expect(c.indices).toContain(p); // the fixture does look the padding row up
      expect(Array.from(emb.weight.grad.subarray(p * c.embeddingDim, (p + 1) * c.embeddingDim)).every((v) => v === 0)).toBe(true);
    }
  });

  it('backward adds into .grad until zeroGrad()', () => {
    const c = layers.embedding.find((x) => x.paddingIdx !== null)!;
    const emb = buildEmbedding(c);
    emb.forward(Int32Array.from(c.indices), c.shape);
    emb.backward(toTensor(c.gradOutput));
    emb.backward(toTensor(c.gradOutput));
    track('embedding gradWeight ×2', emb.weight.grad, c.gradWeight.data.map((v) => 2 * v), 2e-6);
    emb.zeroGrad();
    expect(emb.weight.grad.every((v) => v === 0)).toBe(true);
  });

  it('starts with a zero padding row, names its parameter "weight" and accepts a negative paddingIdx', () => {
    const emb = new Embedding({ numEmbeddings: 7, embeddingDim: 5, paddingIdx: -2 });
    expect(emb.paddingIdx).toBe(5);
    expect(emb.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([['weight', [7, 5]]]);
    expect(Array.from(emb.weight.data.subarray(25, 30))).toEqual([0, 0, 0, 0, 0]);
    expect(emb.weight.data.subarray(0, 25).some((v) => v !== 0)).toBe(true);
  });

  it('in eval mode saves nothing: backward throws', () => {
    const emb = new Embedding({ numEmbeddings: 4, embeddingDim: 2 }).eval();
    emb.forward(Int32Array.from([1, 2]), [2]);
    expect(() => emb.backward(Tensor.zeros([2, 2]))).toThrow(/nothing to backpropagate/);
  });

  it('rejects bad arguments with TypeError or RangeError', () => {
    const emb = new Embedding({ numEmbeddings: 7, embeddingDim: 5 });
    throwsWith(() => emb.forward(Int32Array.from([0, 7]), [2]), RangeError, 'Embedding.forward', 'indices[1]', '[0, 7)', 'received 7');
    expect(() => emb.forward(Int32Array.from([-1, 0]), [2])).toThrow(RangeError);
    expect(() => emb.forward(Int32Array.from([0, 1, 2]), [2, 2])).toThrow(RangeError);
    expect(() => emb.forward(Int32Array.from([0, 1, 2]), [2, 2])).toThrow(/3 elements.*\[2, 2\].*4/);
    expect(() => emb.forward([0, 1] as unknown as Int32Array, [2])).toThrow(TypeError);
    expect(() => emb.forward(Float32Array.from([0, 1]) as unknown as Int32Array, [2])).toThrow(/Int32Array/);
    expect(() => emb.forward(Int32Array.from([0, 1]), 2 as unknown as number[])).toThrow(TypeError);
    expect(() => emb.forward(Int32Array.from([0, 1]), [1.5])).toThrow(RangeError);
    emb.forward(Int32Array.from([0, 1, 2, 3]), [2, 2]);
    expect(() => emb.backward(Tensor.zeros([4, 5]))).toThrow(RangeError);
    expect(() => emb.backward(Tensor.zeros([4, 5]))).toThrow(/gradOutput must have shape \[2, 2, 5\]/);
    expect(() => new Embedding({ numEmbeddings: 7, embeddingDim: 5, paddingIdx: 7 })).toThrow(RangeError);
    expect(() => new Embedding({ numEmbeddings: 7, embeddingDim: 5, paddingIdx: -8 })).toThrow(/paddingIdx/);
    expect(() => new Embedding({ numEmbeddings: 0, embeddingDim: 5 })).toThrow(RangeError);
    expect(() => new Embedding({ numEmbeddings: '7' as unknown as number, embeddingDim: 5 })).toThrow(TypeError);
    expect(() => new Embedding({ numEmbeddings: 7, embeddingDim: 5, maxNorm: 1 } as never)).toThrow(/unknown option "maxNorm"/);
    expect(() => new Embedding(undefined as never)).toThrow(TypeError);
    expect(() => emb.loadStateDict({ weight: Tensor.zeros([5, 7]) })).toThrow(/shape mismatch.*weight/);
  });
});

function buildLinear(c: LinearCase): Linear {
  const lin = new Linear({ inFeatures: c.inFeatures, outFeatures: c.outFeatures, bias: c.bias });
  lin.loadStateDict(c.bias ? { weight: toTensor(c.weight), bias: toTensor(c.biasValue!) } : { weight: toTensor(c.weight) });
  return lin;
}

describe('Linear against PyTorch', () => {
  it('has fixtures with and without bias on a 3-D input', () => {
    expect(layers.linear.some((c) => c.bias && c.x.shape.length === 3)).toBe(true);
    expect(layers.linear.some((c) => !c.bias && c.x.shape.length === 3)).toBe(true);
  });

  it.each(layers.linear.map((c) => [c.name, c] as const))('%s: forward and backward match', (_n, c) => {
    const lin = buildLinear(c);
    expect(lin.namedParameters().map(([n]) => n)).toEqual(c.bias ? ['weight', 'bias'] : ['weight']);
    expect(lin.bias === null).toBe(!c.bias);
    const y = lin.forward(toTensor(c.x));
    expect(y.shape).toEqual(c.output.shape);
    track('linear output', y.data, c.output.data, 1e-6);
    const dx = lin.backward(toTensor(c.gradOutput));
    expect(dx.shape).toEqual(c.x.shape);
    track('linear gradInput', dx.data, c.gradInput.data, 1e-6);
    track('linear gradWeight', lin.weight.grad, c.gradWeight.data, 1e-6);
    if (c.bias) track('linear gradBias', lin.bias!.grad, c.gradBias!.data, 1e-6);
  });

  it('backward adds the parameter gradients into .grad', () => {
    const c = layers.linear.find((x) => x.bias && x.x.shape.length === 3)!;
    const lin = buildLinear(c);
    lin.forward(toTensor(c.x));
    lin.backward(toTensor(c.gradOutput));
    const dx = lin.backward(toTensor(c.gradOutput));
    track('linear gradInput (second call)', dx.data, c.gradInput.data, 1e-6);
    track('linear gradWeight ×2', lin.weight.grad, c.gradWeight.data.map((v) => 2 * v), 2e-6);
    track('linear gradBias ×2', lin.bias!.grad, c.gradBias!.data.map((v) => 2 * v), 2e-6);
  });

  it('rejects bad arguments with TypeError or RangeError', () => {
    const lin = new Linear({ inFeatures: 5, outFeatures: 4 });
    expect(() => lin.forward(Tensor.zeros([2, 3, 4]))).toThrow(RangeError);
    expect(() => lin.forward(Tensor.zeros([2, 3, 4]))).toThrow(/5 features in its last dimension, received shape \[2, 3, 4\]/);
    expect(() => lin.forward(Tensor.zeros([]))).toThrow(RangeError);
    expect(() => lin.forward(new Float32Array(5) as unknown as Tensor)).toThrow(TypeError);
    expect(() => lin.backward(Tensor.zeros([2, 4]))).toThrow(/nothing to backpropagate/);
    lin.forward(Tensor.zeros([2, 3, 5]));
    expect(() => lin.backward(Tensor.zeros([6, 4]))).toThrow(RangeError);
    expect(() => lin.backward(Tensor.zeros([2, 3, 5]))).toThrow(/gradOutput must have shape \[2, 3, 4\]/);
    expect(() => new Linear({ inFeatures: 5, outFeatures: 4, bias: 1 as unknown as boolean })).toThrow(TypeError);
    expect(() => new Linear({ inFeatures: 0, outFeatures: 4 })).toThrow(RangeError);
    expect(() => new Linear({ inFeatures: 5, outFeatures: 4, biased: true } as never)).toThrow(/unknown option "biased"/);
    expect(() => lin.loadStateDict({ weight: Tensor.zeros([4, 5]) })).toThrow(/missing keys: bias/);
  });
});

describe('crossEntropy against F.cross_entropy (mean)', () => {
  it('has fixtures for the default, ignoreIndex, labelSmoothing and both', () => {
    const c = layers.crossEntropy;
    expect(c.some((x) => x.opts.ignoreIndex === undefined && x.opts.labelSmoothing === undefined)).toBe(true);
    expect(c.some((x) => x.opts.ignoreIndex !== undefined && x.opts.labelSmoothing === undefined)).toBe(true);
    expect(c.some((x) => x.opts.ignoreIndex === undefined && x.opts.labelSmoothing !== undefined)).toBe(true);
    expect(c.some((x) => x.opts.ignoreIndex !== undefined && x.opts.labelSmoothing !== undefined)).toBe(true);
  });

  it.each(layers.crossEntropy.map((c) => [c.name, c] as const))('%s: loss and gradient match', (_n, c) => {
    const { loss, grad } = crossEntropy(toTensor(c.logits), Int32Array.from(c.targets), c.opts);
    track('crossEntropy loss', [loss], [c.loss], 1e-6);
    expect(grad.shape).toEqual(c.logits.shape);
    track('crossEntropy grad', grad.data, c.grad.data, 1e-6);
    // ignored rows get no gradient at all
    const ignore = c.opts.ignoreIndex ?? -100;
    const C = c.logits.shape[1];
    c.targets.forEach((t, i) => {
      if (t === ignore) expect(Array.from(grad.data.subarray(i * C, (i + 1) * C)).every((v) => v === 0)).toBe(true);
    });
  });

  it('options default to ignoreIndex −100 and no smoothing', () => {
    const c = layers.crossEntropy.find((x) => x.name === 'ignore_default_-100')!;
    const a = crossEntropy(toTensor(c.logits), Int32Array.from(c.targets));
    const b = crossEntropy(toTensor(c.logits), Int32Array.from(c.targets), { ignoreIndex: -100, labelSmoothing: 0 });
    expect(a.loss).toBe(b.loss);
    expect(a.grad.data).toEqual(b.grad.data);
  });

  it('is NaN with zero gradient when every row is ignored, as torch', () => {
    const { loss, grad } = crossEntropy(new Tensor([1, 2, 3, 4, 5, 6], [2, 3]), Int32Array.from([-100, -100]));
    expect(loss).toBeNaN();
    expect(Array.from(grad.data)).toEqual([0, 0, 0, 0, 0, 0]);
    const s = crossEntropy(new Tensor([1, 2, 3, 4, 5, 6], [2, 3]), Int32Array.from([1, 1]), { ignoreIndex: 1, labelSmoothing: 0.2 });
    expect(s.loss).toBeNaN();
    expect(Array.from(s.grad.data)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('rejects bad arguments with TypeError or RangeError', () => {
    const logits = Tensor.zeros([2, 3]);
    const t = Int32Array.from([0, 2]);
    throwsWith(() => crossEntropy(logits, Int32Array.from([0, 3])), RangeError, 'crossEntropy', 'targets[1]', '[0, 3)', 'received 3');
    expect(() => crossEntropy(logits, Int32Array.from([-1, 0]))).toThrow(/targets\[0\]/);
    expect(() => crossEntropy(logits, Int32Array.from([-1, 0]), { ignoreIndex: -1 })).not.toThrow();
    expect(() => crossEntropy(Tensor.zeros([2, 3, 1]), t)).toThrow(RangeError);
    expect(() => crossEntropy(Tensor.zeros([2, 3, 1]), t)).toThrow(/2 dimensions \(N, C\), received shape \[2, 3, 1\]/);
    expect(() => crossEntropy(Tensor.zeros([6]), t)).toThrow(/2 dimensions/);
    expect(() => crossEntropy(Tensor.zeros([2, 0]), Int32Array.from([0, 0]))).toThrow(RangeError);
    expect(() => crossEntropy(logits, Int32Array.from([0, 1, 2]))).toThrow(RangeError);
    expect(() => crossEntropy(logits, [0, 2] as unknown as Int32Array)).toThrow(TypeError);
    expect(() => crossEntropy([0, 0, 0, 0, 0, 0] as unknown as Tensor, t)).toThrow(TypeError);
    expect(() => crossEntropy(logits, t, { labelSmoothing: 1.5 })).toThrow(RangeError);
    expect(() => crossEntropy(logits, t, { labelSmoothing: -0.1 })).toThrow(/labelSmoothing/);
    expect(() => crossEntropy(logits, t, { labelSmoothing: NaN })).toThrow(RangeError);
    expect(() => crossEntropy(logits, t, { labelSmoothing: '0.1' as unknown as number })).toThrow(TypeError);
    expect(() => crossEntropy(logits, t, { ignoreIndex: 0.5 })).toThrow(RangeError);
    expect(() => crossEntropy(logits, t, 'mean' as never)).toThrow(TypeError);
  });
});

describe('crossEntropy() with non-finite logits', () => {
  it('propagates NaN into the loss instead of hiding it', () => {
    const { crossEntropy, Tensor } = require('../lib');
    const logits = new Tensor(Float32Array.from([1, NaN, 2, 0, 1, 2]), [2, 3]);
    expect(crossEntropy(logits, Int32Array.from([0, 1])).loss).toBeNaN();
  });
});
