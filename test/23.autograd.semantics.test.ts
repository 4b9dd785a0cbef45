// The tape's contract, one rule per test: what backward() accepts and refuses, how .grad
// accumulates, what retainGrad/detach/noGrad/eval do, that the gradients do not depend on
// what a caller does to its own arrays after a call (changing them, transferring their
// buffers), and that a module called many times before one backward works and frees what it
// kept.
import {
  Embedding, functional as F, GRU, Linear, LSTM, LSTMCell, noGrad, Parameter, RNNCell, Sequential, Tanh, Tensor,
} from '../lib';
import { Generator } from '../lib/core/random';
import { rand64, toFloat64 } from './helpers/float64';

const g = new Generator(2024);
const randn = (shape: number[], requiresGrad = false) => Tensor.randn(shape, { generator: g, requiresGrad });
const copy = (a: Float32Array | null) => (a ? Array.from(a) : null);
/** structuredClone(buffer, { transfer: [buffer] }): detaches the buffer unless it is marked untransferable. */
const transfer = (buffer: ArrayBufferLike) => structuredClone(buffer as ArrayBuffer, { transfer: [buffer as ArrayBuffer] });

describe('backward through the same graph twice', () => {
  it('is a RangeError naming "already differentiated" (PyTorch without retain_graph)', () => {
    const x = randn([3, 4], true);
    const loss = F.sum(F.tanh(F.matmul(x, randn([4, 2]))));
    loss.backward();
    expect(() => loss.backward()).toThrow(RangeError);
    expect(() => loss.backward()).toThrow(/already differentiated/);
  });

  it('through a shared part of two losses: the second backward reaches a consumed node', () => {
    const x = randn([3], true);
    const y = F.sigmoid(x);
    const a = F.sum(y), b = F.sum(F.mul(y, 2));
    a.backward();
    expect(() => b.backward()).toThrow(/SigmoidBackward was already differentiated/);
  });

  it('an LSTMCell\'s h and c: backward from h consumes the step, so backward from c is refused', () => {
    const cell = new LSTMCell({ inputSize: 2, hiddenSize: 3 });
    const s = cell.forward(randn([1, 2]));
    F.sum(s.h).backward();
    expect(() => F.sum(s.c).backward()).toThrow(/LSTMCellBackward was already differentiated/);
  });

  it('after an explicit layer.backward() consumed the forward\'s activations, loss.backward() reaching that forward is refused', () => {
    const lstm = new LSTM({ inputSize: 2, hiddenSize: 3 });
    const x = randn([4, 2, 2], true);
    const out = lstm.forward(x);
    const loss = F.sum(out.output);
    lstm.backward(Tensor.ones([4, 2, 3]));
    expect(() => loss.backward()).toThrow(RangeError);
    expect(() => F.sum(out.h).backward()).toThrow(/already differentiated/);
  });

  it('after loss.backward() consumed a forward, the explicit layer.backward() has nothing to backpropagate', () => {
    const gru = new GRU({ inputSize: 2, hiddenSize: 3 });
    const out = gru.forward(randn([4, 2, 2], true));
    F.sum(out.output).backward();
    expect(() => gru.backward(Tensor.ones([4, 2, 3]))).toThrow(RangeError);
    expect(() => gru.backward(Tensor.ones([4, 2, 3]))).toThrow(/nothing to backpropagate/);
  });

  it('a new forward gives a new graph that can be differentiated again', () => {
    const lin = new Linear({ inFeatures: 3, outFeatures: 2 });
    const x = randn([2, 3], true);
    F.sum(lin.forward(x)).backward();
    const once = copy(x.grad)!;
    F.sum(lin.forward(x)).backward();
    x.grad!.forEach((v, i) => expect(v).toBeCloseTo(2 * once[i], 5));
  });
});

describe('what backward() accepts', () => {
  it('a non-scalar without a gradient is a RangeError naming its shape', () => {
    const y = F.tanh(randn([2, 3], true));
    expect(() => y.backward()).toThrow(RangeError);
    expect(() => y.backward()).toThrow(/one-element tensor.*\[2, 3\]/);
  });

  it('a one-element tensor of any rank needs no gradient', () => {
    const x = randn([1, 1, 1], true);
    F.mul(x, 3).backward();
    expect(Array.from(x.grad!)).toEqual([3]);
  });

  it('a gradient of the wrong shape is a RangeError', () => {
    const y = F.tanh(randn([2, 3], true));
    expect(() => y.backward(Tensor.ones([3, 2]))).toThrow(RangeError);
    expect(() => y.backward(Tensor.ones([6]))).toThrow(/gradient must have shape \[2, 3\].*received shape \[6\]/);
    expect(() => y.backward(Tensor.ones([2, 3, 1]))).toThrow(RangeError);
  });

  it('a gradient that is not a Tensor is a TypeError', () => {
    const y = F.tanh(randn([2], true));
    expect(() => y.backward(new Float32Array(2) as unknown as Tensor)).toThrow(TypeError);
  });

  it('a tensor that does not require grad is a RangeError', () => {
    const y = F.tanh(randn([2, 3]));
    expect(y.requiresGrad).toBe(false);
    expect(() => F.sum(y).backward()).toThrow(RangeError);
    expect(() => F.sum(y).backward()).toThrow(/does not require grad/);
    expect(() => Tensor.ones([1]).backward()).toThrow(RangeError);
  });

  it('a gradient of the right shape is d(something)/d(this): x.grad = gradient ⊙ tanh\'', () => {
    const x = randn([2, 3], true);
    const y = F.tanh(x);
    const gy = randn([2, 3]);
    y.backward(gy);
    for (let i = 0; i < 6; i++) expect(x.grad![i]).toBeCloseTo(gy.data[i] * (1 - y.data[i] ** 2), 6);
  });

  it('backward of a leaf that requires grad puts the seed in its own .grad', () => {
    const x = randn([2], true);
    x.backward(Tensor.from([2, 5]));
    expect(Array.from(x.grad!)).toEqual([2, 5]);
  });
});

