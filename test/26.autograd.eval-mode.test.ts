// Modules in eval mode: plain inference keeps nothing, but a gradient asked of an input (a
// saliency map, an attack on the embedded input) flows through them — without dropout.
import { Embedding, functional as F, Linear, LSTM, LSTMCell, manualSeed, Tensor } from '../lib';

describe('eval-mode modules under autograd', () => {
  it('a Linear in eval mode passes the gradient of an input that requires it (no silent drop)', () => {
    const lin = new Linear({ inFeatures: 2, outFeatures: 2 }).eval();
    const x = new Tensor([1, 2], [1, 2]);
    x.requiresGrad = true;
    F.sum(F.add(lin.forward(x), x)).backward();
    const w = lin.weight.data;
    // d/dx of sum(W x + b + x) = 1 + column sums of W
    expect(x.grad![0]).toBeCloseTo(1 + w[0] + w[2], 6);
    expect(x.grad![1]).toBeCloseTo(1 + w[1] + w[3], 6);
  });

  it('plain eval-mode inference records nothing, even though the parameters require grad', () => {
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 4 }).eval();
    const out = lstm.forward(Tensor.zeros([2, 1, 3]));
    expect(out.output.requiresGrad).toBe(false);
    expect(new Linear({ inFeatures: 3, outFeatures: 2 }).eval().forward(Tensor.zeros([1, 3])).requiresGrad).toBe(false);
    expect(new LSTMCell({ inputSize: 3, hiddenSize: 2 }).eval().forward(Tensor.zeros([1, 3])).h.requiresGrad).toBe(false);
  });

  it('an eval-mode LSTM with dropout records without dropping: the gradient of the embedded input matches a dropout-free twin', () => {
    manualSeed(3);
    const emb = new Embedding({ numEmbeddings: 6, embeddingDim: 3 }).eval();
    const withDropout = new LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2, dropout: 0.5 }).eval();
    const plain = new LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2 });
    plain.loadStateDict(withDropout.stateDict());
    const ids = Int32Array.of(0, 1, 2, 3, 4, 5);
    const grads = [withDropout, plain].map((layer) => {
      const e = emb.forward(ids, [3, 2]);
      e.requiresGrad = true; // an eval-mode embedding's output is a leaf: ask for its gradient
      F.sum(layer.forward(e).output).backward();
      return Array.from(e.grad!);
    });
    expect(grads[0]).toEqual(grads[1]);
    expect(grads[0].some((v) => v !== 0)).toBe(true);
  });
});
