// ParameterArena / Module.flattenParameters: parameters' values and gradients as views into
// two aligned buffers, kept through loading; clipping and optimizer steps over arena runs
// equal to the per-parameter path (and to torch.optim, test 52's fixtures); caches of
// parameter arrays refreshed; transfers that copy instead of detaching.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { MessageChannel } from 'node:worker_threads';
import {
  Adagrad, Adam, AdamW, clipGradNorm, clipGradValue, functional as F, fitSync, LanguageModel, Linear, LSTM, loadSafetensors, manualSeed,
  Module, Optimizer, Parameter, ParameterArena, RMSprop, saveSafetensors, SGD, Tensor,
} from '../lib';
import { native } from '../lib/native/addon';
import { FixtureTensor, loadFixture, maxError } from './helpers/fixtures';

class TwoLayer extends Module {
  readonly rnn: LSTM;
  readonly head: Linear;
  constructor() {
    super();
    this.rnn = this.registerModule('rnn', new LSTM({ inputSize: 5, hiddenSize: 7, numLayers: 2 }));
    this.head = this.registerModule('head', new Linear({ inFeatures: 7, outFeatures: 3 }));
  }
  forward(x: Tensor): Tensor {
    return this.head.forward(this.rnn.forward(x).output);
  }
}

function model(seed = 1): TwoLayer {
  manualSeed(seed);
  return new TwoLayer();
}

const copyOf = (m: Module) => m.parameters().map((p) => p.data.slice());

/** One step's gradients: a loss of the model's output on a fixed input. */
function backward(m: TwoLayer, seed: number): void {
  manualSeed(100 + seed);
  const x = Tensor.randn([4, 3, 5]);
  const w = Tensor.randn([4, 3, 3]);
  F.sum(F.mul(m.forward(x), w)).backward();
}

/** Counts the calls of a native function while fn runs (the arena path makes one per group). */
function countCalls(name: keyof typeof native, fn: () => void): number {
  const spy = jest.spyOn(native, name as never);
  try {
    fn();
    return spy.mock.calls.length;
  } finally {
    spy.mockRestore();
  }
}

