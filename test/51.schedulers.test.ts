// Learning-rate schedulers against torch.optim.lr_scheduler (PyTorch 1.13), from
// test/fixtures/schedulers.json (scripts/make_scheduler_fixtures.py). Learning rates must agree
// to 1e-12 relative at every step; resuming from a state dict must reproduce an uninterrupted
// run exactly.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ChainedScheduler,
  CosineAnnealingLR,
  CosineAnnealingWarmRestarts,
  ExponentialLR,
  LambdaLR,
  LinearLR,
  LRScheduler,
  MultiStepLR,
  OneCycleLR,
  ReduceLROnPlateau,
  SchedulableOptimizer,
  SequentialLR,
  StepLR,
  type LrLambda,
  type OptimizerLike,
  type SchedulerState,
} from '../lib/optim/schedulers';
import { Adam, SGD } from '../lib/optim/optimizers';
import { Parameter } from '../lib/core/tensor';

type Group = { lr: number; momentum?: number; betas?: number[] };
interface Spec {
  scheduler: string;
  options: Record<string, unknown>;
}
interface Case extends Spec {
  name: string;
  optimizer: 'sgd' | 'adam';
  groups: Group[];
  metrics?: number[];
  lrs: number[][];
  momentum?: number[][];
  beta2?: number[][];
}
const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'schedulers.json'), 'utf8')) as {
  generator: string;
  cases: Case[];
};
const cases = fixture.cases;

// The same functions as LAMBDAS in scripts/make_scheduler_fixtures.py.
const LAMBDAS: Record<string, LrLambda> = {
  pow095: (e) => 0.95 ** e,
  inverse: (e) => 1.0 / (1 + 0.1 * e),
  stairs: (e) => 0.5 ** Math.floor(e / 4),
};

/** The minimal fake optimizer: two param groups with different base lrs. */
function fakeOptimizer(groups: Group[] = [{ lr: 0.1, momentum: 0.9 }, { lr: 0.01, momentum: 0.9 }]): SchedulableOptimizer {
  return { paramGroups: groups.map((g) => (g.betas ? { ...g, betas: g.betas.slice() } : { ...g })) };
}

function build(opt: OptimizerLike, spec: Spec): LRScheduler {
  const o = { ...spec.options } as Record<string, unknown>;
  if (typeof o.lrLambda === 'string') o.lrLambda = LAMBDAS[o.lrLambda];
  else if (Array.isArray(o.lrLambda)) o.lrLambda = (o.lrLambda as string[]).map((k) => LAMBDAS[k]);
  if (Array.isArray(o.schedulers)) o.schedulers = (o.schedulers as Spec[]).map((s) => build(opt, s));
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const any = o as any;
  switch (spec.scheduler) {
    case 'StepLR': return new StepLR(opt, any);
    case 'MultiStepLR': return new MultiStepLR(opt, any);
    case 'ExponentialLR': return new ExponentialLR(opt, any);
    case 'CosineAnnealingLR': return new CosineAnnealingLR(opt, any);
    case 'CosineAnnealingWarmRestarts': return new CosineAnnealingWarmRestarts(opt, any);
    case 'LinearLR': return new LinearLR(opt, any);
    case 'OneCycleLR': return new OneCycleLR(opt, any);
    case 'LambdaLR': return new LambdaLR(opt, any);
    case 'ReduceLROnPlateau': return new ReduceLROnPlateau(opt, any);
    case 'SequentialLR': return new SequentialLR(opt, any);
    case 'ChainedScheduler': return new ChainedScheduler(any.schedulers);
    default: throw new Error(`unknown scheduler ${spec.scheduler}`);
  }
}

const stepsOf = (c: Case) => c.lrs.length - 1;
const momentumOf = (opt: OptimizerLike) =>
  (opt as SchedulableOptimizer).paramGroups.map((g) => (Array.isArray(g.betas) ? (g.betas[0] as number) : (g.momentum as number)));

interface Trace {
  lrs: number[][];
  groupLrs: number[][];
  momentum: number[][];
  beta2: number[][];
}

function record(t: Trace, opt: SchedulableOptimizer, s: LRScheduler): void {
  t.lrs.push(s.getLastLr());
  t.groupLrs.push(opt.paramGroups.map((g) => g.lr));
  t.momentum.push(momentumOf(opt));
  t.beta2.push(opt.paramGroups.map((g) => (Array.isArray(g.betas) ? (g.betas[1] as number) : NaN)));
}

function stepOnce(s: LRScheduler, c: Case, k: number): void {
  if (s instanceof ReduceLROnPlateau) s.step(c.metrics![k]);
  else s.step();
}

/** Runs a case from construction: the trace of (steps + 1) rows. */
function run(c: Case): Trace {
  const opt = fakeOptimizer(c.groups);
  const s = build(opt, c);
  const t: Trace = { lrs: [], groupLrs: [], momentum: [], beta2: [] };
  record(t, opt, s);
  for (let k = 0; k < stepsOf(c); k++) {
    stepOnce(s, c, k);
    record(t, opt, s);
  }
  return t;
}

