/**
 * A sequence classifier: embeddings → a stacked, optionally bidirectional RNN/LSTM/GRU over
 * variable-length batches → pooling over time (last state, mean, max or attention) → dropout →
 * a linear layer over the classes. Embeddings may be normalised by their frequency-weighted
 * mean and variance (Miyato et al. 2017), which adversarial training on the embedded inputs
 * needs so that the model cannot shrink a fixed-size perturbation by growing its embeddings.
 * The embedded input is a separate step (embed → forwardEmbedded) so that a perturbation can
 * be added between the two (lib/train/adversarial.ts).
 */
import { Node } from '../core/autograd';
import { noGrad } from '../core/grad-mode';
import { allocLike, Parameter, record, recording, Tensor } from '../core/tensor';
import {
  checkBoolean, checkInt32Array, checkInteger, checkKnownOptions, checkNumber, checkOneOf, checkOptions, rangeError, typeError,
} from '../core/validate';
import { padSequences } from '../data/sequences';
import { CELL_KINDS, CellKind } from '../nn/cell-kinds';
import { Embedding } from '../nn/embedding';
import * as F from '../nn/functional';
import { Linear } from '../nn/linear';
import { Module } from '../nn/module';
import { POOLING_KINDS, PoolingKind, SequencePooling } from '../nn/pooling';
import { GRU, LSTM, RecurrentBase, RNN } from '../nn/recurrent';
import { argmax } from '../nn/reductions';
import { predictOnWorker } from './classifier-async';

export interface SequenceClassifierOptions {
  vocabSize: number;
  numClasses: number;
  /** Default 128. */
  embeddingDim?: number;
  /** Per direction, as PyTorch's recurrent layers (the pooled vector has D·hiddenSize values). Default 128. */
  hiddenSize?: number;
  /** Stacked recurrent layers. Default 1. */
  numLayers?: number;
  /** Default 'lstm'. */
  cell?: CellKind;
  /** Default true. */
  bidirectional?: boolean;
  /** 'last', 'mean', 'max' (default) or 'attention'. */
  pooling?: PoolingKind;
  /** On the embedded input, between stacked layers and on the pooled vector, in training. Default 0.3. */
  dropout?: number;
  /** A weight per class for the loss (imbalanced data: larger for rarer classes), or null (all 1). */
  classWeights?: number[] | null;
  /** Normalise the embeddings by their frequency-weighted mean and variance (setTokenFrequencies). Default false. */
  normalizeEmbeddings?: boolean;
  /** Sequences longer than this are cut to their first maxLength tokens; null: no limit (the default). */
  maxLength?: number | null;
}

/** A padded batch made by SequenceClassifier.batch(). */
export interface ClassifierBatch {
  /** (T, B) time-major token ids, padded with 0. */
  ids: Int32Array;
  /** (B): each sequence's length after truncation. */
  lengths: Int32Array;
  T: number;
  B: number;
  /** (B) class ids, −1 for an unlabelled example; null when the batch was made without labels. */
  labels: Int32Array | null;
}

/** The label of an example without one (virtual adversarial training reads such examples too). */
export const UNLABELED = -1;

const OPTION_KEYS = ['vocabSize', 'numClasses', 'embeddingDim', 'hiddenSize', 'numLayers', 'cell', 'bidirectional', 'pooling',
  'dropout', 'classWeights', 'normalizeEmbeddings', 'maxLength'];

/** Sequences per forward in predict() and predictProba(). */
const PREDICT_BATCH = 64;
/** Added to the variance before the square root of the embedding normalisation. */
const NORM_EPS = 1e-6;

function recurrent(cell: CellKind, o: { inputSize: number; hiddenSize: number; numLayers: number; dropout: number; bidirectional: boolean }): RecurrentBase {
  if (cell === 'lstm') return new LSTM(o);
  if (cell === 'gru') return new GRU(o);
  return new RNN({ ...o, nonlinearity: cell === 'rnn_relu' ? 'relu' : 'tanh' });
}