describe('Module.flattenParameters', () => {
  it('makes every .data and .grad a view into two aligned buffers, values kept', () => {
    const m = model();
    const before = copyOf(m);
    const x = Tensor.randn([2, 3, 5]);
    const out = m.forward(x).data.slice();
    const arena = m.flattenParameters();
    expect(arena).toBeInstanceOf(ParameterArena);
    expect(arena.parameters).toEqual(m.parameters());
    expect(arena.data.buffer).not.toBe(arena.grad.buffer);
    // 64-byte aligned addresses: the native side's skip from the buffer's start to the next line
    const aligned = (a: Float32Array) => (a.byteOffset - native.alignmentSkip(a.buffer as ArrayBuffer)) % 64 === 0;
    expect(aligned(arena.data)).toBe(true);
    expect(aligned(arena.grad)).toBe(true);
    m.parameters().forEach((p, i) => {
      expect(p.data.buffer).toBe(arena.data.buffer);
      expect(p.grad.buffer).toBe(arena.grad.buffer);
      expect(p.data.byteOffset).toBe(arena.data.byteOffset + 4 * arena.offsets[i]);
      expect(p.grad.byteOffset).toBe(arena.grad.byteOffset + 4 * arena.offsets[i]);
      expect(arena.offsets[i] % 16).toBe(0); // every slot on a 64-byte line
      expect(Array.from(p.data)).toEqual(Array.from(before[i]));
      expect(ParameterArena.of(p)).toBe(arena);
    });
    expect(Array.from(m.forward(x).data)).toEqual(Array.from(out));
    // shared memory both ways
    arena.data[arena.offsets[1]] = 42;
    expect(m.parameters()[1].data[0]).toBe(42);
    m.parameters()[2].grad[0] = 7;
    expect(arena.grad[arena.offsets[2]]).toBe(7);
    m.zeroGrad();
    expect(arena.grad.every((v) => v === 0)).toBe(true);
  });

  it('backward writes into the gradient arena; the padding between slots stays zero', () => {
    const m = model();
    const arena = m.flattenParameters();
    backward(m, 0);
    const inSlot = new Uint8Array(arena.grad.length);
    m.parameters().forEach((p, i) => inSlot.fill(1, arena.offsets[i], arena.offsets[i] + p.size));
    let gradSum = 0;
    arena.grad.forEach((v, k) => {
      if (inSlot[k]) gradSum += Math.abs(v);
      else expect(v).toBe(0);
    });
    expect(gradSum).toBeGreaterThan(0);
  });

  it('a second call with the same order returns the same arena, untouched; another order or a sub-module moves them', () => {
    const m = model();
    const a = m.flattenParameters();
    const views = m.parameters().map((p) => p.data);
    expect(m.flattenParameters()).toBe(a);
    expect(m.flattenParameters({ order: m.parameters() })).toBe(a);
    m.parameters().forEach((p, i) => expect(p.data).toBe(views[i]));
    a.data[0] = 3;
    const values = copyOf(m);
    // another order: a new arena, the values as they are
    const reversed = m.parameters().slice().reverse();
    const b = m.flattenParameters({ order: reversed });
    expect(b).not.toBe(a);
    expect(a.valid).toBe(false);
    expect(b.parameters).toEqual(reversed);
    expect(copyOf(m)).toEqual(values);
    // a sub-module flattened on its own, then the whole model again
    const r = m.rnn.flattenParameters();
    expect(r.parameters).toEqual(m.rnn.parameters());
    expect(b.valid).toBe(false);
    const c = m.flattenParameters();
    expect(r.valid).toBe(false);
    expect(c.valid).toBe(true);
    expect(copyOf(m)).toEqual(values);
    expect(m.parameters().every((p) => ParameterArena.of(p) === c)).toBe(true);
  });

  it('loadStateDict and a safetensors round trip copy into the views and keep them', () => {
    const m = model(1);
    const arena = m.flattenParameters();
    const views = m.parameters().map((p) => p.data);
    const other = model(2);
    m.loadStateDict(other.stateDict());
    m.parameters().forEach((p, i) => {
      expect(p.data).toBe(views[i]);
      expect(Array.from(p.data)).toEqual(Array.from(other.parameters()[i].data));
    });
    expect(arena.valid).toBe(true);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'arena-'));
    try {
      const file = path.join(dir, 'm.safetensors');
      saveSafetensors(file, model(3).stateDict());
      m.loadStateDict(loadSafetensors(file).tensors);
      m.parameters().forEach((p, i) => {
        expect(p.data).toBe(views[i]);
        expect(Array.from(p.data)).toEqual(Array.from(model(3).parameters()[i].data));
      });
      // and a flattened model saves what its views hold
      saveSafetensors(file, m.stateDict());
      const back = loadSafetensors(file).tensors;
      m.namedParameters().forEach(([n, p]) => expect(Array.from(back[n].data)).toEqual(Array.from(p.data)));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(arena.valid).toBe(true);
  });

  it('a transfer list copies the arenas instead of detaching them', async () => {
    const m = model();
    const arena = m.flattenParameters();
    const p = m.parameters()[0];
    const values = Array.from(p.data);
    const { port1, port2 } = new MessageChannel();
    const received = new Promise<Float32Array>((resolve) => port2.once('message', (msg: { w: Float32Array }) => resolve(msg.w)));
    port1.postMessage({ w: p.data, g: p.grad }, [p.data.buffer as ArrayBuffer, p.grad.buffer as ArrayBuffer]);
    const w = await received;
    port1.close();
    port2.close();
    expect(Array.from(w)).toEqual(values);
    expect(arena.data.byteLength).toBeGreaterThan(0);
    expect(arena.grad.byteLength).toBeGreaterThan(0);
    expect(Array.from(p.data)).toEqual(values);
    const clone = structuredClone({ d: arena.data }, { transfer: [arena.data.buffer as ArrayBuffer] });
    expect(clone.d.length).toBe(arena.data.length);
    expect(arena.data.length).toBeGreaterThan(0);
    expect(arena.valid).toBe(true);
  });

  it('misuse names the argument, what was expected and what arrived', () => {
    const m = model();
    expect(() => new ParameterArena('w' as never)).toThrow(new TypeError('ParameterArena: expected an array of Parameter for parameters but received "w" of type string'));
    expect(() => new ParameterArena([m.parameters()[0], 3 as never])).toThrow(TypeError);
    expect(() => new ParameterArena([m.parameters()[0], 3 as never])).toThrow('ParameterArena: expected a Parameter for parameters[1] but received 3 of type number');
    const p = m.parameters()[0];
    expect(() => new ParameterArena([p, p])).toThrow(RangeError);
    expect(() => new ParameterArena([p, p])).toThrow(/expected a Parameter not already listed \(it is parameters\[0\]\) for parameters\[1\]/);
    const foreign = new Parameter(new Float32Array(2), [2]);
    expect(() => m.flattenParameters({ order: [foreign] })).toThrow(RangeError);
    expect(() => m.flattenParameters({ order: [foreign] })).toThrow(/TwoLayer\.flattenParameters: expected a parameter of this TwoLayer for opts\.order\[0\]/);
    expect(() => m.flattenParameters({ order: [p, p] })).toThrow(/opts\.order\[1\]/);
    expect(() => m.flattenParameters({ order: p as never })).toThrow(TypeError);
    expect(() => m.flattenParameters({ ordr: [] } as never)).toThrow(/ordr/);
    expect(() => ParameterArena.of({} as never)).toThrow(new TypeError('ParameterArena.of: expected a Parameter for p but received [object] of type object'));
  });
});