/** |a − e| ≤ 1e-12·|e| for every entry, with a readable failure. */
function expectRowsClose(what: string, actual: number[][], expected: number[][]): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((row, r) => {
    expect(actual[r].length).toBe(row.length);
    row.forEach((e, i) => {
      const a = actual[r][i];
      if (!(Math.abs(a - e) <= 1e-12 * Math.abs(e)))
        throw new Error(`${what}: row ${r} (after ${r} steps) group ${i}: ${a} but torch gives ${e} (rel ${Math.abs(a - e) / Math.abs(e)})`);
    });
  });
}

function checkAgainstTorch(c: Case): void {
  const t = run(c);
  expectRowsClose(`${c.name} getLastLr`, t.lrs, c.lrs);
  expectRowsClose(`${c.name} group.lr`, t.groupLrs, c.lrs);
  if (c.momentum) expectRowsClose(`${c.name} momentum`, t.momentum, c.momentum);
  if (c.beta2) expect(t.beta2).toEqual(c.beta2);
}

/**
 * Runs half the case, saves the scheduler state (through JSON) and the optimizer's groups (as
 * an optimizer's stateDict would), rebuilds both from scratch as at the start of the run,
 * loads the states and finishes: the rows must equal the uninterrupted run's exactly.
 */
function checkResume(c: Case, at = Math.floor(stepsOf(c) / 2)): void {
  const full = run(c);
  const opt = fakeOptimizer(c.groups);
  const s = build(opt, c);
  for (let k = 0; k < at; k++) stepOnce(s, c, k);
  const saved = JSON.stringify(s.stateDict());
  const savedGroups = JSON.stringify(opt.paramGroups);
  expect(JSON.parse(saved)).toEqual(s.stateDict()); // plain JSON data, no functions, nothing lost

  const opt2 = fakeOptimizer(c.groups);
  const s2 = build(opt2, c);
  const groups = JSON.parse(savedGroups) as Array<Record<string, unknown>>;
  opt2.paramGroups.forEach((g, i) => Object.assign(g, groups[i])); // "optimizer.loadStateDict"
  s2.loadStateDict(JSON.parse(saved));
  expect(s2.lastEpoch).toBe(s.lastEpoch);
  expect(s2.getLastLr()).toEqual(s.getLastLr());
  const t: Trace = { lrs: [], groupLrs: [], momentum: [], beta2: [] };
  for (let k = at; k < stepsOf(c); k++) {
    stepOnce(s2, c, k);
    record(t, opt2, s2);
  }
  expect(t.lrs).toEqual(full.lrs.slice(at + 1));
  expect(t.momentum).toEqual(full.momentum.slice(at + 1));
  expectRowsClose(`${c.name} resumed`, t.lrs, c.lrs.slice(at + 1));
}

function casesOf(scheduler: string): Array<readonly [string, Case]> {
  const list = cases.filter((c) => c.scheduler === scheduler).map((c) => [c.name, c] as const);
  if (list.length === 0) throw new Error(`no fixture for ${scheduler}`);
  return list;
}

function torchParity(scheduler: string): void {
  it.each(casesOf(scheduler))('%s matches torch 1.13 at every step', (_n, c) => checkAgainstTorch(c));
  it.each(casesOf(scheduler))('%s resumes from a state dict mid-run', (_n, c) => checkResume(c));
}

/** Expects `fn` to throw `type` with a message naming every fragment. */
function expectError(fn: () => unknown, type: typeof TypeError | typeof RangeError, ...fragments: Array<string | RegExp>): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(type);
  expect((error as Error).constructor).toBe(type);
  for (const f of fragments) expect((error as Error).message).toMatch(f);
}

const fixtureCase = (name: string) => {
  const c = cases.find((x) => x.name === name);
  if (!c) throw new Error(`no fixture case ${name}`);
  return c;
};

describe('schedulers fixture', () => {
  it('was generated by torch 1.13 and covers every scheduler', () => {
    expect(fixture.generator).toMatch(/torch 1\.13/);
    expect(new Set(cases.map((c) => c.scheduler)).size).toBe(11);
  });
});

