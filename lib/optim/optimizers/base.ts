/**
 * The base class of every optimizer (torch.optim.Optimizer): parameter groups with per-group
 * options, per-parameter state, the per-group maxNorm constraint and state dicts; plus the
 * option validators the optimizers share.
 */
import { native } from '../../native/addon';
import { alignedFloat32Array } from '../../core/aligned';
import { arenaRangeOf, ParameterArena } from '../../core/parameter-arena';
import { Parameter } from '../../core/tensor';
import { checkBoolean, checkKnownOptions, checkNumber, checkOptions, rangeError, typeError } from '../../core/validate';

/**
 * A parameter group: its parameters plus options that override the optimizer's defaults for
 * them. This is how each parameter gets its own learning rate and regularisation.
 * `maxNorm` (beyond PyTorch): after each step every row of every 2-D parameter in the group
 * is rescaled to L2 norm ≤ maxNorm.
 */
export type Group<O> = { params: Parameter[] } & Partial<O> & { maxNorm?: number };
/** A group as the optimizer holds it: every option resolved; schedulers write `lr`. */
export type ResolvedGroup<O> = { params: Parameter[]; maxNorm?: number; initialLr?: number } & O;

/**
 * What an update reads and writes: a parameter, or (the arena path) one run of a
 * ParameterArena's slots holding a whole group — `data`, `grad` and `size` only.
 */
export type ParameterSlot = Pick<Parameter, 'data' | 'grad' | 'size'>;

/**
 * A group's arena path: the run of arena slots that holds exactly its parameters, state
 * buffers over the same run (each parameter's state entries are views into them) and the
 * counters every parameter shares.
 */
interface FlatPlan {
  arena: ParameterArena;
  start: number;
  end: number;
  slot: ParameterSlot;
  /** The group's state: buffers over [start, end), counters. */
  state: Record<string, StateValue>;
  /** Per parameter of the group (its order): its state record and where its slot starts in the run. */
  params: Parameter[];
  records: Array<Record<string, StateValue>>;
  offsets: number[];
}

/** One entry of a parameter's optimizer state: a buffer or a counter. */
export type StateValue = Float32Array | number;
/** One validator per option of an optimizer. */
export type OptionSpec<O> = { [K in keyof O]: (ctx: string, name: string, v: unknown) => O[K] };

// The validators the optimizers' option specs are made of. @internal
export const num = (opts: Parameters<typeof checkNumber>[3]) => (ctx: string, name: string, v: unknown) => checkNumber(ctx, name, v, opts);
export const bool = (ctx: string, name: string, v: unknown) => checkBoolean(ctx, name, v);
export const lrSpec = num({ min: 0 });
export const nonNegative = num({ min: 0 });
const unit = num({ min: 0, max: 1, maxExclusive: true });
export const betasSpec = (ctx: string, name: string, v: unknown): [number, number] => {
  if (!Array.isArray(v) || v.length !== 2) throw typeError(ctx, name, 'an array of two numbers [beta1, beta2]', v);
  return [unit(ctx, `${name}[0]`, v[0]), unit(ctx, `${name}[1]`, v[1])];
};

/**
 * The machinery shared by every optimizer: parameter groups with per-group options,
 * per-parameter state, the per-group maxNorm constraint and state dicts.
 */
export abstract class Optimizer<O extends { lr: number; weightDecay: number }> {
  readonly paramGroups: Array<ResolvedGroup<O>>;
  protected readonly state = new Map<Parameter, Record<string, StateValue>>();
  private readonly name: string;

