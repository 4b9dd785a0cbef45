/** Warm-up and cyclic schedules: LinearLR and OneCycleLR (the 1cycle policy). */
import { checkBoolean, checkInteger, checkKnownOptions, checkNumber, checkOneOf, checkOptions, rangeError, typeError } from '../../core/validate';
import type { OptimizerLike, ParamGroup } from './types';
import { SAFE, orDefault, checkArray, perGroup } from './helpers';
import { LRScheduler } from './base';

/**
 * Options of {@link LinearLR}.
 *
 * @example
 * const o: LinearLROptions = { startFactor: 0.1, endFactor: 1, totalIters: 5 };
 */
export interface LinearLROptions {
  /** Factor applied at epoch 0, in (0, 1] (torch would divide by 0 later with 0). Default 1/3. */
  startFactor?: number;
  /** Factor reached at `totalIters` and kept after, in [0, 1]. Default 1. */
  endFactor?: number;
  /** Epochs over which the factor moves linearly (an integer ≥ 1). Default 5. */
  totalIters?: number;
}

/**
 * Scales each group's lr by a factor moving linearly from `startFactor` to `endFactor` over
 * `totalIters` epochs (torch's `LinearLR`), typically a warm-up.
 *
 * @example
 * // lr = 0.025, 0.03125, 0.0375, 0.04375, then 0.05 (initial lr 0.05)
 * const sched = new LinearLR(opt, { startFactor: 0.5, totalIters: 4 });
 */