describe('LRScheduler (common behaviour)', () => {
  it('every scheduler is an LRScheduler with lastEpoch 0 after construction', () => {
    for (const c of cases) {
      const s = build(fakeOptimizer(c.groups), c);
      expect(s).toBeInstanceOf(LRScheduler);
      expect(s.lastEpoch).toBe(0);
    }
  });

  it('records initialLr in each group, keeping an existing one as the base lr (torch setdefault)', () => {
    const opt = fakeOptimizer();
    new ExponentialLR(opt, { gamma: 0.5 });
    expect(opt.paramGroups.map((g) => g.initialLr)).toEqual([0.1, 0.01]);
    const opt2 = { paramGroups: [{ lr: 0.3, initialLr: 0.2 }] };
    const s = new LambdaLR(opt2, { lrLambda: () => 0.5 });
    expect(opt2.paramGroups[0].initialLr).toBe(0.2);
    expect(s.getLastLr()).toEqual([0.1]);
  });

  it('getLastLr returns a fresh copy', () => {
    const s = new StepLR(fakeOptimizer(), { stepSize: 2 });
    s.getLastLr()[0] = 42;
    expect(s.getLastLr()).toEqual([0.1, 0.01]);
  });

  it('rejects a non-optimizer and bad param groups', () => {
    expectError(() => new StepLR(null as never, { stepSize: 1 }), TypeError, 'StepLR', 'optimizer', 'received null');
    expectError(() => new StepLR({} as never, { stepSize: 1 }), TypeError, 'optimizer.paramGroups', 'received undefined');
    expectError(() => new StepLR({ paramGroups: [] }, { stepSize: 1 }), RangeError, 'optimizer.paramGroups', 'at least one');
    expectError(() => new StepLR({ paramGroups: [5] } as never, { stepSize: 1 }), TypeError, 'optimizer.paramGroups[0]');
    expectError(() => new StepLR({ paramGroups: [{ lr: '0.1' }] } as never, { stepSize: 1 }), TypeError, 'optimizer.paramGroups[0].lr', '"0.1"');
    expectError(() => new StepLR({ paramGroups: [{ lr: -1 }] }, { stepSize: 1 }), RangeError, 'optimizer.paramGroups[0].lr', '-1');
    expectError(() => new StepLR({ paramGroups: [{ lr: 0.1, initialLr: 'x' }] }, { stepSize: 1 }), TypeError, 'paramGroups[0].initialLr');
  });

  it('rejects unknown options and non-object options', () => {
    expectError(() => new StepLR(fakeOptimizer(), { stepSize: 1, gama: 0.5 } as never), RangeError, 'unknown option "gama"', 'gamma');
    expectError(() => new StepLR(fakeOptimizer(), 3 as never), TypeError, 'StepLR', 'options');
    expectError(() => new StepLR(fakeOptimizer(), undefined as never), TypeError, 'options', 'stepSize');
  });

  it("rejects torch's deprecated step(epoch)", () => {
    const s = new ExponentialLR(fakeOptimizer(), { gamma: 0.5 });
    expectError(() => (s.step as (e: number) => void)(3), TypeError, 'ExponentialLR.step', 'no argument', 'received 3');
    expect(s.lastEpoch).toBe(0);
  });

  it('throws on a param group whose lr was broken or whose count changed, changing nothing', () => {
    const opt = fakeOptimizer();
    const s = new ExponentialLR(opt, { gamma: 0.5 });
    (opt.paramGroups[1] as { lr: unknown }).lr = 'oops';
    expectError(() => s.step(), TypeError, 'ExponentialLR.step', 'optimizer.paramGroups[1].lr');
    expect(s.lastEpoch).toBe(0);
    expect(opt.paramGroups[0].lr).toBe(0.1);
    opt.paramGroups[1].lr = 0.01;
    opt.paramGroups.push({ lr: 1 });
    expectError(() => s.step(), RangeError, 'optimizer.paramGroups', '2 param groups');
  });

  describe('loadStateDict validation', () => {
    const make = () => new StepLR(fakeOptimizer(), { stepSize: 3, gamma: 0.5 });
    it('rejects a non-object state', () => {
      expectError(() => make().loadStateDict(null as never), TypeError, 'StepLR.loadStateDict', 'state', 'received null');
      expectError(() => make().loadStateDict([] as never), TypeError, 'state');
    });
    it('rejects the state of another scheduler class', () => {
      const other = new ExponentialLR(fakeOptimizer(), { gamma: 0.5 }).stateDict();
      expectError(() => make().loadStateDict(other), RangeError, 'state.type', '"StepLR"', '"ExponentialLR"');
      expectError(() => make().loadStateDict({ ...make().stateDict(), type: 3 }), TypeError, 'state.type');
    });
    it('names the bad field, and changes nothing on error', () => {
      const s = make();
      s.step();
      const before = s.stateDict();
      const good = make().stateDict();
      const bad = (patch: Record<string, unknown>) => ({ ...good, ...patch }) as SchedulerState;
      expectError(() => s.loadStateDict(bad({ lastEpoch: undefined })), TypeError, 'state.lastEpoch', 'undefined');
      expectError(() => s.loadStateDict(bad({ lastEpoch: 1.5 })), RangeError, 'state.lastEpoch', '1.5');
      expectError(() => s.loadStateDict(bad({ stepCount: -1 })), RangeError, 'state.stepCount');
      expectError(() => s.loadStateDict(bad({ baseLrs: [0.1] })), RangeError, 'state.baseLrs', 'length 2');
      expectError(() => s.loadStateDict(bad({ baseLrs: 'x' })), TypeError, 'state.baseLrs');
      expectError(() => s.loadStateDict(bad({ lastLr: [0.1, 'x'] })), TypeError, 'state.lastLr[1]');
      expectError(() => s.loadStateDict(bad({ stepSize: 0 })), RangeError, 'state.stepSize', 'received 0');
      expectError(() => s.loadStateDict(bad({ gamma: '0.5' })), TypeError, 'state.gamma');
      expect(s.stateDict()).toEqual(before);
    });
    it('restores hyperparameters from the state, as torch', () => {
      const s = make();
      s.loadStateDict({ ...s.stateDict(), stepSize: 7, gamma: 0.25 });
      expect(s.stepSize).toBe(7);
      expect(s.gamma).toBe(0.25);
    });
  });
});

