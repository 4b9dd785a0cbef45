/** Adam and AdamW (torch.optim.Adam, torch.optim.AdamW): one update, L2 or decoupled weight decay. */
import { native } from '../../native/addon';
import { Parameter } from '../../core/tensor';
import { Group, ParameterSlot, OptionSpec, Optimizer, ResolvedGroup, StateValue, betasSpec, bool, buffer, lrSpec, nonNegative } from './base';

export interface AdamOptions { lr: number; betas: [number, number]; eps: number; weightDecay: number; amsgrad: boolean; maximize: boolean }
const adamSpec: OptionSpec<AdamOptions> = { lr: lrSpec, betas: betasSpec, eps: nonNegative, weightDecay: nonNegative, amsgrad: bool, maximize: bool };

abstract class AdamBase extends Optimizer<AdamOptions> {
  protected abstract readonly decoupled: boolean;
  /** One pass per group over its arena run: a zero gradient, moment and weight stay zero when eps > 0. */
  protected flatSafe(g: ResolvedGroup<AdamOptions>): boolean {
    return g.eps > 0;
  }

  protected update(p: ParameterSlot, g: ResolvedGroup<AdamOptions>, st: Record<string, StateValue>): void {
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