  protected constructor(name: string, params: Parameter[] | Array<Group<O>>, defaults: O, spec: OptionSpec<O>, options: unknown) {
    this.name = name;
    const ctx = name;
    const given = checkOptions<O>(ctx, 'options', options);
    checkKnownOptions(ctx, given, Object.keys(spec));
    const base = { ...defaults } as O;
    for (const key of Object.keys(spec) as Array<keyof O>)
      if (given[key] !== undefined) base[key] = spec[key](ctx, `options.${String(key)}`, given[key]);

    if (!Array.isArray(params)) throw typeError(ctx, 'params', 'an array of Parameter or of parameter groups', params);
    if (params.length === 0) throw new RangeError(`${ctx}: params is an empty list; there is nothing to optimize`);
    // A list whose first entry is a Parameter is a plain parameter list; else a list of groups.
    if (params[0] instanceof Parameter)
      params.forEach((p, i) => {
        if (!(p instanceof Parameter)) throw typeError(ctx, `params[${i}]`, 'a Parameter (the list started with one)', p);
        const first = (params as Parameter[]).indexOf(p);
        if (first < i) throw new RangeError(`${ctx}: params[${i}] is the same Parameter as params[${first}]`);
      });
    const groups: Array<Group<O>> = params[0] instanceof Parameter
      ? [{ params: params as Parameter[] } as Group<O>]
      : (params as Array<Group<O>>);
    const seen = new Set<Parameter>();
    this.paramGroups = groups.map((g, gi) => {
      const gname = `params[${gi}]`;
      if (g === null || typeof g !== 'object' || g instanceof Parameter || !Array.isArray(g.params))
        throw typeError(ctx, gname, 'a parameter group { params: Parameter[], ...options }', g);
      g.params.forEach((p, pi) => {
        if (!(p instanceof Parameter)) throw typeError(ctx, `${gname}.params[${pi}]`, 'a Parameter', p);
        if (seen.has(p)) throw new RangeError(`${ctx}: ${gname}.params[${pi}] appears in more than one parameter group`);
        seen.add(p);
      });
      const resolved = { ...base, params: g.params.slice() } as ResolvedGroup<O>;
      for (const [key, value] of Object.entries(g)) {
        if (key === 'params' || value === undefined) continue;
        if (key === 'maxNorm') resolved.maxNorm = checkNumber(ctx, `${gname}.maxNorm`, value, { min: 0, minExclusive: true });
        else if (key in spec) (resolved as Record<string, unknown>)[key] = spec[key as keyof O](ctx, `${gname}.${key}`, value);
        else (resolved as Record<string, unknown>)[key] = value; // user metadata travels with the group, as in torch
      }
      return resolved;
    });
  }

  /**
   * Updates every parameter from its `.grad`, group by group. A group whose parameters fill
   * a run of adjacent slots of one ParameterArena (`model.flattenParameters()`, as the
   * trainer does) is updated in one pass over that run, with the same arithmetic as one
   * update per parameter; other groups parameter by parameter.
   */
  step(): void {
    this.paramGroups.forEach((group, gi) => {
      checkNumber(`${this.name}.step`, 'paramGroups[].lr', group.lr, { min: 0 });
      if (!this.stepFlat(group, gi))
        for (const p of group.params) {
          let st = this.state.get(p);
          if (!st) {
            st = {};
            this.state.set(p, st);
          }
          this.update(p, group, st);
        }
      if (group.maxNorm !== undefined)
        for (const p of group.params) if (p.shape.length === 2) native.maxNormRows(p.data, p.shape[0], p.shape[1], group.maxNorm);
    });
  }

  /**
   * One parameter's update (or, where `flatSafe` allows, one update of a whole group's run
   * of arena slots: then `p` has only data, grad and size); `state` starts empty and
   * persists between steps.
   */
  protected abstract update(p: ParameterSlot, group: ResolvedGroup<O>, state: Record<string, StateValue>): void;

  /**
   * Whether `update` may run once over a group's run of arena slots: it must read only
   * `data`, `grad` and `size`, treat elements independently with the group's options, and
   * leave an element whose gradient, value and state are zero (the padding between slots)
   * at zero. False by default (an optimizer defined elsewhere updates parameter by
   * parameter); the built-in ones say when it holds.
   */
  protected flatSafe(_group: ResolvedGroup<O>): boolean {
    return false;
  }

  /** The arena paths, per group index (rebuilt when the group's slots or state changed). */
  private readonly plans: Array<FlatPlan | null> = [];

  /** The group's update in one pass over its arena run; false when it must go parameter by parameter. */
  private stepFlat(group: ResolvedGroup<O>, gi: number): boolean {
    if (!this.flatSafe(group)) return false;
    const params = group.params;
    let plan = this.plans[gi] ?? null;
    if (!plan || !this.planHolds(plan, params)) {
      plan = this.makePlan(params);
      this.plans[gi] = plan;
      if (!plan) return false;
    }
    this.update(plan.slot, group, plan.state);
    // Each parameter's state follows: counters copied, new buffers seen through views.
    const keys = Object.keys(plan.state);
    for (let i = 0; i < plan.records.length; i++) {
      const st = plan.records[i];
      for (const k of keys) {
        const v = plan.state[k];
        if (typeof v === 'number') st[k] = v;
        else if (st[k] === undefined) st[k] = v.subarray(plan.offsets[i], plan.offsets[i] + plan.params[i].size);
      }
    }
    return true;
  }

