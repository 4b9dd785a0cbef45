// SGD, Adam, AdamW, RMSprop and Adagrad against torch.optim 1.13, with two parameter groups,
// per-group options, our per-group maxNorm and learning rates changed mid-run
// (scripts/make_training_fixtures.py → test/fixtures/training.json, section "optim").
import { Adagrad, Adam, AdamW, Optimizer, Parameter, RMSprop, SGD } from '../lib';
import { FixtureTensor, loadFixture, maxError } from './helpers/fixtures';
import { throwsWith } from './helpers/errors';

interface OptimCase {
  name: string;
  optimizer: 'SGD' | 'Adam' | 'AdamW' | 'RMSprop' | 'Adagrad';
  options: Record<string, unknown>;
  groups: Array<{ params: number[]; maxNorm?: number } & Record<string, unknown>>;
  params: Array<{ name: string; shape: number[]; init: FixtureTensor }>;
  lrChanges: Array<{ beforeStep: number; group: number; lr: number }>;
  steps: Array<{ grads: number[][]; params: number[][] }>;
}

const { optim } = loadFixture<{ optim: OptimCase[] }>('training.json');
// Each step is a handful of float32 operations per element; torch and we may round a step
// differently by an ulp or two, and that difference is carried (not amplified) by later steps.
const TOL = 1e-6;

const worst: Record<string, number> = {};
afterAll(() => {
  if (process.env.REPORT_ERRORS) console.log('max errors (|a-b|/(1+|b|)):', worst);
});

type AnyOptimizer = Optimizer<{ lr: number; weightDecay: number }>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const CLASSES: Record<OptimCase['optimizer'], new (params: any, options: any) => AnyOptimizer> = { SGD, Adam, AdamW, RMSprop, Adagrad };

function makeParams(c: OptimCase): Parameter[] {
  return c.params.map((p) => new Parameter(Float32Array.from(p.init.data), p.shape));
}

function build(c: OptimCase, ps: Parameter[]): AnyOptimizer {
  const groups = c.groups.map(({ params, ...opts }) => ({ params: params.map((i) => ps[i]), ...opts }));
  return new CLASSES[c.optimizer](groups, { ...c.options });
}

/** Runs steps [from, to) of the fixture: lr changes, then the recorded gradients, then step(). */
function run(c: OptimCase, opt: AnyOptimizer, ps: Parameter[], from: number, to: number, check?: (k: number) => void): void {
  for (let k = from; k < to; k++) {
    for (const ch of c.lrChanges) if (ch.beforeStep === k) opt.paramGroups[ch.group].lr = ch.lr;
    opt.zeroGrad();
    ps.forEach((p, i) => p.grad.set(c.steps[k].grads[i]));
    opt.step();
    check?.(k);
  }
}

const rowNorms = (data: ArrayLike<number>, rows: number, cols: number) =>
  Array.from({ length: rows }, (_, r) => Math.hypot(...Array.from({ length: cols }, (_, j) => data[r * cols + j])));

