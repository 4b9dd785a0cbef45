/** The base class of every learning-rate scheduler (torch's `_LRScheduler`). */
import { checkInteger, checkNumber, rangeError, typeError } from '../../core/validate';
import type { SchedulableOptimizer, ParamGroup, SchedulerState } from './types';
import { SAFE, encodeFloat, decodeFloat, checkObject, checkArray, checkOptimizer } from './helpers';

/**
 * The common base of every scheduler. For torch's epoch schedulers (all but
 * ReduceLROnPlateau and the composites) it is torch's `_LRScheduler`: the constructor records
 * `initialLr` in each param group (if absent), takes those as the base lrs, and performs the
 * initial step (`lastEpoch` becomes 0, setting the lr for epoch 0); each `step()` advances
 * `lastEpoch` by one and applies the chainable form.
 *
 * @example
 * const scheds: LRScheduler[] = [new StepLR(opt, { stepSize: 5 })];
 * for (let epoch = 0; epoch < 20; epoch++) {
 *   train(); opt.step();
 *   for (const s of scheds) s.step();
 *   console.log(scheds[0].lastEpoch, scheds[0].getLastLr());
 * }
 */
export abstract class LRScheduler {
  /** The optimizer whose `paramGroups[i].lr` this scheduler writes. */
  readonly optimizer: SchedulableOptimizer;
  /** Epochs (steps) taken: 0 right after construction, +1 per `step()` (torch's `last_epoch`). */
  lastEpoch = -1;
  /** @internal torch's `_step_count`. */
  _stepCount = 0;
  /** @internal torch's `_last_lr`. */
  _lastLr: number[] = [];
  /** @internal torch's `base_lrs` (the groups' `initialLr`). */
  _baseLrs: number[] = [];
  /** @internal The class name, for messages and the state dict's `type`. */
  readonly _name: string;

  protected constructor(name: string, optimizer: unknown) {
    this._name = name;
    this.optimizer = checkOptimizer(name, optimizer);
  }

  /** torch's `_LRScheduler.__init__` with last_epoch = -1, after the subclass validated its options. */
  protected initEpochScheduler(): void {
    const groups = this.optimizer.paramGroups;
    groups.forEach((g, i) => {
      if (g.initialLr !== undefined) checkNumber(this._name, `optimizer.paramGroups[${i}].initialLr`, g.initialLr, { min: 0 });
    });
    const added = groups.filter((g) => g.initialLr === undefined);
    for (const g of added) g.initialLr = g.lr; // torch: group.setdefault('initial_lr', group['lr'])
    this._baseLrs = groups.map((g) => g.initialLr as number);
    this.lastEpoch = -1;
    try {
      this._initialStep();
    } catch (e) {
      for (const g of added) delete g.initialLr; // a failed construction leaves the groups as they were
      throw e;
    }
  }

  /** @internal torch's `_initial_step`: reset the step count and step once. */
  _initialStep(): void {
    this._stepCount = 0;
    this.step();
  }

  /**
   * The learning rate of each param group as last set by this scheduler (torch's
   * `get_last_lr()`); a fresh array.
   *
   * @example
   * const [lrGroup0, lrGroup1] = sched.getLastLr();
   */
  getLastLr(): number[] {
    return this._lastLr.slice();
  }

  /**
   * Advances the schedule by one epoch (or batch, for per-batch schedules such as
   * OneCycleLR) and writes the new lrs into the optimizer; call it after `optimizer.step()`.
   * Only ReduceLROnPlateau takes an argument (the monitored metric, required); the others
   * take none: torch's deprecated `step(epoch)` form is not supported and throws.
   *
   * @example
   * for (let epoch = 0; epoch < 100; epoch++) { train(); opt.step(); sched.step(); }
   */
  step(metric?: number): void {
    if (arguments.length > 0)
      throw typeError(`${this._name}.step`, 'arguments', "no argument (torch's deprecated step(epoch) is not supported)", metric);
    this._advance(false);
  }

  /**
   * @internal torch's `_LRScheduler.step(epoch)`: `restart` = false is `step()` (chainable
   * get_lr), true is `step(0)` (the closed form at epoch 0, as SequentialLR calls it).
   * Atomic: if the lrs cannot be computed, nothing changes.
   */
  _advance(restart: boolean): void {
    const savedEpoch = this.lastEpoch;
    const savedCount = this._stepCount;
    let values: number[];
    this._stepCount += 1;
    try {
      if (!restart) {
        this.lastEpoch += 1;
        values = this.getLr();
      } else {
        this.lastEpoch = 0;
        values = this.closedFormLr() ?? this.getLr();
      }
    } catch (e) {
      this.lastEpoch = savedEpoch;
      this._stepCount = savedCount;
      throw e;
    }
    this.applyLrs(values);
  }

