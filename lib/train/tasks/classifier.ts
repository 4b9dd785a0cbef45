/**
 * Training a SequenceClassifier: examples bucketed by length into batches (shuffled every
 * epoch, in an order that depends only on the epoch and the run's seed, so a resumed run
 * continues it), the class-weighted cross-entropy as the loss — plus, with
 * `adversarial`, the adversarial or virtual adversarial loss on the embedded inputs — and on
 * validation the loss, accuracy, per-class precision/recall/F1 and their macro average.
 */
import { noGrad } from '../../core/grad-mode';
import { checkInt32Array, rangeError, typeError } from '../../core/validate';
import { classificationReport } from '../../data/metrics';
import { batchIndices } from '../../data/sequences';
import { classifierLayout } from '../../io/classifier-file';
import { ClassifierBatch, SequenceClassifier, SequenceClassifierOptions, UNLABELED } from '../../models/sequence-classifier';
import * as F from '../../nn/functional';
import { argmax } from '../../nn/reductions';
import { adversarialStep, resolveAdversarial, virtualAdversarialStep } from '../adversarial';
import type { ResolvedConfig } from '../config';
import { BatchLoss, lossOf, PreparedTask, registerTask, TrainingTask } from '../task';
import { EpochOrder } from './epoch-order';

/** Token sequences with a class id each (−1: unlabelled, read only by virtual adversarial training). */
export interface ClassifierData {
  sequences: Int32Array[];
  labels: Int32Array | number[];
}

/** The examples packed into one buffer (what crosses to a worker thread, and what a run reads). */
interface Packed {
  tokens: Int32Array;
  /** (N + 1): sequence i is tokens[offsets[i] .. offsets[i + 1]). */
  offsets: Int32Array;
  /** (N) class ids or −1. */
  labels: Int32Array;
}

function pack(sequences: Int32Array[], labels: ArrayLike<number>): Packed {
  const N = sequences.length;
  const offsets = new Int32Array(N + 1);
  for (let i = 0; i < N; i++) offsets[i + 1] = offsets[i] + sequences[i].length;
  const tokens = new Int32Array(offsets[N]);
  sequences.forEach((s, i) => tokens.set(s, offsets[i]));
  return { tokens, offsets, labels: Int32Array.from(labels) };
}

const sequence = (p: Packed, i: number) => p.tokens.subarray(p.offsets[i], p.offsets[i + 1]);
const count = (p: Packed) => p.labels.length;

function slice(p: Packed, from: number, to: number): Packed {
  return pack(Array.from({ length: to - from }, (_, k) => sequence(p, from + k)), p.labels.subarray(from, to));
}

/** Validation batches: the labelled examples sorted by length, B at a time. */
function inOrder(p: Packed, B: number): Int32Array[] {
  const order = Array.from({ length: count(p) }, (_, i) => i).filter((i) => p.labels[i] !== UNLABELED)
    .sort((a, b) => sequence(p, a).length - sequence(p, b).length);
  const out: Int32Array[] = [];
  for (let s = 0; s < order.length; s += B) out.push(Int32Array.from(order.slice(s, s + B)));
  return out;
}

/** What validation reports: loss, and as metrics (in %) accuracy, macroF1, and precision/c, recall/c, f1/c per class id c. */
function validateOn(model: SequenceClassifier, data: Packed, batches: Int32Array[], make: (p: Packed, idx: Int32Array) => ClassifierBatch) {
  const C = model.options.numClasses;
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() => {
      const n = batches.reduce((k, b) => k + b.length, 0);
      const predicted = new Int32Array(n), target = new Int32Array(n);
      let loss = 0, at = 0;
      for (const idx of batches) {
        const b = make(data, idx);
        const logits = model.forward(b);
        loss += model.lossOf(logits, b).item() * idx.length;
        predicted.set(argmax(logits), at);
        target.set(b.labels!, at);
        at += idx.length;
      }
      const r = classificationReport(predicted, target, C);
      const metrics: Record<string, number> = { accuracy: 100 * r.accuracy, macroF1: 100 * r.macroF1 };
      for (let c = 0; c < C; c++) {
        const m = r.classes[String(c)];
        metrics[`precision/${c}`] = 100 * m.precision;
        metrics[`recall/${c}`] = 100 * m.recall;
        metrics[`f1/${c}`] = 100 * m.f1;
      }
      return { loss: loss / n, metrics };
    });
  } finally {
    model.train(wasTraining);
  }
}

