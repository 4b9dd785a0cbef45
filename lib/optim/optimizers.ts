import { native } from '../native/addon';
import { Parameter } from '../core/tensor';
import { checkBoolean, checkNumber, checkOptions, rangeError, typeError } from '../core/validate';

/**
 * A parameter group: its parameters plus options that override the optimizer's defaults for
 * them. This is how each parameter gets its own learning rate and regularisation.
 * `maxNorm` (beyond PyTorch): after each step every row of every 2-D parameter in the group
 * is rescaled to L2 norm ≤ maxNorm.
 */
export type Group<O> = { params: Parameter[] } & Partial<O> & { maxNorm?: number };
/** A group as the optimizer holds it: every option resolved; schedulers write `lr`. */
export type ResolvedGroup<O> = { params: Parameter[]; maxNorm?: number; initialLr?: number } & O;

type StateValue = Float32Array | number;
type OptionSpec<O> = { [K in keyof O]: (ctx: string, name: string, v: unknown) => O[K] };

const num = (opts: Parameters<typeof checkNumber>[3]) => (ctx: string, name: string, v: unknown) => checkNumber(ctx, name, v, opts);
const bool = (ctx: string, name: string, v: unknown) => checkBoolean(ctx, name, v);
const lrSpec = num({ min: 0 });
const nonNegative = num({ min: 0 });
const unit = num({ min: 0, max: 1, maxExclusive: true });
const betasSpec = (ctx: string, name: string, v: unknown): [number, number] => {
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
    for (const key of Object.keys(given))
      if (!(key in spec)) throw new RangeError(`${ctx}: unknown option "${key}" (known: ${Object.keys(spec).join(', ')})`);
    const base = { ...defaults } as O;
    for (const key of Object.keys(spec) as Array<keyof O>)
      if (given[key] !== undefined) base[key] = spec[key](ctx, `options.${String(key)}`, given[key]);

    if (!Array.isArray(params)) throw typeError(ctx, 'params', 'an array of Parameter or of parameter groups', params);
    if (params.length === 0) throw new RangeError(`${ctx}: params is an empty list; there is nothing to optimize`);
    // A list whose first entry is a Parameter is a plain parameter list; else a list of groups.
    if (params[0] instanceof Parameter)
      params.forEach((p, i) => {
        if (!(p instanceof Parameter)) throw typeError(ctx, `params[${i}]`, 'a Parameter (the list started with one)', p);
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
      for (const [k, v] of Object.entries(st)) {
        if (v instanceof Float32Array) {
          if (v.length !== p.size) throw rangeError(ctx, `stateDict.state[${key}].${k}`, `a Float32Array of length ${p.size}`, v);
          copy[k] = v.slice();
        } else if (typeof v === 'number') copy[k] = v;
        else throw typeError(ctx, `stateDict.state[${key}].${k}`, 'a Float32Array or number', v);
      }
      restored.set(p, copy);
    }
    s.paramGroups.forEach((g, gi) => {
      const { params: _ignored, ...options } = g;
      Object.assign(this.paramGroups[gi], copyOptions(options));
    });
    this.state.clear();
    for (const [p, st] of restored) this.state.set(p, st);
  }
}

/** Options copied so that no array (betas) is shared between a state dict and a live group. */
function copyOptions(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Array.isArray(v) ? v.slice() : v]));
}

function buffer(state: Record<string, StateValue>, key: string, n: number, fill = 0): Float32Array {
  let b = state[key];
  if (!(b instanceof Float32Array)) {
    b = new Float32Array(n);
    if (fill !== 0) b.fill(fill);
    state[key] = b;
  }
  return b;
}

// ---- SGD ---------------------------------------------------------------------------------

export interface SGDOptions { lr: number; momentum: number; dampening: number; nesterov: boolean; weightDecay: number; maximize: boolean }

/**
 * Stochastic gradient descent with momentum, dampening, Nesterov and weight decay
 * (torch.optim.SGD).
 *
 * @example
 * const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true });
 * opt.zeroGrad(); // … forward, backward …
 * opt.step();
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Parameter[] | Array<Group<SGDOptions>>, options: Partial<SGDOptions> & { lr: number }) {
    if (options === undefined || options === null || typeof options !== 'object' || options.lr === undefined)
      throw typeError('SGD', 'options.lr', 'a learning rate (a number ≥ 0)', options === undefined ? undefined : (options as { lr?: unknown })?.lr);
    super('SGD', params, { lr: 0, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, maximize: false },
      { lr: lrSpec, momentum: nonNegative, dampening: num({}), nesterov: bool, weightDecay: nonNegative, maximize: bool }, options);
    for (const g of this.paramGroups)
      if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0))
        throw new RangeError('SGD: Nesterov momentum requires a momentum > 0 and zero dampening');
  }

  protected update(p: Parameter, g: ResolvedGroup<SGDOptions>, st: Record<string, StateValue>): void {
    const firstStep = !(st.momentumBuffer instanceof Float32Array);
    const buf = g.momentum !== 0 ? buffer(st, 'momentumBuffer', p.size) : null;
    native.sgdStep(p.data, p.grad, buf, {
      lr: g.lr, momentum: g.momentum, dampening: g.dampening, weightDecay: g.weightDecay,
      nesterov: g.nesterov, maximize: g.maximize, firstStep,
    });
  }
}

// ---- Adam / AdamW -----------------------------------------------------------------------

export interface AdamOptions { lr: number; betas: [number, number]; eps: number; weightDecay: number; amsgrad: boolean; maximize: boolean }
const adamSpec: OptionSpec<AdamOptions> = { lr: lrSpec, betas: betasSpec, eps: nonNegative, weightDecay: nonNegative, amsgrad: bool, maximize: bool };

abstract class AdamBase extends Optimizer<AdamOptions> {
  protected abstract readonly decoupled: boolean;
  protected update(p: Parameter, g: ResolvedGroup<AdamOptions>, st: Record<string, StateValue>): void {
    const step = ((st.step as number | undefined) ?? 0) + 1;
    st.step = step;
    const m = buffer(st, 'expAvg', p.size);
    const v = buffer(st, 'expAvgSq', p.size);
    const vmax = g.amsgrad ? buffer(st, 'maxExpAvgSq', p.size) : null;
    native.adamStep(p.data, p.grad, m, v, vmax, {
      lr: g.lr, beta1: g.betas[0], beta2: g.betas[1], eps: g.eps, weightDecay: g.weightDecay,
      amsgrad: g.amsgrad, maximize: g.maximize, decoupled: this.decoupled, step,
    });
  }
}

/**
 * Adam (torch.optim.Adam): `weightDecay` is L2 added to the gradient; `amsgrad` keeps the
 * running maximum of the second moment.
 *
 * @example const opt = new Adam(model.parameters(), { lr: 2e-3 });
 */