/** Checks options and fills the defaults (also what the file loader's options go through). @internal */
export function resolveClassifierOptions(ctx: string, options: unknown): Required<SequenceClassifierOptions> {
  if (options === undefined) throw typeError(ctx, 'options', 'an options object with vocabSize and numClasses', options);
  const o = checkOptions<SequenceClassifierOptions>(ctx, 'options', options);
  checkKnownOptions(ctx, o, OPTION_KEYS);
  const numClasses = checkInteger(ctx, 'numClasses', o.numClasses, 2, 1 << 16);
  let classWeights: number[] | null = null;
  if (o.classWeights !== undefined && o.classWeights !== null) {
    if (!Array.isArray(o.classWeights)) throw typeError(ctx, 'classWeights', `an array of ${numClasses} numbers (one per class) or null`, o.classWeights);
    if (o.classWeights.length !== numClasses) throw rangeError(ctx, 'classWeights', `an array of ${numClasses} numbers (one per class)`, o.classWeights);
    classWeights = o.classWeights.map((w, c) => checkNumber(ctx, `classWeights[${c}]`, w, { min: 0, minExclusive: true }));
  }
  return {
    vocabSize: checkInteger(ctx, 'vocabSize', o.vocabSize, 1),
    numClasses,
    embeddingDim: checkInteger(ctx, 'embeddingDim', o.embeddingDim ?? 128, 1),
    hiddenSize: checkInteger(ctx, 'hiddenSize', o.hiddenSize ?? 128, 1),
    numLayers: checkInteger(ctx, 'numLayers', o.numLayers ?? 1, 1, 64),
    cell: checkOneOf(ctx, 'cell', o.cell ?? 'lstm', Object.keys(CELL_KINDS) as CellKind[]),
    bidirectional: checkBoolean(ctx, 'bidirectional', o.bidirectional ?? true),
    pooling: checkOneOf(ctx, 'pooling', o.pooling ?? 'max', POOLING_KINDS),
    dropout: checkNumber(ctx, 'dropout', o.dropout ?? 0.3, { min: 0, max: 1, maxExclusive: true }),
    classWeights,
    normalizeEmbeddings: checkBoolean(ctx, 'normalizeEmbeddings', o.normalizeEmbeddings ?? false),
    maxLength: o.maxLength === undefined || o.maxLength === null ? null : checkInteger(ctx, 'maxLength', o.maxLength, 1),
  };
}

/**
 * A recurrent sequence classifier. Parameter names: `embedding.weight` (V, E);
 * `token_frequencies` (V, frozen: not trained) with normalizeEmbeddings; `rnn.weight_ih_l0` …
 * (PyTorch's); `pooling.proj.weight`, `pooling.proj.bias`, `pooling.context.weight` with
 * attention pooling; `classifier.weight` (C, D·H) and `classifier.bias` (C).
 *
 * @example
 * const vocab = Vocabulary.fromTexts(texts, { lowercase: true, minCount: 2 });
 * const model = new SequenceClassifier({ vocabSize: vocab.size, numClasses: 2, pooling: 'max' });
 * const batch = model.batch(texts.map((t) => vocab.encode(t)), labels);
 * model.loss(batch).backward();
 * const predicted = model.predict([vocab.encode('win a free prize')]); // Int32Array [class]
 */
export class SequenceClassifier extends Module {
  readonly options: Required<SequenceClassifierOptions>;
  readonly token_frequencies: Parameter | null;
  readonly embedding: Embedding;
  readonly rnn: RecurrentBase;
  readonly pooling: SequencePooling;
  readonly classifier: Linear;
  private readonly weightTensor: Tensor | null;

  constructor(options: SequenceClassifierOptions) {
    super();
    const o = resolveClassifierOptions('SequenceClassifier', options);
    this.options = Object.freeze({ ...o, classWeights: o.classWeights && Object.freeze(o.classWeights.slice()) }) as Required<SequenceClassifierOptions>;
    const D = o.bidirectional ? 2 : 1;
    if (o.normalizeEmbeddings) {
      // Frequencies start uniform; setTokenFrequencies() gives the real ones.
      this.token_frequencies = this.registerParameter('token_frequencies', new Parameter(new Float32Array(o.vocabSize).fill(1 / o.vocabSize), [o.vocabSize]));
      this.token_frequencies.requiresGrad = false;
    } else this.token_frequencies = null;
    this.embedding = this.registerModule('embedding', new Embedding({ numEmbeddings: o.vocabSize, embeddingDim: o.embeddingDim }));
    this.rnn = this.registerModule('rnn', recurrent(o.cell, {
      inputSize: o.embeddingDim, hiddenSize: o.hiddenSize, numLayers: o.numLayers, dropout: o.numLayers > 1 ? o.dropout : 0, bidirectional: o.bidirectional,
    }));
    this.pooling = this.registerModule('pooling', new SequencePooling({ kind: o.pooling, hiddenSize: o.hiddenSize, directions: D }));
    this.classifier = this.registerModule('classifier', new Linear({ inFeatures: D * o.hiddenSize, outFeatures: o.numClasses }));
    this.weightTensor = o.classWeights ? new Tensor(Float32Array.from(o.classWeights), [o.numClasses]) : null;
  }

