import { Tensor } from '../core/tensor';
import { checkKnownOptions, checkNumber, checkOptions } from '../core/validate';
import * as F from './functional';
import { Module } from './module';

/**
 * PyTorch's nn.Dropout: in training mode each element is zeroed with probability p and the
 * rest scaled by 1 / (1 − p); in eval mode the input passes through unchanged.
 * @example
 * const drop = new Dropout({ p: 0.3 });
 * const y = drop.forward(x);   // drop.eval() turns it off
 */
export class Dropout extends Module {
  readonly p: number;
  constructor(options: { p?: number } = {}) {
    super();
    const o = checkOptions<{ p: number }>('Dropout', 'options', options);
    checkKnownOptions('Dropout', o, ['p']);
    this.p = checkNumber('Dropout', 'p', o.p === undefined ? 0.5 : o.p, { min: 0, max: 1 });
  }
  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }
  protected describe(): string {
    return `Dropout(p=${this.p})`;
  }
}