describe('StepLR', () => {
  torchParity('StepLR');

  it('decays by gamma every stepSize epochs', () => {
    const opt = fakeOptimizer([{ lr: 1 }]);
    const s = new StepLR(opt, { stepSize: 2, gamma: 0.5 });
    const seen = [s.getLastLr()[0]];
    for (let i = 0; i < 5; i++) {
      s.step();
      seen.push(opt.paramGroups[0].lr);
    }
    expect(seen).toEqual([1, 1, 0.5, 0.5, 0.25, 0.25]);
  });

  it('validates its options', () => {
    expectError(() => new StepLR(fakeOptimizer(), { stepSize: 0 }), RangeError, 'StepLR', 'stepSize', 'integer', 'received 0');
    expectError(() => new StepLR(fakeOptimizer(), { stepSize: 2.5 }), RangeError, 'stepSize', '2.5');
    expectError(() => new StepLR(fakeOptimizer(), { stepSize: '3' } as never), TypeError, 'stepSize', '"3"', 'string');
    expectError(() => new StepLR(fakeOptimizer(), {} as never), TypeError, 'stepSize', 'undefined');
    expectError(() => new StepLR(fakeOptimizer(), { stepSize: 3, gamma: -0.1 }), RangeError, 'gamma', '-0.1');
    expectError(() => new StepLR(fakeOptimizer(), { stepSize: 3, gamma: null } as never), TypeError, 'gamma', 'null');
  });
});

describe('MultiStepLR', () => {
  torchParity('MultiStepLR');

  it('keeps the milestones sorted with repeats, like torch Counter', () => {
    const s = new MultiStepLR(fakeOptimizer(), { milestones: [10, 4, 10] });
    expect(s.milestones).toEqual([4, 10, 10]);
    expect(s.stateDict().milestones).toEqual([4, 10, 10]);
  });

  it('validates its options', () => {
    expectError(() => new MultiStepLR(fakeOptimizer(), { milestones: 5 } as never), TypeError, 'MultiStepLR', 'milestones', 'array');
    expectError(() => new MultiStepLR(fakeOptimizer(), { milestones: [3, 1.5] }), RangeError, 'milestones[1]', '1.5');
    expectError(() => new MultiStepLR(fakeOptimizer(), { milestones: [-1] }), RangeError, 'milestones[0]', '-1');
    expectError(() => new MultiStepLR(fakeOptimizer(), { milestones: ['2'] } as never), TypeError, 'milestones[0]');
    expectError(() => new MultiStepLR(fakeOptimizer(), { milestones: [2], gamma: NaN }), RangeError, 'gamma', 'NaN');
  });
});

describe('ExponentialLR', () => {
  torchParity('ExponentialLR');

  it('validates its options', () => {
    expectError(() => new ExponentialLR(fakeOptimizer(), {} as never), TypeError, 'ExponentialLR', 'gamma', 'undefined');
    expectError(() => new ExponentialLR(fakeOptimizer(), { gamma: Infinity }), RangeError, 'gamma', 'Infinity');
  });

  it('stores non-finite lrs as strings in the state dict and restores them', () => {
    const opt = fakeOptimizer([{ lr: 1e300 }]);
    const s = new ExponentialLR(opt, { gamma: 1e10 });
    s.step();
    expect(s.getLastLr()).toEqual([Infinity]);
    const sd = JSON.parse(JSON.stringify(s.stateDict()));
    expect(sd.lastLr).toEqual(['Infinity']);
    const s2 = new ExponentialLR(fakeOptimizer([{ lr: 1e300 }]), { gamma: 1e10 });
    s2.loadStateDict(sd);
    expect(s2.getLastLr()).toEqual([Infinity]);
  });
});

describe('CosineAnnealingLR', () => {
  torchParity('CosineAnnealingLR');

  it('reaches etaMin at tMax', () => {
    const opt = fakeOptimizer();
    const s = new CosineAnnealingLR(opt, { tMax: 4, etaMin: 0.001 });
    for (let i = 0; i < 4; i++) s.step();
    expect(s.getLastLr()[0]).toBeCloseTo(0.001, 15);
  });

  it('validates its options', () => {
    expectError(() => new CosineAnnealingLR(fakeOptimizer(), { tMax: 0 }), RangeError, 'CosineAnnealingLR', 'tMax', 'received 0');
    expectError(() => new CosineAnnealingLR(fakeOptimizer(), { tMax: 10, etaMin: -1 }), RangeError, 'etaMin', '-1');
    expectError(() => new CosineAnnealingLR(fakeOptimizer(), { etaMin: 0 } as never), TypeError, 'tMax');
  });
});

