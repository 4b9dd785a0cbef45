/**
 * Learning-rate schedulers: torch.optim.lr_scheduler (PyTorch 1.13), step for step and bit for bit.
 *
 * Every scheduler writes `group.lr` of each of its optimizer's `paramGroups`. Like torch,
 * `step()` uses the chainable ("recursive") form of each schedule, which multiplies the
 * group's current lr, so the rounding accumulates exactly as it does in PyTorch; the closed
 * forms are only used where torch uses them (SequentialLR restarting a scheduler at a
 * milestone). All arithmetic is done in the same order as torch's Python, in float64.
 *
 * Resuming: build the optimizer and the scheduler as at the start of the run, then call
 * `optimizer.loadStateDict(...)` and `scheduler.loadStateDict(...)` (torch's order). The
 * scheduler's state holds its counters and hyperparameters; the current lrs (and
 * `initialLr`, and OneCycleLR's `maxLr`/`minLr`/`maxMomentum`/`baseMomentum`) live in the
 * optimizer's param groups, as in torch.
 */
import { checkBoolean, checkInteger, checkNumber, checkOneOf, checkOptions, rangeError, typeError } from '../core/validate';

/**
 * What a scheduler needs from an optimizer: its param groups, each with a numeric `lr`.
 * Schedulers write `lr` (and record `initialLr`; OneCycleLR also writes `momentum` or
 * `betas[0]` and its own bookkeeping keys), so any object of this shape can be scheduled.
 *
 * @example
 * const opt: SchedulableOptimizer = { paramGroups: [{ lr: 0.1, momentum: 0.9 }] };
 * const sched = new StepLR(opt, { stepSize: 10 });
 */
export interface SchedulableOptimizer {
  paramGroups: Array<{ lr: number; [key: string]: unknown }>;
}

/**
 * What the scheduler constructors accept: a {@link SchedulableOptimizer}, or any object whose
 * `paramGroups` are objects with a numeric `lr` — which is how this package's optimizers
 * (`SGD`, `Adam`, …) type their groups (interfaces without an index signature).
 *
 * @example
 * const sched = new StepLR(new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 }), { stepSize: 10 });
 */
export type OptimizerLike = SchedulableOptimizer | { paramGroups: Array<{ lr: number }> };

type ParamGroup = SchedulableOptimizer['paramGroups'][number];

/**
 * A float as stored in a state dict: a number, or for the non-finite values (which JSON
 * cannot hold) the strings `'Infinity'`, `'-Infinity'` and `'NaN'`.
 *
 * @example
 * const best: JsonFloat = 'Infinity'; // ReduceLROnPlateau's `best` before the first step in 'min' mode
 */
export type JsonFloat = number | 'Infinity' | '-Infinity' | 'NaN';

/**
 * The plain, JSON-serialisable data returned by `stateDict()`: always `type` (the class
 * name, checked on load) and `lastEpoch`, plus each scheduler's own counters and
 * hyperparameters (for torch's epoch schedulers: `stepCount`, `baseLrs`, `lastLr`).
 *
 * @example
 * const saved = JSON.stringify(sched.stateDict());
 * sched.loadStateDict(JSON.parse(saved));
 */
export interface SchedulerState {
  type: string;
  lastEpoch: number;
  [key: string]: unknown;
}

const SAFE = Number.MAX_SAFE_INTEGER;
/** Only undefined takes the default: null is a wrong type, as any other non-value. */
const orDefault = <T>(v: T | undefined, d: T): T => (v === undefined ? d : v);

function encodeFloat(x: number): JsonFloat {
  if (Number.isFinite(x)) return x;
  return Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity';
}

function decodeFloat(ctx: string, name: string, v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (v === 'NaN') return NaN;
  throw typeError(ctx, name, "a number (or 'Infinity', '-Infinity', 'NaN')", v);
}

function checkObject(ctx: string, name: string, v: unknown): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw typeError(ctx, name, 'a plain object', v);
  return v as Record<string, unknown>;
}

function checkArray(ctx: string, name: string, v: unknown, what: string, length?: number): unknown[] {
  if (!Array.isArray(v)) throw typeError(ctx, name, what, v);
  if (length !== undefined && v.length !== length) throw rangeError(ctx, name, `${what} of length ${length}`, v);
  return v;
}

function checkKnownOptions(ctx: string, o: object, known: readonly string[]): void {
  for (const key of Object.keys(o))
    if (!known.includes(key)) throw new RangeError(`${ctx}: unknown option "${key}" (known: ${known.join(', ')})`);
}

/** A number, or an array of one number per param group (torch's "float or list" options). */
function perGroup(ctx: string, name: string, v: unknown, groups: number, opts: Parameters<typeof checkNumber>[3]): number[] {
  if (Array.isArray(v)) {
    if (v.length !== groups) throw rangeError(ctx, name, `a number or an array of ${groups} numbers (one per param group)`, v);
    return v.map((x, i) => checkNumber(ctx, `${name}[${i}]`, x, opts));
  }
  if (typeof v !== 'number') throw typeError(ctx, name, `a number or an array of ${groups} numbers (one per param group)`, v);
  return new Array<number>(groups).fill(checkNumber(ctx, name, v, opts));
}

function checkOptimizer(ctx: string, optimizer: unknown): SchedulableOptimizer {
  if (optimizer === null || typeof optimizer !== 'object')
    throw typeError(ctx, 'optimizer', 'an optimizer (an object with a paramGroups array)', optimizer);
  const groups = (optimizer as { paramGroups?: unknown }).paramGroups;
  if (!Array.isArray(groups)) throw typeError(ctx, 'optimizer.paramGroups', 'an array of param groups', groups);
  if (groups.length === 0) throw rangeError(ctx, 'optimizer.paramGroups', 'at least one param group', groups);
  groups.forEach((g: unknown, i) => {
    checkObject(ctx, `optimizer.paramGroups[${i}]`, g);
    checkNumber(ctx, `optimizer.paramGroups[${i}].lr`, (g as ParamGroup).lr, { min: 0 });
  });
  return optimizer as SchedulableOptimizer;
}

/** Number of elements of a sorted array that are ≤ x (Python's bisect.bisect_right). */
function bisectRight(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x < sorted[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

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

// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------

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
