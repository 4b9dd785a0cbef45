/** Differentiable losses (mean reduction, as PyTorch's defaults). */
import { allocLike, record, recording, Tensor } from '../../core/tensor';
import { checkInt32Array, checkInteger, checkKnownOptions, checkNumber, checkOptions, rangeError, typeError } from '../../core/validate';
import { native } from '../../native/addon';
import { mul } from './elementwise';
import { checkSameDtype, checkTensor, FnNode, sameShape, shapeString } from './node';
import { sum } from './reduce';
import { logSoftmax } from './softmax';

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
 * `ignoreIndex` (default −100), optional label smoothing). `weight` (C) weighs each class, as
 * PyTorch's: row i counts w[targets[i]] times, and the mean divides by the sum of those
 * weights (the smoothing term of a row is weighted per class, divided by the same sum). NaN
 * when every row is ignored.
 *
 * @example
 * const loss = F.crossEntropy(logits, targets, { ignoreIndex: 0 });
 * loss.backward();
 * const balanced = F.crossEntropy(logits, labels, { weight: Tensor.from([1, 2.2]) }); // the rarer class counts more
 */
export function crossEntropy(logits: Tensor, targets: Int32Array, opts?: { ignoreIndex?: number; labelSmoothing?: number; weight?: Tensor }): Tensor {
  const ctx = 'F.crossEntropy';
  const o = checkOptions<{ ignoreIndex: number; labelSmoothing: number; weight: Tensor }>(ctx, 'opts', opts);
  checkKnownOptions(ctx, o, ['ignoreIndex', 'labelSmoothing', 'weight']);
  const ignoreIndex = checkInteger(ctx, 'opts.ignoreIndex', o.ignoreIndex === undefined ? -100 : o.ignoreIndex, -(2 ** 31), 2 ** 31 - 1);
  const labelSmoothing = checkNumber(ctx, 'opts.labelSmoothing', o.labelSmoothing === undefined ? 0 : o.labelSmoothing, { min: 0, max: 1 });
  const { x, N, C } = checkClassification(ctx, logits, targets, ignoreIndex);
  if (o.weight !== undefined) return weightedCrossEntropy(ctx, x, targets, N, C, ignoreIndex, labelSmoothing, o.weight);
  const grad = allocLike(x.data, x.size);
  const loss = native.crossEntropy(grad, x.data, targets, N, C, ignoreIndex, labelSmoothing);
  return lossTensor('CrossEntropyBackward', loss, x, grad);
}

/**
 * The class-weighted cross-entropy as Σᵢ Σ_c M[i, c] · log softmax(x)[i, c] with a constant
 * (N, C) coefficient matrix M: for a counted row, M[i, c] = −(ε/C) w_c / W plus
 * −(1 − ε) w_{yᵢ} / W at c = yᵢ, where W = Σ w_{yᵢ} over counted rows (PyTorch's formula).
 */
function weightedCrossEntropy(ctx: string, x: Tensor, targets: Int32Array, N: number, C: number, ignoreIndex: number, eps: number, weightIn: unknown): Tensor {
  if (!(weightIn instanceof Tensor)) throw typeError(ctx, 'opts.weight', `a Tensor of ${C} class weights`, weightIn);
  const w = weightIn.data;
  if (weightIn.shape.length !== 1 || w.length !== C)
    throw new RangeError(`${ctx}: opts.weight must have shape [${C}] (one weight per class), received shape ${shapeString(weightIn.shape)}`);
  for (let c = 0; c < C; c++) if (!(w[c] >= 0 && Number.isFinite(w[c]))) throw rangeError(ctx, `opts.weight[${c}]`, 'a finite weight ≥ 0', w[c]);
  let total = 0;
  for (let i = 0; i < N; i++) if (targets[i] !== ignoreIndex) total += w[targets[i]];
  const m = allocLike(x.data, N * C); // M, (N, C); NaN everywhere when nothing is counted (0/0, as PyTorch)
  for (let i = 0; i < N; i++) {
    const y = targets[i];
    if (y === ignoreIndex) continue;
    for (let c = 0; c < C; c++) m[i * C + c] = -(eps / C) * w[c] / total;
    m[i * C + y] -= (1 - eps) * w[y] / total;
  }
  if (total === 0) m.fill(NaN);
  return sum(mul(logSoftmax(x, -1), Tensor.wrap(m, [N, C])));
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