describe('optimizers against torch.optim', () => {
  it('cover every optimizer and option the contract names', () => {
    const kinds = new Set(optim.map((c) => c.optimizer));
    expect([...kinds].sort()).toEqual(['Adagrad', 'Adam', 'AdamW', 'RMSprop', 'SGD']);
    for (const k of kinds) expect(optim.some((c) => c.optimizer === k && c.groups.some((g) => g.maxNorm !== undefined))).toBe(true);
    const all = (c: OptimCase) => ({ ...c.options, ...Object.assign({}, ...c.groups) });
    for (const opt of ['momentum', 'dampening', 'nesterov', 'weightDecay', 'maximize', 'amsgrad', 'betas', 'eps', 'alpha',
      'centered', 'lrDecay', 'initialAccumulatorValue'])
      expect(optim.some((c) => all(c)[opt] !== undefined)).toBe(true);
  });

  it.each(optim.map((c) => [c.name, c] as const))('%s: parameters after each of 8 steps match', (_n, c) => {
    const ps = makeParams(c);
    const opt = build(c, ps);
    expect(opt.paramGroups).toHaveLength(2);
    run(c, opt, ps, 0, c.steps.length, (k) => {
      ps.forEach((p, i) => {
        const err = maxError(p.data, c.steps[k].params[i]);
        worst[c.optimizer] = Math.max(worst[c.optimizer] ?? 0, err);
        if (!(err <= TOL)) throw new Error(`${c.name}: ${c.params[i].name} after step ${k + 1}: max error ${err} exceeds ${TOL}`);
      });
    });
  });

  const withMaxNorm = optim.filter((c) => c.groups.some((g) => g.maxNorm !== undefined));
  it.each(withMaxNorm.map((c) => [c.name, c] as const))('%s: maxNorm bounds the rows of the 2-D params of its group only', (_n, c) => {
    const gi = c.groups.findIndex((g) => g.maxNorm !== undefined);
    const maxNorm = c.groups[gi].maxNorm!;
    const ps = makeParams(c);
    const opt = build(c, ps);
    expect(opt.paramGroups[gi].maxNorm).toBe(maxNorm);
    let renormed = 0;
    let otherAbove = 0;
    run(c, opt, ps, 0, c.steps.length, () => {
      ps.forEach((p, i) => {
        if (p.shape.length !== 2) return;
        const norms = rowNorms(p.data, p.shape[0], p.shape[1]);
        if (c.groups[gi].params.includes(i)) {
          for (const n of norms) expect(n).toBeLessThanOrEqual(maxNorm * (1 + 1e-6));
          renormed += norms.filter((n) => Math.abs(n - maxNorm) < 1e-5).length;
        } else otherAbove += norms.filter((n) => n > maxNorm).length;
      });
    });
    expect(renormed).toBeGreaterThan(0); // the constraint was active …
    expect(otherAbove).toBeGreaterThan(0); // … and only for its own group
  });

  it('resolves group options over the constructor options', () => {
    const c = optim.find((x) => x.name === 'adam_amsgrad_weight_decay_maxnorm')!;
    const opt = build(c, makeParams(c));
    const [g0, g1] = opt.paramGroups as unknown as Array<Record<string, unknown>>;
    expect(g0).toMatchObject({ lr: 0.05, weightDecay: 0.1, amsgrad: true, betas: [0.9, 0.999], eps: 1e-8, maxNorm: 0.45 });
    expect(g1).toMatchObject({ lr: 0.02, weightDecay: 0, amsgrad: true, betas: [0.8, 0.99], eps: 1e-6 });
    expect(g1.maxNorm).toBeUndefined();
  });

  it('Adagrad honours a group\'s initialAccumulatorValue (torch 1.13 uses the constructor\'s for every group)', () => {
    const a = new Parameter([1], [1]);
    const b = new Parameter([1], [1]);
    const opt = new Adagrad([{ params: [a], initialAccumulatorValue: 3 }, { params: [b] }], { lr: 0.1, initialAccumulatorValue: 0 });
    a.grad.set([1]);
    b.grad.set([1]);
    opt.step();
    expect(a.data[0]).toBeCloseTo(1 - 0.1 / Math.sqrt(4), 7); // sum = 3 + 1
    expect(b.data[0]).toBeCloseTo(1 - 0.1 / Math.sqrt(1), 7); // sum = 0 + 1
  });

  it('have torch\'s defaults', () => {
    const p = () => [new Parameter([1, 2], [2])];
    expect(new SGD(p(), { lr: 0.1 }).paramGroups[0]).toMatchObject({ lr: 0.1, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, maximize: false });
    expect(new Adam(p()).paramGroups[0]).toMatchObject({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false });
    expect(new AdamW(p()).paramGroups[0]).toMatchObject({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false });
    expect(new RMSprop(p()).paramGroups[0]).toMatchObject({ lr: 1e-2, alpha: 0.99, eps: 1e-8, momentum: 0, centered: false, weightDecay: 0 });
    expect(new Adagrad(p()).paramGroups[0]).toMatchObject({ lr: 1e-2, lrDecay: 0, eps: 1e-10, weightDecay: 0, initialAccumulatorValue: 0 });
  });

  it('a plain parameter list is one group, and group metadata travels with the group', () => {
    const a = new Parameter([1, 2], [2]);
    const b = new Parameter([3], [1]);
    const opt = new SGD([a, b], { lr: 0.5 });
    expect(opt.paramGroups).toHaveLength(1);
    expect(opt.paramGroups[0].params).toEqual([a, b]);
    a.grad.set([1, 1]);
    b.grad.set([2]);
    opt.step();
    expect(Array.from(a.data)).toEqual([0.5, 1.5]);
    expect(Array.from(b.data)).toEqual([2]);
    opt.zeroGrad();
    expect([...a.grad, ...b.grad]).toEqual([0, 0, 0]);
    const tagged = new Adam([{ params: [a], name: 'decay' } as never]);
    expect((tagged.paramGroups[0] as unknown as { name: string }).name).toBe('decay');
  });
});