  /** The chainable lrs for `this.lastEpoch` (torch's `get_lr()`); must not mutate before it may throw. */
  protected getLr(): number[] {
    throw new Error(`${this._name}: getLr is not implemented`);
  }

  /** torch's `_get_closed_form_lr()` where the class has one, else null (get_lr is used). */
  protected closedFormLr(): number[] | null {
    return null;
  }

  /** Writes the lrs into the groups and records them as the last lrs. */
  protected applyLrs(values: number[]): void {
    const groups = this.optimizer.paramGroups;
    values.forEach((lr, i) => {
      groups[i].lr = lr;
    });
    this._lastLr = groups.map((g) => g.lr);
  }

  /** The optimizer's groups, checked to still match the scheduler's. */
  protected groups(ctx: string, expected = this._baseLrs.length): ParamGroup[] {
    const groups = this.optimizer.paramGroups;
    if (!Array.isArray(groups)) throw typeError(ctx, 'optimizer.paramGroups', 'an array of param groups', groups);
    if (groups.length !== expected)
      throw rangeError(ctx, 'optimizer.paramGroups', `${expected} param groups (as when the scheduler was built)`, groups);
    return groups;
  }

  /** Each group's current lr (the chainable forms multiply it). */
  protected currentLrs(ctx = `${this._name}.step`): number[] {
    return this.groups(ctx).map((g, i) => {
      if (typeof g.lr !== 'number') throw typeError(ctx, `optimizer.paramGroups[${i}].lr`, 'a number', g.lr);
      return g.lr;
    });
  }

  /**
   * The scheduler's state as plain JSON-serialisable data (torch's `state_dict()`, without
   * the optimizer and without functions). Non-finite floats are stored as strings.
   *
   * @example
   * fs.writeFileSync('sched.json', JSON.stringify(sched.stateDict()));
   */
  stateDict(): SchedulerState {
    return {
      type: this._name,
      lastEpoch: this.lastEpoch,
      stepCount: this._stepCount,
      baseLrs: this._baseLrs.map(encodeFloat),
      lastLr: this._lastLr.map(encodeFloat),
      ...this.extraState(),
    };
  }

  /**
   * Restores a state from `stateDict()` (torch's `load_state_dict()`: counters and
   * hyperparameters). The whole state is validated first (TypeError / RangeError naming the
   * field); on error nothing changes. The lrs themselves live in the optimizer: load its state
   * too, so that continuing gives exactly the lrs of an uninterrupted run.
   *
   * @example
   * const sched = new StepLR(opt, { stepSize: 10 });
   * opt.loadStateDict(savedOpt);
   * sched.loadStateDict(JSON.parse(fs.readFileSync('sched.json', 'utf8')));
   */
  loadStateDict(state: object): void {
    this._parseState(state, `${this._name}.loadStateDict`, 'state')();
  }

  /** @internal Validates a state dict and returns the function that applies it. */
  _parseState(state: unknown, ctx: string, name: string): () => void {
    const s = this.parseCommon(state, ctx, name);
    const n = this._baseLrs.length;
    const lastEpoch = checkInteger(ctx, `${name}.lastEpoch`, s.lastEpoch, -1, SAFE);
    const stepCount = checkInteger(ctx, `${name}.stepCount`, s.stepCount, 0, SAFE);
    const baseLrs = checkArray(ctx, `${name}.baseLrs`, s.baseLrs, 'an array of numbers', n).map((v, i) =>
      checkNumber(ctx, `${name}.baseLrs[${i}]`, v, { min: 0 }),
    );
    const lastLr = this.parseLrs(s.lastLr, ctx, `${name}.lastLr`);
    const extra = this.parseExtraState(s, ctx, name);
    return () => {
      this.lastEpoch = lastEpoch;
      this._stepCount = stepCount;
      this._baseLrs = baseLrs;
      this._lastLr = lastLr;
      extra();
    };
  }

  /** Checks the object and its `type`. */
  protected parseCommon(state: unknown, ctx: string, name: string): Record<string, unknown> {
    const s = checkObject(ctx, name, state);
    if (typeof s.type !== 'string') throw typeError(ctx, `${name}.type`, JSON.stringify(this._name), s.type);
    if (s.type !== this._name) throw rangeError(ctx, `${name}.type`, JSON.stringify(this._name), s.type);
    return s;
  }

  /** An array of one float per param group. */
  protected parseLrs(v: unknown, ctx: string, name: string): number[] {
    const n = this.optimizer.paramGroups.length;
    return checkArray(ctx, name, v, 'an array of numbers', n).map((x, i) => decodeFloat(ctx, `${name}[${i}]`, x));
  }

  /** The subclass's hyperparameters and counters for the state dict. */
  protected extraState(): Record<string, unknown> {
    return {};
  }

  /** Validates the subclass's part of a state dict; returns the function that applies it. */
  protected parseExtraState(_s: Record<string, unknown>, _ctx: string, _name: string): () => void {
    return () => {};
  }
}
