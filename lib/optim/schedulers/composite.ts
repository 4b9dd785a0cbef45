/** Schedulers made of schedulers: SequentialLR and ChainedScheduler. */
import { checkInteger, checkKnownOptions, checkNumber, checkOptions, rangeError, typeError } from '../../core/validate';
import type { OptimizerLike, SchedulerState } from './types';
import { SAFE, encodeFloat, checkArray, bisectRight } from './helpers';
import { LRScheduler } from './base';
import { ReduceLROnPlateau } from './plateau';

/** The schedulers SequentialLR and ChainedScheduler can drive (not ReduceLROnPlateau). */
function checkSchedulers(ctx: string, name: string, v: unknown, opts: { allowComposite: boolean }): LRScheduler[] {
  const list = checkArray(ctx, name, v, 'a non-empty array of schedulers');
  if (list.length === 0) throw rangeError(ctx, name, 'a non-empty array of schedulers', v);
  list.forEach((s, i) => {
    if (!(s instanceof LRScheduler)) throw typeError(ctx, `${name}[${i}]`, 'an LRScheduler', s);
    if (s instanceof ReduceLROnPlateau)
      throw typeError(ctx, `${name}[${i}]`, 'a scheduler whose step() takes no metric (not ReduceLROnPlateau)', s);
    if (!opts.allowComposite && (s instanceof SequentialLR || s instanceof ChainedScheduler))
      throw typeError(ctx, `${name}[${i}]`, 'a non-composite scheduler (not SequentialLR or ChainedScheduler)', s);
    if (s.optimizer !== (list[0] as LRScheduler).optimizer)
      throw new RangeError(`${ctx}: ${name}[${i}] belongs to a different optimizer than ${name}[0]; all must share one`);
    if (list.indexOf(s) !== i) throw new RangeError(`${ctx}: ${name}[${i}] is the same scheduler as ${name}[${list.indexOf(s)}]`);
  });
  return list as LRScheduler[];
}

function parseChildStates(ctx: string, name: string, v: unknown, children: readonly LRScheduler[]): () => void {
  const list = checkArray(ctx, name, v, 'an array of scheduler states', children.length);
  const applies = list.map((s, i) => children[i]._parseState(s, ctx, `${name}[${i}]`));
  return () => applies.forEach((apply) => apply());
}

/**
 * Options of {@link SequentialLR}.
 *
 * @example
 * const o: SequentialLROptions = { schedulers: [warmup, cosine], milestones: [5] };
 */
export interface SequentialLROptions {
  /** The schedulers to run one after another, all built on the same optimizer, in this order. */
  schedulers: LRScheduler[];
  /** Epochs (strictly increasing integers ≥ 1) at which to switch to the next scheduler; one fewer than schedulers. */
  milestones: number[];
}

/**
 * Runs `schedulers[0]` until `milestones[0]`, then `schedulers[1]`, … (torch's
 * `SequentialLR`). As torch: at construction every group's lr is reset to its `initialLr`,
 * every scheduler's `lastEpoch` is moved back by one, and `schedulers[0]` redoes its initial
 * step; at a milestone the next scheduler restarts at epoch 0 using its closed form (e.g.
 * ExponentialLR and CosineAnnealingLR restart from the initial lr). Build the sub-schedulers
 * in order, right before this.
 *
 * @example
 * const warmup = new LinearLR(opt, { startFactor: 0.1, totalIters: 5 });
 * const cosine = new CosineAnnealingLR(opt, { tMax: 95 });
 * const sched = new SequentialLR(opt, { schedulers: [warmup, cosine], milestones: [5] });
 */
export class SequentialLR extends LRScheduler {
  /** @internal */ _schedulers: LRScheduler[];
  /** @internal */ _milestones: number[];

  constructor(optimizer: OptimizerLike, options: SequentialLROptions) {
    super('SequentialLR', optimizer);
    const ctx = this._name;
    if (options === undefined) throw typeError(ctx, 'options', 'an options object with schedulers and milestones', options);
    const o = checkOptions<SequentialLROptions>(ctx, 'options', options);
    checkKnownOptions(ctx, o, ['schedulers', 'milestones']);
    const schedulers = checkSchedulers(ctx, 'schedulers', o.schedulers, { allowComposite: false });
    schedulers.forEach((s, i) => {
      if (s.optimizer !== this.optimizer)
        throw new RangeError(`${ctx}: schedulers[${i}] belongs to a different optimizer than the one passed to SequentialLR`);
    });
    this._milestones = SequentialLR.checkMilestones(ctx, 'milestones', o.milestones, schedulers.length);
    this._schedulers = schedulers.slice();
    const groups = this.optimizer.paramGroups;
    groups.forEach((g, i) => checkNumber(ctx, `optimizer.paramGroups[${i}].initialLr`, g.initialLr, { min: 0 }));

    this.lastEpoch = 0;
    for (const g of groups) g.lr = g.initialLr as number; // reset the lrs to their initial values
    for (const s of this._schedulers) s.lastEpoch -= 1; // "undo" the step the others performed
    this._schedulers[0]._initialStep(); // initial step for only the first scheduler
    this._lastLr = this._schedulers[0].getLastLr();
  }

  private static checkMilestones(ctx: string, name: string, v: unknown, schedulers: number): number[] {
    const what = `an array of ${schedulers - 1} strictly increasing integers ≥ 1 (one fewer than schedulers)`;
    const list = checkArray(ctx, name, v, what);
    if (list.length !== schedulers - 1) throw rangeError(ctx, name, what, v);
    const out = list.map((m, i) => checkInteger(ctx, `${name}[${i}]`, m, 1, SAFE));
    out.forEach((m, i) => {
      if (i > 0 && m <= out[i - 1]) throw rangeError(ctx, name, what, v);
    });
    return out;
  }

