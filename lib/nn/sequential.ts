import { Tensor } from '../core/tensor';
import { typeError } from '../core/validate';
import * as F from './functional';
import { Module } from './module';

/** A module whose forward takes one tensor and returns one, as Sequential chains them. */
export interface TensorModule extends Module {
  forward(x: Tensor): Tensor;
}

/**
 * PyTorch's nn.Sequential: modules applied one after another. Children are named '0', '1',
 * … (or by the keys of an object), so parameter names match PyTorch's (`0.weight`).
 * @example
 * const mlp = new Sequential(new Linear({ inFeatures: 8, outFeatures: 32 }), new Tanh(), new Linear({ inFeatures: 32, outFeatures: 2 }));
 * const y = mlp.forward(x);
 */
export class Sequential extends Module {
  readonly modules: ReadonlyArray<TensorModule>;

  constructor(...modules: TensorModule[] | [Record<string, TensorModule>]) {
    super();
    const named: Array<[string, TensorModule]> =
      modules.length === 1 && !(modules[0] instanceof Module) && typeof modules[0] === 'object' && modules[0] !== null
        ? Object.entries(modules[0] as Record<string, TensorModule>)
        : (modules as TensorModule[]).map((m, i) => [String(i), m]);
    named.forEach(([name, m]) => {
      if (!(m instanceof Module) || typeof (m as { forward?: unknown }).forward !== 'function')
        throw typeError('Sequential', `modules[${JSON.stringify(name)}]`, 'a Module with forward(x)', m);
      this.registerModule(name, m);
    });
    this.modules = named.map(([, m]) => m);
  }

  forward(x: Tensor): Tensor {
    let y = x;
    this.modules.forEach((m, i) => {
      const out: unknown = m.forward(y);
      if (!(out instanceof Tensor))
        throw new TypeError(
          `Sequential.forward: module ${i} (${m.constructor.name}) returned ${out === null ? 'null' : typeof out}, not a Tensor; Sequential chains modules whose forward takes and returns one Tensor`,
        );
      y = out;
    });
    return y;
  }
}

/** nn.Tanh as a module (for Sequential). @example new Sequential(linear, new Tanh()) */
export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return F.tanh(x);
  }
}
/** nn.Sigmoid as a module. @example new Sequential(linear, new Sigmoid()) */
export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return F.sigmoid(x);
  }
}
/** nn.ReLU as a module. @example new Sequential(linear, new ReLU()) */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return F.relu(x);
  }
}
