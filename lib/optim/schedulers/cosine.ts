/** Cosine schedules: CosineAnnealingLR and CosineAnnealingWarmRestarts (SGDR). */
import { checkInteger, checkKnownOptions, checkNumber, checkOptions, typeError } from '../../core/validate';
import type { OptimizerLike } from './types';
import { SAFE, orDefault } from './helpers';
import { LRScheduler } from './base';

/**
 * Options of {@link CosineAnnealingLR}.
 *
 * @example
 * const o: CosineAnnealingLROptions = { tMax: 50, etaMin: 1e-5 };
 */
export interface CosineAnnealingLROptions {
  /** Half-period in epochs (torch's T_max, an integer ≥ 1). */
  tMax: number;
  /** Minimum lr (≥ 0). Default 0. */
  etaMin?: number;
}

/**
 * Cosine annealing from each group's initial lr down to `etaMin` over `tMax` epochs, then
 * back up (torch's `CosineAnnealingLR`, without restarts). As in torch, `step()` applies the
 * recursive form `(1 + cos(π·e/T)) / (1 + cos(π·(e−1)/T)) · (lr − ηmin) + ηmin`, with the
 * additive form at the epochs where that ratio is 0/0.
 *
 * @example
 * const sched = new CosineAnnealingLR(opt, { tMax: 100, etaMin: 1e-5 });
 */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: OptimizerLike, options: CosineAnnealingLROptions) {
    super('CosineAnnealingLR', optimizer);
    const ctx = this._name;
    if (options === undefined) throw typeError(ctx, 'options', 'an options object with tMax', options);
    const o = checkOptions<CosineAnnealingLROptions>(ctx, 'options', options);
    checkKnownOptions(ctx, o, ['tMax', 'etaMin']);
    this.tMax = checkInteger(ctx, 'tMax', o.tMax, 1, SAFE);
    this.etaMin = checkNumber(ctx, 'etaMin', orDefault(o.etaMin, 0), { min: 0 });
    this.initEpochScheduler();
  }

  protected getLr(): number[] {
    const lrs = this.currentLrs();
    const e = this.lastEpoch;
    const T = this.tMax;
    const eta = this.etaMin;
    if (e === 0) return lrs;
    if (this._stepCount === 1 && e > 0)
      return this._baseLrs.map((b) => eta + ((b - eta) * (1 + Math.cos((e * Math.PI) / T))) / 2);
    if ((e - 1 - T) % (2 * T) === 0)
      return lrs.map((lr, i) => lr + ((this._baseLrs[i] - eta) * (1 - Math.cos(Math.PI / T))) / 2);
    return lrs.map((lr) => ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (lr - eta) + eta);
  }

  protected closedFormLr(): number[] {
    const eta = this.etaMin;
    return this._baseLrs.map((b) => eta + ((b - eta) * (1 + Math.cos((Math.PI * this.lastEpoch) / this.tMax))) / 2);
  }

  protected extraState(): Record<string, unknown> {
    return { tMax: this.tMax, etaMin: this.etaMin };
  }

  protected parseExtraState(s: Record<string, unknown>, ctx: string, name: string): () => void {
    const tMax = checkInteger(ctx, `${name}.tMax`, s.tMax, 1, SAFE);
    const etaMin = checkNumber(ctx, `${name}.etaMin`, s.etaMin, { min: 0 });
    return () => Object.assign(this, { tMax, etaMin });
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * Options of {@link CosineAnnealingWarmRestarts}.
 *
 * @example
 * const o: CosineAnnealingWarmRestartsOptions = { t0: 10, tMult: 2, etaMin: 1e-5 };
 */
export interface CosineAnnealingWarmRestartsOptions {
  /** Epochs until the first restart (torch's T_0, an integer ≥ 1). */
  t0: number;
  /** Factor by which the period grows after each restart (an integer ≥ 1). Default 1. */
  tMult?: number;
  /** Minimum lr (≥ 0). Default 0. */
  etaMin?: number;
}

/**
 * SGDR: cosine annealing from each group's initial lr to `etaMin` over `t0` epochs, then a
 * restart, each period `tMult` times longer than the previous (torch's
 * `CosineAnnealingWarmRestarts`). Only integer steps are supported: torch's fractional
 * `step(epoch)` form depends, at exact restart points, on the C library's `log` rounding.
 *
 * @example
 * // periods of 10, 20, 40, … epochs
 * const sched = new CosineAnnealingWarmRestarts(opt, { t0: 10, tMult: 2, etaMin: 1e-5 });
 */
export class CosineAnnealingWarmRestarts extends LRScheduler {
  readonly t0: number;
  readonly tMult: number;
  readonly etaMin: number;
  /** Length of the current period (torch's T_i). */
  readonly tI: number;
  /** Epochs since the last restart (torch's T_cur). */
  readonly tCur: number;

  constructor(optimizer: OptimizerLike, options: CosineAnnealingWarmRestartsOptions) {
    super('CosineAnnealingWarmRestarts', optimizer);
    const ctx = this._name;
    if (options === undefined) throw typeError(ctx, 'options', 'an options object with t0', options);
    const o = checkOptions<CosineAnnealingWarmRestartsOptions>(ctx, 'options', options);
    checkKnownOptions(ctx, o, ['t0', 'tMult', 'etaMin']);
    this.t0 = checkInteger(ctx, 't0', o.t0, 1, SAFE);
    this.tMult = checkInteger(ctx, 'tMult', orDefault(o.tMult, 1), 1, SAFE);
    this.etaMin = checkNumber(ctx, 'etaMin', orDefault(o.etaMin, 0), { min: 0 });
    this.tI = this.t0;
    this.tCur = -1;
    this.initEpochScheduler();
  }

  /**
   * Advances one epoch (torch's `step()`): the position in the period grows by one and wraps
   * at its end into a `tMult` times longer period.
   *
   * @example
   * for (let epoch = 0; epoch < 70; epoch++) { train(); opt.step(); sched.step(); }
   */
  step(): void {
    if (arguments.length > 0)
      throw typeError(`${this._name}.step`, 'arguments', "no argument (torch's fractional step(epoch) is not supported)", arguments[0]);
    if (this.lastEpoch < 0) {
      this._advance(true);
      return;
    }
    this.groups(`${this._name}.step`); // checked before anything changes
    let tCur = this.tCur + 1;
    let tI = this.tI;
    if (tCur >= tI) {
      tCur = tCur - tI;
      tI = tI * this.tMult;
    }
    Object.assign(this, { tCur, tI });
    this.lastEpoch = this.lastEpoch + 1;
    this.applyLrs(this.getLr());
  }

  /** @internal torch's `step(0)`: back to the start of the first period. */
  _advance(restart: boolean): void {
    if (!restart) {
      this.step();
      return;
    }
    this.groups(`${this._name}.step`);
    Object.assign(this, { tI: this.t0, tCur: 0 });
    this.lastEpoch = 0;
    this.applyLrs(this.getLr());
  }

  protected getLr(): number[] {
    const eta = this.etaMin;
    return this._baseLrs.map((b) => eta + ((b - eta) * (1 + Math.cos((Math.PI * this.tCur) / this.tI))) / 2);
  }

  protected extraState(): Record<string, unknown> {
    return { t0: this.t0, tMult: this.tMult, etaMin: this.etaMin, tI: this.tI, tCur: this.tCur };
  }

  protected parseExtraState(s: Record<string, unknown>, ctx: string, name: string): () => void {
    const t0 = checkInteger(ctx, `${name}.t0`, s.t0, 1, SAFE);
    const tMult = checkInteger(ctx, `${name}.tMult`, s.tMult, 1, SAFE);
    const etaMin = checkNumber(ctx, `${name}.etaMin`, s.etaMin, { min: 0 });
    const tI = checkInteger(ctx, `${name}.tI`, s.tI, 1, SAFE);
    const tCur = checkInteger(ctx, `${name}.tCur`, s.tCur, -1, SAFE);
    return () => Object.assign(this, { t0, tMult, etaMin, tI, tCur });
  }
}