describe('optimizer state dicts', () => {
  it.each(optim.map((c) => [c.name, c] as const))('%s: 4 steps, stateDict, a new optimizer, loadStateDict, 4 steps == 8 steps exactly', (_n, c) => {
    const straight = makeParams(c);
    run(c, build(c, straight), straight, 0, 8);

    const ps = makeParams(c);
    const first = build(c, ps);
    run(c, first, ps, 0, 4);
    const sd = first.stateDict();
    expect(sd.paramGroups.map((g) => g.params)).toEqual(c.groups.map((g, gi) => g.params.map((_, j) => c.groups.slice(0, gi).reduce((n, x) => n + x.params.length, 0) + j)));
    // fresh parameters holding the current values, and an optimizer built from the fixture's options
    const resumed = ps.map((p) => new Parameter(p.data.slice(), p.shape.slice()));
    const second = build(c, resumed);
    // the state dict is a copy: running the old optimizer on does not change it
    run(c, first, ps, 4, 5);
    second.loadStateDict(sd);
    run(c, second, resumed, 4, 8);
    resumed.forEach((p, i) => expect(p.data).toEqual(straight[i].data));
    expect(second.paramGroups.map((g) => g.lr)).toEqual(build(c, makeParams(c)).paramGroups.map((g, gi) => {
      const changes = c.lrChanges.filter((ch) => ch.group === gi);
      return changes.length ? changes[changes.length - 1].lr : g.lr;
    }));
  });

  it('loadStateDict restores the learning rates the old optimizer had', () => {
    const p = new Parameter([1, 2], [2]);
    const a = new Adam([p], { lr: 0.1 });
    a.paramGroups[0].lr = 0.025;
    const b = new Adam([new Parameter([1, 2], [2])], { lr: 0.1 });
    b.loadStateDict(a.stateDict());
    expect(b.paramGroups[0].lr).toBe(0.025);
  });

  it('loadStateDict rejects a state dict that does not fit', () => {
    const mk = () => [new Parameter([1, 2, 3], [3]), new Parameter([4], [1])];
    const a = new Adam(mk(), { lr: 0.1 });
    a.paramGroups.forEach((g) => g.params.forEach((q) => q.grad.fill(1)));
    a.step();
    const sd = a.stateDict();
    expect(() => new Adam([{ params: [mk()[0]] }, { params: [mk()[1]] }]).loadStateDict(sd)).toThrow(RangeError);
    expect(() => new Adam([mk()[0]]).loadStateDict(sd)).toThrow(/parameters/);
    expect(() => new Adam([new Parameter([1, 2], [2]), new Parameter([4], [1])]).loadStateDict(sd)).toThrow(/length 2/);
    expect(() => new Adam(mk()).loadStateDict(null as never)).toThrow(TypeError);
    expect(() => new Adam(mk()).loadStateDict({ state: {}, paramGroups: 'x' } as never)).toThrow(TypeError);
    const bad = { state: { 0: { step: 'one' } }, paramGroups: sd.paramGroups };
    expect(() => new Adam(mk()).loadStateDict(bad as never)).toThrow(TypeError);
  });
});


