/** Differentiable losses (mean reduction, as PyTorch's defaults). */
import { allocLike, record, recording, Tensor } from '../../core/tensor';
import { checkInt32Array, checkInteger, checkKnownOptions, checkNumber, checkOptions, rangeError, typeError } from '../../core/validate';
import { native } from '../../native/addon';
import { checkSameDtype, checkTensor, FnNode, sameShape, shapeString } from './node';

/**
 * A one-element loss tensor whose backward scales `grad` (d loss / d input, computed with
 * the loss) by the incoming gradient.
 */
function lossTensor(name: string, value: number, input: Tensor, grad: Float32Array, extra?: { tensor: Tensor; grad: () => Float32Array }): Tensor {
  const out = allocLike(input.data, 1);
  out[0] = value;
  const y = Tensor.wrap(out, []);
  if (recording(input, extra?.tensor)) {
    const scaled = (g: Float32Array, base: Float32Array): Float32Array => {
      if (g[0] === 1) return base;
      const s = allocLike(base, base.length);
      native.scale(s, base, g[0]);
      return s;
    };
    record(
      new FnNode(name, [input, extra?.tensor], ([g]) => [
        input.requiresGrad ? scaled(g!, grad) : null,
        extra && extra.tensor.requiresGrad ? scaled(g!, extra.grad()) : null,
      ]),
      [y],
    );
  }
  return y;
}

/** Checks (N, C) scores and N class targets (each in [0, C) or ignoreIndex). */
function checkClassification(ctx: string, input: unknown, targets: unknown, ignoreIndex: number): { x: Tensor; N: number; C: number } {
  const x = checkTensor(ctx, 'input', input);
  if (x.shape.length !== 2 || x.shape[1] < 1)
    throw new RangeError(`${ctx}: input must have 2 dimensions (N, C) with C ≥ 1, received shape ${shapeString(x.shape)}`);
  const [N, C] = x.shape;
  checkInt32Array(ctx, 'targets', targets, N);
  const t = targets as Int32Array;
  for (let i = 0; i < N; i++)
    if (t[i] !== ignoreIndex && (t[i] < 0 || t[i] >= C)) throw rangeError(ctx, `targets[${i}]`, `a class in [0, ${C}) or ignoreIndex ${ignoreIndex}`, t[i]);
  return { x, N, C };
}

/**
 * Softmax cross-entropy of (N, C) logits against N class ids, as a differentiable
 * one-element tensor (torch.nn.functional.cross_entropy, mean over rows whose target is not
 * `ignoreIndex` (default −100), optional label smoothing). NaN when every row is ignored.
 *
 * @example
 * const loss = F.crossEntropy(logits, targets, { ignoreIndex: 0 });
 * loss.backward();
 */
export function crossEntropy(logits: Tensor, targets: Int32Array, opts?: { ignoreIndex?: number; labelSmoothing?: number }): Tensor {
  const ctx = 'F.crossEntropy';
  const o = checkOptions<{ ignoreIndex: number; labelSmoothing: number }>(ctx, 'opts', opts);
  checkKnownOptions(ctx, o, ['ignoreIndex', 'labelSmoothing']);
  const ignoreIndex = checkInteger(ctx, 'opts.ignoreIndex', o.ignoreIndex === undefined ? -100 : o.ignoreIndex, -(2 ** 31), 2 ** 31 - 1);
  const labelSmoothing = checkNumber(ctx, 'opts.labelSmoothing', o.labelSmoothing === undefined ? 0 : o.labelSmoothing, { min: 0, max: 1 });
  const { x, N, C } = checkClassification(ctx, logits, targets, ignoreIndex);
  const grad = allocLike(x.data, x.size);
  const loss = native.crossEntropy(grad, x.data, targets, N, C, ignoreIndex, labelSmoothing);
  return lossTensor('CrossEntropyBackward', loss, x, grad);
}