describe('.grad accumulates', () => {
  it('a leaf\'s .grad adds across backward() calls on two separate graphs', () => {
    const x = Tensor.from([1, 2, 3]);
    x.requiresGrad = true;
    F.sum(F.mul(x, 2)).backward();
    expect(Array.from(x.grad!)).toEqual([2, 2, 2]);
    F.sum(F.mul(x, x)).backward();
    expect(Array.from(x.grad!)).toEqual([4, 6, 8]);
  });

  it('Parameter.grad likewise; Module.zeroGrad() and Parameter.zeroGrad() reset it', () => {
    const lin = new Linear({ inFeatures: 3, outFeatures: 2 });
    const x = randn([4, 3]);
    F.sum(lin.forward(x)).backward();
    const once = copy(lin.weight.grad)!;
    const onceBias = copy(lin.bias!.grad)!;
    expect(onceBias).toEqual([4, 4]);
    F.sum(lin.forward(x)).backward();
    lin.weight.grad.forEach((v, i) => expect(v).toBeCloseTo(2 * once[i], 5));
    expect(Array.from(lin.bias!.grad)).toEqual([8, 8]);
    lin.zeroGrad();
    expect(lin.weight.grad.every((v) => v === 0)).toBe(true);
    expect(lin.bias!.grad.every((v) => v === 0)).toBe(true);
    F.sum(lin.forward(x)).backward();
    expect(Array.from(lin.bias!.grad)).toEqual([4, 4]);
    lin.bias!.zeroGrad();
    expect(Array.from(lin.bias!.grad)).toEqual([0, 0]);
  });

  it('a tensor used twice in one graph receives the sum of both paths', () => {
    const x = Tensor.from([0.5, -1]);
    x.requiresGrad = true;
    F.sum(F.add(F.mul(x, 3), F.mul(x, x))).backward();
    expect(x.grad![0]).toBeCloseTo(3 + 2 * 0.5, 6);
    expect(x.grad![1]).toBeCloseTo(3 - 2, 6);
  });

  it('a frozen parameter (requiresGrad = false) gets nothing', () => {
    const lin = new Linear({ inFeatures: 2, outFeatures: 2 });
    lin.weight.requiresGrad = false;
    F.sum(lin.forward(randn([3, 2]))).backward();
    expect(lin.weight.grad.every((v) => v === 0)).toBe(true);
    expect(Array.from(lin.bias!.grad)).toEqual([3, 3]);
  });
});

describe('retainGrad and which tensors get .grad', () => {
  it('a leaf\'s .grad is null until backward', () => {
    const x = randn([3], true);
    expect(x.grad).toBeNull();
    const loss = F.sum(F.tanh(x));
    expect(x.grad).toBeNull();
    loss.backward();
    expect(x.grad).not.toBeNull();
    expect(x.grad!.length).toBe(3);
  });

  it('a leaf that does not require grad keeps .grad null', () => {
    const x = randn([3], true), c = randn([3]);
    F.sum(F.mul(x, c)).backward();
    expect(c.grad).toBeNull();
    expect(Array.from(x.grad!)).toEqual(Array.from(c.data));
  });

  it('a non-leaf without retainGrad keeps .grad null', () => {
    const x = randn([3], true);
    const y = F.tanh(x);
    F.sum(F.mul(y, y)).backward();
    expect(y.isLeaf).toBe(false);
    expect(y.grad).toBeNull();
  });

  it('retainGrad() keeps an intermediate\'s gradient (and still passes it on)', () => {
    const x = randn([3], true);
    const y = F.tanh(x).retainGrad();
    F.sum(F.mul(y, y)).backward();
    for (let i = 0; i < 3; i++) {
      expect(y.grad![i]).toBeCloseTo(2 * y.data[i], 6);
      expect(x.grad![i]).toBeCloseTo(2 * y.data[i] * (1 - y.data[i] ** 2), 6);
    }
  });

  it('retainGrad() on an intermediate used twice keeps the sum', () => {
    const x = randn([2], true);
    const y = F.mul(x, 1).retainGrad();
    F.sum(F.add(F.mul(y, 2), F.mul(y, 3))).backward();
    expect(Array.from(y.grad!)).toEqual([5, 5]);
  });

  it('retainGrad() on the root keeps the seed', () => {
    const y = F.sum(randn([3], true)).retainGrad();
    y.backward();
    expect(Array.from(y.grad!)).toEqual([1]);
  });

  it('retainGrad() on a recurrent layer\'s output and final state', () => {
    const lstm = new LSTM({ inputSize: 2, hiddenSize: 3 });
    const out = lstm.forward(randn([2, 1, 2], true));
    out.output.retainGrad();
    out.h.retainGrad();
    F.add(F.sum(F.mul(out.output, 2)), F.sum(out.h)).backward();
    expect(Array.from(out.output.grad!)).toEqual(new Array(6).fill(2));
    expect(Array.from(out.h.grad!)).toEqual([1, 1, 1]);
    expect(out.c.grad).toBeNull();
  });
});

