/** ReduceLROnPlateau: the schedule driven by a monitored metric. */
import { checkInteger, checkKnownOptions, checkNumber, checkOneOf, checkOptions, typeError } from '../../core/validate';
import type { OptimizerLike, SchedulerState } from './types';
import { SAFE, orDefault, encodeFloat, decodeFloat, checkArray, perGroup } from './helpers';
import { LRScheduler } from './base';

/**
 * Options of {@link ReduceLROnPlateau}.
 *
 * @example
 * const o: ReduceLROnPlateauOptions = { mode: 'max', factor: 0.5, patience: 3, cooldown: 1 };
 */
export interface ReduceLROnPlateauOptions {
  /** 'min' (default): reduce when the metric stops decreasing; 'max': stops increasing. */
  mode?: 'min' | 'max';
  /** new lr = lr · factor, in [0, 1). Default 0.1. */
  factor?: number;
  /** Bad epochs tolerated before reducing (an integer ≥ 0). Default 10. */
  patience?: number;
  /** Minimal significant improvement (≥ 0). Default 1e-4. */
  threshold?: number;
  /** 'rel' (default): best·(1 ∓ threshold); 'abs': best ∓ threshold. */
  thresholdMode?: 'rel' | 'abs';
  /** Epochs to wait after a reduction before counting bad epochs again (an integer ≥ 0). Default 0. */
  cooldown?: number;
  /** Lower bound on the lr (≥ 0), or one per group. Default 0. */
  minLr?: number | number[];
  /** A reduction smaller than eps (≥ 0) is skipped. Default 1e-8. */
  eps?: number;
}

/**
 * Reduces the lr by `factor` once the monitored metric has not improved for more than
 * `patience` steps (torch's `ReduceLROnPlateau`). `step(metric)` takes the metric; a NaN
 * metric counts as no improvement, as in torch. Unlike the other schedulers it does not touch
 * the lrs at construction nor record `initialLr`; `getLastLr()` before the first step gives the
 * groups' current lrs (torch 1.13 has no value yet).
 *
 * @example
 * const sched = new ReduceLROnPlateau(opt, { mode: 'min', factor: 0.5, patience: 2 });
 * for (let epoch = 0; epoch < 100; epoch++) { train(); const loss = validate(); sched.step(loss); }
 */
export class ReduceLROnPlateau extends LRScheduler {
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minLrs: readonly number[];
  readonly eps: number;
  /** The best metric so far (±Infinity before the first step). */
  readonly best: number;
  /** Consecutive steps without improvement (torch's num_bad_epochs). */
  readonly numBadEpochs: number;
  /** Steps left in the current cooldown. */
  readonly cooldownCounter: number;

