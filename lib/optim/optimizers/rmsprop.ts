/** RMSprop, optionally centered and with momentum (torch.optim.RMSprop). */
import { native } from '../../native/addon';
import { Parameter } from '../../core/tensor';
import { Group, ParameterSlot, Optimizer, ResolvedGroup, StateValue, bool, buffer, lrSpec, nonNegative } from './base';

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

  /** One pass per group over its arena run: a zero gradient, weight and average stay zero when eps > 0. */
  protected flatSafe(g: ResolvedGroup<RMSpropOptions>): boolean {
    return g.eps > 0;
  }

  protected update(p: ParameterSlot, g: ResolvedGroup<RMSpropOptions>, st: Record<string, StateValue>): void {
    st.step = ((st.step as number | undefined) ?? 0) + 1;
    const sq = buffer(st, 'squareAvg', p.size);
    const buf = g.momentum > 0 ? buffer(st, 'momentumBuffer', p.size) : null;
    const gavg = g.centered ? buffer(st, 'gradAvg', p.size) : null;
    native.rmspropStep(p.data, p.grad, sq, buf, gavg, {
      lr: g.lr, alpha: g.alpha, eps: g.eps, weightDecay: g.weightDecay, momentum: g.momentum, centered: g.centered, maximize: g.maximize,
    });
  }
}