describe('element types', () => {
  it("takes a Float32Array of another realm (a worker's message under a vm context); float64 arrays (the gradient checks') are a TypeError", () => {
    const foreign = vm.runInNewContext('new Float32Array([1, 2, 3, 4])') as Float32Array;
    expect(foreign instanceof Float32Array).toBe(false);
    const p = new Parameter(foreign, [4]);
    const arena = new ParameterArena([p]);
    expect(Array.from(arena.data.subarray(0, 4))).toEqual([1, 2, 3, 4]);
    expect(p.data.buffer).toBe(arena.data.buffer);
    const q = new Parameter(new Float32Array(2), [2]);
    (q as { data: Float32Array }).data = new Float64Array(2) as unknown as Float32Array;
    expect(() => new ParameterArena([q])).toThrow(new TypeError('ParameterArena: expected a Parameter whose data and grad are Float32Arrays for parameters[0] but received Float64Array(2) of type Float64Array'));
  });
});

describe('caches of parameter arrays follow an arena that takes some of them', () => {
  it('a recurrent layer reads the moved weights (not only when its first parameter moved)', () => {
    manualSeed(5);
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 4 });
    const x = Tensor.randn([2, 1, 3]);
    lstm.forward(x); // caches the weight arrays
    const arena = new ParameterArena([lstm.parameters()[1]]); // weight_hh_l0 only
    for (let k = 0; k < arena.data.length; k++) arena.data[k] *= 3;
    const fresh = new LSTM({ inputSize: 3, hiddenSize: 4 });
    fresh.loadStateDict(lstm.stateDict());
    expect(Array.from(lstm.forward(x).output.data)).toEqual(Array.from(fresh.forward(x).output.data));
  });

  it("a language model's decoder reads the moved weights, also at bf16", () => {
    manualSeed(6);
    const opts = { vocabSize: 11, embeddingDim: 4, hiddenSize: 8, numLayers: 1, cell: 'lstm' as const };
    const lm = new LanguageModel(opts);
    const gen = (m: LanguageModel) => Array.from(m.generate({ prompt: Int32Array.of(1, 2), maxLength: 12, endToken: -1, seed: 1 }));
    gen(lm); // caches the decoder's weight list
    for (const precision of ['float32', 'bf16'] as const) {
      lm.setPrecision(precision);
      gen(lm);
      const arena = new ParameterArena([lm.rnn.parameters()[2], lm.head.bias!]); // biases: not the arrays an identity check of the first and last weight sees
      manualSeed(7);
      const noise = Tensor.randn([arena.data.length]).data;
      for (let k = 0; k < arena.data.length; k++) if (arena.data[k] !== 0) arena.data[k] += 2 * noise[k];
      const fresh = new LanguageModel(opts);
      fresh.loadStateDict(lm.stateDict());
      fresh.setPrecision(precision);
      expect(gen(lm)).toEqual(gen(fresh));
    }
  });
});