  /**
   * Sets the token frequencies the embedding normalisation weighs by (normalizeEmbeddings):
   * counts or frequencies, one per token (a Vocabulary built by fromTexts has them in
   * `counts`); they are scaled to sum to 1.
   * @example model.setTokenFrequencies(vocab.counts!);
   */
  setTokenFrequencies(counts: ArrayLike<number>): void {
    const ctx = 'SequenceClassifier.setTokenFrequencies';
    if (!this.token_frequencies) throw new RangeError(`${ctx}: the model does not normalise its embeddings (normalizeEmbeddings is false)`);
    const V = this.options.vocabSize;
    if (!(Array.isArray(counts) || (ArrayBuffer.isView(counts) && !(counts instanceof DataView))))
      throw typeError(ctx, 'counts', `an array of ${V} non-negative numbers`, counts);
    if (counts.length !== V) throw rangeError(ctx, 'counts', `an array of ${V} non-negative numbers (one per token)`, counts);
    let total = 0;
    for (let i = 0; i < V; i++) {
      const c = counts[i];
      if (typeof c !== 'number' || !(c >= 0) || !Number.isFinite(c)) throw rangeError(ctx, `counts[${i}]`, 'a finite number ≥ 0', c);
      total += c;
    }
    if (!(total > 0)) throw new RangeError(`${ctx}: counts must not all be 0`);
    for (let i = 0; i < V; i++) this.token_frequencies.data[i] = counts[i] / total;
  }

  /**
   * Pads sequences of token ids into one batch (cut to options.maxLength), with their labels
   * (class ids in [0, numClasses), or −1 for an unlabelled example) when given.
   */
  batch(sequences: Int32Array[], labels?: Int32Array | number[]): ClassifierBatch {
    const ctx = 'SequenceClassifier.batch';
    this.checkSequences(ctx, sequences);
    let y: Int32Array | null = null;
    if (labels !== undefined) {
      if (!(labels instanceof Int32Array) && !Array.isArray(labels)) throw typeError(ctx, 'labels', 'an Int32Array or an array of class ids', labels);
      if (labels.length !== sequences.length) throw new RangeError(`${ctx}: labels must have one entry per sequence (${sequences.length}), received ${labels.length}`);
      y = Int32Array.from(labels as ArrayLike<number>);
      const C = this.options.numClasses;
      for (let i = 0; i < y.length; i++)
        if (!(labels[i] === UNLABELED || (Number.isInteger(labels[i]) && labels[i] >= 0 && labels[i] < C)))
          throw rangeError(ctx, `labels[${i}]`, `a class id in [0, ${C}) or −1 (unlabelled)`, labels[i]);
    }
    const p = padSequences(sequences, { padValue: 0, ...(this.options.maxLength !== null ? { maxLength: this.options.maxLength } : {}) });
    return { ids: p.ids, lengths: p.lengths, T: p.T, B: p.B, labels: y };
  }

  private checkSequences(ctx: string, sequences: unknown): asserts sequences is Int32Array[] {
    if (!Array.isArray(sequences) || sequences.length === 0) throw typeError(ctx, 'sequences', 'a non-empty array of Int32Arrays', sequences);
    const V = this.options.vocabSize;
    sequences.forEach((s, i) => {
      checkInt32Array(ctx, `sequences[${i}]`, s);
      if (s.length === 0) throw new RangeError(`${ctx}: sequences[${i}] is empty; a sequence needs at least one token`);
      for (let k = 0; k < s.length; k++) if (s[k] < 0 || s[k] >= V) throw rangeError(ctx, `sequences[${i}][${k}]`, `a token id in [0, ${V})`, s[k]);
    });
  }

