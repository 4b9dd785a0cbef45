import { native } from '../native/addon';
import { arenaRangeOf } from '../core/parameter-arena';
import { Parameter } from '../core/tensor';
import { checkBoolean, checkKnownOptions, checkNumber, checkOptions, typeError } from '../core/validate';

function checkParams(ctx: string, params: unknown): Parameter[] {
  if (params instanceof Parameter) return [params];
  if (!Array.isArray(params)) throw typeError(ctx, 'params', 'an array of Parameter', params);
  params.forEach((p, i) => {
    if (!(p instanceof Parameter)) throw typeError(ctx, `params[${i}]`, 'a Parameter', p);
  });
  return params as Parameter[];
}

/**
 * The gradients as the kernels take them: one view over an arena run when `params` fill one
 * (a flattened model: one pass over one buffer, its zero padding included), else one array
 * per parameter.
 */
function gradArrays(list: Parameter[]): { grads: Float32Array[]; flat: boolean } {
  const r = arenaRangeOf(list);
  return r ? { grads: [r.arena.grad.subarray(r.start, r.end)], flat: true } : { grads: list.map((x) => x.grad), flat: false };
}

/**
 * Scales all gradients together so that their joint norm is at most `maxNorm`, as
 * `torch.nn.utils.clip_grad_norm_`: every gradient is multiplied by
 * min(1, maxNorm / (total + 1e-6)). Returns the total norm before clipping. Parameters that
 * fill a ParameterArena's run of slots (a flattened model) are read and scaled in one pass.
 *
 * @example
 * const total = clipGradNorm(model.parameters(), 1.0);            // L2
 * clipGradNorm(model.parameters(), 5, { normType: 'inf' });         // max-abs
 */
export function clipGradNorm(
  params: Parameter[],
  maxNorm: number,
  opts?: { normType?: number | 'inf'; errorIfNonfinite?: boolean },
): number {
  const ctx = 'clipGradNorm';
  const list = checkParams(ctx, params);
  checkNumber(ctx, 'maxNorm', maxNorm, { min: 0, finite: false });
  const o = checkOptions<{ normType: number | 'inf'; errorIfNonfinite: boolean }>(ctx, 'opts', opts);
  checkKnownOptions(ctx, o, ['normType', 'errorIfNonfinite']);
  let p: number;
  const nt = o.normType ?? 2;
  if (nt === 'inf' || nt === Infinity) p = Infinity;
  else if (typeof nt === 'number') p = checkNumber(ctx, 'opts.normType', nt, { min: 0, minExclusive: true });
  else throw typeError(ctx, 'opts.normType', "a positive number or 'inf'", nt);
  const errorIfNonfinite = checkBoolean(ctx, 'opts.errorIfNonfinite', o.errorIfNonfinite ?? false);
  const { grads, flat } = gradArrays(list);
  // torch computes the norm in the gradients' dtype: round the double accumulation to float32.
  const total = Math.fround(native.gradNorm(grads, p));
  if (errorIfNonfinite && !Number.isFinite(total))
    throw new RangeError(
      `${ctx}: the total norm of order ${p === Infinity ? "'inf'" : p} of the gradients is non-finite (${total}), ` +
        'so they cannot be clipped; pass errorIfNonfinite: false to scale them by it anyway',
    );
  const coef = Math.fround(maxNorm / Math.fround(total + 1e-6));
  // NaN scales too, as torch; but only the gradients themselves: the arena's padding stays zero.
  if (!(coef >= 1)) native.scaleGrads(flat && Number.isNaN(coef) ? list.map((x) => x.grad) : grads, coef);
  return total;
}

/**
 * Clamps every gradient element into [−clipValue, clipValue], as
 * `torch.nn.utils.clip_grad_value_`.
 *
 * @example clipGradValue(model.parameters(), 0.5);
 */
export function clipGradValue(params: Parameter[], clipValue: number): void {
  const ctx = 'clipGradValue';
  const list = checkParams(ctx, params);
  checkNumber(ctx, 'clipValue', clipValue, { min: 0 });
  native.clipGradValue(gradArrays(list).grads, clipValue); // clamping keeps the zero padding zero
}