  /** Whether a plan still fits: the same parameters in the same slots, and their state what the plan left. */
  private planHolds(plan: FlatPlan, params: Parameter[]): boolean {
    if (params.length !== plan.params.length) return false;
    for (let i = 0; i < params.length; i++) if (params[i] !== plan.params[i]) return false;
    const r = arenaRangeOf(params);
    if (!r || r.arena !== plan.arena || r.start !== plan.start || r.end !== plan.end) return false;
    const keys = Object.keys(plan.state);
    for (let i = 0; i < params.length; i++) {
      const st = this.state.get(params[i]);
      if (st !== plan.records[i]) return false;
      for (const k of keys) {
        const v = plan.state[k], own = st[k];
        if (typeof v === 'number' ? own !== v : !(own instanceof Float32Array) || own.buffer !== v.buffer || own.byteOffset !== v.byteOffset + 4 * plan.offsets[i]) return false;
      }
      for (const k in st) if (!(k in plan.state)) return false;
    }
    return true;
  }

  /**
   * A plan for a group whose parameters fill one arena run, taking over their state: none
   * yet, or the same keys and counters for every parameter (the buffers are copied into
   * buffers over the run, and each parameter's entries become views). Null otherwise.
   */
  private makePlan(params: Parameter[]): FlatPlan | null {
    const r = arenaRangeOf(params);
    if (!r) return null;
    const { arena, start, end } = r;
    const records = params.map((p) => this.state.get(p));
    const first = records[0];
    const keys = first ? Object.keys(first) : [];
    for (const st of records) {
      if ((st === undefined) !== (first === undefined)) return null;
      if (!st) continue;
      const ks = Object.keys(st);
      if (ks.length !== keys.length) return null;
      for (const k of keys) {
        const v = st[k], w = first![k];
        if (v === undefined || typeof v !== typeof w || (typeof v === 'number' && v !== w)) return null;
      }
    }
    const offsets = params.map((p) => arena.offsets[arena.parameters.indexOf(p)] - start);
    const state: Record<string, StateValue> = {};
    for (const k of keys) {
      const w = first![k];
      if (typeof w === 'number') {
        state[k] = w;
        continue;
      }
      const flat = alignedFloat32Array(end - start);
      params.forEach((p, i) => flat.set(records[i]![k] as Float32Array, offsets[i]));
      state[k] = flat;
    }
    const recs = params.map((p, i) => {
      let st = records[i];
      if (!st) {
        st = {};
        this.state.set(p, st);
      }
      for (const k of keys) {
        const v = state[k];
        st[k] = typeof v === 'number' ? v : v.subarray(offsets[i], offsets[i] + p.size);
      }
      return st;
    });
    const slot = { data: arena.data.subarray(start, end), grad: arena.grad.subarray(start, end), size: end - start };
    return { arena, start, end, slot, state, params: params.slice(), records: recs, offsets };
  }

  /** Zeroes the gradient of every parameter in every group (one fill per group in an arena run). */
  zeroGrad(): void {
    for (const g of this.paramGroups) {
      const r = arenaRangeOf(g.params);
      if (r) r.arena.grad.fill(0, r.start, r.end);
      else for (const p of g.params) p.grad.fill(0);
    }
  }

  /**
   * `{ state, paramGroups }` as torch: state keyed by the parameter's index across groups,
   * groups with their options and the indices of their parameters. Arrays are copies.
   */
  stateDict(): { state: Record<number, Record<string, StateValue>>; paramGroups: Array<Record<string, unknown>> } {
    let index = 0;
    const state: Record<number, Record<string, StateValue>> = {};
    const paramGroups = this.paramGroups.map((g) => {
      const { params, ...rest } = g;
      const options = copyOptions(rest);
      const indices = params.map((p) => {
        const st = this.state.get(p);
        if (st) state[index] = Object.fromEntries(Object.entries(st).map(([k, v]) => [k, v instanceof Float32Array ? v.slice() : v]));
        return index++;
      });
      return { ...options, params: indices };
    });
    return { state, paramGroups };
  }

