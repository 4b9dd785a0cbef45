/**
 * Adversarial and virtual adversarial training of a SequenceClassifier on its embedded inputs
 * (Miyato, Dai & Goodfellow 2017, "Adversarial training methods for semi-supervised text
 * classification"), written with the composition API only (no native path of their own):
 *
 * - adversarial training (AT): the clean loss L(e); its gradient g = ∂L/∂e with respect to the
 *   embedded input e (T, B, E); the perturbation r = ε g / ‖g‖₂, the norm taken per sequence
 *   over all its steps and features; the loss L(e + r) of a second pass; train on
 *   L(e) + λ L(e + r). Costs about 2× a plain step (two forwards, two backwards).
 * - virtual adversarial training (VAT): no label needed. p = softmax of the clean logits (held
 *   fixed); one power iteration from a random direction d of norm ξ finds the direction that
 *   changes the prediction most (the gradient of KL(p ‖ q(e + d)) with respect to d); the loss
 *   is KL(p ‖ q(e + ε d̂)). Costs about 3× a plain step.
 *
 * In training mode both passes of a step draw the same dropout masks (the default generator
 * is rewound), so the perturbation is adversarial for the network the clean pass ran.
 */
import { noGrad } from '../core/grad-mode';
import { defaultGenerator } from '../core/random';
import { Tensor } from '../core/tensor';
import { checkKnownOptions, checkNumber, checkOneOf, checkOptions, typeError } from '../core/validate';
import { classificationReport, ClassificationReport } from '../data/metrics';
import { ClassifierBatch, SequenceClassifier, UNLABELED } from '../models/sequence-classifier';
import * as F from '../nn/functional';
import { argmax } from '../nn/reductions';

/** The adversarial part of a classifier's training (TrainingConfig.adversarial). */
export interface AdversarialOptions {
  /** 'at' (adversarial training, the default) or 'vat' (virtual adversarial training, also on unlabelled examples). */
  method?: 'at' | 'vat';
  /** The perturbation's L2 norm per sequence, in embedding units. Default 1. */
  epsilon?: number;
  /** λ, the weight of the adversarial loss in the sum. Default 1. */
  weight?: number;
  /** VAT: the norm of the random direction the power iteration starts from. Default 0.1. */
  xi?: number;
}

/** Options checked and completed. @internal */
export function resolveAdversarial(ctx: string, value: unknown): Required<AdversarialOptions> {
  const o = checkOptions<AdversarialOptions>(ctx, 'adversarial', value);
  checkKnownOptions(`${ctx}: adversarial`, o, ['method', 'epsilon', 'weight', 'xi']);
  return {
    method: checkOneOf(ctx, 'adversarial.method', o.method ?? 'at', ['at', 'vat'] as const),
    epsilon: checkNumber(ctx, 'adversarial.epsilon', o.epsilon ?? 1, { min: 0, minExclusive: true }),
    weight: checkNumber(ctx, 'adversarial.weight', o.weight ?? 1, { min: 0 }),
    xi: checkNumber(ctx, 'adversarial.xi', o.xi ?? 0.1, { min: 0, minExclusive: true }),
  };
}

/**
 * ε · g / ‖g_b‖₂ for each sequence b of a (T, B, E) gradient, the norm over its T·E values
 * (+1e-12, so an all-zero gradient gives a zero perturbation). Not differentiable (a constant
 * of the second pass, as in the paper).
 * @example const r = perturbation(embedded.grad, 2.0);
 */
export function perturbation(grad: Tensor, epsilon: number): Tensor {
  const ctx = 'perturbation';
  if (!(grad instanceof Tensor)) throw typeError(ctx, 'grad', 'a Tensor (T, B, E)', grad);
  if (grad.shape.length !== 3) throw new RangeError(`${ctx}: grad must have 3 dimensions (T, B, E), received shape [${grad.shape.join(', ')}]`);
  checkNumber(ctx, 'epsilon', epsilon, { min: 0 });
  const [T, B, E] = grad.shape;
  return noGrad(() => {
    const g = grad.detach();
    // Σ_t g² as one (1, T)·(T, B·E) product, then Σ over E as (B, E)·(E, 1).
    const ones = (n: number) => Tensor.wrap(alloc(g.data, n).fill(1), [n, 1]);
    const perStep = F.matmul(ones(T).reshape([1, T]), F.mul(g, g).reshape([T, B * E])).reshape([B, E]);
    const squared = F.matmul(perStep, ones(E)).data; // (B)
    const scale = alloc(g.data, B * E); // (B, E): ε / ‖g_b‖ along row b
    for (let b = 0; b < B; b++) scale.fill(epsilon / (Math.sqrt(squared[b]) + 1e-12), b * E, (b + 1) * E);
    return F.mul(g, Tensor.wrap(scale, [B, E]));
  });
}

/** A zeroed array of `like`'s element type (float32; float64 in gradient checks). */
function alloc(like: Float32Array, n: number): Float32Array {
  return new (like.constructor as new (n: number) => Float32Array)(n);
}