  constructor(optimizer: OptimizerLike, options?: ReduceLROnPlateauOptions) {
    super('ReduceLROnPlateau', optimizer);
    const ctx = this._name;
    const o = checkOptions<ReduceLROnPlateauOptions>(ctx, 'options', options);
    checkKnownOptions(ctx, o, ['mode', 'factor', 'patience', 'threshold', 'thresholdMode', 'cooldown', 'minLr', 'eps']);
    const n = this.optimizer.paramGroups.length;
    this.factor = checkNumber(ctx, 'factor', orDefault(o.factor, 0.1), { min: 0, max: 1, maxExclusive: true });
    this.minLrs = perGroup(ctx, 'minLr', orDefault<number | number[]>(o.minLr, 0), n, { min: 0 });
    this.patience = checkInteger(ctx, 'patience', orDefault(o.patience, 10), 0, SAFE);
    this.cooldown = checkInteger(ctx, 'cooldown', orDefault(o.cooldown, 0), 0, SAFE);
    this.mode = checkOneOf(ctx, 'mode', orDefault(o.mode, 'min'), ['min', 'max'] as const);
    this.threshold = checkNumber(ctx, 'threshold', orDefault(o.threshold, 1e-4), { min: 0 });
    this.thresholdMode = checkOneOf(ctx, 'thresholdMode', orDefault(o.thresholdMode, 'rel'), ['rel', 'abs'] as const);
    this.eps = checkNumber(ctx, 'eps', orDefault(o.eps, 1e-8), { min: 0 });
    this.lastEpoch = 0;
    this.best = this.modeWorse;
    this.cooldownCounter = 0;
    this.numBadEpochs = 0;
    this._lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  private get modeWorse(): number {
    return this.mode === 'min' ? Infinity : -Infinity;
  }

  /**
   * Whether the cooldown after a reduction is still running.
   *
   * @example
   * if (!sched.inCooldown) console.log(`${sched.numBadEpochs} bad epochs so far`);
   */
  get inCooldown(): boolean {
    return this.cooldownCounter > 0;
  }

  private isBetter(a: number, best: number): boolean {
    if (this.mode === 'min' && this.thresholdMode === 'rel') return a < best * (1 - this.threshold);
    if (this.mode === 'min') return a < best - this.threshold;
    if (this.thresholdMode === 'rel') return a > best * (this.threshold + 1);
    return a > best + this.threshold;
  }

  /**
   * Records the metric of one epoch and reduces the lrs if it has plateaued.
   *
   * @example
   * sched.step(validationLoss);
   */
  step(metric: number): void {
    const ctx = `${this._name}.step`;
    if (arguments.length !== 1)
      throw new TypeError(`${ctx}: expected exactly one argument (the metric) but received ${arguments.length}`);
    if (typeof metric !== 'number') throw typeError(ctx, 'metric', 'a number', metric);
    const groups = this.groups(ctx, this.minLrs.length);
    groups.forEach((g, i) => {
      if (typeof g.lr !== 'number') throw typeError(ctx, `optimizer.paramGroups[${i}].lr`, 'a number', g.lr);
    });
    const current = metric;
    const epoch = this.lastEpoch + 1;
    let best = this.best;
    let numBad = this.numBadEpochs;
    let cooldownCounter = this.cooldownCounter;
    if (this.isBetter(current, best)) {
      best = current;
      numBad = 0;
    } else numBad += 1;
    if (cooldownCounter > 0) {
      cooldownCounter -= 1;
      numBad = 0; // ignore any bad epochs in cooldown
    }
    if (numBad > this.patience) {
      groups.forEach((g, i) => {
        const oldLr = g.lr;
        const scaled = oldLr * this.factor;
        const newLr = this.minLrs[i] > scaled ? this.minLrs[i] : scaled; // Python's max(a, b)
        if (oldLr - newLr > this.eps) g.lr = newLr;
      });
      cooldownCounter = this.cooldown;
      numBad = 0;
    }
    Object.assign(this, { best, numBadEpochs: numBad, cooldownCounter });
    this.lastEpoch = epoch;
    this._lastLr = groups.map((g) => g.lr);
  }

  /** @internal Not an epoch scheduler: SequentialLR and ChainedScheduler refuse it. */
  _advance(): void {
    throw new TypeError(`${this._name}: cannot be stepped without a metric`);
  }

  /**
   * Counters, best metric and hyperparameters as plain JSON data (`best` may be
   * `'Infinity'` / `'-Infinity'`).
   *
   * @example
   * const saved = JSON.stringify(sched.stateDict());
   */
  stateDict(): SchedulerState {
    return {
      type: this._name,
      lastEpoch: this.lastEpoch,
      mode: this.mode,
      factor: this.factor,
      patience: this.patience,
      threshold: this.threshold,
      thresholdMode: this.thresholdMode,
      cooldown: this.cooldown,
      cooldownCounter: this.cooldownCounter,
      minLrs: this.minLrs.slice(),
      eps: this.eps,
      best: encodeFloat(this.best),
      numBadEpochs: this.numBadEpochs,
      lastLr: this._lastLr.map(encodeFloat),
    };
  }

  /** @internal */
  _parseState(state: unknown, ctx: string, name: string): () => void {
    const s = this.parseCommon(state, ctx, name);
    const n = this.optimizer.paramGroups.length;
    const f = (k: string) => `${name}.${k}`;
    const fields = {
      lastEpoch: checkInteger(ctx, f('lastEpoch'), s.lastEpoch, 0, SAFE),
      mode: checkOneOf(ctx, f('mode'), s.mode, ['min', 'max'] as const),
      factor: checkNumber(ctx, f('factor'), s.factor, { min: 0, max: 1, maxExclusive: true }),
      patience: checkInteger(ctx, f('patience'), s.patience, 0, SAFE),
      threshold: checkNumber(ctx, f('threshold'), s.threshold, { min: 0 }),
      thresholdMode: checkOneOf(ctx, f('thresholdMode'), s.thresholdMode, ['rel', 'abs'] as const),
      cooldown: checkInteger(ctx, f('cooldown'), s.cooldown, 0, SAFE),
      cooldownCounter: checkInteger(ctx, f('cooldownCounter'), s.cooldownCounter, 0, SAFE),
      minLrs: checkArray(ctx, f('minLrs'), s.minLrs, 'an array of numbers', n).map((v, i) =>
        checkNumber(ctx, `${f('minLrs')}[${i}]`, v, { min: 0 }),
      ),
      eps: checkNumber(ctx, f('eps'), s.eps, { min: 0 }),
      best: decodeFloat(ctx, f('best'), s.best),
      numBadEpochs: checkInteger(ctx, f('numBadEpochs'), s.numBadEpochs, 0, SAFE),
      _lastLr: this.parseLrs(s.lastLr, ctx, f('lastLr')),
    };
    return () => Object.assign(this, fields);
  }
}