describe('clipping over an arena', () => {
  it('clipGradNorm equals the per-parameter path, in one pass', () => {
    for (const normType of [2, 1, 3, 'inf'] as const) {
      const a = model(), b = model();
      const arena = b.flattenParameters();
      backward(a, 1);
      backward(b, 1);
      const ta = clipGradNorm(a.parameters(), 0.1, { normType });
      let tb = 0;
      // one array reaches the kernels: the arena's run
      const calls = jest.spyOn(native, 'gradNorm');
      try {
        tb = clipGradNorm(b.parameters(), 0.1, { normType });
        expect(calls.mock.calls[0][0]).toHaveLength(1);
        expect((calls.mock.calls[0][0] as Float32Array[])[0].buffer).toBe(arena.grad.buffer);
      } finally {
        calls.mockRestore();
      }
      expect(tb).toBeCloseTo(ta, 5); // the same sum in another association: float rounding at most
      expect(Math.abs(tb - ta) / ta).toBeLessThan(1e-6);
      b.parameters().forEach((p, i) => expect(maxError(p.grad, Array.from(a.parameters()[i].grad))).toBeLessThan(1e-6));
    }
  });

  it('a NaN norm scales the gradients with NaN as torch, but not the padding', () => {
    const m = model();
    const arena = m.flattenParameters();
    backward(m, 2);
    m.parameters()[1].grad[3] = NaN;
    expect(Number.isNaN(clipGradNorm(m.parameters(), 1))).toBe(true);
    const inSlot = new Uint8Array(arena.grad.length);
    m.parameters().forEach((p, i) => inSlot.fill(1, arena.offsets[i], arena.offsets[i] + p.size));
    arena.grad.forEach((v, k) => expect(inSlot[k] ? Number.isNaN(v) : v === 0).toBe(true));
  });

  it('clipGradValue over the arena equals the per-parameter path; a subset falls back', () => {
    const a = model(), b = model();
    b.flattenParameters();
    backward(a, 3);
    backward(b, 3);
    clipGradValue(a.parameters(), 0.05);
    clipGradValue(b.parameters(), 0.05);
    b.parameters().forEach((p, i) => expect(Array.from(p.grad)).toEqual(Array.from(a.parameters()[i].grad)));
    const some = [b.parameters()[0], b.parameters()[2]]; // not adjacent: one array per parameter
    const calls = jest.spyOn(native, 'clipGradValue');
    try {
      clipGradValue(some, 0.01);
      expect(calls.mock.calls[0][0]).toHaveLength(2);
    } finally {
      calls.mockRestore();
    }
  });
});

type AnyOptimizer = Optimizer<{ lr: number; weightDecay: number }>;
const KERNEL = { SGD: 'sgdStep', Adam: 'adamStep', AdamW: 'adamStep', RMSprop: 'rmspropStep', Adagrad: 'adagradStep' } as const;
const BUILD: Record<keyof typeof KERNEL, (groups: Array<{ params: Parameter[] }>) => AnyOptimizer> = {
  SGD: (g) => new SGD([{ ...g[0], momentum: 0.9, nesterov: true }, { ...g[1], lr: 0.05, momentum: 0.5, dampening: 0.1, weightDecay: 0.01 }], { lr: 0.1 }),
  Adam: (g) => new Adam([g[0], { ...g[1], lr: 0.02, weightDecay: 0.1, amsgrad: true }], { lr: 0.01 }),
  AdamW: (g) => new AdamW([g[0], { ...g[1], lr: 0.03, weightDecay: 0.2, maximize: true }], { lr: 0.01 }),
  RMSprop: (g) => new RMSprop([{ ...g[0], centered: true, momentum: 0.9 }, { ...g[1], lr: 0.001, weightDecay: 0.1 }], { lr: 0.01 }),
  Adagrad: (g) => new Adagrad([{ ...g[0], lrDecay: 0.01 }, { ...g[1], lr: 0.1, initialAccumulatorValue: 0.5, weightDecay: 0.1 }], { lr: 0.05 }),
};