describe('CosineAnnealingWarmRestarts', () => {
  torchParity('CosineAnnealingWarmRestarts');

  it('restarts after t0, then after t0·tMult more epochs', () => {
    const opt = fakeOptimizer([{ lr: 1 }]);
    const s = new CosineAnnealingWarmRestarts(opt, { t0: 2, tMult: 2 });
    const restarts: number[] = [];
    for (let e = 1; e <= 14; e++) {
      s.step();
      if (s.tCur === 0) restarts.push(e);
    }
    expect(restarts).toEqual([2, 6, 14]);
    expect(s.getLastLr()).toEqual([1]);
  });

  it('validates its options, and refuses a fractional epoch', () => {
    expectError(() => new CosineAnnealingWarmRestarts(fakeOptimizer(), { t0: 0 }), RangeError, 'CosineAnnealingWarmRestarts', 't0');
    expectError(() => new CosineAnnealingWarmRestarts(fakeOptimizer(), { t0: 3, tMult: 1.5 }), RangeError, 'tMult', '1.5');
    expectError(() => new CosineAnnealingWarmRestarts(fakeOptimizer(), { t0: 3, tMult: 0 }), RangeError, 'tMult');
    const s = new CosineAnnealingWarmRestarts(fakeOptimizer(), { t0: 3 });
    expectError(() => (s.step as (e: number) => void)(1.5), TypeError, 'CosineAnnealingWarmRestarts.step', 'fractional');
    expectError(() => s.loadStateDict({ ...s.stateDict(), tI: 0 }), RangeError, 'state.tI');
  });
});

describe('LinearLR', () => {
  torchParity('LinearLR');

  it('validates its options', () => {
    expectError(() => new LinearLR(fakeOptimizer(), { startFactor: 0 }), RangeError, 'LinearLR', 'startFactor', '> 0', 'received 0');
    expectError(() => new LinearLR(fakeOptimizer(), { startFactor: 1.5 }), RangeError, 'startFactor', '1.5');
    expectError(() => new LinearLR(fakeOptimizer(), { endFactor: 1.01 }), RangeError, 'endFactor');
    expectError(() => new LinearLR(fakeOptimizer(), { totalIters: 0 }), RangeError, 'totalIters');
    expectError(() => new LinearLR(fakeOptimizer(), { totalIters: '5' } as never), TypeError, 'totalIters');
  });
});

