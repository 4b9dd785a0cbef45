import { isGradEnabled } from '../core/grad-mode';
import { arenaRangeOf, ParameterArena } from '../core/parameter-arena';
import { Parameter, Tensor } from '../core/tensor';
import { checkKnownOptions, checkOptions, rangeError, shapeString, typeError } from '../core/validate';

/**
 * The base of every layer and model: parameter registration in PyTorch's order, dotted
 * names for children, state dicts, gradients and the train/eval switch.
 *
 * @example
 * class Affine extends Module {
 *   readonly weight = this.registerParameter('weight', new Parameter(new Float32Array(4), [2, 2]));
 * }
 */
export abstract class Module {
  private readonly ownParameters: Array<[string, Parameter]> = [];
  private readonly children: Array<[string, Module]> = [];
  private isTraining = true;

  /** True in training mode (the default), false after eval(). */
  get training(): boolean {
    return this.isTraining;
  }

  protected registerParameter(name: string, p: Parameter): Parameter {
    this.ownParameters.push([name, p]);
    this.cachedParameters = null;
    return p;
  }

  protected registerModule<M extends Module>(name: string, m: M): M {
    this.children.push([name, m]);
    this.cachedParameters = null;
    return m;
  }

  /** parameters(), cached: a module's parameters are fixed once it is built. @internal */
  protected parameterList(): Parameter[] {
    return (this.cachedParameters ??= this.parameters());
  }
  private cachedParameters: Parameter[] | null = null;

  /** Whether any parameter takes part in backward (a forward records itself then). @internal */
  protected anyParameterRequiresGrad(): boolean {
    for (const p of this.parameterList()) if (p.requiresGrad) return true;
    return false;
  }

  /**
   * Whether a forward on these inputs records itself for backward: grad mode on and, in
   * training mode, any input or parameter requiring grad; in eval mode only an input requiring
   * grad (a gradient asked of the input — saliency, an attack — flows through eval-mode
   * modules, with the parameters' gradients as a by-product; plain inference keeps nothing). @internal
   */
  protected recordsFor(...inputs: Array<Tensor | null | undefined>): boolean {
    if (!isGradEnabled()) return false;
    for (const t of inputs) if (t && t.requiresGrad) return true;
    return this.isTraining && this.anyParameterRequiresGrad();
  }

  /** The number of parameter elements (shared parameters counted once). */
  numParameters(opts?: { trainableOnly?: boolean }): number {
    const o = checkOptions<{ trainableOnly: boolean }>(`${this.constructor.name}.numParameters`, 'opts', opts);
    return this.parameters().reduce((n, p) => n + (o.trainableOnly && !p.requiresGrad ? 0 : p.size), 0);
  }

  /**
   * A printed summary: one line per module (indented by depth) and per parameter with its
   * shape and size, and the totals — like PyTorch's repr plus torchinfo's counts.
   *
   * @example console.log(model.summary());
   */
  summary(): string {
    const lines: string[] = [];
    const seen = new Set<Parameter>();
    const walk = (m: Module, name: string, depth: number): void => {
      const pad = '  '.repeat(depth);
      const total = m.parameters().reduce((n, p) => n + p.size, 0);
      lines.push(`${pad}${name ? `${name}: ` : ''}${m.describe()}${total ? `  (${total.toLocaleString('en-US')} parameters)` : ''}`);
      for (const [pname, p] of m.ownParameters) {
        const shared = seen.has(p);
        seen.add(p);
        lines.push(`${pad}  ${pname} ${shapeString(p.shape)}${shared ? ' (shared)' : ''}${p.requiresGrad ? '' : ' (frozen)'}`);
      }
      for (const [cname, child] of m.children) walk(child, cname, depth + 1);
    };
    walk(this, '', 0);
    const total = this.numParameters();
    const trainable = this.numParameters({ trainableOnly: true });
    lines.push(`Total parameters: ${total.toLocaleString('en-US')}${trainable !== total ? ` (trainable: ${trainable.toLocaleString('en-US')})` : ''}`);
    return lines.join('\n');
  }

  /** The module's one-line description in summary() (its class name and options). */
  protected describe(): string {
    return this.constructor.name;
  }

  /** All parameters, PyTorch registration order (own first, then children's). */
  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /**
   * [name, parameter] pairs with PyTorch names, dotted for children. A parameter shared
   * by two modules (tied weights) is listed once, under its first name, as in PyTorch.
   */
  namedParameters(): Array<[string, Parameter]> {
    const seen = new Set<Parameter>();
    return this.namedParametersWithDuplicates().filter(([, p]) => !seen.has(p) && seen.add(p) !== undefined);
  }

  /** Like namedParameters(), but a shared parameter appears under every name (state dicts). */
  private namedParametersWithDuplicates(): Array<[string, Parameter]> {
    const out: Array<[string, Parameter]> = [...this.ownParameters];
    for (const [prefix, child] of this.children)
      for (const [name, p] of child.namedParametersWithDuplicates()) out.push([`${prefix}.${name}`, p]);
    return out;
  }

  /**
   * Name → tensor. The tensors share memory with the parameters (as PyTorch's state_dict):
   * save them before training on, or copy them.
   */
  stateDict(): Record<string, Tensor> {
    const sd: Record<string, Tensor> = {};
    for (const [name, p] of this.namedParametersWithDuplicates()) sd[name] = new Tensor(p.data, p.shape.slice());
    return sd;
  }