  /**
   * The sub-schedulers, in order.
   *
   * @example
   * const [warmup, main] = sched.schedulers;
   */
  get schedulers(): readonly LRScheduler[] {
    return this._schedulers.slice();
  }

  /**
   * The epochs at which the next sub-scheduler takes over.
   *
   * @example
   * sched.milestones; // [5]
   */
  get milestones(): readonly number[] {
    return this._milestones.slice();
  }

  /**
   * Advances one epoch: steps the scheduler in charge, restarting it at epoch 0 if this epoch
   * is its milestone.
   *
   * @example
   * opt.step(); sched.step();
   */
  step(): void {
    if (arguments.length > 0) throw typeError(`${this._name}.step`, 'arguments', 'no argument', arguments[0]);
    const epoch = this.lastEpoch + 1;
    const idx = bisectRight(this._milestones, epoch);
    const scheduler = this._schedulers[idx];
    if (idx > 0 && this._milestones[idx - 1] === epoch) scheduler._advance(true);
    else scheduler.step();
    this.lastEpoch = epoch;
    this._lastLr = scheduler.getLastLr();
  }

  /** @internal */
  _advance(restart: boolean): void {
    if (restart) throw new TypeError(`${this._name}: cannot be restarted by another scheduler`);
    this.step();
  }

  /**
   * Its own counters and milestones, with every sub-scheduler's state under `schedulers`.
   *
   * @example
   * const saved = JSON.stringify(sched.stateDict());
   */
  stateDict(): SchedulerState {
    return {
      type: this._name,
      lastEpoch: this.lastEpoch,
      milestones: this._milestones.slice(),
      lastLr: this._lastLr.map(encodeFloat),
      schedulers: this._schedulers.map((s) => s.stateDict()),
    };
  }

  /** @internal */
  _parseState(state: unknown, ctx: string, name: string): () => void {
    const s = this.parseCommon(state, ctx, name);
    const lastEpoch = checkInteger(ctx, `${name}.lastEpoch`, s.lastEpoch, 0, SAFE);
    const milestones = SequentialLR.checkMilestones(ctx, `${name}.milestones`, s.milestones, this._schedulers.length);
    const lastLr = this.parseLrs(s.lastLr, ctx, `${name}.lastLr`);
    const children = parseChildStates(ctx, `${name}.schedulers`, s.schedulers, this._schedulers);
    return () => {
      this.lastEpoch = lastEpoch;
      this._milestones = milestones;
      this._lastLr = lastLr;
      children();
    };
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * Steps several schedulers together, each applying its chainable form to the lr the previous
 * one left (torch's `ChainedScheduler`). Unlike the others it takes the schedulers directly, as
 * torch, and performs no step at construction; `lastEpoch` counts its steps.
 *
 * @example
 * // lr = 0.05, 0.05625, 0.06075, … (initial lr 0.1): a warm-up times an exponential decay
 * const warmup = new LinearLR(opt, { startFactor: 0.5, totalIters: 4 });
 * const decay = new ExponentialLR(opt, { gamma: 0.9 });
 * const sched = new ChainedScheduler([warmup, decay]);
 */
export class ChainedScheduler extends LRScheduler {
  /** @internal */ _schedulers: LRScheduler[];

  constructor(schedulers: LRScheduler[]) {
    const list = checkSchedulers('ChainedScheduler', 'schedulers', schedulers, { allowComposite: true });
    super('ChainedScheduler', list[0].optimizer);
    this._schedulers = list.slice();
    this.lastEpoch = 0;
    this._lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /**
   * The chained schedulers, in order.
   *
   * @example
   * for (const s of sched.schedulers) console.log(s.lastEpoch);
   */
  get schedulers(): readonly LRScheduler[] {
    return this._schedulers.slice();
  }

  /**
   * Steps every scheduler, in order.
   *
   * @example
   * opt.step(); sched.step();
   */
  step(): void {
    if (arguments.length > 0) throw typeError(`${this._name}.step`, 'arguments', 'no argument', arguments[0]);
    for (const s of this._schedulers) s.step();
    this.lastEpoch += 1;
    this._lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** @internal */
  _advance(restart: boolean): void {
    if (restart) throw new TypeError(`${this._name}: cannot be restarted by another scheduler`);
    this.step();
  }

  /**
   * Its step count and last lrs, with every chained scheduler's state under `schedulers`.
   *
   * @example
   * const saved = JSON.stringify(sched.stateDict());
   */
  stateDict(): SchedulerState {
    return {
      type: this._name,
      lastEpoch: this.lastEpoch,
      lastLr: this._lastLr.map(encodeFloat),
      schedulers: this._schedulers.map((s) => s.stateDict()),
    };
  }

  /** @internal */
  _parseState(state: unknown, ctx: string, name: string): () => void {
    const s = this.parseCommon(state, ctx, name);
    const lastEpoch = checkInteger(ctx, `${name}.lastEpoch`, s.lastEpoch, 0, SAFE);
    const lastLr = this.parseLrs(s.lastLr, ctx, `${name}.lastLr`);
    const children = parseChildStates(ctx, `${name}.schedulers`, s.schedulers, this._schedulers);
    return () => {
      this.lastEpoch = lastEpoch;
      this._lastLr = lastLr;
      children();
    };
  }
}