describe('OneCycleLR', () => {
  torchParity('OneCycleLR');

  it('writes betas[0] (keeping betas[1]) for Adam-like groups and momentum for SGD-like ones', () => {
    const adam = fakeOptimizer([{ lr: 0.1, betas: [0.9, 0.999] }]);
    new OneCycleLR(adam, { maxLr: 0.1, totalSteps: 10 });
    expect(adam.paramGroups[0].betas).toEqual([0.95, 0.999]);
    expect(adam.paramGroups[0].momentum).toBeUndefined();
    const sgd = fakeOptimizer([{ lr: 0.1, momentum: 0 }]);
    new OneCycleLR(sgd, { maxLr: 0.1, totalSteps: 10 });
    expect(sgd.paramGroups[0].momentum).toBe(0.95);
    expect(sgd.paramGroups[0]).toMatchObject({ initialLr: 0.004, maxLr: 0.1, maxMomentum: 0.95, baseMomentum: 0.85 });
  });

  it('needs momentum or betas in every group while cycleMomentum is true', () => {
    const opt = { paramGroups: [{ lr: 0.1 }] };
    expectError(() => new OneCycleLR(opt, { maxLr: 0.1, totalSteps: 10 }), RangeError, 'OneCycleLR', 'cycleMomentum', 'paramGroups[0]', 'neither momentum nor betas');
    expect(opt.paramGroups[0]).toEqual({ lr: 0.1 }); // untouched
    const s = new OneCycleLR(opt, { maxLr: 0.1, totalSteps: 10, cycleMomentum: false });
    expect(s.getLastLr()[0]).toBeCloseTo(0.004, 15);
    expect('momentum' in opt.paramGroups[0]).toBe(false);
    expectError(() => new OneCycleLR({ paramGroups: [{ lr: 0.1, betas: 0.9 }] }, { maxLr: 0.1, totalSteps: 10 }), TypeError, 'paramGroups[0].betas');
  });

  it('may step totalSteps times (the last extrapolates, as torch), then throws without changing anything', () => {
    const opt = fakeOptimizer();
    const s = new OneCycleLR(opt, { maxLr: 0.1, totalSteps: 5 });
    for (let i = 0; i < 5; i++) s.step();
    const lrs = s.getLastLr();
    expectError(() => s.step(), RangeError, 'OneCycleLR.step', 'called 6 times', 'totalSteps is 5');
    expect(s.lastEpoch).toBe(5);
    expect(s.getLastLr()).toEqual(lrs);
    expect(opt.paramGroups.map((g) => g.lr)).toEqual(lrs);
  });

  it("refuses a zero-length phase where torch divides by zero", () => {
    const opt = fakeOptimizer();
    // pctStart·totalSteps = 1: the first phase ends at step 0 (torch: ZeroDivisionError at construction)
    expectError(() => new OneCycleLR(opt, { maxLr: 0.1, totalSteps: 10, pctStart: 0.1 }), RangeError, 'phase 1', 'zero length', 'pctStart');
    expect(opt.paramGroups[0]).toEqual({ lr: 0.1, momentum: 0.9 });
    // pctStart = 1: only the extrapolated last step hits the empty second phase
    const s = new OneCycleLR(fakeOptimizer(), { maxLr: 0.1, totalSteps: 4, pctStart: 1 });
    for (let i = 0; i < 3; i++) s.step();
    expectError(() => s.step(), RangeError, 'phase 2', 'zero length');
    expect(s.lastEpoch).toBe(3);
  });

  it('validates its options', () => {
    const ok = { maxLr: 0.1, totalSteps: 10 };
    expectError(() => new OneCycleLR(fakeOptimizer(), { maxLr: 0.1 } as never), TypeError, 'OneCycleLR', 'totalSteps', 'undefined');
    expectError(() => new OneCycleLR(fakeOptimizer(), { ...ok, totalSteps: 0 }), RangeError, 'totalSteps');
    expectError(() => new OneCycleLR(fakeOptimizer(), { ...ok, maxLr: [0.1] }), RangeError, 'maxLr', 'array of 2 numbers');
    expectError(() => new OneCycleLR(fakeOptimizer(), { ...ok, maxLr: [0.1, -1] }), RangeError, 'maxLr[1]', '-1');
    expectError(() => new OneCycleLR(fakeOptimizer(), { ...ok, maxLr: '0.1' } as never), TypeError, 'maxLr');
    expectError(() => new OneCycleLR(fakeOptimizer(), { ...ok, pctStart: 1.2 }), RangeError, 'pctStart', '1.2');
    expectError(() => new OneCycleLR(fakeOptimizer(), { ...ok, annealStrategy: 'exp' } as never), RangeError, 'annealStrategy', '"cos", "linear"', '"exp"');
    expectError(() => new OneCycleLR(fakeOptimizer(), { ...ok, annealStrategy: 1 } as never), TypeError, 'annealStrategy');
    expectError(() => new OneCycleLR(fakeOptimizer(), { ...ok, divFactor: 0 }), RangeError, 'divFactor');
    expectError(() => new OneCycleLR(fakeOptimizer(), { ...ok, finalDivFactor: -5 }), RangeError, 'finalDivFactor');
    expectError(() => new OneCycleLR(fakeOptimizer(), { ...ok, threePhase: 1 } as never), TypeError, 'threePhase', 'boolean');
    expectError(() => new OneCycleLR(fakeOptimizer(), { ...ok, cycleMomentum: 'yes' } as never), TypeError, 'cycleMomentum');
    expectError(() => new OneCycleLR(fakeOptimizer(), { ...ok, baseMomentum: 1.5 }), RangeError, 'baseMomentum');
    expectError(() => new OneCycleLR(fakeOptimizer(), { ...ok, maxMomentum: [0.9, 0.9, 0.9] }), RangeError, 'maxMomentum');
    const s = new OneCycleLR(fakeOptimizer(), ok);
    expectError(() => s.loadStateDict({ ...s.stateDict(), lastEpoch: 11 }), RangeError, 'state.lastEpoch', 'totalSteps');
    expectError(() => s.loadStateDict({ ...s.stateDict(), useBeta1: [true] }), RangeError, 'state.useBeta1');
    expectError(() => s.loadStateDict({ ...s.stateDict(), annealStrategy: 'exp' }), RangeError, 'state.annealStrategy');
  });
});

describe('LambdaLR', () => {
  torchParity('LambdaLR');

  it('matches 0.95 ** epoch written in TypeScript', () => {
    const opt = fakeOptimizer();
    const s = new LambdaLR(opt, { lrLambda: (epoch) => 0.95 ** epoch });
    const expected = fixtureCase('LambdaLR one lambda 0.95**e').lrs;
    const got = [s.getLastLr()];
    for (let i = 1; i < expected.length; i++) {
      s.step();
      got.push(s.getLastLr());
    }
    got.forEach((row, r) => row.forEach((lr, i) => expect(lr).toBeCloseTo(expected[r][i], 12)));
  });

  it('stores nothing about the lambdas in its state dict', () => {
    const s = new LambdaLR(fakeOptimizer(), { lrLambda: (e) => 1 / (e + 1) });
    s.step();
    const sd = s.stateDict();
    expect(Object.keys(sd).sort()).toEqual(['baseLrs', 'lastEpoch', 'lastLr', 'stepCount', 'type']);
    expect(JSON.parse(JSON.stringify(sd))).toEqual(sd);
  });

  it('validates the lambdas and what they return', () => {
    expectError(() => new LambdaLR(fakeOptimizer(), { lrLambda: 0.5 } as never), TypeError, 'LambdaLR', 'lrLambda', 'function');
    expectError(() => new LambdaLR(fakeOptimizer(), { lrLambda: [() => 1] }), RangeError, 'lrLambda', 'array of 2 functions');
    expectError(() => new LambdaLR(fakeOptimizer(), { lrLambda: [() => 1, 'x'] } as never), TypeError, 'lrLambda[1]');
    const opt = fakeOptimizer();
    expectError(() => new LambdaLR(opt, { lrLambda: () => NaN }), RangeError, 'lrLambda(0)', 'finite', 'NaN');
    expect(opt.paramGroups[0]).toEqual({ lr: 0.1, momentum: 0.9 }); // no initialLr left behind
    const s = new LambdaLR(fakeOptimizer(), { lrLambda: [() => 1, (e) => (e === 2 ? ('half' as never) : 1)] });
    s.step();
    expectError(() => s.step(), TypeError, 'LambdaLR.step', 'lrLambda[1](2)', '"half"');
    expect(s.lastEpoch).toBe(1);
  });
});