describe('optimizer steps over arena runs', () => {
  /** rnn's parameters in group 0, head's in group 1 (maxNorm on the second group too). */
  const groupsOf = (m: TwoLayer) => [{ params: m.rnn.parameters() }, { params: m.head.parameters(), maxNorm: 0.5 }];

  it.each(Object.keys(BUILD) as Array<keyof typeof BUILD>)('%s with two parameter groups: the same weights and state as per parameter, one kernel call per group', (kind) => {
    const a = model(), b = model();
    const oa = BUILD[kind](groupsOf(a));
    const ob = BUILD[kind](groupsOf(b));
    const arena = b.flattenParameters({ order: ob.paramGroups.flatMap((g) => g.params) });
    for (let s = 0; s < 6; s++) {
      for (const [m, o] of [[a, oa], [b, ob]] as const) {
        o.zeroGrad();
        backward(m, s);
      }
      if (s === 3) ob.paramGroups[1].lr *= 0.5, oa.paramGroups[1].lr *= 0.5; // a scheduler's change
      oa.step();
      expect(countCalls(KERNEL[kind], () => ob.step())).toBe(2);
      b.parameters().forEach((p, i) => expect(Array.from(p.data)).toEqual(Array.from(a.parameters()[i].data)));
    }
    expect(ob.stateDict()).toEqual(oa.stateDict());
    const inSlot = new Uint8Array(arena.data.length);
    b.parameters().forEach((p, i) => inSlot.fill(1, arena.offsets[i], arena.offsets[i] + p.size));
    arena.data.forEach((v, k) => {
      if (!inSlot[k]) expect(v).toBe(0);
    });
  });

  it('groups whose parameters are not adjacent slots step parameter by parameter, with the same result', () => {
    const a = model(), b = model();
    const pick = (m: TwoLayer) => {
      const ps = m.parameters();
      return [{ params: ps.filter((_, i) => i % 2 === 0) }, { params: ps.filter((_, i) => i % 2 === 1), lr: 0.02 }];
    };
    const oa = new Adam(pick(a), { lr: 0.01 });
    const ob = new Adam(pick(b), { lr: 0.01 });
    b.flattenParameters(); // registration order: the groups interleave
    for (let s = 0; s < 3; s++) {
      for (const [m, o] of [[a, oa], [b, ob]] as const) {
        o.zeroGrad();
        backward(m, s);
        o.step();
      }
    }
    b.parameters().forEach((p, i) => expect(Array.from(p.data)).toEqual(Array.from(a.parameters()[i].data)));
  });

  it('a state loaded mid-run (a resumed checkpoint), a flatten between steps and a per-parameter step in between keep the results', () => {
    const a = model(), b = model();
    const oa = new Adam(groupsOf(a), { lr: 0.01 });
    let ob = new Adam(groupsOf(b), { lr: 0.01 });
    b.flattenParameters({ order: ob.paramGroups.flatMap((g) => g.params) });
    const step = (s: number) => {
      for (const [m, o] of [[a, oa], [b, ob]] as const) {
        o.zeroGrad();
        backward(m, s);
        o.step();
      }
    };
    step(0);
    step(1);
    // resume: a new optimizer over the same parameters, its state from a state dict
    const saved = ob.stateDict();
    ob = new Adam(groupsOf(b), { lr: 0.01 });
    ob.loadStateDict(saved);
    step(2);
    // flattened again in another order: group 1 first
    b.flattenParameters({ order: [...b.head.parameters(), ...b.rnn.parameters()] });
    step(3);
    // a parameter's gradient replaced by other code: that group goes parameter by parameter
    const p0 = b.rnn.parameters()[0];
    const q0 = a.rnn.parameters()[0];
    for (const [m, o] of [[a, oa], [b, ob]] as const) {
      o.zeroGrad();
      backward(m, 4);
    }
    p0.grad = p0.grad.slice();
    oa.step();
    ob.step();
    expect(Array.from(p0.data)).toEqual(Array.from(q0.data));
    b.flattenParameters();
    step(5);
    b.parameters().forEach((p, i) => expect(Array.from(p.data)).toEqual(Array.from(a.parameters()[i].data)));
    expect(ob.stateDict()).toEqual(oa.stateDict());
  });

  it('Adam with eps 0 stays per parameter (the padding would become 0/0)', () => {
    const m = model();
    const o = new Adam(m.parameters(), { lr: 0.01, eps: 0 });
    const arena = m.flattenParameters();
    backward(m, 0);
    expect(countCalls('adamStep', () => o.step())).toBe(m.parameters().length);
    const inSlot = new Uint8Array(arena.data.length);
    m.parameters().forEach((p, i) => inSlot.fill(1, arena.offsets[i], arena.offsets[i] + p.size));
    arena.data.forEach((v, k) => {
      if (!inSlot[k]) expect(v).toBe(0);
    });
  });

  // test 52's torch.optim fixtures, with the parameters in an arena in group order
  interface OptimCase {
    name: string;
    optimizer: keyof typeof KERNEL;
    options: Record<string, unknown>;
    groups: Array<{ params: number[]; maxNorm?: number } & Record<string, unknown>>;
    params: Array<{ name: string; shape: number[]; init: FixtureTensor }>;
    lrChanges: Array<{ beforeStep: number; group: number; lr: number }>;
    steps: Array<{ grads: number[][]; params: number[][] }>;
  }
  const { optim } = loadFixture<{ optim: OptimCase[] }>('training.json');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const CLASSES: Record<string, new (params: any, options: any) => AnyOptimizer> = { SGD, Adam, AdamW, RMSprop, Adagrad };
  it.each(optim.map((c) => [c.name, c] as const))('%s (torch.optim fixture) in an arena: within 1e-6 of torch', (_n, c) => {
    const ps = c.params.map((p) => new Parameter(Float32Array.from(p.init.data), p.shape));
    const opt = new CLASSES[c.optimizer](c.groups.map(({ params, ...o }) => ({ params: params.map((i) => ps[i]), ...o })), { ...c.options });
    const arena = new ParameterArena(opt.paramGroups.flatMap((g) => g.params));
    const flat = opt.paramGroups.filter((g) => arena.rangeOf(g.params) !== null).length;
    expect(flat).toBe(2);
    for (let k = 0; k < c.steps.length; k++) {
      for (const ch of c.lrChanges) if (ch.beforeStep === k) opt.paramGroups[ch.group].lr = ch.lr;
      opt.zeroGrad();
      ps.forEach((p, i) => p.grad.set(c.steps[k].grads[i]));
      opt.step();
      ps.forEach((p, i) => expect(maxError(p.data, c.steps[k].params[i])).toBeLessThanOrEqual(1e-6));
    }
  });
});

