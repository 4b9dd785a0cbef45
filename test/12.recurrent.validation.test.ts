// Every error a caller can cause in the recurrent layers: type, value and message.
import { GRU, LSTM, RNN, Tensor } from '../lib';

describe('RNN/LSTM/GRU constructor validation', () => {
  it('requires an options object', () => {
    expect(() => new (LSTM as any)()).toThrow(TypeError);
    expect(() => new (LSTM as any)()).toThrow(/LSTM: expected an options object with inputSize and hiddenSize for options but received undefined/);
    expect(() => new LSTM(42 as any)).toThrow(TypeError);
  });

  it.each([
    ['inputSize', { inputSize: '3', hiddenSize: 4 }, TypeError, /expected an integer in \[1, 2147483647\] for inputSize but received "3" of type string/],
    ['inputSize', { inputSize: 0, hiddenSize: 4 }, RangeError, /for inputSize but received 0 of type number/],
    ['inputSize', { inputSize: 2.5, hiddenSize: 4 }, RangeError, /for inputSize but received 2.5/],
    ['hiddenSize', { inputSize: 3 }, TypeError, /for hiddenSize but received undefined/],
    ['hiddenSize', { inputSize: 3, hiddenSize: -1 }, RangeError, /for hiddenSize but received -1/],
    ['hiddenSize', { inputSize: 3, hiddenSize: 2 ** 31 }, RangeError, /for hiddenSize but received 2147483648/],
    ['hiddenSize', { inputSize: 3, hiddenSize: NaN }, RangeError, /for hiddenSize but received NaN/],
    ['numLayers', { inputSize: 3, hiddenSize: 4, numLayers: 0 }, RangeError, /for numLayers but received 0/],
    ['bias', { inputSize: 3, hiddenSize: 4, bias: 1 }, TypeError, /expected a boolean for bias but received 1 of type number/],
    ['batchFirst', { inputSize: 3, hiddenSize: 4, batchFirst: 'yes' }, TypeError, /for batchFirst/],
    ['bidirectional', { inputSize: 3, hiddenSize: 4, bidirectional: null }, TypeError, /for bidirectional but received null/],
    ['dropout', { inputSize: 3, hiddenSize: 4, dropout: 1.5 }, RangeError, /for dropout but received 1.5/],
    ['dropout', { inputSize: 3, hiddenSize: 4, dropout: -0.1 }, RangeError, /for dropout/],
    ['dropout', { inputSize: 3, hiddenSize: 4, dropout: '0.1' }, TypeError, /for dropout/],
    ['unknown option', { inputSize: 3, hiddenSize: 4, hidden_size: 5 }, RangeError, /unknown option "hidden_size"/],
  ])('%s: %p', (_what, opts, type, msg) => {
    expect(() => new LSTM(opts as any)).toThrow(type as any);
    expect(() => new LSTM(opts as any)).toThrow(msg);
  });

  it('rejects sizes whose buffers would overflow 32-bit BLAS dimensions, before allocating', () => {
    expect(() => new LSTM({ inputSize: 3, hiddenSize: 2 ** 20 })).toThrow(RangeError);
    expect(() => new LSTM({ inputSize: 3, hiddenSize: 2 ** 20 })).toThrow(/weight_hh_l0 would need 4398046511104 elements/);
    expect(() => new GRU({ inputSize: 2 ** 30, hiddenSize: 8 })).toThrow(/weight_ih_l0 would need/);
  });

  it('checks nonlinearity for RNN', () => {
    expect(() => new RNN({ inputSize: 3, hiddenSize: 4, nonlinearity: 'sigmoid' as any })).toThrow(RangeError);
    expect(() => new RNN({ inputSize: 3, hiddenSize: 4, nonlinearity: 'sigmoid' as any })).toThrow(/expected one of "tanh", "relu" for nonlinearity but received "sigmoid"/);
    expect(() => new RNN({ inputSize: 3, hiddenSize: 4, nonlinearity: 1 as any })).toThrow(TypeError);
    expect(() => new LSTM({ inputSize: 3, hiddenSize: 4, nonlinearity: 'tanh' } as any)).toThrow(/unknown option "nonlinearity"/);
  });
});