/** The result of an adversarial step: the two losses, and the backward still to run. */
export interface AdversarialStep {
  /** The clean loss (a number: its backward already ran). */
  clean: number;
  /** The loss of the perturbed pass (AT: cross-entropy; VAT: KL divergence), not yet differentiated. */
  adversarial: Tensor;
  /** The perturbation r added to the embedded input, (T, B, E). */
  r: Tensor;
}

/**
 * Adversarial training's two passes for one batch, as the paper's: the clean pass and its
 * backward run here (so every parameter's `.grad` receives the clean loss's gradient, and the
 * embedded input's gradient gives r); the perturbed pass is returned undifferentiated — call
 * `adversarial.backward()` (scaled by your λ) to add its gradients.
 * @example
 * model.zeroGrad();
 * const { clean, adversarial } = adversarialStep(model, batch, 1.0);
 * adversarial.backward();                 // gradients of L(e) + L(e + r)
 * optimizer.step();
 */
export function adversarialStep(model: SequenceClassifier, batch: ClassifierBatch, epsilon: number, opts?: { labelSmoothing?: number }): AdversarialStep {
  const ctx = 'adversarialStep';
  if (!(model instanceof SequenceClassifier)) throw typeError(ctx, 'model', 'a SequenceClassifier', model);
  checkNumber(ctx, 'epsilon', epsilon, { min: 0 });
  const rng = defaultGenerator.getState();
  const e = model.embed(batch).retainGrad();
  const clean = model.lossOf(model.forwardEmbedded(e, batch), batch, opts);
  const cleanValue = clean.item();
  if (!e.requiresGrad) throw new RangeError(`${ctx}: the embedded input records no gradient (the model is in eval mode or inside noGrad)`);
  clean.backward();
  const r = perturbation(Tensor.wrap(e.grad!, e.shape.slice()), epsilon);
  defaultGenerator.setState(rng); // the same dropout masks for the perturbed pass
  const adversarial = model.lossOf(model.forwardEmbedded(F.add(model.embed(batch), r), batch), batch, opts);
  return { clean: cleanValue, adversarial, r };
}

/** KL(p ‖ softmax(logits)) averaged over rows, p fixed (B, C): −(1/B) Σ p log q + (1/B) Σ p log p. */
function klFrom(p: Tensor, logits: Tensor): Tensor {
  const B = logits.shape[0];
  let entropyTerm = 0;
  for (let i = 0; i < p.size; i++) if (p.data[i] > 0) entropyTerm += p.data[i] * Math.log(p.data[i]);
  return F.add(F.mul(F.sum(F.mul(F.logSoftmax(logits, -1), p)), -1 / B), entropyTerm / B);
}

/** Copies of every parameter's gradient, to undo the by-product of a backward that only wants an input's gradient. */
function saveGrads(model: SequenceClassifier): () => void {
  const params = model.parameters();
  const saved = params.map((p) => p.grad.slice());
  return () => params.forEach((p, k) => p.grad.set(saved[k]));
}

/** The result of a virtual adversarial step: both losses undifferentiated (one backward of their weighted sum does it). */
export interface VirtualAdversarialStep {
  /** The cross-entropy on the labelled examples, or null when the batch has none. */
  clean: Tensor | null;
  /** KL(p ‖ q(e + r)) over all examples, p the clean prediction (fixed). */
  adversarial: Tensor;
  r: Tensor;
}

/**
 * Virtual adversarial training's passes for one batch (labelled or not): the clean pass, one
 * power iteration for the direction (its backward leaves every parameter's `.grad` as it
 * was), and the perturbed pass. Nothing is differentiated yet: backward the sum
 * `clean + λ · adversarial` once.
 * @example
 * const { clean, adversarial } = virtualAdversarialStep(model, batch, 1.0);
 * F.add(clean!, F.mul(adversarial, 1)).backward();
 */
export function virtualAdversarialStep(model: SequenceClassifier, batch: ClassifierBatch, epsilon: number, opts?: { xi?: number; labelSmoothing?: number }): VirtualAdversarialStep {
  const ctx = 'virtualAdversarialStep';
  if (!(model instanceof SequenceClassifier)) throw typeError(ctx, 'model', 'a SequenceClassifier', model);
  checkNumber(ctx, 'epsilon', epsilon, { min: 0 });
  const o = checkOptions<{ xi: number; labelSmoothing: number }>(ctx, 'opts', opts);
  checkKnownOptions(ctx, o, ['xi', 'labelSmoothing']);
  const xi = checkNumber(ctx, 'opts.xi', o.xi ?? 0.1, { min: 0, minExclusive: true });
  const e = model.embed(batch);
  const afterEmbed = defaultGenerator.getState(); // the recurrent layers' and the pooled vector's dropout draw from here
  const logits = model.forwardEmbedded(e, batch);
  const labelled = batch.labels !== null && batch.labels.some((y) => y !== UNLABELED);
  const clean = labelled ? model.lossOf(logits, batch, { labelSmoothing: o.labelSmoothing }) : null;
  const p = noGrad(() => F.softmax(logits.detach(), -1));
  // The power iteration: d random on the valid steps, scaled to ξ; its gradient through KL is the direction.
  const random = Tensor.randn(e.shape.slice());
  const d = perturbation(F.maskedFill(random, paddingMask(batch, e.shape[2]), 0), xi);
  d.requiresGrad = true;
  const restore = saveGrads(model);
  defaultGenerator.setState(afterEmbed);
  klFrom(p, model.forwardEmbedded(F.add(e.detach(), d), batch)).backward();
  restore();
  const r = perturbation(Tensor.wrap(d.grad!, d.shape.slice()), epsilon);
  defaultGenerator.setState(afterEmbed);
  const adversarial = klFrom(p, model.forwardEmbedded(F.add(e, r), batch));
  return { clean, adversarial, r };
}

