import { native } from '../native/addon';
import { Tensor } from '../core/tensor';
import { checkInt32Array, checkInteger, checkKnownOptions, checkNumber, checkOptions, rangeError, shapeString, typeError } from '../core/validate';

/**
 * Softmax cross-entropy, fused (torch.nn.functional.cross_entropy, mean reduction):
 * the mean over rows whose target is not `ignoreIndex` (default −100), with optional label
 * smoothing. Returns the loss and d(loss)/d(logits). The loss is NaN when every row is ignored.
 *
 * @example
 * const { loss, grad } = crossEntropy(logits, Int32Array.from([3, 1]), { labelSmoothing: 0.1 });
 */
export function crossEntropy(
  logits: Tensor,
  targets: Int32Array,
  opts?: { ignoreIndex?: number; labelSmoothing?: number },
): { loss: number; grad: Tensor } {
  const ctx = 'crossEntropy';
  if (!(logits instanceof Tensor)) throw typeError(ctx, 'logits', 'a Tensor', logits);
  if (logits.shape.length !== 2)
    throw new RangeError(`${ctx}: logits must have 2 dimensions (N, C), received shape ${shapeString(logits.shape)}`);
  const [N, C] = logits.shape;
  if (C < 1) throw new RangeError(`${ctx}: logits must have at least one class (N, C), received shape ${shapeString(logits.shape)}`);
  checkInt32Array(ctx, 'targets', targets, N);
  const o = checkOptions<{ ignoreIndex: number; labelSmoothing: number }>(ctx, 'opts', opts);
  checkKnownOptions(ctx, o, ['ignoreIndex', 'labelSmoothing']);
  const ignoreIndex = checkInteger(ctx, 'opts.ignoreIndex', o.ignoreIndex === undefined ? -100 : o.ignoreIndex, -(2 ** 31), 2 ** 31 - 1);
  const labelSmoothing = checkNumber(ctx, 'opts.labelSmoothing', o.labelSmoothing === undefined ? 0 : o.labelSmoothing, { min: 0, max: 1 });
  for (let i = 0; i < N; i++) {
    const t = targets[i];
    if (t !== ignoreIndex && (t < 0 || t >= C)) throw rangeError(ctx, `targets[${i}]`, `a class in [0, ${C}) or ignoreIndex ${ignoreIndex}`, t);
  }
  const grad = new Float32Array(logits.size);
  const loss = native.crossEntropy(grad, logits.data, targets, N, C, ignoreIndex, labelSmoothing);
  return { loss, grad: new Tensor(grad, [N, C]) };
}
