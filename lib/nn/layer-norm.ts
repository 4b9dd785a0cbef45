import { Parameter, Tensor } from '../core/tensor';
import { checkBoolean, checkedProduct, checkInteger, checkKnownOptions, checkNumber, checkOptions, typeError } from '../core/validate';
import * as F from './functional';
import { Module } from './module';

export interface LayerNormOptions {
  /** The trailing dimensions to normalise over: one size, or several. */
  normalizedShape: number | number[];
  eps?: number;
  /** Learnable `weight` (ones) and `bias` (zeros) of normalizedShape; default true. */
  elementwiseAffine?: boolean;
}

/**
 * PyTorch's nn.LayerNorm: each slice over the trailing `normalizedShape` dimensions is
 * normalised to mean 0 and variance 1, then scaled by `weight` and shifted by `bias`.
 * @example
 * const norm = new LayerNorm({ normalizedShape: 256 });
 * const y = norm.forward(h);   // h (T, B, 256)
 */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;

  constructor(options: LayerNormOptions) {
    super();
    const ctx = 'LayerNorm';
    if (options === undefined) throw typeError(ctx, 'options', 'an options object with normalizedShape', options);
    const o = checkOptions<LayerNormOptions>(ctx, 'options', options);
    checkKnownOptions(ctx, o, ['normalizedShape', 'eps', 'elementwiseAffine']);
    const shape = typeof o.normalizedShape === 'number' ? [o.normalizedShape] : o.normalizedShape;
    if (!Array.isArray(shape) || shape.length === 0) throw typeError(ctx, 'normalizedShape', 'a positive integer or a non-empty array of them', o.normalizedShape);
    this.normalizedShape = shape.map((d, i) => checkInteger(ctx, `normalizedShape[${i}]`, d, 1));
    this.eps = checkNumber(ctx, 'eps', o.eps === undefined ? 1e-5 : o.eps, { min: 0 });
    const affine = checkBoolean(ctx, 'elementwiseAffine', o.elementwiseAffine === undefined ? true : o.elementwiseAffine);
    const n = checkedProduct(ctx, 'weight', this.normalizedShape);
    this.weight = affine ? this.registerParameter('weight', new Parameter(new Float32Array(n).fill(1), this.normalizedShape.slice())) : null;
    this.bias = affine ? this.registerParameter('bias', new Parameter(new Float32Array(n), this.normalizedShape.slice())) : null;
  }

  forward(x: Tensor): Tensor {
    return F.layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
  protected describe(): string {
    return `LayerNorm([${this.normalizedShape.join(', ')}], eps=${this.eps}${this.weight ? '' : ', elementwiseAffine=false'})`;
  }
}