/**
 * The negative log-likelihood of N class ids under (N, C) log-probabilities (e.g. from
 * F.logSoftmax), mean over rows whose target is not `ignoreIndex` (default −100).
 * @example const loss = F.nllLoss(F.logSoftmax(logits, -1), targets);
 */
export function nllLoss(input: Tensor, targets: Int32Array, opts?: { ignoreIndex?: number }): Tensor {
  const ctx = 'F.nllLoss';
  const o = checkOptions<{ ignoreIndex: number }>(ctx, 'opts', opts);
  checkKnownOptions(ctx, o, ['ignoreIndex']);
  const ignoreIndex = checkInteger(ctx, 'opts.ignoreIndex', o.ignoreIndex === undefined ? -100 : o.ignoreIndex, -(2 ** 31), 2 ** 31 - 1);
  const { x, N, C } = checkClassification(ctx, input, targets, ignoreIndex);
  const grad = allocLike(x.data, x.size);
  const loss = native.nllLoss(grad, x.data, targets, N, C, ignoreIndex);
  return lossTensor('NllLossBackward', loss, x, grad);
}

/**
 * The mean squared error between input and target (same shape). Differentiable in both.
 * @example const loss = F.mseLoss(prediction, target);
 */
export function mseLoss(input: Tensor, target: Tensor): Tensor {
  const ctx = 'F.mseLoss';
  const x = checkTensor(ctx, 'input', input);
  const y = checkTensor(ctx, 'target', target);
  checkSameDtype(ctx, x, y, ['input', 'target']);
  if (!sameShape(x.shape, y.shape))
    throw new RangeError(`${ctx}: target must have input's shape ${shapeString(x.shape)}, received ${shapeString(y.shape)}`);
  if (x.size === 0) throw new RangeError(`${ctx}: input has no elements`);
  const grad = allocLike(x.data, x.size);
  const loss = native.mseLoss(grad, x.data, y.data);
  return lossTensor('MseLossBackward', loss, x, grad, {
    tensor: y,
    grad: () => {
      const g = allocLike(grad, grad.length);
      native.scale(g, grad, -1);
      return g;
    },
  });
}

/**
 * Binary cross-entropy on logits (sigmoid and log-loss fused, stable for any logit), mean
 * over all elements; targets in [0, 1], same shape. `posWeight` (the size of the last
 * dimension) weighs the positive term per column, as PyTorch's pos_weight. Differentiable in
 * input.
 * @example const loss = F.bceWithLogitsLoss(logits, labels, { posWeight: Tensor.from([3]) });
 */
export function bceWithLogitsLoss(input: Tensor, target: Tensor, opts?: { posWeight?: Tensor }): Tensor {
  const ctx = 'F.bceWithLogitsLoss';
  const x = checkTensor(ctx, 'input', input);
  const y = checkTensor(ctx, 'target', target);
  checkSameDtype(ctx, x, y, ['input', 'target']);
  if (!sameShape(x.shape, y.shape))
    throw new RangeError(`${ctx}: target must have input's shape ${shapeString(x.shape)}, received ${shapeString(y.shape)}`);
  if (x.size === 0) throw new RangeError(`${ctx}: input has no elements`);
  const o = checkOptions<{ posWeight: Tensor }>(ctx, 'opts', opts);
  checkKnownOptions(ctx, o, ['posWeight']);
  const columns = x.shape.length ? x.shape[x.shape.length - 1] : 1;
  let posWeight: Float32Array | null = null;
  if (o.posWeight !== undefined) {
    if (!(o.posWeight instanceof Tensor)) throw typeError(ctx, 'opts.posWeight', 'a Tensor', o.posWeight);
    if (o.posWeight.size !== columns)
      throw new RangeError(`${ctx}: opts.posWeight must have ${columns} elements (input's last dimension), received shape ${shapeString(o.posWeight.shape)}`);
    posWeight = o.posWeight.data;
  }
  const grad = allocLike(x.data, x.size);
  const loss = native.bceWithLogits(grad, x.data, y.data, posWeight, columns);
  return lossTensor('BceWithLogitsLossBackward', loss, x, grad);
}
