// The recurrent layers' errors that take more than one call: a backward after a failed one,
// a second backward, and the native binding's own checks. Each one-call misuse of RNN, LSTM
// and GRU (constructor options, input and state shapes, lengths, backward without a forward
// or with wrong gradients) is a row of docs/misuse.md, run by test/02.misuse-table.test.ts.
import { LSTM, Tensor } from '../lib';

describe('RNN/LSTM/GRU#backward()', () => {
  it('consumes the saved activations: a second backward needs a new forward', () => {
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 4 });
    lstm.forward(Tensor.zeros([5, 2, 3]));
    lstm.backward(Tensor.zeros([5, 2, 4]));
    expect(() => lstm.backward(Tensor.zeros([5, 2, 4]))).toThrow(RangeError);
    expect(() => lstm.backward(Tensor.zeros([5, 2, 4]))).toThrow(/each backward consumes its forward's/);
    lstm.forward(Tensor.zeros([5, 2, 3]));
    expect(lstm.backward(Tensor.zeros([5, 2, 4])).gradInput.shape).toEqual([5, 2, 3]);
  });

  it('a failed check of the gradients leaves the saved activations usable', () => {
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 4, bidirectional: true });
    lstm.forward(Tensor.zeros([5, 2, 3]));
    expect(() => lstm.backward(Tensor.zeros([5, 2, 4]))).toThrow('LSTM.backward: gradOutput must have shape [5, 2, 8] like the forward output, received shape [5, 2, 4]');
    expect(() => lstm.backward(Tensor.zeros([5, 2, 8]), { h: Tensor.zeros([1, 2, 4]) })).toThrow(/gradState.h must have shape \[2, 2, 4\]/);
    expect(() => lstm.backward(Tensor.zeros([5, 2, 8]), { c: Tensor.zeros([2, 2, 5]) })).toThrow(/gradState.c must have shape \[2, 2, 4\]/);
    expect(() => lstm.backward({ data: new Float32Array(80), shape: [5, 2, 8] } as any)).toThrow(TypeError);
    expect(lstm.backward(Tensor.zeros([5, 2, 8])).gradInput.shape).toEqual([5, 2, 3]);
  });
});

describe('the native binding checks lengths itself', () => {
  it('rejects typed arrays of the wrong size or type without reading them', () => {
    const { native } = require('../lib/native/addon');
    const s = new native.RecurrentStack(2, 3, 4, 1, false, true, false, 0);
    const w = [new Float32Array(48), new Float32Array(64), new Float32Array(16), new Float32Array(16)];
    const out = new Float32Array(5 * 2 * 4), h = new Float32Array(8), c = new Float32Array(8);
    const arena = () => new Float32Array(s.arenaBytes(5, 2, 1, false, false) / 4);
    const f = (x: unknown, ws: Float32Array[], lengths: Int32Array | null) => {
      const a = lengths ? new Float32Array(s.arenaBytes(5, 2, 1, false, true) / 4) : arena();
      s.forward(5, 2, x, null, 0, null, null, null, lengths, ws, 1, 0, 0, out, h, c, a);
      return a;
    };
    expect(() => f(new Float32Array(29), w, null)).toThrow(/input must have 30 elements, received 29/);
    expect(() => f(new Float64Array(30), w, null)).toThrow(/input must be a Float32Array/);
    expect(() => f(new Float32Array(30), w.slice(1), null)).toThrow(/weights must have 4 entries/);
    expect(() => f(new Float32Array(30), w, Int32Array.from([9, 1]))).toThrow(/lengths\[0\] must be in \[1, 5\]/);
    expect(() => s.forward(5, 2, new Float32Array(30), Int32Array.from(new Array(10).fill(0)), 1, new Float32Array(3), null, null, null, w, 1, 0, 0, out, h, c, arena())).toThrow(/an input or token ids, not both/);
    // the arena must be the size this forward keeps
    expect(() => s.forward(5, 2, new Float32Array(30), null, 0, null, null, null, null, w, 1, 0, 0, out, h, c, new Float32Array(8))).toThrow(/arena must have \d+ elements, received 8/);
    // backward takes only a context a training forward of this layer returned, once
    expect(() => s.backward({}, null, null, null, w, w, new Float32Array(30), null, null, -1, h, c)).toThrow(/arena must be a Float32Array/);
    expect(() => s.backward(new Float32Array(64), null, null, null, w, w, new Float32Array(30), null, null, -1, h, c)).toThrow(/not the activations of a training forward/);
    const other = new native.RecurrentStack(2, 3, 4, 1, false, true, false, 0);
    const ctx = f(new Float32Array(30), w, null);
    expect(() => other.backward(ctx, null, null, null, w, w, new Float32Array(30), null, null, -1, h, c)).toThrow(/belong to another layer/);
    // a changed arena is refused, never read out of bounds
    const bad = ctx.slice();
    new Int32Array(bad.buffer, 16, 1)[0] = 1000; // T in the header
    expect(() => s.backward(bad, null, null, null, w, w, new Float32Array(30), null, null, -1, h, c)).toThrow(/changed after their forward/);
    s.backward(ctx, null, null, null, w, w, new Float32Array(30), null, null, -1, h, c);
    expect(() => s.backward(ctx, null, null, null, w, w, new Float32Array(30), null, null, -1, h, c)).toThrow(/already used by a backward/);
    expect(() => s.backward(ctx, null, null, null, w, w, new Float32Array(30), null, new Float32Array(12), -1, h, c)).toThrow(/gradTable is only for a forward that read token ids|already used/);
  });
});