describe('optimizer validation', () => {
  const w = () => new Parameter([1, 2, 3, 4], [2, 2]);

  it('rejects empty or malformed parameter lists', () => {
    for (const Cls of [Adam, AdamW, RMSprop, Adagrad]) throwsWith(() => new Cls([]), RangeError, Cls.name, 'empty');
    throwsWith(() => new SGD([], { lr: 0.1 }), RangeError, 'SGD', 'empty');
    throwsWith(() => new Adam(w() as never), TypeError, 'Adam', 'params');
    throwsWith(() => new Adam('weights' as never), TypeError, 'params');
    throwsWith(() => new Adam([w(), new Float32Array(3)] as never), TypeError, 'Adam', 'params');
    throwsWith(() => new Adam([{ params: [w()] }, { params: w() }] as never), TypeError, 'params[1]');
    throwsWith(() => new Adam([{ params: [w(), { data: [1] }] }] as never), TypeError, 'params[0].params[1]', 'Parameter');
  });

  it('rejects a parameter in two groups', () => {
    const shared = w();
    throwsWith(() => new Adam([{ params: [w(), shared] }, { params: [shared] }]), RangeError, 'params[1].params[0]', 'more than one parameter group');
    throwsWith(() => new SGD([{ params: [shared] }, { params: [w(), shared], lr: 0.2 }], { lr: 0.1 }), RangeError, 'more than one parameter group');
  });

  it('rejects unknown options', () => {
    throwsWith(() => new Adam([w()], { beta1: 0.9 } as never), RangeError, 'Adam', 'unknown option "beta1"');
    throwsWith(() => new SGD([w()], { lr: 0.1, weight_decay: 0.1 } as never), RangeError, 'unknown option "weight_decay"');
    throwsWith(() => new RMSprop([w()], { rho: 0.9 } as never), RangeError, 'RMSprop', '"rho"');
    throwsWith(() => new Adagrad([w()], { momentum: 0.9 } as never), RangeError, 'Adagrad', '"momentum"');
    throwsWith(() => new AdamW([w()], { centered: true } as never), RangeError, 'AdamW', '"centered"');
  });

  it('rejects wrong types (TypeError) and wrong values (RangeError), naming the option', () => {
    throwsWith(() => new SGD([w()], undefined as never), TypeError, 'SGD', 'lr');
    throwsWith(() => new SGD([w()], {} as never), TypeError, 'SGD', 'lr');
    throwsWith(() => new SGD([w()], { lr: '0.1' } as never), TypeError, 'options.lr');
    throwsWith(() => new SGD([w()], { lr: -0.1 }), RangeError, 'options.lr', '-0.1');
    throwsWith(() => new SGD([w()], { lr: NaN }), RangeError, 'options.lr');
    throwsWith(() => new SGD([w()], { lr: 0.1, momentum: -0.5 }), RangeError, 'options.momentum');
    throwsWith(() => new SGD([w()], { lr: 0.1, nesterov: 1 } as never), TypeError, 'options.nesterov', 'boolean');
    throwsWith(() => new SGD([w()], { lr: 0.1, nesterov: true }), RangeError, 'Nesterov');
    throwsWith(() => new SGD([w()], { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), RangeError, 'Nesterov');
    throwsWith(() => new Adam([w()], { betas: 0.9 } as never), TypeError, 'options.betas');
    throwsWith(() => new Adam([w()], { betas: [0.9] } as never), TypeError, 'options.betas');
    throwsWith(() => new Adam([w()], { betas: [0.9, 1] }), RangeError, 'options.betas[1]');
    throwsWith(() => new Adam([w()], { betas: [-0.1, 0.999] }), RangeError, 'options.betas[0]');
    throwsWith(() => new Adam([w()], { eps: -1e-8 }), RangeError, 'options.eps');
    throwsWith(() => new Adam([w()], { amsgrad: 'yes' } as never), TypeError, 'options.amsgrad');
    throwsWith(() => new AdamW([w()], { weightDecay: -0.01 }), RangeError, 'options.weightDecay');
    throwsWith(() => new RMSprop([w()], { alpha: -0.5 }), RangeError, 'options.alpha');
    throwsWith(() => new RMSprop([w()], { centered: 0 } as never), TypeError, 'options.centered');
    throwsWith(() => new Adagrad([w()], { lrDecay: -1 }), RangeError, 'options.lrDecay');
    throwsWith(() => new Adagrad([w()], { initialAccumulatorValue: -0.1 }), RangeError, 'options.initialAccumulatorValue');
    throwsWith(() => new Adam(null as never), TypeError, 'params');
    throwsWith(() => new Adam([w()], 'fast' as never), TypeError, 'options');
    // group options are checked the same way and named by their group
    throwsWith(() => new Adam([{ params: [w()] }, { params: [w()], lr: 'x' }] as never), TypeError, 'params[1].lr');
    throwsWith(() => new Adam([{ params: [w()], weightDecay: -1 }]), RangeError, 'params[0].weightDecay');
    throwsWith(() => new Adam([{ params: [w()], maxNorm: 0 }]), RangeError, 'params[0].maxNorm');
    throwsWith(() => new Adam([{ params: [w()], maxNorm: '1' }] as never), TypeError, 'params[0].maxNorm');
    throwsWith(() => new SGD([{ params: [w()], nesterov: true }], { lr: 0.1 }), RangeError, 'Nesterov');
  });

  it('step() rejects a learning rate a scheduler or user broke', () => {
    const opt = new Adam([w()]);
    opt.paramGroups[0].lr = NaN;
    throwsWith(() => opt.step(), RangeError, 'Adam.step', 'lr');
    opt.paramGroups[0].lr = 'x' as never;
    throwsWith(() => opt.step(), TypeError, 'lr');
  });
});