describe('ReduceLROnPlateau', () => {
  torchParity('ReduceLROnPlateau');

  it('leaves the lrs alone at construction and reports them', () => {
    const opt = fakeOptimizer();
    const s = new ReduceLROnPlateau(opt);
    expect(s.getLastLr()).toEqual([0.1, 0.01]);
    expect(opt.paramGroups[0].initialLr).toBeUndefined();
    expect(s.lastEpoch).toBe(0);
  });

  it('counts a NaN metric as no improvement, as torch', () => {
    const opt = fakeOptimizer();
    const s = new ReduceLROnPlateau(opt, { patience: 1 });
    s.step(1);
    s.step(NaN);
    expect(s.numBadEpochs).toBe(1);
    s.step(NaN);
    expect(s.getLastLr()[0]).toBeCloseTo(0.01, 15);
  });

  it('stores an infinite best as a string and restores it', () => {
    const s = new ReduceLROnPlateau(fakeOptimizer(), { mode: 'max' });
    const sd = JSON.parse(JSON.stringify(s.stateDict()));
    expect(sd.best).toBe('-Infinity');
    const s2 = new ReduceLROnPlateau(fakeOptimizer(), { mode: 'max' });
    s2.step(5);
    s2.loadStateDict(sd);
    expect(s2.best).toBe(-Infinity);
    expect(s2.lastEpoch).toBe(0);
  });

  it('validates its options, metric and state', () => {
    expectError(() => new ReduceLROnPlateau(fakeOptimizer(), { factor: 1 }), RangeError, 'ReduceLROnPlateau', 'factor', '< 1', 'received 1');
    expectError(() => new ReduceLROnPlateau(fakeOptimizer(), { mode: 'avg' } as never), RangeError, 'mode', '"avg"');
    expectError(() => new ReduceLROnPlateau(fakeOptimizer(), { thresholdMode: 'pct' } as never), RangeError, 'thresholdMode');
    expectError(() => new ReduceLROnPlateau(fakeOptimizer(), { patience: -1 }), RangeError, 'patience');
    expectError(() => new ReduceLROnPlateau(fakeOptimizer(), { cooldown: 0.5 }), RangeError, 'cooldown');
    expectError(() => new ReduceLROnPlateau(fakeOptimizer(), { minLr: [0] }), RangeError, 'minLr', 'array of 2');
    expectError(() => new ReduceLROnPlateau(fakeOptimizer(), { minLr: [0, -1] }), RangeError, 'minLr[1]');
    expectError(() => new ReduceLROnPlateau(fakeOptimizer(), { eps: '1' } as never), TypeError, 'eps');
    const s = new ReduceLROnPlateau(fakeOptimizer());
    expectError(() => (s.step as () => void)(), TypeError, 'ReduceLROnPlateau.step', 'metric');
    expectError(() => s.step('0.5' as never), TypeError, 'ReduceLROnPlateau.step', 'metric', '"0.5"');
    expectError(() => s.loadStateDict({ ...s.stateDict(), best: 'inf' }), TypeError, 'state.best');
    expectError(() => s.loadStateDict({ ...s.stateDict(), numBadEpochs: -1 }), RangeError, 'state.numBadEpochs');
    expectError(() => s.loadStateDict({ ...s.stateDict(), mode: 'avg' }), RangeError, 'state.mode');
    expect(s.lastEpoch).toBe(0);
  });
});