describe('detach, requiresGrad and noGrad', () => {
  it('detach() shares the data array and has no history', () => {
    const x = randn([2, 3], true);
    const y = F.tanh(x);
    const d = y.detach();
    expect(d.data).toBe(y.data);
    expect(d.shape).toEqual([2, 3]);
    expect(d.isLeaf).toBe(true);
    expect(d.requiresGrad).toBe(false);
    expect(d.grad).toBeNull();
    expect(F.tanh(d).requiresGrad).toBe(false);
    expect(() => F.sum(d).backward()).toThrow(RangeError);
  });

  it('a detached branch contributes no gradient', () => {
    const x = Tensor.from([1, 2]);
    x.requiresGrad = true;
    const y = F.mul(x, 3);
    F.sum(F.add(F.mul(y.detach(), y), y)).backward(); // d/dx = 3·y.detach() + 3
    expect(Array.from(x.grad!)).toEqual([3 * 3 + 3, 3 * 6 + 3]);
  });

  it('requiresGrad = false on a non-leaf throws a RangeError; on a leaf it is allowed', () => {
    const x = randn([2], true);
    const y = F.tanh(x);
    expect(() => {
      y.requiresGrad = false;
    }).toThrow(RangeError);
    expect(() => {
      y.requiresGrad = false;
    }).toThrow(/only a leaf tensor/);
    expect(y.requiresGrad).toBe(true);
    x.requiresGrad = false;
    expect(x.requiresGrad).toBe(false);
    expect(F.tanh(x).requiresGrad).toBe(false);
  });

  it('requiresGrad set to a non-boolean is a TypeError', () => {
    const x = randn([2]);
    expect(() => {
      (x as unknown as { requiresGrad: unknown }).requiresGrad = 1;
    }).toThrow(TypeError);
  });

  it('noGrad(fn) returns fn\'s value and records nothing: outputs do not require grad', () => {
    const x = randn([2, 3], true);
    const lin = new Linear({ inFeatures: 3, outFeatures: 2 });
    const [a, b] = noGrad(() => [F.tanh(x), lin.forward(x)]);
    expect(a.requiresGrad).toBe(false);
    expect(a.gradFn).toBeNull();
    expect(b.requiresGrad).toBe(false);
    expect(() => F.sum(b).backward()).toThrow(RangeError);
  });

  it.each([
    ['Linear', () => {
      const m = new Linear({ inFeatures: 3, outFeatures: 2 });
      noGrad(() => m.forward(randn([2, 3], true)));
      return () => m.backward(Tensor.zeros([2, 2]));
    }],
    ['LSTM', () => {
      const m = new LSTM({ inputSize: 3, hiddenSize: 2 });
      noGrad(() => m.forward(randn([2, 1, 3], true)));
      return () => m.backward(Tensor.zeros([2, 1, 2]));
    }],
    ['GRU (with dropout between layers: applied in training, nothing kept)', () => {
      const m = new GRU({ inputSize: 3, hiddenSize: 2, numLayers: 2, dropout: 0.5 });
      noGrad(() => m.forward(randn([2, 1, 3], true)));
      return () => m.backward(Tensor.zeros([2, 1, 2]));
    }],
    ['Embedding', () => {
      const m = new Embedding({ numEmbeddings: 4, embeddingDim: 2 });
      noGrad(() => m.forward(Int32Array.of(1, 2), [2]));
      return () => m.backward(Tensor.zeros([2, 2]));
    }],
  ] as Array<[string, () => () => unknown]>)('under noGrad, %s keeps nothing: its explicit backward() has nothing to backpropagate', (_name, setup) => {
    const backward = setup();
    expect(backward).toThrow(RangeError);
    expect(backward).toThrow(/nothing to backpropagate/);
  });

  it('noGrad: cells and Sequential record nothing', () => {
    const cell = new RNNCell({ inputSize: 2, hiddenSize: 3 });
    const seq = new Sequential(new Linear({ inFeatures: 2, outFeatures: 2 }), new Tanh());
    const x = randn([1, 2], true);
    const [s, y] = noGrad(() => [cell.forward(x), seq.forward(x)] as const);
    expect(s.h.requiresGrad).toBe(false);
    expect(y.requiresGrad).toBe(false);
  });

  it('noGrad restores grad mode even when fn throws, and nests', () => {
    const x = randn([2], true);
    expect(() =>
      noGrad(() => {
        throw new SyntaxError('boom');
      }),
    ).toThrow(SyntaxError);
    expect(F.tanh(x).requiresGrad).toBe(true);
    noGrad(() => {
      noGrad(() => undefined);
      expect(F.tanh(x).requiresGrad).toBe(false); // still off after the inner one returns
      expect(() => noGrad(() => JSON.parse('{'))).toThrow();
      expect(F.tanh(x).requiresGrad).toBe(false);
    });
    expect(F.tanh(x).requiresGrad).toBe(true);
  });

  it('noGrad with a non-function is a TypeError', () => {
    expect(() => noGrad(42 as unknown as () => void)).toThrow(TypeError);
  });
});