export class LinearLR extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;

  constructor(optimizer: OptimizerLike, options?: LinearLROptions) {
    super('LinearLR', optimizer);
    const ctx = this._name;
    const o = checkOptions<LinearLROptions>(ctx, 'options', options);
    checkKnownOptions(ctx, o, ['startFactor', 'endFactor', 'totalIters']);
    this.startFactor = checkNumber(ctx, 'startFactor', orDefault(o.startFactor, 1.0 / 3), { min: 0, minExclusive: true, max: 1 });
    this.endFactor = checkNumber(ctx, 'endFactor', orDefault(o.endFactor, 1.0), { min: 0, max: 1 });
    this.totalIters = checkInteger(ctx, 'totalIters', orDefault(o.totalIters, 5), 1, SAFE);
    this.initEpochScheduler();
  }

  protected getLr(): number[] {
    const lrs = this.currentLrs();
    const { startFactor: s, endFactor: f, totalIters: T } = this;
    const e = this.lastEpoch;
    if (e === 0) return lrs.map((lr) => lr * s);
    if (e > T) return lrs;
    return lrs.map((lr) => lr * (1 + (f - s) / (T * s + (e - 1) * (f - s))));
  }

  protected closedFormLr(): number[] {
    const { startFactor: s, endFactor: f, totalIters: T } = this;
    return this._baseLrs.map((b) => b * (s + ((f - s) * Math.min(T, this.lastEpoch)) / T));
  }

  protected extraState(): Record<string, unknown> {
    return { startFactor: this.startFactor, endFactor: this.endFactor, totalIters: this.totalIters };
  }

  protected parseExtraState(s: Record<string, unknown>, ctx: string, name: string): () => void {
    const startFactor = checkNumber(ctx, `${name}.startFactor`, s.startFactor, { min: 0, minExclusive: true, max: 1 });
    const endFactor = checkNumber(ctx, `${name}.endFactor`, s.endFactor, { min: 0, max: 1 });
    const totalIters = checkInteger(ctx, `${name}.totalIters`, s.totalIters, 1, SAFE);
    return () => Object.assign(this, { startFactor, endFactor, totalIters });
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * Options of {@link OneCycleLR}. `maxLr`, `baseMomentum` and `maxMomentum` take one number
 * for all groups or an array with one per group.
 *
 * @example
 * const o: OneCycleLROptions = { maxLr: 0.1, totalSteps: 1000, annealStrategy: 'linear' };
 */
export interface OneCycleLROptions {
  /** Peak lr (≥ 0), or one per param group. */
  maxLr: number | number[];
  /** Steps in the cycle (an integer ≥ 1); `step()` may be called this many times. */
  totalSteps: number;
  /** Fraction of the cycle spent increasing the lr, in [0, 1]. Default 0.3. */
  pctStart?: number;
  /** 'cos' (default) or 'linear' annealing. */
  annealStrategy?: 'cos' | 'linear';
  /** Cycle momentum (SGD's `momentum`, or Adam's `betas[0]`) inversely to the lr. Default true. */
  cycleMomentum?: boolean;
  /** Lowest momentum (at the lr peak), in [0, 1], or one per group. Default 0.85. */
  baseMomentum?: number | number[];
  /** Highest momentum (at the lr ends), in [0, 1], or one per group. Default 0.95. */
  maxMomentum?: number | number[];
  /** initialLr = maxLr / divFactor (> 0). Default 25. */
  divFactor?: number;
  /** minLr = initialLr / finalDivFactor (> 0). Default 1e4. */
  finalDivFactor?: number;
  /** Three phases (up, down to initialLr, annihilate to minLr) instead of two. Default false. */
  threePhase?: boolean;
}

type LrKey = 'initialLr' | 'maxLr' | 'minLr';
type MomentumKey = 'maxMomentum' | 'baseMomentum';
interface Phase {
  endStep: number;
  startLr: LrKey;
  endLr: LrKey;
  startMomentum: MomentumKey;
  endMomentum: MomentumKey;
}

function oneCyclePhases(totalSteps: number, pctStart: number, threePhase: boolean): Phase[] {
  if (threePhase)
    return [
      { endStep: pctStart * totalSteps - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
      { endStep: 2 * pctStart * totalSteps - 2, startLr: 'maxLr', endLr: 'initialLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
      { endStep: totalSteps - 1, startLr: 'initialLr', endLr: 'minLr', startMomentum: 'maxMomentum', endMomentum: 'maxMomentum' },
    ];
  return [
    { endStep: pctStart * totalSteps - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
    { endStep: totalSteps - 1, startLr: 'maxLr', endLr: 'minLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
  ];
}

/**
 * The 1cycle policy (torch's `OneCycleLR`): the lr rises from `maxLr / divFactor` to `maxLr`
 * over the first `pctStart` of `totalSteps`, then anneals to `maxLr / divFactor /
 * finalDivFactor` (with `threePhase`: back down to the initial lr symmetrically, then to the
 * minimum). Momentum is cycled inversely between `maxMomentum` and `baseMomentum`: the group's
 * `betas[0]` when it has `betas` (Adam-like), else its `momentum`. A group with neither is a
 * RangeError while `cycleMomentum` is true (torch raises a ValueError for such optimizers).
 * Call `step()` after every batch. The schedule ignores the groups' current lr; like torch it
 * stores `initialLr`, `maxLr`, `minLr`, `maxMomentum`, `baseMomentum` in each group.
 *
 * As torch, `step()` may be called `totalSteps` times: the last call extrapolates one step
 * past the end of the final phase (with linear annealing this can give a slightly negative
 * lr); one more is a RangeError.
 *
 * @example
 * const sched = new OneCycleLR(opt, { maxLr: 0.01, totalSteps: epochs * batchesPerEpoch });
 * for (const batch of batches) { trainBatch(batch); opt.step(); sched.step(); }
 */
export class OneCycleLR extends LRScheduler {
  readonly totalSteps: number;
  readonly pctStart: number;
  readonly annealStrategy: 'cos' | 'linear';
  readonly threePhase: boolean;
  readonly cycleMomentum: boolean;
  /** Per group: whether momentum is cycled through `betas[0]` (else `momentum`). */
  private useBeta1: boolean[] = [];
  private phases: Phase[];

  constructor(optimizer: OptimizerLike, options: OneCycleLROptions) {
    super('OneCycleLR', optimizer);
    const ctx = this._name;
    if (options === undefined) throw typeError(ctx, 'options', 'an options object with maxLr and totalSteps', options);
    const o = checkOptions<OneCycleLROptions>(ctx, 'options', options);
    checkKnownOptions(ctx, o, [
      'maxLr', 'totalSteps', 'pctStart', 'annealStrategy', 'cycleMomentum', 'baseMomentum', 'maxMomentum',
      'divFactor', 'finalDivFactor', 'threePhase',
    ]);
    const groups = this.optimizer.paramGroups;
    const n = groups.length;
    this.totalSteps = checkInteger(ctx, 'totalSteps', o.totalSteps, 1, SAFE);
    this.pctStart = checkNumber(ctx, 'pctStart', orDefault(o.pctStart, 0.3), { min: 0, max: 1 });
    this.threePhase = checkBoolean(ctx, 'threePhase', orDefault(o.threePhase, false));
    this.annealStrategy = checkOneOf(ctx, 'annealStrategy', orDefault(o.annealStrategy, 'cos'), ['cos', 'linear'] as const);
    const maxLrs = perGroup(ctx, 'maxLr', o.maxLr, n, { min: 0 });
    const divFactor = checkNumber(ctx, 'divFactor', orDefault(o.divFactor, 25), { min: 0, minExclusive: true });
    const finalDivFactor = checkNumber(ctx, 'finalDivFactor', orDefault(o.finalDivFactor, 1e4), { min: 0, minExclusive: true });
    this.cycleMomentum = checkBoolean(ctx, 'cycleMomentum', orDefault(o.cycleMomentum, true));
    const maxMomentums = perGroup(ctx, 'maxMomentum', orDefault(o.maxMomentum, 0.95), n, { min: 0, max: 1 });
    const baseMomentums = perGroup(ctx, 'baseMomentum', orDefault(o.baseMomentum, 0.85), n, { min: 0, max: 1 });
    this.phases = oneCyclePhases(this.totalSteps, this.pctStart, this.threePhase);
    this.phaseAt(0, ctx); // a zero-length first phase fails here, before any group is touched
    if (this.cycleMomentum) this.useBeta1 = groups.map((g, i) => OneCycleLR.momentumKind(ctx, g, i));

    groups.forEach((g, i) => {
      g.initialLr = maxLrs[i] / divFactor;
      g.maxLr = maxLrs[i];
      g.minLr = (g.initialLr as number) / finalDivFactor;
    });
    if (this.cycleMomentum)
      groups.forEach((g, i) => {
        OneCycleLR.setMomentum(g, this.useBeta1[i], maxMomentums[i]);
        g.maxMomentum = maxMomentums[i];
        g.baseMomentum = baseMomentums[i];
      });
    this.initEpochScheduler();
  }

  /** true: the group cycles `betas[0]`; false: `momentum`; neither: RangeError. */
  private static momentumKind(ctx: string, g: ParamGroup, i: number): boolean {
    if (g.betas !== undefined) {
      if (!Array.isArray(g.betas) || g.betas.length < 1)
        throw typeError(ctx, `optimizer.paramGroups[${i}].betas`, 'an array [beta1, beta2]', g.betas);
      return true;
    }
    if (g.momentum !== undefined) {
      if (typeof g.momentum !== 'number') throw typeError(ctx, `optimizer.paramGroups[${i}].momentum`, 'a number', g.momentum);
      return false;
    }
    throw new RangeError(
      `${ctx}: cycleMomentum is true but optimizer.paramGroups[${i}] has neither momentum nor betas ` +
        '(torch: "optimizer must support momentum with `cycle_momentum` option enabled"); pass cycleMomentum: false',
    );
  }

  private static setMomentum(g: ParamGroup, useBeta1: boolean, m: number): void {
    if (useBeta1) g.betas = [m, ...(g.betas as unknown[]).slice(1)];
    else g.momentum = m;
  }

  /** The phase holding `stepNum` and the fraction of it done (torch's loop in get_lr). */
  private phaseAt(stepNum: number, ctx: string): { phase: Phase; pct: number } {
    let startStep = 0;
    for (let i = 0; i < this.phases.length; i++) {
      const phase = this.phases[i];
      const endStep = phase.endStep;
      if (stepNum <= endStep || i === this.phases.length - 1) {
        if (endStep - startStep === 0)
          throw new RangeError(
            `${ctx}: phase ${i + 1} of the schedule has zero length at step ${stepNum} ` +
              `(pctStart ${this.pctStart}, totalSteps ${this.totalSteps}${this.threePhase ? ', threePhase' : ''}); ` +
              'torch divides by zero here (ZeroDivisionError): change pctStart or totalSteps',
          );
        return { phase, pct: (stepNum - startStep) / (endStep - startStep) };
      }
      startStep = phase.endStep;
    }
    /* c8 ignore next */
    throw new Error('unreachable');
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === 'cos') {
      const cosOut = Math.cos(Math.PI * pct) + 1;
      return end + ((start - end) / 2.0) * cosOut;
    }
    return (end - start) * pct + start;
  }

  /**
   * Advances one batch. Throws a RangeError (changing nothing) past `totalSteps` steps.
   *
   * @example
   * opt.step(); sched.step();
   */
  step(): void {
    if (arguments.length > 0)
      throw typeError(`${this._name}.step`, 'arguments', "no argument (torch's deprecated step(epoch) is not supported)", arguments[0]);
    if (this.lastEpoch + 1 > this.totalSteps)
      throw new RangeError(
        `${this._name}.step: step() called ${this.lastEpoch + 1} times after construction, but totalSteps is ` +
          `${this.totalSteps} (torch: "Tried to step ${this.lastEpoch + 2} times")`,
      );
    this._advance(false);
  }

  protected getLr(): number[] {
    const ctx = `${this._name}.step`;
    const groups = this.groups(ctx);
    const stepNum = this.lastEpoch;
    if (stepNum > this.totalSteps)
      throw new RangeError(`${ctx}: step() called ${stepNum} times after construction, but totalSteps is ${this.totalSteps}`);
    const { phase, pct } = this.phaseAt(stepNum, ctx);
    const num = (g: ParamGroup, i: number, key: string): number => {
      if (typeof g[key] !== 'number')
        throw typeError(ctx, `optimizer.paramGroups[${i}].${key}`, `a number (set by the OneCycleLR constructor)`, g[key]);
      return g[key] as number;
    };
    const lrs = groups.map((g, i) => this.anneal(num(g, i, phase.startLr), num(g, i, phase.endLr), pct));
    if (this.cycleMomentum) {
      const moms = groups.map((g, i) => this.anneal(num(g, i, phase.startMomentum), num(g, i, phase.endMomentum), pct));
      groups.forEach((g, i) => {
        if (this.useBeta1[i] && !Array.isArray(g.betas))
          throw typeError(ctx, `optimizer.paramGroups[${i}].betas`, 'an array [beta1, beta2]', g.betas);
      });
      groups.forEach((g, i) => OneCycleLR.setMomentum(g, this.useBeta1[i], moms[i]));
    }
    return lrs;
  }

  protected extraState(): Record<string, unknown> {
    return {
      totalSteps: this.totalSteps,
      pctStart: this.pctStart,
      annealStrategy: this.annealStrategy,
      threePhase: this.threePhase,
      cycleMomentum: this.cycleMomentum,
      useBeta1: this.useBeta1.slice(),
    };
  }

  protected parseExtraState(s: Record<string, unknown>, ctx: string, name: string): () => void {
    const totalSteps = checkInteger(ctx, `${name}.totalSteps`, s.totalSteps, 1, SAFE);
    const pctStart = checkNumber(ctx, `${name}.pctStart`, s.pctStart, { min: 0, max: 1 });
    const annealStrategy = checkOneOf(ctx, `${name}.annealStrategy`, s.annealStrategy, ['cos', 'linear'] as const);
    const threePhase = checkBoolean(ctx, `${name}.threePhase`, s.threePhase);
    const cycleMomentum = checkBoolean(ctx, `${name}.cycleMomentum`, s.cycleMomentum);
    const n = this.optimizer.paramGroups.length;
    const useBeta1 = checkArray(ctx, `${name}.useBeta1`, s.useBeta1, 'an array of booleans', cycleMomentum ? n : 0).map(
      (v, i) => checkBoolean(ctx, `${name}.useBeta1[${i}]`, v),
    );
    const lastEpoch = s.lastEpoch as number; // checked by the caller before this runs
    if (lastEpoch > totalSteps)
      throw rangeError(ctx, `${name}.lastEpoch`, `an integer in [-1, ${totalSteps}] (totalSteps)`, lastEpoch);
    const phases = oneCyclePhases(totalSteps, pctStart, threePhase);
    return () => Object.assign(this, { totalSteps, pctStart, annealStrategy, threePhase, cycleMomentum, useBeta1, phases });
  }
}
