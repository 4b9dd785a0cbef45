/** SGD with momentum, dampening and Nesterov (torch.optim.SGD). */
import { native } from '../../native/addon';
import { Parameter } from '../../core/tensor';
import { typeError } from '../../core/validate';
import { Group, ParameterSlot, Optimizer, ResolvedGroup, StateValue, bool, buffer, lrSpec, nonNegative, num } from './base';

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

  /** One pass per group over its arena run: a zero gradient, weight and momentum stay zero. */
  protected flatSafe(_g: ResolvedGroup<SGDOptions>): boolean {
    return true;
  }

  protected update(p: ParameterSlot, g: ResolvedGroup<SGDOptions>, st: Record<string, StateValue>): void {
    const firstStep = !(st.momentumBuffer instanceof Float32Array);
    const buf = g.momentum !== 0 ? buffer(st, 'momentumBuffer', p.size) : null;
    native.sgdStep(p.data, p.grad, buf, {
      lr: g.lr, momentum: g.momentum, dampening: g.dampening, weightDecay: g.weightDecay,
      nesterov: g.nesterov, maximize: g.maximize, firstStep,
    });
  }
}