describe('SequentialLR', () => {
  torchParity('SequentialLR');

  it('validates its options', () => {
    const opt = fakeOptimizer();
    const a = new LinearLR(opt, { totalIters: 3 });
    const b = new ExponentialLR(opt, { gamma: 0.9 });
    expectError(() => new SequentialLR(opt, { schedulers: [a, b], milestones: [] }), RangeError, 'SequentialLR', 'milestones', 'one fewer');
    expectError(() => new SequentialLR(opt, { schedulers: [a, b], milestones: [0] }), RangeError, 'milestones[0]');
    expectError(() => new SequentialLR(opt, { schedulers: [a, b, new StepLR(opt, { stepSize: 2 })], milestones: [4, 4] }), RangeError, 'milestones', 'strictly increasing');
    expectError(() => new SequentialLR(opt, { schedulers: [a, {} as never], milestones: [3] }), TypeError, 'schedulers[1]', 'LRScheduler');
    expectError(() => new SequentialLR(opt, { schedulers: [a, new ReduceLROnPlateau(opt)], milestones: [3] }), TypeError, 'schedulers[1]', 'ReduceLROnPlateau');
    expectError(() => new SequentialLR(opt, { schedulers: [a, new ExponentialLR(fakeOptimizer(), { gamma: 0.5 })], milestones: [3] }), RangeError, 'schedulers[1]', 'different optimizer');
    expectError(() => new SequentialLR(fakeOptimizer(), { schedulers: [a, b], milestones: [3] }), RangeError, 'schedulers[0]', 'different optimizer');
    expectError(() => new SequentialLR(opt, { schedulers: [a, a], milestones: [3] }), RangeError, 'schedulers[1]', 'same scheduler');
    expectError(() => new SequentialLR(opt, { schedulers: [], milestones: [] }), RangeError, 'schedulers', 'non-empty');
  });

  it('validates nested states before applying any', () => {
    const c = fixtureCase('SequentialLR LinearLR warm-up then CosineAnnealingLR');
    const opt = fakeOptimizer(c.groups);
    const s = build(opt, c) as SequentialLR;
    for (let i = 0; i < 7; i++) s.step();
    const before = JSON.stringify(s.stateDict());
    const sd = s.stateDict() as SchedulerState & { schedulers: SchedulerState[] };
    const bad = { ...sd, lastEpoch: 0, schedulers: [sd.schedulers[0], { ...sd.schedulers[1], tMax: -2 }] };
    expectError(() => s.loadStateDict(bad), RangeError, 'SequentialLR.loadStateDict', 'state.schedulers[1].tMax');
    expectError(() => s.loadStateDict({ ...sd, schedulers: [sd.schedulers[0]] }), RangeError, 'state.schedulers', 'length 2');
    expect(JSON.stringify(s.stateDict())).toBe(before);
  });
});

describe('ChainedScheduler', () => {
  torchParity('ChainedScheduler');

  it('validates its schedulers', () => {
    const opt = fakeOptimizer();
    expectError(() => new ChainedScheduler([]), RangeError, 'ChainedScheduler', 'schedulers', 'non-empty');
    expectError(() => new ChainedScheduler('x' as never), TypeError, 'schedulers');
    expectError(() => new ChainedScheduler([new StepLR(opt, { stepSize: 2 }), 3 as never]), TypeError, 'schedulers[1]');
    expectError(() => new ChainedScheduler([new StepLR(opt, { stepSize: 2 }), new StepLR(fakeOptimizer(), { stepSize: 2 })]), RangeError, 'different optimizer');
    expectError(() => new ChainedScheduler([new ReduceLROnPlateau(opt)]), TypeError, 'ReduceLROnPlateau');
  });
});

describe('with the real optimizers', () => {
  const realOptimizer = (c: Case) => {
    const groups = c.groups.map((g) => ({ params: [new Parameter(new Float32Array(2), [2])], ...g }));
    return c.optimizer === 'adam'
      ? new Adam(groups.map((g) => ({ ...g, betas: g.betas as [number, number] })), { lr: 0.5 })
      : new SGD(groups, { lr: 0.5, momentum: 0.9 });
  };

  it('OneCycleLR cycles Adam betas[0] (keeping betas[1]) and matches torch', () => {
    const c = fixtureCase('OneCycleLR Adam betas cycling');
    const opt = realOptimizer(c);
    const s = build(opt, c);
    const lrs = [s.getLastLr()];
    const mom = [momentumOf(opt)];
    for (let k = 0; k < stepsOf(c); k++) {
      opt.step();
      s.step();
      lrs.push(s.getLastLr());
      mom.push(momentumOf(opt));
    }
    expectRowsClose('lrs', lrs, c.lrs);
    expectRowsClose('betas[0]', mom, c.momentum!);
    expect((opt.paramGroups as Array<{ betas?: number[] }>).map((g) => g.betas![1])).toEqual([0.999, 0.99]);
  });

  it('resumes SequentialLR and OneCycleLR through optimizer.loadStateDict + scheduler.loadStateDict', () => {
    for (const name of ['SequentialLR LinearLR warm-up then CosineAnnealingLR', 'OneCycleLR cos two-phase, SGD momentum']) {
      const c = fixtureCase(name);
      const at = 13;
      const opt = realOptimizer(c);
      const s = build(opt, c);
      for (let k = 0; k < at; k++) {
        opt.step();
        s.step();
      }
      const optState = opt.stateDict();
      const schedState = JSON.parse(JSON.stringify(s.stateDict()));
      const opt2 = realOptimizer(c);
      const s2 = build(opt2, c);
      opt2.loadStateDict(optState);
      s2.loadStateDict(schedState);
      const lrs: number[][] = [];
      for (let k = at; k < stepsOf(c); k++) {
        opt2.step();
        s2.step();
        lrs.push(s2.getLastLr());
      }
      expectRowsClose(`${name} resumed`, lrs, c.lrs.slice(at + 1));
    }
  });
});