  /**
   * The embedded input of a batch, (T, B, E): the embedding rows (normalised with
   * normalizeEmbeddings), dropout applied in training. Adversarial training adds its
   * perturbation to this.
   */
  embed(batch: ClassifierBatch): Tensor {
    checkBatch('SequenceClassifier.embed', batch, this.options);
    const { T, B, ids } = batch;
    const e = this.token_frequencies ? F.indexSelect(this.normalizedTable(), 0, ids).reshape([T, B, this.options.embeddingDim]) : this.embedding.forward(ids, [T, B]);
    return F.dropout(e, this.options.dropout, this.training);
  }

  /**
   * The embedding table normalised per dimension, (W − μ) / √(σ² + ε), with μ and σ² the
   * mean and variance of the rows weighted by the token frequencies (Miyato et al. 2017, eq. 1).
   * Differentiable in the table.
   */
  private normalizedTable(): Tensor {
    const V = this.options.vocabSize;
    const w = this.embedding.weight;
    const f = Tensor.wrap(this.token_frequencies!.data, [1, V]);
    const centred = F.sub(w, F.matmul(f, w).reshape([w.shape[1]]));
    const variance = F.matmul(f, F.mul(centred, centred)).reshape([w.shape[1]]);
    return F.mul(centred, inverseSqrt(variance, NORM_EPS));
  }

  /** Logits (B, C) of an embedded batch (T, B, E), as embed() makes it (perhaps perturbed). */
  forwardEmbedded(embedded: Tensor, batch: ClassifierBatch): Tensor {
    const ctx = 'SequenceClassifier.forwardEmbedded';
    checkBatch(ctx, batch, this.options);
    const E = this.options.embeddingDim;
    if (!(embedded instanceof Tensor)) throw typeError(ctx, 'embedded', `a Tensor (${batch.T}, ${batch.B}, ${E})`, embedded);
    if (embedded.shape.length !== 3 || embedded.shape[0] !== batch.T || embedded.shape[1] !== batch.B || embedded.shape[2] !== E)
      throw new RangeError(`${ctx}: embedded must have shape [${batch.T}, ${batch.B}, ${E}] (T, B, E), received [${embedded.shape.join(', ')}]`);
    const { output, h } = this.rnn.forward(embedded, undefined, { lengths: batch.lengths });
    const pooled = F.dropout(this.pooling.forward(output, h, batch.lengths), this.options.dropout, this.training);
    return this.classifier.forward(pooled);
  }

  /** Logits (B, C) of a batch. */
  forward(batch: ClassifierBatch): Tensor {
    return this.forwardEmbedded(this.embed(batch), batch);
  }

  /**
   * The cross-entropy of logits against the batch's labels (weighted by classWeights, mean
   * over the labelled examples: unlabelled ones do not count). Differentiable.
   */
  lossOf(logits: Tensor, batch: ClassifierBatch, opts?: { labelSmoothing?: number }): Tensor {
    const ctx = 'SequenceClassifier.loss';
    const o = checkOptions<{ labelSmoothing: number }>(ctx, 'opts', opts);
    checkKnownOptions(ctx, o, ['labelSmoothing']);
    const labelSmoothing = checkNumber(ctx, 'opts.labelSmoothing', o.labelSmoothing ?? 0, { min: 0, max: 1 });
    if (!batch.labels) throw new RangeError(`${ctx}: the batch has no labels (make it with batch(sequences, labels))`);
    return F.crossEntropy(logits, batch.labels, { ignoreIndex: UNLABELED, labelSmoothing, ...(this.weightTensor ? { weight: this.weightTensor } : {}) });
  }

  /** The loss of a batch: forward, then lossOf. */
  loss(batch: ClassifierBatch, opts?: { labelSmoothing?: number }): Tensor {
    return this.lossOf(this.forward(batch), batch, opts);
  }

  /**
   * Class probabilities (N, C) of token sequences, in eval mode without gradients (the mode is
   * restored after). Sequences are run in batches of similar length; rows come back in order.
   */
  predictProba(sequences: Int32Array[]): Tensor {
    this.checkSequences('SequenceClassifier.predictProba', sequences);
    return this.probabilities(sequences);
  }

  /** The most probable class of each sequence. @example const classes = model.predict(ids); // Int32Array */
  predict(sequences: Int32Array[]): Int32Array {
    this.checkSequences('SequenceClassifier.predict', sequences);
    return argmax(this.probabilities(sequences));
  }