describe('eval mode', () => {
  it('plain inference records nothing: an eval LSTM on an input that needs no gradient', () => {
    const lstm = new LSTM({ inputSize: 2, hiddenSize: 3 }).eval();
    const out = lstm.forward(randn([3, 2, 2], false));
    expect(out.output.requiresGrad).toBe(false);
    expect(out.h.requiresGrad).toBe(false);
    expect(out.c.requiresGrad).toBe(false);
    expect(() => F.sum(out.output).backward()).toThrow(RangeError);
    expect(() => lstm.backward(Tensor.zeros([3, 2, 3]))).toThrow(/nothing to backpropagate/);
  });

  it('an input that requires grad is differentiated through eval-mode modules (as in PyTorch), the parameters too', () => {
    const lstm = new LSTM({ inputSize: 2, hiddenSize: 3 }).eval();
    const x = randn([3, 2, 2], true);
    const out = lstm.forward(x);
    expect(out.output.requiresGrad).toBe(true);
    F.sum(out.output).backward();
    expect(x.grad).not.toBeNull();
    expect(lstm.parameters()[0].grad.some((v) => v !== 0)).toBe(true);
  });

  it('Linear, Embedding, the cells and Sequential in eval record only for inputs that require grad', () => {
    const x = randn([2, 3], true);
    const plain = randn([2, 3], false);
    expect(new Linear({ inFeatures: 3, outFeatures: 2 }).eval().forward(x).requiresGrad).toBe(true);
    expect(new Linear({ inFeatures: 3, outFeatures: 2 }).eval().forward(plain).requiresGrad).toBe(false);
    expect(new Embedding({ numEmbeddings: 3, embeddingDim: 2 }).eval().forward(Int32Array.of(1), [1]).requiresGrad).toBe(false);
    const cell = new LSTMCell({ inputSize: 3, hiddenSize: 2 }).eval();
    expect(cell.forward(plain).h.requiresGrad).toBe(false);
    const s = cell.forward(plain, { h: randn([2, 2], true), c: randn([2, 2], false) });
    expect(s.h.requiresGrad).toBe(true);
    expect(s.c.requiresGrad).toBe(true);
    const seq = new Sequential(new Linear({ inFeatures: 3, outFeatures: 3 }), new Tanh()).eval();
    expect(seq.forward(plain).requiresGrad).toBe(false);
    expect(seq.forward(x).requiresGrad).toBe(true);
  });

  it('functional ops on inputs that require grad record in eval (they have no mode)', () => {
    const x = randn([3, 2, 2], true);
    const y = F.tanh(x);
    expect(y.requiresGrad).toBe(true);
    F.sum(y).backward();
    expect(x.grad).not.toBeNull();
    expect(F.dropout(x, 0.5, false)).toBe(x); // dropout off returns the input itself
  });

  it('back to train() records for the parameters again', () => {
    const lin = new Linear({ inFeatures: 2, outFeatures: 2 }).eval();
    const x = randn([1, 2], false);
    expect(lin.forward(x).requiresGrad).toBe(false);
    lin.train();
    expect(lin.forward(x).requiresGrad).toBe(true);
  });
});