describe('RNN/LSTM/GRU#forward() validation', () => {
  const lstm = new LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2 });
  const x = Tensor.zeros([5, 2, 3]);

  it('rejects a non-tensor input', () => {
    expect(() => lstm.forward(new Float32Array(30) as any)).toThrow(TypeError);
    expect(() => lstm.forward([1, 2] as any)).toThrow(/LSTM.forward: expected a Tensor for input but received \[1, 2\] of type array/);
  });

  it('rejects an input of the wrong rank or width', () => {
    expect(() => lstm.forward(Tensor.zeros([4, 7]))).toThrow(RangeError);
    expect(() => lstm.forward(Tensor.zeros([4, 7]))).toThrow('LSTM.forward: input must have 3 dimensions (T, B, I), received shape [4, 7]');
    expect(() => lstm.forward(Tensor.zeros([5, 2, 4]))).toThrow(/input must have 3 features in its last dimension \(T, B, I\), received shape \[5, 2, 4\]/);
    expect(() => lstm.forward(Tensor.zeros([0, 2, 3]))).toThrow(/at least one time step/);
    expect(() => lstm.forward(Tensor.zeros([5, 0, 3]))).toThrow(RangeError);
    const bf = new GRU({ inputSize: 3, hiddenSize: 4, batchFirst: true });
    expect(() => bf.forward(Tensor.zeros([4, 7]))).toThrow('GRU.forward: input must have 3 dimensions (B, T, I), received shape [4, 7]');
  });

  it('checks the initial state', () => {
    expect(() => lstm.forward(x, { h: Tensor.zeros([1, 2, 4]) } as never)).toThrow(RangeError);
    expect(() => lstm.forward(x, { h: Tensor.zeros([1, 2, 4]) } as never)).toThrow('LSTM.forward: state.h must have shape [2, 2, 4] (numLayers·D, B, H), received shape [1, 2, 4]');
    // an LSTM's state is { h, c }, as in PyTorch: h alone is an error, not a zero c
    expect(() => lstm.forward(x, { h: Tensor.zeros([2, 2, 4]) } as never)).toThrow('LSTM.forward: state.c is missing: an LSTM\'s state is { h, c }');
    // lengths go in the options (a PyTorch habit puts them second)
    expect(() => lstm.forward(x, Int32Array.of(5, 3) as never)).toThrow(/lengths go in the options/);
    expect(() => lstm.forward(x, { h: Tensor.zeros([2, 2, 4]), c: Tensor.zeros([2, 3, 4]) })).toThrow(/state.c must have shape \[2, 2, 4\]/);
    expect(() => lstm.forward(x, { h: new Float32Array(16) } as any)).toThrow(TypeError);
    expect(() => lstm.forward(x, 5 as any)).toThrow(TypeError);
    const gru = new GRU({ inputSize: 3, hiddenSize: 4 });
    expect(() => gru.forward(x, { h: Tensor.zeros([1, 2, 4]), c: Tensor.zeros([1, 2, 4]) })).toThrow(/state.c is only for LSTM; GRU has no cell state/);
  });

  it('checks lengths', () => {
    expect(() => lstm.forward(x, undefined, { lengths: [5, 5] as any })).toThrow(TypeError);
    expect(() => lstm.forward(x, undefined, { lengths: [5, 5] as any })).toThrow(/expected an Int32Array for opts.lengths/);
    expect(() => lstm.forward(x, undefined, { lengths: Int32Array.from([5]) })).toThrow(/expected an Int32Array of length 2 for opts.lengths/);
    expect(() => lstm.forward(x, undefined, { lengths: Int32Array.from([5, 0]) })).toThrow(RangeError);
    expect(() => lstm.forward(x, undefined, { lengths: Int32Array.from([5, 0]) })).toThrow(/expected an integer in \[1, 5\] \(T\) for opts.lengths\[1\] but received 0/);
    expect(() => lstm.forward(x, undefined, { lengths: Int32Array.from([6, 1]) })).toThrow(/opts.lengths\[0\] but received 6/);
    expect(() => lstm.forward(x, undefined, 'lengths' as any)).toThrow(TypeError);
  });
});

