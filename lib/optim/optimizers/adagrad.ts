/** Adagrad with learning-rate decay (torch.optim.Adagrad). */
import { native } from '../../native/addon';
import { Parameter } from '../../core/tensor';
import { Group, ParameterSlot, Optimizer, ResolvedGroup, StateValue, bool, buffer, lrSpec, nonNegative } from './base';

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

  /** One pass per group over its arena run: a zero gradient and weight stay zero when eps > 0. */
  protected flatSafe(g: ResolvedGroup<AdagradOptions>): boolean {
    return g.eps > 0;
  }

  protected update(p: ParameterSlot, g: ResolvedGroup<AdagradOptions>, st: Record<string, StateValue>): void {
    const step = ((st.step as number | undefined) ?? 0) + 1;
    st.step = step;
    const sum = buffer(st, 'sum', p.size, g.initialAccumulatorValue);
    native.adagradStep(p.data, p.grad, sum, { lr: g.lr, lrDecay: g.lrDecay, eps: g.eps, weightDecay: g.weightDecay, maximize: g.maximize, step });
  }
}