describe('a caller who changes an input array after the call must not change the gradients', () => {
  /** Runs `build` twice on identical fresh data: once undisturbed, once with `disturb` between forward and backward; compares every gradient. */
  function compare<S>(make: () => S, build: (s: S) => Tensor, disturb: (s: S) => void, grads: (s: S) => Array<Float32Array | null>): void {
    const a = make(), b = make();
    const la = build(a);
    la.backward();
    const lb = build(b);
    disturb(b);
    lb.backward();
    const ga = grads(a), gb = grads(b);
    expect(ga.length).toBe(gb.length);
    ga.forEach((x, i) => {
      expect(x).not.toBeNull();
      expect(copy(gb[i])).toEqual(copy(x));
    });
  }

  it('LSTM: the input and the initial state (h, c) overwritten', () => {
    const make = () => {
      const gg = new Generator(3);
      const lstm = new LSTM({ inputSize: 3, hiddenSize: 4 });
      for (const p of lstm.parameters()) new Generator(p.size).fillUniform(p.data, -0.5, 0.5); // same weights in both runs
      return {
        lstm, x: Tensor.randn([5, 2, 3], { generator: gg, requiresGrad: true }),
        h: Tensor.randn([1, 2, 4], { generator: gg, requiresGrad: true }), c: Tensor.randn([1, 2, 4], { generator: gg, requiresGrad: true }),
      };
    };
    compare(
      make,
      (s) => {
        const o = s.lstm.forward(s.x, { h: s.h, c: s.c });
        return F.add(F.sum(F.mul(o.output, o.output)), F.sum(o.c));
      },
      (s) => {
        s.x.data.fill(7);
        s.h.data.fill(-3);
        s.c.data.fill(5);
      },
      (s) => [s.x.grad, s.h.grad, s.c.grad, ...s.lstm.parameters().map((p) => p.grad)],
    );
  });

  it('LSTM with an input that does not require grad (parameter gradients only)', () => {
    const make = () => {
      const lstm = new LSTM({ inputSize: 3, hiddenSize: 4, batchFirst: true });
      for (const p of lstm.parameters()) new Generator(p.size + 1).fillUniform(p.data, -0.5, 0.5);
      return { lstm, x: Tensor.randn([2, 5, 3], { generator: new Generator(4) }) };
    };
    compare(make, (s) => F.sum(F.mul(s.lstm.forward(s.x).output, 1.5)), (s) => s.x.data.fill(9), (s) => s.lstm.parameters().map((p) => p.grad));
  });

  it('Linear: the input overwritten (input requiring grad, and not)', () => {
    for (const requiresGrad of [true, false]) {
      const make = () => {
        const lin = new Linear({ inFeatures: 3, outFeatures: 2 });
        for (const p of lin.parameters()) new Generator(p.size).fillUniform(p.data, -1, 1);
        return { lin, x: Tensor.randn([4, 3], { generator: new Generator(5), requiresGrad }) };
      };
      compare(
        make,
        (s) => F.sum(F.mul(s.lin.forward(s.x), s.lin.forward(s.x))),
        (s) => s.x.data.fill(-4),
        (s) => [...(requiresGrad ? [s.x.grad] : []), s.lin.weight.grad, s.lin.bias!.grad],
      );
    }
  });

  it('LSTMCell: x and the state overwritten', () => {
    const make = () => {
      const cell = new LSTMCell({ inputSize: 3, hiddenSize: 2 });
      for (const p of cell.parameters()) new Generator(p.size).fillUniform(p.data, -1, 1);
      const gg = new Generator(6);
      return {
        cell, x: Tensor.randn([2, 3], { generator: gg, requiresGrad: true }),
        h: Tensor.randn([2, 2], { generator: gg, requiresGrad: true }), c: Tensor.randn([2, 2], { generator: gg, requiresGrad: true }),
      };
    };
    compare(
      make,
      (s) => {
        const s1 = s.cell.forward(s.x, { h: s.h, c: s.c });
        const s2 = s.cell.forward(s.x, s1);
        return F.add(F.sum(F.mul(s2.h, s2.h)), F.sum(s2.c));
      },
      (s) => {
        s.x.data.fill(3);
        s.h.data.fill(3);
        s.c.data.fill(3);
      },
      (s) => [s.x.grad, s.h.grad, s.c.grad, ...s.cell.parameters().map((p) => p.grad)],
    );
  });

  it.each([
    ['F.mul', (a: Tensor, b: Tensor) => F.mul(a, b), [3, 4], [3, 4]],
    ['F.mul (broadcast)', (a: Tensor, b: Tensor) => F.mul(a, b), [3, 4], [4]],
    ['F.matmul', (a: Tensor, b: Tensor) => F.matmul(a, b), [3, 4], [4, 2]],
    ['F.matmul (batched)', (a: Tensor, b: Tensor) => F.matmul(a, b), [2, 3, 4], [2, 4, 2]],
  ] as Array<[string, (a: Tensor, b: Tensor) => Tensor, number[], number[]]>)('%s with a leaf operand overwritten', (_name, op, sa, sb) => {
    // each operand in turn is the caller's constant; the other requires grad
    for (const constant of ['a', 'b'] as const) {
      const make = () => {
        const gg = new Generator(8);
        return { a: Tensor.randn(sa, { generator: gg, requiresGrad: constant !== 'a' }), b: Tensor.randn(sb, { generator: gg, requiresGrad: constant !== 'b' }) };
      };
      compare(make, (s) => F.sum(F.tanh(op(s.a, s.b))), (s) => s[constant].data.fill(2), (s) => [constant === 'a' ? s.b.grad : s.a.grad]);
    }
    // both require grad, both overwritten
    const make = () => {
      const gg = new Generator(8);
      return { a: Tensor.randn(sa, { generator: gg, requiresGrad: true }), b: Tensor.randn(sb, { generator: gg, requiresGrad: true }) };
    };
    compare(make, (s) => F.sum(F.tanh(op(s.a, s.b))), (s) => {
      s.a.data.fill(2);
      s.b.data.fill(-2);
    }, (s) => [s.a.grad, s.b.grad]);
  });

  it('F.layerNorm: the input overwritten', () => {
    const make = () => ({ x: Tensor.randn([3, 5], { generator: new Generator(10), requiresGrad: true }), w: Tensor.randn([5], { generator: new Generator(11), requiresGrad: true }) });
    compare(make, (s) => F.sum(F.mul(F.layerNorm(s.x, [5], s.w), Tensor.from([1, 2, 3, 4, 5]))), (s) => s.x.data.fill(1), (s) => [s.x.grad, s.w.grad]);
  });

  it('F.maskedFill: the mask overwritten', () => {
    const make = () => ({ x: Tensor.randn([2, 4], { generator: new Generator(12), requiresGrad: true }), mask: Uint8Array.of(0, 1, 0, 0, 1, 0, 0, 1) });
    compare(make, (s) => F.sum(F.mul(F.maskedFill(s.x, s.mask, -1), Tensor.from([1, 2, 3, 4]))), (s) => s.mask.fill(1), (s) => [s.x.grad]);
  });

  it('Embedding: the indices overwritten (explicit backward too)', () => {
    const make = () => {
      const emb = new Embedding({ numEmbeddings: 5, embeddingDim: 2 });
      return { emb, ids: Int32Array.of(0, 3, 3, 1) };
    };
    compare(make, (s) => F.sum(F.mul(s.emb.forward(s.ids, [2, 2]), Tensor.from([1, 2]))), (s) => s.ids.fill(4), (s) => [s.emb.weight.grad]);
    const emb = new Embedding({ numEmbeddings: 5, embeddingDim: 2 });
    const ids = Int32Array.of(0, 3);
    emb.forward(ids, [2]);
    ids.fill(4);
    emb.backward(Tensor.ones([2, 2]));
    expect(Array.from(emb.weight.grad)).toEqual([1, 1, 0, 0, 0, 0, 1, 1, 0, 0]);
  });

  it('Embedding → LSTM (the token path): the indices and the lengths overwritten', () => {
    const make = () => {
      const emb = new Embedding({ numEmbeddings: 4, embeddingDim: 3 });
      const lstm = new LSTM({ inputSize: 3, hiddenSize: 2 });
      for (const p of [...emb.parameters(), ...lstm.parameters()]) new Generator(p.size).fillUniform(p.data, -1, 1);
      return { emb, lstm, ids: Int32Array.of(0, 1, 2, 3, 3, 1), lengths: Int32Array.of(3, 2) };
    };
    compare(
      make,
      (s) => F.sum(s.lstm.forward(s.emb.forward(s.ids, [3, 2]), undefined, { lengths: s.lengths }).output),
      (s) => {
        s.ids.fill(0);
        s.lengths.fill(1);
      },
      (s) => [s.emb.weight.grad, ...s.lstm.parameters().map((p) => p.grad)],
    );
  });
});