  /** Restores a stateDict() of an optimizer over parameters of the same shapes. */
  loadStateDict(s: { state: Record<number, Record<string, StateValue>>; paramGroups: Array<Record<string, unknown>> }): void {
    const ctx = `${this.name}.loadStateDict`;
    if (s === null || typeof s !== 'object' || typeof s.state !== 'object' || !Array.isArray(s.paramGroups))
      throw typeError(ctx, 'stateDict', 'an object { state, paramGroups }', s);
    if (s.paramGroups.length !== this.paramGroups.length)
      throw rangeError(ctx, 'stateDict.paramGroups', `${this.paramGroups.length} groups`, s.paramGroups.length);
    const all: Parameter[] = [];
    s.paramGroups.forEach((g, gi) => {
      const mine = this.paramGroups[gi];
      if (!Array.isArray(g.params) || g.params.length !== mine.params.length)
        throw rangeError(ctx, `stateDict.paramGroups[${gi}].params`, `${mine.params.length} parameters`, g.params);
      all.push(...mine.params);
    });
    const restored = new Map<Parameter, Record<string, StateValue>>();
    for (const [key, st] of Object.entries(s.state)) {
      const p = all[Number(key)];
      if (!p) throw rangeError(ctx, `stateDict.state[${key}]`, `a parameter index below ${all.length}`, key);
      const copy: Record<string, StateValue> = {};
      if (st === null || typeof st !== 'object') throw typeError(ctx, `stateDict.state[${key}]`, 'an object of Float32Arrays and numbers', st);
      for (const [k, v] of Object.entries(st)) {
        checkStateKey(ctx, `stateDict.state[${key}]`, k);
        if (v instanceof Float32Array) {
          if (v.length !== p.size) throw rangeError(ctx, `stateDict.state[${key}].${k}`, `a Float32Array of length ${p.size}`, v);
          copy[k] = v.slice();
        } else if (typeof v === 'number') copy[k] = v;
        else throw typeError(ctx, `stateDict.state[${key}].${k}`, 'a Float32Array or number', v);
      }
      restored.set(p, copy);
    }
    // Group options are checked before any is applied: a number stays a number (lr,
    // weightDecay, initialLr from a scheduler), a flag a flag, betas numbers.
    const groups = s.paramGroups.map((g, gi) => {
      const { params: _ignored, ...options } = g;
      for (const [k, v] of Object.entries(options)) {
        checkStateKey(ctx, `stateDict.paramGroups[${gi}]`, k);
        const ok = (typeof v === 'number' && !Number.isNaN(v)) || typeof v === 'boolean' || (Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x)));
        if (!ok) throw typeError(ctx, `stateDict.paramGroups[${gi}].${k}`, 'a number, a boolean or an array of numbers', v);
        const live = (this.paramGroups[gi] as unknown as Record<string, unknown>)[k];
        if (live !== undefined && typeof live !== typeof v)
          throw typeError(ctx, `stateDict.paramGroups[${gi}].${k}`, `a ${typeof live} (as the optimizer's own ${k})`, v);
      }
      return copyOptions(options);
    });
    groups.forEach((o, gi) => {
      for (const [k, v] of Object.entries(o)) Object.defineProperty(this.paramGroups[gi], k, { value: v, writable: true, enumerable: true, configurable: true });
    });
    this.state.clear();
    for (const [p, st] of restored) this.state.set(p, st);
  }
}

/** Keys that would reach an object's prototype are refused (a state dict may come from a file). */
function checkStateKey(ctx: string, where: string, key: string): void {
  if (key === '__proto__' || key === 'constructor' || key === 'prototype') throw new RangeError(`${ctx}: ${where} has a key ${JSON.stringify(key)}, which no optimizer writes`);
}

/** Options copied so that no array (betas) is shared between a state dict and a live group. */
function copyOptions(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Array.isArray(v) ? v.slice() : v]));
}

/** The Float32Array state buffer `key` of one parameter, created (zeroed or filled) on first use. @internal */
export function buffer(state: Record<string, StateValue>, key: string, n: number, fill = 0): Float32Array {
  let b = state[key];
  if (!(b instanceof Float32Array)) {
    b = alignedFloat32Array(n);
    if (fill !== 0) b.fill(fill);
    state[key] = b;
  }
  return b;
}
