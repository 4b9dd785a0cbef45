/** Step-like schedules: StepLR, MultiStepLR, ExponentialLR, LambdaLR. */
import { checkInteger, checkKnownOptions, checkNumber, checkOptions, rangeError, typeError } from '../../core/validate';
import type { OptimizerLike } from './types';
import { SAFE, orDefault, checkArray, bisectRight } from './helpers';
import { LRScheduler } from './base';

/**
 * Options of {@link StepLR}.
 *
 * @example
 * const o: StepLROptions = { stepSize: 30, gamma: 0.1 };
 */
export interface StepLROptions {
  /** Period of the decay, in epochs (an integer ≥ 1). */
  stepSize: number;
  /** Multiplicative factor of the decay (≥ 0). Default 0.1. */
  gamma?: number;
}

/**
 * Decays each group's lr by `gamma` every `stepSize` epochs (torch's `StepLR`).
 *
 * @example
 * // lr = 0.05 for epochs 0..29, 0.005 for 30..59, 0.0005 for 60..89, …
 * const sched = new StepLR(opt, { stepSize: 30, gamma: 0.1 });
 * for (let epoch = 0; epoch < 100; epoch++) { train(); opt.step(); sched.step(); }
 */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: OptimizerLike, options: StepLROptions) {
    super('StepLR', optimizer);
    const ctx = this._name;
    if (options === undefined) throw typeError(ctx, 'options', 'an options object with stepSize', options);
    const o = checkOptions<StepLROptions>(ctx, 'options', options);
    checkKnownOptions(ctx, o, ['stepSize', 'gamma']);
    this.stepSize = checkInteger(ctx, 'stepSize', o.stepSize, 1, SAFE);
    this.gamma = checkNumber(ctx, 'gamma', orDefault(o.gamma, 0.1), { min: 0 });
    this.initEpochScheduler();
  }

  protected getLr(): number[] {
    const lrs = this.currentLrs();
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return lrs;
    return lrs.map((lr) => lr * this.gamma);
  }

  protected closedFormLr(): number[] {
    return this._baseLrs.map((b) => b * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }

  protected extraState(): Record<string, unknown> {
    return { stepSize: this.stepSize, gamma: this.gamma };
  }

  protected parseExtraState(s: Record<string, unknown>, ctx: string, name: string): () => void {
    const stepSize = checkInteger(ctx, `${name}.stepSize`, s.stepSize, 1, SAFE);
    const gamma = checkNumber(ctx, `${name}.gamma`, s.gamma, { min: 0 });
    return () => Object.assign(this, { stepSize, gamma });
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * Options of {@link MultiStepLR}.
 *
 * @example
 * const o: MultiStepLROptions = { milestones: [30, 80], gamma: 0.1 };
 */
export interface MultiStepLROptions {
  /** Epochs (integers ≥ 0) at which to decay. As torch (a Counter), order does not matter and a repeated milestone decays once per occurrence. */
  milestones: number[];
  /** Multiplicative factor of the decay (≥ 0). Default 0.1. */
  gamma?: number;
}

/**
 * Decays each group's lr by `gamma` at each milestone epoch (torch's `MultiStepLR`). As in
 * torch, a milestone 0 already decays at construction, and a milestone listed k times decays
 * by `gamma ** k`.
 *
 * @example
 * // lr = 0.05 for epochs 0..29, 0.005 for 30..79, 0.0005 from 80 on
 * const sched = new MultiStepLR(opt, { milestones: [30, 80], gamma: 0.1 });
 */
export class MultiStepLR extends LRScheduler {
  /** The milestones, sorted, repeated ones repeated. */
  readonly milestones: readonly number[];
  readonly gamma: number;
  private counts: Map<number, number> = new Map();

  constructor(optimizer: OptimizerLike, options: MultiStepLROptions) {
    super('MultiStepLR', optimizer);
    const ctx = this._name;
    if (options === undefined) throw typeError(ctx, 'options', 'an options object with milestones', options);
    const o = checkOptions<MultiStepLROptions>(ctx, 'options', options);
    checkKnownOptions(ctx, o, ['milestones', 'gamma']);
    this.milestones = MultiStepLR.checkMilestones(ctx, 'milestones', o.milestones);
    this.counts = MultiStepLR.count(this.milestones);
    this.gamma = checkNumber(ctx, 'gamma', orDefault(o.gamma, 0.1), { min: 0 });
    this.initEpochScheduler();
  }

  private static checkMilestones(ctx: string, name: string, v: unknown): number[] {
    const list = checkArray(ctx, name, v, 'an array of integers ≥ 0');
    return list.map((m, i) => checkInteger(ctx, `${name}[${i}]`, m, 0, SAFE)).sort((a, b) => a - b);
  }

  private static count(milestones: readonly number[]): Map<number, number> {
    const counts = new Map<number, number>();
    for (const m of milestones) counts.set(m, (counts.get(m) ?? 0) + 1);
    return counts;
  }

  protected getLr(): number[] {
    const lrs = this.currentLrs();
    const k = this.counts.get(this.lastEpoch);
    if (k === undefined) return lrs;
    return lrs.map((lr) => lr * this.gamma ** k);
  }

  protected closedFormLr(): number[] {
    return this._baseLrs.map((b) => b * this.gamma ** bisectRight(this.milestones, this.lastEpoch));
  }

  protected extraState(): Record<string, unknown> {
    return { milestones: this.milestones.slice(), gamma: this.gamma };
  }

  protected parseExtraState(s: Record<string, unknown>, ctx: string, name: string): () => void {
    const milestones = MultiStepLR.checkMilestones(ctx, `${name}.milestones`, s.milestones);
    const gamma = checkNumber(ctx, `${name}.gamma`, s.gamma, { min: 0 });
    return () => Object.assign(this, { milestones, gamma, counts: MultiStepLR.count(milestones) });
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * Options of {@link ExponentialLR}.
 *
 * @example
 * const o: ExponentialLROptions = { gamma: 0.95 };
 */
export interface ExponentialLROptions {
  /** Multiplicative factor per epoch (≥ 0; > 1 grows the lr). */
  gamma: number;
}

/**
 * Multiplies each group's lr by `gamma` every epoch (torch's `ExponentialLR`).
 *
 * @example
 * const sched = new ExponentialLR(opt, { gamma: 0.95 });   // lr_e = lr_0 · 0.95^e
 */
export class ExponentialLR extends LRScheduler {
  readonly gamma: number;

  constructor(optimizer: OptimizerLike, options: ExponentialLROptions) {
    super('ExponentialLR', optimizer);
    const ctx = this._name;
    if (options === undefined) throw typeError(ctx, 'options', 'an options object with gamma', options);
    const o = checkOptions<ExponentialLROptions>(ctx, 'options', options);
    checkKnownOptions(ctx, o, ['gamma']);
    this.gamma = checkNumber(ctx, 'gamma', o.gamma, { min: 0 });
    this.initEpochScheduler();
  }

  protected getLr(): number[] {
    const lrs = this.currentLrs();
    if (this.lastEpoch === 0) return lrs;
    return lrs.map((lr) => lr * this.gamma);
  }

  protected closedFormLr(): number[] {
    return this._baseLrs.map((b) => b * this.gamma ** this.lastEpoch);
  }

  protected extraState(): Record<string, unknown> {
    return { gamma: this.gamma };
  }

  protected parseExtraState(s: Record<string, unknown>, ctx: string, name: string): () => void {
    const gamma = checkNumber(ctx, `${name}.gamma`, s.gamma, { min: 0 });
    return () => Object.assign(this, { gamma });
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * The lr multiplier of {@link LambdaLR} for an epoch (0, 1, 2, …).
 *
 * @example
 * const warmup: LrLambda = (epoch) => Math.min(1, (epoch + 1) / 5);
 */
export type LrLambda = (epoch: number) => number;

/**
 * Options of {@link LambdaLR}.
 *
 * @example
 * const o: LambdaLROptions = { lrLambda: (epoch) => 0.95 ** epoch };
 */
export interface LambdaLROptions {
  /** One function for all groups, or an array with one per group. */
  lrLambda: LrLambda | LrLambda[];
}

/**
 * Sets each group's lr to its initial lr times `lrLambda(epoch)` (torch's `LambdaLR`). The
 * functions are not part of the state dict (torch saves plain functions as None too): pass the
 * same ones when rebuilding the scheduler. A result that is not a finite number throws.
 *
 * @example
 * const sched = new LambdaLR(opt, { lrLambda: [(e) => Math.floor(e / 30), (e) => 0.95 ** e] });
 */
export class LambdaLR extends LRScheduler {
  /** One function per param group. */
  readonly lrLambdas: readonly LrLambda[];
  private readonly givenAsArray: boolean;

  constructor(optimizer: OptimizerLike, options: LambdaLROptions) {
    super('LambdaLR', optimizer);
    const ctx = this._name;
    if (options === undefined) throw typeError(ctx, 'options', 'an options object with lrLambda', options);
    const o = checkOptions<LambdaLROptions>(ctx, 'options', options);
    checkKnownOptions(ctx, o, ['lrLambda']);
    const n = this.optimizer.paramGroups.length;
    const f = o.lrLambda;
    this.givenAsArray = Array.isArray(f);
    if (Array.isArray(f)) {
      if (f.length !== n) throw rangeError(ctx, 'lrLambda', `a function or an array of ${n} functions (one per param group)`, f);
      f.forEach((fn, i) => {
        if (typeof fn !== 'function') throw typeError(ctx, `lrLambda[${i}]`, 'a function (epoch) => factor', fn);
      });
      this.lrLambdas = f.slice();
    } else {
      if (typeof f !== 'function') throw typeError(ctx, 'lrLambda', 'a function (epoch) => factor or an array of them', f);
      this.lrLambdas = new Array<LrLambda>(n).fill(f);
    }
    this.initEpochScheduler();
  }

  protected getLr(): number[] {
    const ctx = `${this._name}.step`;
    this.groups(ctx);
    return this._baseLrs.map((b, i) => {
      const factor: unknown = this.lrLambdas[i](this.lastEpoch);
      const name = `lrLambda${this.givenAsArray ? `[${i}]` : ''}(${this.lastEpoch})`;
      if (typeof factor !== 'number') throw typeError(ctx, name, 'a finite number', factor);
      if (!Number.isFinite(factor)) throw rangeError(ctx, name, 'a finite number', factor);
      return b * factor;
    });
  }
}
