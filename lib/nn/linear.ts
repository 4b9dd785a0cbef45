import { uniform } from './init';
import { Module } from './module';
import { afterPreviousJobs } from '../native/async-queue';
import { native } from '../native/addon';
import { checkTensorShape, Parameter, Tensor } from '../core/tensor';
import { checkBoolean, checkedProduct, checkKnownOptions, checkInteger, checkOptions, shapeString, typeError } from '../core/validate';

export interface LinearOptions {
  inFeatures: number;
  outFeatures: number;
  bias?: boolean;
}

/**
 * y = x Wᵀ + b over the last dimension, PyTorch's nn.Linear: `weight` (out, in), `bias` (out),
 * both ~ U(−1/√in, 1/√in).
 *
 * @example
 * const head = new Linear({ inFeatures: 256, outFeatures: 65 });
 * const logits = head.forward(Tensor.zeros([64, 32, 256])); // [64, 32, 65]
 * const dx = head.backward(Tensor.zeros([64, 32, 65]));
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  private saved: { x: Tensor } | null = null;

  /** `sharedWeight` ties `weight` to an existing (out, in) parameter (e.g. an embedding's). */
  constructor(options: LinearOptions, sharedWeight?: Parameter) {
    super();
    const ctx = 'Linear';
    if (options === undefined) throw typeError(ctx, 'options', 'an options object with inFeatures and outFeatures', options);
    const o = checkOptions<LinearOptions>(ctx, 'options', options);
    checkKnownOptions(ctx, o, ['inFeatures', 'outFeatures', 'bias']);
    this.inFeatures = checkInteger(ctx, 'inFeatures', o.inFeatures, 1);
    this.outFeatures = checkInteger(ctx, 'outFeatures', o.outFeatures, 1);
    const hasBias = checkBoolean(ctx, 'bias', o.bias === undefined ? true : o.bias);
    const bound = 1 / Math.sqrt(this.inFeatures);
    const shape = [this.outFeatures, this.inFeatures];
    if (sharedWeight !== undefined) {
      checkTensorShape(ctx, 'sharedWeight', sharedWeight, shape, '(out, in)');
      if (!(sharedWeight instanceof Parameter)) throw typeError(ctx, 'sharedWeight', 'a Parameter', sharedWeight);
      this.weight = this.registerParameter('weight', sharedWeight);
    } else {
      this.weight = this.registerParameter('weight', new Parameter(uniform(checkedProduct(ctx, 'weight', shape), bound), shape));
    }
    this.bias = hasBias ? this.registerParameter('bias', new Parameter(uniform(this.outFeatures, bound), [this.outFeatures])) : null;
  }

  /** [..., in] → [..., out]. */
  forward(x: Tensor): Tensor {
    const { y, N, outShape } = this.prepareForward('Linear.forward', x);
    native.linearForward(y, x.data, this.weight.data, this.bias ? this.bias.data : null, N, this.inFeatures, this.outFeatures);
    this.saved = this.training ? { x } : null;
    return new Tensor(y, outShape);
  }

  /**
   * `forward` on a libuv worker thread, for inference: the event loop stays free while the
   * product runs. Saves nothing for backward (a training forward's saved input is kept).
   * Leave x and the parameters unchanged until the promise settles.
   */
  async forwardAsync(x: Tensor): Promise<Tensor> {
    const { y, N, outShape } = this.prepareForward('Linear.forwardAsync', x);
    await afterPreviousJobs(() => native.linearForwardAsync(y, x.data, this.weight.data, this.bias ? this.bias.data : null, N, this.inFeatures, this.outFeatures));
    return new Tensor(y, outShape);
  }

  private prepareForward(ctx: string, x: Tensor): { y: Float32Array; N: number; outShape: number[] } {
    if (!(x instanceof Tensor)) throw typeError(ctx, 'x', 'a Tensor', x);
    const last = x.shape[x.shape.length - 1];
    if (x.shape.length < 1 || last !== this.inFeatures)
      throw new RangeError(`${ctx}: x must have ${this.inFeatures} features in its last dimension, received shape ${shapeString(x.shape)}`);
    const outShape = [...x.shape.slice(0, -1), this.outFeatures];
    const y = new Float32Array(checkedProduct(ctx, 'output', outShape));
    return { y, N: x.size / this.inFeatures, outShape };
  }

  /** Adds the parameter gradients; returns the gradient of x. */
  backward(gradOutput: Tensor): Tensor {
    const ctx = 'Linear.backward';
    if (!this.saved) throw new RangeError(`${ctx}: there is nothing to backpropagate: call forward() in training mode first`);
    const { x } = this.saved;
    checkTensorShape(ctx, 'gradOutput', gradOutput, [...x.shape.slice(0, -1), this.outFeatures], 'like the forward output');
    const N = x.size / this.inFeatures;
    const dx = new Float32Array(x.size);
    native.linearBackward(dx, this.weight.grad, this.bias ? this.bias.grad : null, gradOutput.data, x.data, this.weight.data, N, this.inFeatures, this.outFeatures);
    return new Tensor(dx, x.shape.slice());
  }
}
