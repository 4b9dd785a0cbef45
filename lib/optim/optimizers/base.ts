/**
 * The base class of every optimizer (torch.optim.Optimizer): parameter groups with per-group
 * options, per-parameter state, the per-group maxNorm constraint and state dicts; plus the
 * option validators the optimizers share.
 */
import { native } from '../../native/addon';
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

  /** Updates every parameter from its `.grad`, group by group. */
  step(): void {
    for (const group of this.paramGroups) {
      checkNumber(`${this.name}.step`, 'paramGroups[].lr', group.lr, { min: 0 });
      for (const p of group.params) {
        let st = this.state.get(p);
        if (!st) {
          st = {};
          this.state.set(p, st);
        }
        this.update(p, group, st);
        if (group.maxNorm !== undefined && p.shape.length === 2) native.maxNormRows(p.data, p.shape[0], p.shape[1], group.maxNorm);
      }
    }
  }

  /** One parameter's update; `state` starts empty and persists between steps. */
  protected abstract update(p: Parameter, group: ResolvedGroup<O>, state: Record<string, StateValue>): void;

  /** Zeroes the gradient of every parameter in every group. */
  zeroGrad(): void {
    for (const g of this.paramGroups) for (const p of g.params) p.grad.fill(0);
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
    b = new Float32Array(n);
    if (fill !== 0) b.fill(fill);
    state[key] = b;
  }
  return b;
}