describe('RNN/LSTM/GRU#backward() validation', () => {
  it('refuses to run before a training forward', () => {
    const gru = new GRU({ inputSize: 3, hiddenSize: 4 });
    expect(() => gru.backward(Tensor.zeros([5, 2, 4]))).toThrow(RangeError);
    expect(() => gru.backward(Tensor.zeros([5, 2, 4]))).toThrow(/GRU.backward: there is nothing to backpropagate: call forward\(\) in training mode first/);
    gru.eval();
    gru.forward(Tensor.zeros([5, 2, 3]));
    expect(() => gru.backward(Tensor.zeros([5, 2, 4]))).toThrow(/eval mode saves no activations/);
  });

  it('consumes the saved activations: a second backward needs a new forward', () => {
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 4 });
    lstm.forward(Tensor.zeros([5, 2, 3]));
    lstm.backward(Tensor.zeros([5, 2, 4]));
    expect(() => lstm.backward(Tensor.zeros([5, 2, 4]))).toThrow(/each backward consumes its forward's/);
    lstm.forward(Tensor.zeros([5, 2, 3]));
    expect(lstm.backward(Tensor.zeros([5, 2, 4])).gradInput.shape).toEqual([5, 2, 3]);
  });

  it('checks gradient shapes', () => {
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 4, bidirectional: true });
    lstm.forward(Tensor.zeros([5, 2, 3]));
    expect(() => lstm.backward(Tensor.zeros([5, 2, 4]))).toThrow(RangeError);
    expect(() => lstm.backward(Tensor.zeros([5, 2, 4]))).toThrow('LSTM.backward: gradOutput must have shape [5, 2, 8] like the forward output, received shape [5, 2, 4]');
    expect(() => lstm.backward(Tensor.zeros([5, 2, 8]), { h: Tensor.zeros([1, 2, 4]) })).toThrow(/gradState.h must have shape \[2, 2, 4\]/);
    expect(() => lstm.backward(Tensor.zeros([5, 2, 8]), { c: Tensor.zeros([2, 2, 5]) })).toThrow(/gradState.c must have shape \[2, 2, 4\]/);
    expect(() => lstm.backward({ data: new Float32Array(80), shape: [5, 2, 8] } as any)).toThrow(TypeError);
    // a failed validation leaves the saved activations usable
    expect(lstm.backward(Tensor.zeros([5, 2, 8])).gradInput.shape).toEqual([5, 2, 3]);
  });
});

describe('the native binding checks lengths itself', () => {
  it('rejects typed arrays of the wrong size or type without reading them', () => {
    const { native } = require('../lib/native/addon');
    const s = new native.RecurrentStack(2, 3, 4, 1, false, true, false, 0);
    const w = [new Float32Array(48), new Float32Array(64), new Float32Array(16), new Float32Array(16)];
    const out = new Float32Array(5 * 2 * 4), h = new Float32Array(8), c = new Float32Array(8);
    const f = (x: unknown, ws: Float32Array[], lengths: Int32Array | null) => s.forward(5, 2, x, null, 0, null, null, null, lengths, ws, 1, 0, 0, out, h, c);
    expect(() => f(new Float32Array(29), w, null)).toThrow(/input must have 30 elements, received 29/);
    expect(() => f(new Float64Array(30), w, null)).toThrow(/input must be a Float32Array/);
    expect(() => f(new Float32Array(30), w.slice(1), null)).toThrow(/weights must have 4 entries/);
    expect(() => f(new Float32Array(30), w, Int32Array.from([9, 1]))).toThrow(/lengths\[0\] must be in \[1, 5\]/);
    expect(() => s.forward(5, 2, new Float32Array(30), Int32Array.from(new Array(10).fill(0)), 1, new Float32Array(3), null, null, null, w, 1, 0, 0, out, h, c)).toThrow(/an input or token ids, not both/);
    // backward takes only a context a training forward of this layer returned, once
    expect(() => s.backward({}, null, null, null, w, w, new Float32Array(30), null, null, -1, h, c)).toThrow(/backward needs the context a training forward of this layer returned/);
    const other = new native.RecurrentStack(2, 3, 4, 1, false, true, false, 0);
    const ctx = f(new Float32Array(30), w, null);
    expect(() => other.backward(ctx, null, null, null, w, w, new Float32Array(30), null, null, -1, h, c)).toThrow(/belongs to another layer/);
    s.backward(ctx, null, null, null, w, w, new Float32Array(30), null, null, -1, h, c);
    expect(() => s.backward(ctx, null, null, null, w, w, new Float32Array(30), null, null, -1, h, c)).toThrow(/already used by a backward/);
    expect(() => s.backward(ctx, null, null, null, w, w, new Float32Array(30), null, new Float32Array(12), -1, h, c)).toThrow(/gradTable is only for a forward that read token ids|already used/);
  });
});