/** The sequence classifier as a training task. @internal */
export const CLASSIFIER_TASK: TrainingTask<SequenceClassifier, Packed> = {
  kind: 'sequence-classifier',
  owns: (model): model is SequenceClassifier => model instanceof SequenceClassifier,
  build: (options) => new SequenceClassifier(options as SequenceClassifierOptions),
  layout: (model) => classifierLayout(model.options),
  checkData(ctx, model, data, name) {
    if (data === null || typeof data !== 'object' || ArrayBuffer.isView(data) || Array.isArray(data))
      throw typeError(ctx, name, 'an object { sequences, labels } (a SequenceClassifier trains on labelled sequences)', data);
    const d = data as Partial<ClassifierData>;
    if (!Array.isArray(d.sequences)) throw typeError(ctx, `${name}.sequences`, 'an array of Int32Arrays', d.sequences);
    if (!(d.labels instanceof Int32Array) && !Array.isArray(d.labels)) throw typeError(ctx, `${name}.labels`, 'an Int32Array of class ids', d.labels);
    if (d.sequences.length !== d.labels.length)
      throw new RangeError(`${ctx}: ${name}.sequences and ${name}.labels must pair up, received ${d.sequences.length} and ${d.labels.length}`);
    if (d.sequences.length === 0) throw new RangeError(`${ctx}: ${name} holds no examples`);
    const { vocabSize: V, numClasses: C } = model.options;
    d.sequences.forEach((s, i) => {
      checkInt32Array(ctx, `${name}.sequences[${i}]`, s);
      if (s.length === 0) throw new RangeError(`${ctx}: ${name}.sequences[${i}] is empty (a sequence needs at least one token)`);
      for (let k = 0; k < s.length; k++) if (s[k] < 0 || s[k] >= V) throw rangeError(ctx, `${name}.sequences[${i}][${k}]`, `a token id in [0, ${V})`, s[k]);
    });
    const labels = d.labels as ArrayLike<number>;
    for (let i = 0; i < labels.length; i++)
      if (!(labels[i] === UNLABELED || (Number.isInteger(labels[i]) && labels[i] >= 0 && labels[i] < C)))
        throw rangeError(ctx, `${name}.labels[${i}]`, `a class id in [0, ${C}) or −1 (unlabelled)`, labels[i]);
    return pack(d.sequences, labels);
  },
  serialize: (data) => data,
  deserialize: (raw) => raw as Packed,
  split(data, fraction) {
    const N = count(data);
    const cut = Math.max(1, Math.floor(N * (1 - fraction)));
    return { train: slice(data, 0, cut), validation: slice(data, cut, N) };
  },
  prepare(ctx, model, train, validation, cfg: ResolvedConfig): PreparedTask<ClassifierBatch> {
    const B = cfg.batchSize;
    const N = count(train);
    const adversarial = cfg.adversarial === undefined ? null : resolveAdversarial(ctx, cfg.adversarial);
    const unlabelled = train.labels.filter((y) => y === UNLABELED).length;
    if (unlabelled > 0 && adversarial?.method !== 'vat')
      throw new RangeError(`${ctx}: train holds ${unlabelled} unlabelled example${unlabelled === 1 ? '' : 's'} (label −1); only virtual adversarial training (adversarial: { method: 'vat' }) learns from them`);
    if (unlabelled === N) throw new RangeError(`${ctx}: train holds no labelled example`);
    const lengths = Int32Array.from({ length: N }, (_, i) => train.offsets[i + 1] - train.offsets[i]);
    const labelSmoothing = cfg.labelSmoothing ?? 0;
    const order = new EpochOrder(); // resumable shuffled batch order
    let batches: Int32Array[] = [];
    const validationBatches = validation ? inOrder(validation, B) : [];
    const make = (p: Packed, idx: Int32Array) => model.batch(Array.from(idx, (i) => sequence(p, i)), Array.from(idx, (i) => p.labels[i]));
    const stepLoss = (b: ClassifierBatch): BatchLoss => {
      if (!adversarial) return lossOf(model.loss(b, { labelSmoothing }), b.B);
      const w = adversarial.weight;
      if (adversarial.method === 'at') {
        // The clean backward runs inside adversarialStep; backward() adds the perturbed pass's.
        const s = adversarialStep(model, b, adversarial.epsilon, { labelSmoothing });
        const scaled = w === 1 ? s.adversarial : F.mul(s.adversarial, w);
        return { value: s.clean + scaled.item(), count: b.B, backward: () => scaled.backward() };
      }
      const s = virtualAdversarialStep(model, b, adversarial.epsilon, { xi: adversarial.xi, labelSmoothing });
      const scaled = F.mul(s.adversarial, w);
      return lossOf(s.clean ? F.add(s.clean, scaled) : scaled, b.B);
    };
    return {
      batchesPerEpoch: Math.ceil(N / B),
      startEpoch(epoch) {
        batches = batchIndices(lengths, { batchSize: B, shuffle: cfg.shuffle ?? true, bucketSize: cfg.bucketSize ?? 50, generator: order.generator(epoch) });
      },
      batch: (i) => make(train, batches[i]),
      loss: stepLoss,
      validate: () => (validationBatches.length === 0 ? { loss: NaN } : validateOn(model, validation!, validationBatches, make)),
      saveState: () => order.saveState(),
      checkState: (entries, damaged) => order.checkState(entries, damaged),
      loadState: (t) => order.loadState(t),
    };
  },
};

registerTask(CLASSIFIER_TASK);