describe('the trainer', () => {
  it('fitSync trains the model in an arena, each optimizer group one run of slots', () => {
    manualSeed(3);
    const lm = new LanguageModel({ vocabSize: 9, embeddingDim: 4, hiddenSize: 8, numLayers: 1, cell: 'lstm' });
    const ids = Int32Array.from({ length: 400 }, (_, i) => (i * 7) % 9);
    let gradientsInArena = false;
    const result = fitSync(lm, ids, {
      epochs: 1, batchSize: 4, seqLength: 8, maxBatches: 3, clipGradNorm: 1, validationFraction: 0, seed: 1,
      optimizer: { type: 'Adam', lr: 1e-2, groups: [{ params: ['head'], lr: 5e-3 }] },
    }, {
      onGradients: ({ parameters }) => {
        const arena = ParameterArena.of(parameters[0][1]);
        gradientsInArena = arena !== null && parameters.every(([, p]) => ParameterArena.of(p) === arena);
      },
    });
    expect(result.steps).toBe(3);
    expect(gradientsInArena).toBe(true);
    const arena = ParameterArena.of(lm.head.weight)!;
    expect(arena.valid).toBe(true);
    // the head's group first, then the rest (the optimizer's groups in order)
    expect(arena.parameters.slice(0, 2)).toEqual([lm.head.weight, lm.head.bias]);
    expect(arena.rangeOf(lm.head.parameters())).toEqual([0, arena.offsets[2]]);
  });
});