export class Adam extends AdamBase {
  protected readonly decoupled = false;
  constructor(params: Parameter[] | Array<Group<AdamOptions>>, options: Partial<AdamOptions> = {}) {
    super('Adam', params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false }, adamSpec, options);
  }
}

/**
 * AdamW (torch.optim.AdamW): decoupled weight decay, param ← param·(1 − lr·weightDecay)
 * before the Adam update. Default weightDecay 1e-2.
 *
 * @example
 * const opt = new AdamW([
 *   { params: decay, weightDecay: 0.1 },
 *   { params: noDecay, weightDecay: 0 },
 * ], { lr: 1e-3 });
 */
export class AdamW extends AdamBase {
  protected readonly decoupled = true;
  constructor(params: Parameter[] | Array<Group<AdamOptions>>, options: Partial<AdamOptions> = {}) {
    super('AdamW', params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, maximize: false }, adamSpec, options);
  }
}

// ---- RMSprop ----------------------------------------------------------------------------

export interface RMSpropOptions { lr: number; alpha: number; eps: number; weightDecay: number; momentum: number; centered: boolean; maximize: boolean }

/**
 * RMSprop (torch.optim.RMSprop), optionally centered and with momentum.
 * @example const opt = new RMSprop(model.parameters(), { lr: 1e-3, centered: true, momentum: 0.9 });
 */
export class RMSprop extends Optimizer<RMSpropOptions> {
  constructor(params: Parameter[] | Array<Group<RMSpropOptions>>, options: Partial<RMSpropOptions> = {}) {
    super('RMSprop', params, { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false },
      { lr: lrSpec, alpha: nonNegative, eps: nonNegative, weightDecay: nonNegative, momentum: nonNegative, centered: bool, maximize: bool }, options);
  }

  protected update(p: Parameter, g: ResolvedGroup<RMSpropOptions>, st: Record<string, StateValue>): void {
    st.step = ((st.step as number | undefined) ?? 0) + 1;
    const sq = buffer(st, 'squareAvg', p.size);
    const buf = g.momentum > 0 ? buffer(st, 'momentumBuffer', p.size) : null;
    const gavg = g.centered ? buffer(st, 'gradAvg', p.size) : null;
    native.rmspropStep(p.data, p.grad, sq, buf, gavg, {
      lr: g.lr, alpha: g.alpha, eps: g.eps, weightDecay: g.weightDecay, momentum: g.momentum, centered: g.centered, maximize: g.maximize,
    });
  }
}

// ---- Adagrad ----------------------------------------------------------------------------

export interface AdagradOptions { lr: number; lrDecay: number; eps: number; weightDecay: number; initialAccumulatorValue: number; maximize: boolean }

/**
 * Adagrad (torch.optim.Adagrad) with learning-rate decay.
 * @example const opt = new Adagrad(model.parameters(), { lr: 0.05, lrDecay: 1e-4 });
 */
export class Adagrad extends Optimizer<AdagradOptions> {
  constructor(params: Parameter[] | Array<Group<AdagradOptions>>, options: Partial<AdagradOptions> = {}) {
    super('Adagrad', params, { lr: 1e-2, lrDecay: 0, eps: 1e-10, weightDecay: 0, initialAccumulatorValue: 0, maximize: false },
      { lr: lrSpec, lrDecay: nonNegative, eps: nonNegative, weightDecay: nonNegative, initialAccumulatorValue: nonNegative, maximize: bool }, options);
  }

  protected update(p: Parameter, g: ResolvedGroup<AdagradOptions>, st: Record<string, StateValue>): void {
    const step = ((st.step as number | undefined) ?? 0) + 1;
    st.step = step;
    const sum = buffer(st, 'sum', p.size, g.initialAccumulatorValue);
    native.adagradStep(p.data, p.grad, sum, { lr: g.lr, lrDecay: g.lrDecay, eps: g.eps, weightDecay: g.weightDecay, maximize: g.maximize, step });
  }
}