describe('transferring buffers (structuredClone with transfer)', () => {
  const detach = (a: ArrayBufferView) => transfer(a.buffer);

  it('the input\'s buffer transferred between a training forward and backward: the same gradients', () => {
    const cases: Array<[string, () => { loss: Tensor; inputs: Array<{ data: ArrayBufferView }>; grads: () => Array<Float32Array | null> }]> = [
      ['LSTM (input and state)', () => {
        const lstm = new LSTM({ inputSize: 3, hiddenSize: 2 });
        for (const p of lstm.parameters()) new Generator(p.size).fillUniform(p.data, -1, 1);
        const gg = new Generator(1);
        const x = Tensor.randn([4, 2, 3], { generator: gg, requiresGrad: true });
        const h = Tensor.randn([1, 2, 2], { generator: gg }), c = Tensor.randn([1, 2, 2], { generator: gg });
        const o = lstm.forward(x, { h, c });
        return { loss: F.sum(F.mul(o.output, o.output)), inputs: [x, h, c], grads: () => [x.grad, ...lstm.parameters().map((p) => p.grad)] };
      }],
      ['GRU with lengths', () => {
        const gru = new GRU({ inputSize: 3, hiddenSize: 2, bidirectional: true });
        for (const p of gru.parameters()) new Generator(p.size).fillUniform(p.data, -1, 1);
        const x = Tensor.randn([4, 2, 3], { generator: new Generator(2) });
        const lengths = Int32Array.of(4, 2);
        const o = gru.forward(x, undefined, { lengths });
        return { loss: F.sum(F.mul(o.output, o.output)), inputs: [x, { data: lengths }], grads: () => gru.parameters().map((p) => p.grad) };
      }],
      ['Linear', () => {
        const lin = new Linear({ inFeatures: 3, outFeatures: 2 });
        for (const p of lin.parameters()) new Generator(p.size).fillUniform(p.data, -1, 1);
        const x = Tensor.randn([4, 3], { generator: new Generator(3), requiresGrad: true });
        return { loss: F.sum(F.mul(lin.forward(x), lin.forward(x))), inputs: [x], grads: () => [x.grad, lin.weight.grad, lin.bias!.grad] };
      }],
      ['LSTMCell', () => {
        const cell = new LSTMCell({ inputSize: 3, hiddenSize: 2 });
        for (const p of cell.parameters()) new Generator(p.size).fillUniform(p.data, -1, 1);
        const gg = new Generator(4);
        const x = Tensor.randn([2, 3], { generator: gg }), h = Tensor.randn([2, 2], { generator: gg }), c = Tensor.randn([2, 2], { generator: gg });
        const s = cell.forward(x, { h, c });
        return { loss: F.sum(F.mul(s.h, s.c)), inputs: [x, h, c], grads: () => cell.parameters().map((p) => p.grad) };
      }],
      ['F.matmul and F.mul with leaf operands', () => {
        const gg = new Generator(5);
        const a = Tensor.randn([3, 4], { generator: gg, requiresGrad: true }), b = Tensor.randn([4, 2], { generator: gg });
        const m = Tensor.randn([3, 2], { generator: gg });
        return { loss: F.sum(F.mul(F.matmul(a, b), m)), inputs: [b, m], grads: () => [a.grad] };
      }],
      ['F.layerNorm and F.maskedFill\'s mask', () => {
        const x = Tensor.randn([2, 4], { generator: new Generator(6), requiresGrad: true });
        const mask = Uint8Array.of(1, 0, 0, 0, 0, 0, 1, 0);
        const y = F.maskedFill(F.layerNorm(x, [4]), mask, 0);
        return { loss: F.sum(F.mul(y, Tensor.from([1, -2, 3, 0.5]))), inputs: [x, { data: mask }], grads: () => [x.grad] };
      }],
      ['Embedding indices', () => {
        const emb = new Embedding({ numEmbeddings: 4, embeddingDim: 2 });
        const ids = Int32Array.of(1, 1, 3);
        return { loss: F.sum(F.mul(emb.forward(ids, [3]), Tensor.from([1, 2]))), inputs: [{ data: ids }], grads: () => [emb.weight.grad] };
      }],
    ];
    for (const [name, build] of cases) {
      const a = build();
      a.loss.backward();
      const b = build();
      for (const t of b.inputs) detach(t.data);
      for (const t of b.inputs) expect({ name, length: (t.data as Float32Array).length }).toEqual({ name, length: 0 }); // really detached
      b.loss.backward();
      const ga = a.grads(), gb = b.grads();
      ga.forEach((x, i) => expect({ name, i, grad: copy(gb[i]) }).toEqual({ name, i, grad: copy(x) }));
    }
  });

  it('a Parameter\'s buffers cannot be detached by a transfer (they are copied or refused, never pulled away)', () => {
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 2 });
    const lin = new Linear({ inFeatures: 3, outFeatures: 2 });
    for (const p of [...lstm.parameters(), ...lin.parameters(), new Parameter(new Float32Array(5), [5])]) {
      const size = p.size;
      for (const a of [p.data, p.grad]) {
        try {
          const clone = transfer(a.buffer);
          expect(clone.byteLength).toBe(a.buffer.byteLength); // a copy
        } catch (e) {
          expect((e as Error).name).toBe('DataCloneError'); // newer Node refuses instead
        }
        expect(a.length).toBe(size);
      }
    }
    // and the module still works
    const out = lstm.forward(randn([2, 1, 3], true));
    F.sum(out.output).backward();
    expect(lstm.parameters()[0].grad.some((v) => v !== 0)).toBe(true);
  });

  it('a Parameter\'s buffer transferred while a forwardAsync is pending: not detached, same result', async () => {
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2 }).eval();
    const x = randn([6, 3, 3]);
    const expected = copy(lstm.forward(x).output.data);
    const pending = lstm.forwardAsync(x);
    for (const p of lstm.parameters()) {
      try {
        transfer(p.data.buffer);
      } catch {
        // refused: fine too
      }
      expect(p.data.length).toBe(p.size);
    }
    const out = await pending;
    expect(copy(out.output.data)).toEqual(expected);
    const lin = new Linear({ inFeatures: 3, outFeatures: 2 });
    const xl = randn([5, 3]);
    const expectedLinear = copy(noGrad(() => lin.forward(xl)).data);
    const pendingLinear = lin.forwardAsync(xl);
    try {
      transfer(lin.weight.data.buffer);
    } catch {
      // refused
    }
    expect(lin.weight.data.length).toBe(6);
    expect(copy((await pendingLinear).data)).toEqual(expectedLinear);
  });

  it('a recurrent layer\'s forwardAsync copies the input and state: changing them right after the call does not change the result', async () => {
    // RecurrentBase.forwardAsync documents "the input and state are copied".
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 4 }).eval();
    const x = randn([5, 2, 3]), h = randn([1, 2, 4]), c = randn([1, 2, 4]);
    const expected = copy(lstm.forward(x, { h, c }).output.data);
    const pending = lstm.forwardAsync(x, { h, c });
    x.data.fill(0);
    h.data.fill(0);
    c.data.fill(0);
    expect(copy((await pending).output.data)).toEqual(expected);
  });

  it('a recurrent layer\'s forwardAsync: transferring the input\'s buffer right after the call does not change the result', async () => {
    const gru = new GRU({ inputSize: 3, hiddenSize: 4 }).eval();
    const x = randn([5, 2, 3]);
    const expected = copy(gru.forward(x).output.data);
    const pending = gru.forwardAsync(x);
    transfer(x.data.buffer);
    expect(copy((await pending).output.data)).toEqual(expected);
  });
});