/** (T, B, E) mask of a batch's padded steps (1 = padding). */
function paddingMask(batch: ClassifierBatch, E: number): Uint8Array {
  const { T, B, lengths } = batch;
  const mask = new Uint8Array(T * B * E);
  for (let b = 0; b < B; b++) for (let t = lengths[b]; t < T; t++) mask.fill(1, (t * B + b) * E, (t * B + b + 1) * E);
  return mask;
}

/** Labelled sequences to evaluate on. */
export interface LabelledSequences {
  sequences: Int32Array[];
  /** (N) class ids. */
  labels: Int32Array | number[];
}

/**
 * Accuracy, per-class precision/recall/F1 and the confusion matrix of a classifier on
 * labelled sequences, in eval mode — and with `epsilon`, under the embedding-space attack
 * adversarial training defends against: each sequence's embedded input is moved by
 * ε g / ‖g‖₂ along the gradient g of its loss for its true label, and classified again. The
 * model's mode and its parameters' gradients are left as they were.
 * @example
 * const clean = evaluateClassifier(model, test);
 * const attacked = evaluateClassifier(model, test, { epsilon: 2 });
 * console.log(clean.accuracy, attacked.accuracy);
 */
export function evaluateClassifier(
  model: SequenceClassifier, data: LabelledSequences, opts?: { epsilon?: number; batchSize?: number; labels?: string[] },
): ClassificationReport & { loss: number } {
  const ctx = 'evaluateClassifier';
  if (!(model instanceof SequenceClassifier)) throw typeError(ctx, 'model', 'a SequenceClassifier', model);
  const d = checkOptions<LabelledSequences>(ctx, 'data', data);
  if (d.labels === undefined || (!(d.labels instanceof Int32Array) && !Array.isArray(d.labels))) throw typeError(ctx, 'data.labels', 'an Int32Array of class ids', d.labels);
  if (!Array.isArray(d.sequences) || d.sequences.length === 0) throw typeError(ctx, 'data.sequences', 'a non-empty array of Int32Arrays', d.sequences);
  const o = checkOptions<{ epsilon: number; batchSize: number; labels: string[] }>(ctx, 'opts', opts);
  checkKnownOptions(ctx, o, ['epsilon', 'batchSize', 'labels']);
  const epsilon = o.epsilon === undefined ? 0 : checkNumber(ctx, 'opts.epsilon', o.epsilon, { min: 0 });
  const B = o.batchSize === undefined ? 64 : checkNumber(ctx, 'opts.batchSize', o.batchSize, { min: 1 });
  const N = d.sequences.length;
  model.batch(d.sequences, d.labels); // checks every sequence and label first
  const labels = Int32Array.from(d.labels as ArrayLike<number>);
  if (labels.some((y) => y === UNLABELED)) throw new RangeError(`${ctx}: data.labels holds −1 (unlabelled); evaluation needs a label for every sequence`);
  const predicted = new Int32Array(N);
  const order = Array.from({ length: N }, (_, i) => i).sort((a, b) => d.sequences![a].length - d.sequences![b].length);
  const wasTraining = model.training;
  const restore = saveGrads(model);
  let lossSum = 0;
  model.eval();
  try {
    for (let s = 0; s < N; s += Math.floor(B)) {
      const rows = order.slice(s, s + Math.floor(B));
      const batch = model.batch(rows.map((i) => d.sequences![i]), rows.map((i) => labels[i]));
      let logits: Tensor;
      if (epsilon > 0) {
        // In eval mode nothing records unless an input requires grad: make the embedded input a leaf that does.
        const e = noGrad(() => model.embed(batch)).detach();
        e.requiresGrad = true;
        model.lossOf(model.forwardEmbedded(e, batch), batch).backward();
        const r = perturbation(Tensor.wrap(e.grad!, e.shape.slice()), epsilon);
        logits = noGrad(() => model.forwardEmbedded(F.add(e.detach(), r), batch));
      } else logits = noGrad(() => model.forward(batch));
      lossSum += noGrad(() => model.lossOf(logits, batch).item()) * rows.length;
      argmax(logits).forEach((c, k) => (predicted[rows[k]] = c));
    }
  } finally {
    restore();
    model.train(wasTraining);
  }
  return { ...classificationReport(predicted, labels, model.options.numClasses, o.labels), loss: lossSum / N };
}