  /**
   * Copies values from a state dict, checking every shape. With `strict` (the default) a
   * missing or unexpected key is a RangeError. Nothing is copied unless all checks pass.
   */
  loadStateDict(sd: Record<string, Tensor>, opts?: { strict?: boolean }): void {
    const ctx = `${this.constructor.name}.loadStateDict`;
    if (sd === null || typeof sd !== 'object' || Array.isArray(sd)) throw typeError(ctx, 'stateDict', 'an object of name → Tensor', sd);
    const { strict = true } = checkOptions<{ strict: boolean }>(ctx, 'opts', opts);
    if (typeof strict !== 'boolean') throw typeError(ctx, 'opts.strict', 'a boolean', strict);
    const named = this.namedParametersWithDuplicates();
    const known = new Set(named.map(([n]) => n));
    if (strict) {
      const missing = named.map(([n]) => n).filter((n) => !(n in sd));
      const unexpected = Object.keys(sd).filter((k) => !known.has(k));
      if (missing.length || unexpected.length)
        throw new RangeError(
          `${ctx}: the state dict does not match this ${this.constructor.name}` +
            (missing.length ? `; missing keys: ${missing.join(', ')}` : '') +
            (unexpected.length ? `; unexpected keys: ${unexpected.join(', ')}` : ''),
        );
    }
    const plan: Array<[Parameter, Tensor]> = [];
    for (const [name, p] of named) {
      if (!(name in sd)) continue;
      const t = sd[name];
      if (!(t instanceof Tensor)) throw typeError(ctx, `stateDict["${name}"]`, 'a Tensor', t);
      const same = t.shape.length === p.shape.length && t.shape.every((d, i) => d === p.shape[i]);
      if (!same)
        throw new RangeError(
          `${ctx}: shape mismatch for "${name}": expected ${shapeString(p.shape)}, received ${shapeString(t.shape)}`,
        );
      plan.push([p, t]);
    }
    for (const [p, t] of plan) p.data.set(t.data);
    const notify = (m: Module): void => {
      m.onParametersLoaded();
      for (const [, child] of m.children) notify(child);
    };
    notify(this);
  }

  /** Hook for modules that cache something derived from their parameters (called on every module a loadStateDict reached). */
  protected onParametersLoaded(): void {}

  /** Sets every parameter's gradient to zero (one fill when they fill a flattened arena's run of slots). */
  zeroGrad(): void {
    const params = this.parameterList();
    const r = arenaRangeOf(params);
    if (r) r.arena.grad.fill(0, r.start, r.end);
    else for (const p of params) p.grad.fill(0);
  }

  /**
   * Moves every parameter's values and gradient into one arena (see ParameterArena): each
   * `.data` and `.grad` becomes a view into one contiguous, 64-byte-aligned buffer, so that
   * clipping, an optimizer step over a parameter group, zeroing and a data-parallel
   * allreduce are each one pass over one buffer. The slots follow `opts.order` (parameters of
   * this module; an optimizer's groups one after the other make each group one run of slots),
   * then the other parameters in registration order. Calling it again with the same order
   * returns the same arena, untouched; another order, or a module whose parameters were moved
   * elsewhere since, gets a new arena with the values and gradients as they are. The trainer
   * (fitSync, fit) flattens the model it trains, grouped by its optimizer's groups.
   *
   * Arrays taken from the parameters before (a `stateDict()`'s tensors) no longer follow
   * them; loading weights afterwards copies into the views.
   *
   * @example
   * const arena = model.flattenParameters();
   * model.parameters().every((p) => p.data.buffer === arena.data.buffer); // true
   */
  flattenParameters(opts?: { order?: Parameter[] }): ParameterArena {
    const ctx = `${this.constructor.name}.flattenParameters`;
    const o = checkOptions<{ order: Parameter[] }>(ctx, 'opts', opts);
    checkKnownOptions(ctx, o, ['order']);
    const all = this.parameters();
    let list = all;
    if (o.order !== undefined) {
      if (!Array.isArray(o.order)) throw typeError(ctx, 'opts.order', "an array of this module's parameters", o.order);
      const mine = new Set(all);
      const placed = new Set<Parameter>();
      o.order.forEach((p, i) => {
        if (!(p instanceof Parameter)) throw typeError(ctx, `opts.order[${i}]`, 'a Parameter', p);
        if (!mine.has(p)) throw rangeError(ctx, `opts.order[${i}]`, `a parameter of this ${this.constructor.name}`, p);
        if (placed.has(p)) throw rangeError(ctx, `opts.order[${i}]`, 'a parameter listed once', p);
        placed.add(p);
      });
      list = [...o.order, ...all.filter((p) => !placed.has(p))];
    }
    const current = list.length ? ParameterArena.of(list[0]) : null;
    if (current && current.parameters.length === list.length && current.parameters.every((p, i) => p === list[i]) && current.valid) return current;
    return new ParameterArena(list);
  }

  /** Training mode (dropout active, activations saved for backward). */
  train(mode = true): this {
    if (typeof mode !== 'boolean') throw typeError(`${this.constructor.name}.train`, 'mode', 'a boolean', mode);
    this.isTraining = mode;
    for (const [, child] of this.children) child.train(mode);
    return this;
  }

  /** Evaluation mode: no dropout; modules keep activations only for inputs that require grad. */
  eval(): this {
    return this.train(false);
  }
}