describe('a module called many times before one backward', () => {
  it('200 LSTMCell steps, one backward: the gradients of a one-layer LSTM over the same sequence (float64), and every step freed', () => {
    const T = 200, B = 2, I = 3, H = 4;
    const gg = new Generator(77);
    const cell = toFloat64(new LSTMCell({ inputSize: I, hiddenSize: H }));
    const lstm = toFloat64(new LSTM({ inputSize: I, hiddenSize: H }));
    cell.parameters().forEach((p, i) => {
      for (let k = 0; k < p.size; k++) p.data[k] = 2 * gg.uniform() - 1;
      lstm.parameters()[i].data.set(p.data);
    });
    const x = rand64(gg, [T, B, I], 1, true);
    const x2 = rand64(gg, [T, B, I], 1, true);
    x2.data.set(x.data);
    const w = rand64(gg, [B, H]);

    let state = cell.forward(F.narrow(x, 0, 0, 1).reshape([B, I]));
    const states = [state];
    for (let t = 1; t < T; t++) {
      state = cell.forward(F.narrow(x, 0, t, 1).reshape([B, I]), state);
      states.push(state);
    }
    F.add(F.sum(F.mul(state.h, w)), F.sum(state.c)).backward();

    const out = lstm.forward(x2);
    F.add(F.sum(F.mul(out.h.reshape([B, H]), w)), F.sum(out.c)).backward();

    const rel = (a: Float32Array, b: Float32Array) => {
      let m = 0;
      for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
      return m;
    };
    expect(rel(x.grad!, x2.grad!)).toBeLessThan(1e-12);
    cell.parameters().forEach((p, i) => expect(rel(p.grad, lstm.parameters()[i].grad)).toBeLessThan(1e-12));
    // every step's node ran and let go of what it kept (its pooled gates)
    for (const s of states) {
      const node = s.h.gradFn as unknown as { isConsumed: boolean; kept: unknown };
      expect(node.isConsumed).toBe(true);
      expect(node.kept).toBeNull();
    }
  });

  it('a second identical run of 200 float32 steps works and does not keep memory (loosely)', () => {
    const cell = new LSTMCell({ inputSize: 32, hiddenSize: 64 });
    const x = randn([8, 32]);
    const run = () => {
      cell.zeroGrad();
      let s = cell.forward(x);
      for (let t = 1; t < 200; t++) s = cell.forward(x, s);
      F.sum(s.h).backward();
      return copy(cell.weight_hh.grad)!;
    };
    const gc = (globalThis as { gc?: () => void }).gc;
    const first = run();
    gc?.();
    const before = process.memoryUsage().arrayBuffers;
    const second = run();
    gc?.();
    const after = process.memoryUsage().arrayBuffers;
    expect(second).toEqual(first);
    // each step keeps B·5·H floats (10 KB): 200 of them, if held, would be 2 MB; allow garbage not yet collected
    expect(after - before).toBeLessThan(gc ? 1 << 20 : 64 << 20);
  });

  it('one LSTM called 50 times (each call keeps its own activations) before one backward', () => {
    const lstm = new LSTM({ inputSize: 2, hiddenSize: 3 });
    const xs = Array.from({ length: 50 }, () => randn([3, 1, 2], true));
    let total = F.sum(lstm.forward(xs[0]).output);
    for (let k = 1; k < 50; k++) total = F.add(total, F.sum(lstm.forward(xs[k]).output));
    total.backward();
    // each input's gradient equals the one its forward alone gives
    const k = 37;
    const alone = xs[k].grad!.slice();
    xs[k].grad = null;
    F.sum(lstm.forward(xs[k]).output).backward();
    expect(copy(xs[k].grad)).toEqual(copy(alone));
  });
});