  /**
   * predictProba() on a worker thread of the model's own, for services: the event loop stays
   * free. The model is used as it is at the call (its weights are sent to the worker when they
   * changed since the last call); concurrent calls are answered in order. A bad argument
   * rejects with the error predictProba() would throw.
   * @example const proba = await model.predictProbaAsync([vocab.encode(text)]);
   */
  predictProbaAsync(sequences: Int32Array[]): Promise<Tensor> {
    try {
      this.checkSequences('SequenceClassifier.predictProbaAsync', sequences);
    } catch (err) {
      return Promise.reject(err);
    }
    return predictOnWorker(this, sequences);
  }

  /** predict() on the model's worker thread (see predictProbaAsync). @example const [label] = await model.predictAsync([ids]); */
  async predictAsync(sequences: Int32Array[]): Promise<Int32Array> {
    try {
      this.checkSequences('SequenceClassifier.predictAsync', sequences);
    } catch (err) {
      return Promise.reject(err);
    }
    return argmax(await predictOnWorker(this, sequences));
  }

  private probabilities(sequences: Int32Array[]): Tensor {
    const C = this.options.numClasses;
    const out = new Float32Array(sequences.length * C);
    // Sorted by length so that a batch pads little; rows written back in the callers' order.
    const order = Array.from(sequences.keys()).sort((a, b) => sequences[a].length - sequences[b].length);
    const wasTraining = this.training;
    this.eval();
    try {
      noGrad(() => {
        for (let s = 0; s < order.length; s += PREDICT_BATCH) {
          const rows = order.slice(s, s + PREDICT_BATCH);
          const p = F.softmax(this.forward(this.batch(rows.map((i) => sequences[i]))), -1).data;
          rows.forEach((i, k) => out.set(p.subarray(k * C, (k + 1) * C), i * C));
        }
      });
    } finally {
      this.train(wasTraining);
    }
    return new Tensor(out, [sequences.length, C]);
  }

  protected describe(): string {
    const o = this.options;
    return `SequenceClassifier(${o.cell}${o.bidirectional ? ', bidirectional' : ''}, vocabulary ${o.vocabSize}, hidden ${o.hiddenSize}, ${o.pooling} pooling, ${o.numClasses} classes)`;
  }
}

/** 1 / √(x + eps), elementwise, differentiable: for the E values of the embedding variance (a loop of E). */
function inverseSqrt(x: Tensor, eps: number): Tensor {
  const out = allocLike(x.data, x.size);
  for (let i = 0; i < x.size; i++) out[i] = 1 / Math.sqrt(x.data[i] + eps);
  const y = Tensor.wrap(out, x.shape.slice());
  if (recording(x)) record(new InverseSqrtNode(x, out), [y]);
  return y;
}

/** d/dx (x + eps)^(−1/2) = −½ (x + eps)^(−3/2) = −½ y³. */
class InverseSqrtNode extends Node {
  constructor(x: Tensor, private readonly y: Float32Array) {
    super('InverseSqrtBackward', [x]);
  }
  protected backward(g: Array<Float32Array | null>): Array<Float32Array | null> {
    const dx = allocLike(this.y, this.y.length);
    for (let i = 0; i < dx.length; i++) dx[i] = -0.5 * g[0]![i] * this.y[i] ** 3;
    return [dx];
  }
}

/** A batch's parts must fit together and the model (as batch() makes them): a TypeError otherwise. */
function checkBatch(ctx: string, batch: unknown, o: Required<SequenceClassifierOptions>): asserts batch is ClassifierBatch {
  const b = batch as Partial<ClassifierBatch> | null;
  const int = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1;
  const ok =
    b !== null && typeof b === 'object' && int(b.T) && int(b.B) &&
    b.ids instanceof Int32Array && b.ids.length === b.T! * b.B! && b.ids.every((v) => v >= 0 && v < o.vocabSize) &&
    b.lengths instanceof Int32Array && b.lengths.length === b.B && b.lengths.every((n) => n >= 1 && n <= b.T!) &&
    (b.labels === null || (b.labels instanceof Int32Array && b.labels.length === b.B && b.labels.every((y) => y === UNLABELED || (y >= 0 && y < o.numClasses))));
  if (!ok) throw typeError(ctx, 'batch', 'a batch made by SequenceClassifier.batch()', batch);
}
