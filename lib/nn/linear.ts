import { Node } from '../core/autograd';
import { isGradEnabled } from '../core/grad-mode';
import { allocLike, allocOut, checkTensorShape, Parameter, record, Tensor } from '../core/tensor';
import { afterPreviousJobs } from '../native/async-queue';
import { native } from '../native/addon';
import { keepData } from './functional/node';
import { uniform } from './init';
import { Module } from './module';
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
  /** The last training forward's input (kept as keepData says), for the explicit backward(). */
  private saved: { x: Float32Array; shape: number[] } | null = null;

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

  /** [..., in] → [..., out]. Differentiable in x, weight and bias. */
  forward(x: Tensor): Tensor {
    const { y, N, outShape } = this.prepareForward('Linear.forward', x);
    native.linearForward(y, x.data, this.weight.data, this.bias ? this.bias.data : null, N, this.inFeatures, this.outFeatures);
    const out = Tensor.wrap(y, outShape);
    const records = this.recordsFor(x);
    const keep = records || (this.training && isGradEnabled());
    this.saved = keep ? { x: keepData(x), shape: x.shape.slice() } : null;
    if (records) record(new LinearNode(this, x, this.saved!.x), [out]);
    return out;
  }

  /** Adds the parameter gradients (of those that require grad) for input data x; returns dx when wanted. @internal */
  backwardFor(x: Float32Array, gradOutput: Float32Array, wantInput: boolean): Float32Array | null {
    const N = x.length / this.inFeatures;
    const dx = wantInput ? allocOut(x, x.length) : null;
    const w = this.weight, b = this.bias;
    native.linearBackward(dx, w.requiresGrad ? w.grad : null, b && b.requiresGrad ? b.grad : null, gradOutput, x, w.data, N, this.inFeatures, this.outFeatures);
    return dx;
  }

  /**
   * `forward` on a libuv worker thread, for inference: the event loop stays free while the
   * product runs. Saves nothing for backward (a training forward's saved input is kept).
   * Leave x and the parameters unchanged until the promise settles.
   */
  async forwardAsync(x: Tensor): Promise<Tensor> {
    const { y, N, outShape } = this.prepareForward('Linear.forwardAsync', x);
    const input = x.data.slice(); // the job starts after earlier ones: a later change to x must not reach it
    await afterPreviousJobs(() => native.linearForwardAsync(y, input, this.weight.data, this.bias ? this.bias.data : null, N, this.inFeatures, this.outFeatures));
    return Tensor.wrap(y, outShape);
  }

  protected describe(): string {
    return `Linear(${this.inFeatures}, ${this.outFeatures}${this.bias ? '' : ', bias=false'})`;
  }

  private prepareForward(ctx: string, x: Tensor): { y: Float32Array; N: number; outShape: number[] } {
    if (!(x instanceof Tensor)) throw typeError(ctx, 'x', 'a Tensor', x);
    const last = x.shape[x.shape.length - 1];
    if (x.shape.length < 1 || last !== this.inFeatures)
      throw new RangeError(`${ctx}: x must have ${this.inFeatures} features in its last dimension, received shape ${shapeString(x.shape)}`);
    const outShape = [...x.shape.slice(0, -1), this.outFeatures];
    const y = allocLike(x.data, checkedProduct(ctx, 'output', outShape));
    return { y, N: x.size / this.inFeatures, outShape };
  }

  /** Adds the parameter gradients; returns the gradient of x. */
  backward(gradOutput: Tensor): Tensor {
    const ctx = 'Linear.backward';
    if (!this.saved) throw new RangeError(`${ctx}: there is nothing to backpropagate: call forward() in training mode first`);
    const { x, shape } = this.saved;
    checkTensorShape(ctx, 'gradOutput', gradOutput, [...shape.slice(0, -1), this.outFeatures], 'like the forward output');
    return Tensor.wrap(this.backwardFor(x, gradOutput.data, true)!, shape.slice());
  }
}

/** One recorded Linear call: its input's data as kept, the gradient of x when x requires it. */
class LinearNode extends Node {
  constructor(private readonly layer: Linear, x: Tensor, private readonly xData: Float32Array) {
    super('LinearBackward', [x]);
  }
  protected backward(g: Array<Float32Array | null>): Array<Float32Array | null> {
    return [this.layer.backwardFor(this.xData, g[0]!, this.inputs[0] !== null)];
  }
}
