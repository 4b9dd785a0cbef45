// lib/optim as modules: the family files import no cycle, the entry points export what they
// exported before the split (in the order fit lists scheduler types), and every optimizer and
// scheduler rejects an unknown option through the one checkKnownOptions message.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as schedulers from '../lib/optim/schedulers';
import * as optimizers from '../lib/optim/optimizers';
import { Parameter } from '../lib';
import { throwsWith } from './helpers/errors';

const LIB = path.join(__dirname, '..', 'lib');

/** Every relative import (type-only ones too) of every .ts file under lib/, resolved to a file. */
function importGraph(): Map<string, string[]> {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }))
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (e.name.endsWith('.ts')) files.push(path.join(d, e.name));
  };
  walk(LIB);
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const src = fs.readFileSync(f, 'utf8');
    const deps: string[] = [];
    for (const m of src.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/gm)) {
      const base = path.resolve(path.dirname(f), m[1]);
      const target = [`${base}.ts`, `${base}.d.ts`, path.join(base, 'index.ts')].find((c) => fs.existsSync(c));
      if (!target) throw new Error(`${path.relative(LIB, f)} imports ${m[1]}, which resolves to no file`);
      deps.push(target);
    }
    graph.set(f, deps);
  }
  return graph;
}

function cycles(graph: Map<string, string[]>): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const found: string[] = [];
  const visit = (f: string, stack: string[]) => {
    state.set(f, 'open');
    stack.push(f);
    for (const d of graph.get(f) ?? []) {
      if (state.get(d) === 'open') found.push([...stack.slice(stack.indexOf(d)), d].map((x) => path.relative(LIB, x)).join(' -> '));
      else if (!state.has(d)) visit(d, stack);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f, []);
  return found;
}

describe('lib/optim modules', () => {
  it('no import cycle anywhere in lib/ (type-only imports included)', () => {
    const graph = importGraph();
    expect(graph.size).toBeGreaterThan(30);
    // the walker sees the family files and their imports of one another
    expect(graph.get(path.join(LIB, 'optim', 'schedulers', 'composite.ts'))).toContain(path.join(LIB, 'optim', 'schedulers', 'plateau.ts'));
    expect(cycles(graph)).toEqual([]);
  });

  it('the walker does report a cycle', () => {
    const g = new Map([['/a.ts', ['/b.ts']], ['/b.ts', ['/c.ts']], ['/c.ts', ['/a.ts']]]);
    expect(cycles(g)).toHaveLength(1);
  });

  it('the entry points export the same classes as before the split, schedulers in the order fit lists them', () => {
    expect(Object.keys(schedulers)).toEqual([
      'LRScheduler', 'StepLR', 'MultiStepLR', 'ExponentialLR', 'CosineAnnealingLR', 'CosineAnnealingWarmRestarts',
      'LinearLR', 'OneCycleLR', 'LambdaLR', 'ReduceLROnPlateau', 'SequentialLR', 'ChainedScheduler',
    ]);
    expect(Object.keys(optimizers)).toEqual(['Optimizer', 'SGD', 'Adam', 'AdamW', 'RMSprop', 'Adagrad']);
    for (const name of Object.keys(schedulers).slice(1))
      expect([name, (schedulers as Record<string, unknown> & { LRScheduler: Function })[name]]).toEqual([name, expect.any(Function)]);
    expect(schedulers.StepLR.prototype).toBeInstanceOf(schedulers.LRScheduler);
    expect(optimizers.AdamW.prototype).toBeInstanceOf(optimizers.Optimizer);
  });
});

describe('unknown options: one message for optimizers and schedulers', () => {
  const w = () => new Parameter(new Float32Array(4), [2, 2]);
  const opt = () => ({ paramGroups: [{ lr: 0.1, momentum: 0.9 }] });

  it('a typo gets a suggestion and the list of known options', () => {
    throwsWith(() => new optimizers.Adam([w()], { lr: 1e-3, betass: [0.9, 0.99] } as never), RangeError,
      'Adam: unknown option "betass" (did you mean "betas"?); known options: lr, betas, eps, weightDecay, amsgrad, maximize');
    throwsWith(() => new optimizers.SGD([w()], { lr: 0.1, momentun: 0.9 } as never), RangeError, 'SGD: unknown option "momentun" (did you mean "momentum"?)');
    throwsWith(() => new optimizers.RMSprop([w()], { centred: true } as never), RangeError, 'RMSprop: unknown option "centred" (did you mean "centered"?)');
    throwsWith(() => new optimizers.Adagrad([w()], { lr_decay: 0.1 } as never), RangeError, 'Adagrad: unknown option "lr_decay" (did you mean "lrDecay"?)');
    throwsWith(() => new schedulers.StepLR(opt(), { stepSize: 1, gama: 0.5 } as never), RangeError,
      'StepLR: unknown option "gama" (did you mean "gamma"?); known options: stepSize, gamma');
    throwsWith(() => new schedulers.MultiStepLR(opt(), { milestone: [1] } as never), RangeError, 'unknown option "milestone" (did you mean "milestones"?)');
    throwsWith(() => new schedulers.ExponentialLR(opt(), { gamma: 0.9, gammma: 1 } as never), RangeError, 'unknown option "gammma" (did you mean "gamma"?)');
    throwsWith(() => new schedulers.CosineAnnealingLR(opt(), { tmax: 10 } as never), RangeError, 'CosineAnnealingLR: unknown option "tmax" (did you mean "tMax"?)');
    throwsWith(() => new schedulers.CosineAnnealingWarmRestarts(opt(), { t0: 5, tmult: 2 } as never), RangeError, 'unknown option "tmult" (did you mean "tMult"?)');
    throwsWith(() => new schedulers.LinearLR(opt(), { totalIter: 5 } as never), RangeError, 'LinearLR: unknown option "totalIter" (did you mean "totalIters"?)');
    throwsWith(() => new schedulers.OneCycleLR(opt(), { maxLr: 1, totalSteps: 10, pct_start: 0.2 } as never), RangeError, 'unknown option "pct_start" (did you mean "pctStart"?)');
    throwsWith(() => new schedulers.LambdaLR(opt(), { lambda: () => 1 } as never), RangeError, 'LambdaLR: unknown option "lambda"');
    throwsWith(() => new schedulers.ReduceLROnPlateau(opt(), { patiance: 2 } as never), RangeError, 'ReduceLROnPlateau: unknown option "patiance" (did you mean "patience"?)');
    const o = opt();
    const a = new schedulers.LinearLR(o, { totalIters: 2 });
    throwsWith(() => new schedulers.SequentialLR(o, { schedulers: [a], milestone: [] } as never), RangeError, 'SequentialLR: unknown option "milestone" (did you mean "milestones"?)');
  });

  it('no suggestion when nothing is close; a failed construction changes nothing', () => {
    expect(() => new optimizers.Adam([w()], { zzzzzzzz: 1 } as never))
      .toThrow(new RangeError('Adam: unknown option "zzzzzzzz"; known options: lr, betas, eps, weightDecay, amsgrad, maximize'));
    const o = opt();
    expect(() => new schedulers.StepLR(o, { stepSize: 2, frobnicate: true } as never))
      .toThrow(new RangeError('StepLR: unknown option "frobnicate"; known options: stepSize, gamma'));
    expect(o.paramGroups[0]).toEqual({ lr: 0.1, momentum: 0.9 });
  });
});
