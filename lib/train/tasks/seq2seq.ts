/**
 * Training a Seq2Seq with teacher forcing: examples bucketed by source length into batches
 * (shuffled every epoch, in an order that depends only on the epoch and the run's seed, so a
 * resumed run continues it), the mean token cross-entropy as the loss, and on validation the
 * loss and the teacher-forced token accuracy.
 */
import { noGrad } from '../../core/grad-mode';
import { checkInt32Array, rangeError, typeError } from '../../core/validate';
import { batchIndices } from '../../data/sequences';
import { seq2seqLayout } from '../../io/seq2seq-file';
import { Seq2Seq, Seq2SeqBatch, Seq2SeqOptions } from '../../models/seq2seq';
import * as F from '../../nn/functional';
import { argmax } from '../../nn/reductions';
import type { ResolvedConfig } from '../config';
import { lossOf, PreparedTask, registerTask, TrainingTask } from '../task';
import type { Shard } from '../data-parallel';
import { EpochOrder } from './epoch-order';

/** Source–target pairs of token ids: sources[i] translates to targets[i]. */
export interface Seq2SeqData {
  sources: Int32Array[];
  targets: Int32Array[];
}

/** The pairs packed into one buffer (what crosses to a worker thread, and what a run reads). */
interface Packed {
  /** Every source then every target, back to back. */
  tokens: Int32Array;
  /** (N + 1): source i is tokens[sourceOffsets[i] .. sourceOffsets[i + 1]). */
  sourceOffsets: Int32Array;
  /** (N + 1): target i is tokens[targetOffsets[i] .. targetOffsets[i + 1]). */
  targetOffsets: Int32Array;
}

function pack(data: Seq2SeqData): Packed {
  const N = data.sources.length;
  let total = 0;
  for (let i = 0; i < N; i++) total += data.sources[i].length + data.targets[i].length;
  const tokens = new Int32Array(total);
  const sourceOffsets = new Int32Array(N + 1), targetOffsets = new Int32Array(N + 1);
  let at = 0;
  for (let i = 0; i < N; i++) {
    sourceOffsets[i] = at;
    tokens.set(data.sources[i], at);
    at += data.sources[i].length;
  }
  sourceOffsets[N] = at;
  for (let i = 0; i < N; i++) {
    targetOffsets[i] = at;
    tokens.set(data.targets[i], at);
    at += data.targets[i].length;
  }
  targetOffsets[N] = at;
  return { tokens, sourceOffsets, targetOffsets };
}

const source = (p: Packed, i: number) => p.tokens.subarray(p.sourceOffsets[i], p.sourceOffsets[i + 1]);
const target = (p: Packed, i: number) => p.tokens.subarray(p.targetOffsets[i], p.targetOffsets[i + 1]);
const count = (p: Packed) => p.sourceOffsets.length - 1;

function slice(p: Packed, from: number, to: number): Packed {
  const data: Seq2SeqData = { sources: [], targets: [] };
  for (let i = from; i < to; i++) {
    data.sources.push(source(p, i));
    data.targets.push(target(p, i));
  }
  return pack(data);
}

/** Batches of the examples `index` in order, sorted by source length within each (validation). */
function inOrder(p: Packed, B: number): Int32Array[] {
  const order = Array.from({ length: count(p) }, (_, i) => i).sort((a, b) => source(p, a).length - source(p, b).length);
  const out: Int32Array[] = [];
  for (let s = 0; s < order.length; s += B) out.push(Int32Array.from(order.slice(s, s + B)));
  return out;
}

/** The encoder–decoder as a training task. @internal */
export const SEQ2SEQ_TASK: TrainingTask<Seq2Seq, Packed> = {
  kind: 'seq2seq',
  owns: (model): model is Seq2Seq => model instanceof Seq2Seq,
  build: (options) => new Seq2Seq(options as Seq2SeqOptions),
  layout: (model) => seq2seqLayout(model.options),
  checkData(ctx, model, data, name) {
    if (data === null || typeof data !== 'object' || ArrayBuffer.isView(data) || Array.isArray(data))
      throw typeError(ctx, name, 'an object { sources, targets } of Int32Array arrays (a Seq2Seq trains on pairs)', data);
    const d = data as Partial<Seq2SeqData>;
    if (!Array.isArray(d.sources)) throw typeError(ctx, `${name}.sources`, 'an array of Int32Arrays', d.sources);
    if (!Array.isArray(d.targets)) throw typeError(ctx, `${name}.targets`, 'an array of Int32Arrays', d.targets);
    if (d.sources.length !== d.targets.length)
      throw new RangeError(`${ctx}: ${name}.sources and ${name}.targets must pair up, received ${d.sources.length} and ${d.targets.length}`);
    if (d.sources.length === 0) throw new RangeError(`${ctx}: ${name} holds no pairs`);
    const { sourceVocabSize: Vs, targetVocabSize: Vt } = model.options;
    const check = (seqs: Int32Array[], side: string, V: number, allowEmpty: boolean) =>
      seqs.forEach((s, i) => {
        checkInt32Array(ctx, `${name}.${side}[${i}]`, s);
        if (!allowEmpty && s.length === 0) throw new RangeError(`${ctx}: ${name}.${side}[${i}] is empty (a source needs at least one token)`);
        for (let k = 0; k < s.length; k++) if (s[k] < 0 || s[k] >= V) throw rangeError(ctx, `${name}.${side}[${i}][${k}]`, `a token id in [0, ${V})`, s[k]);
      });
    check(d.sources, 'sources', Vs, false);
    check(d.targets, 'targets', Vt, true);
    return pack(d as Seq2SeqData);
  },
  serialize: (data) => data,
  deserialize: (raw) => raw as Packed,
  split(data, fraction) {
    const N = count(data);
    const cut = Math.max(1, Math.floor(N * (1 - fraction)));
    return { train: slice(data, 0, cut), validation: slice(data, cut, N) };
  },
  prepare(ctx, model, train, validation, cfg: ResolvedConfig, shard?: Shard): PreparedTask<Seq2SeqBatch | null> {
    // Data-parallel: the global batches of one process with batch size ranks × batchSize,
    // in the same order on every rank (the order seed comes from rank 0's generator); this
    // rank trains on its rank-th share of each, which is empty (null) when a last batch has
    // fewer pairs than there are ranks.
    const B = cfg.batchSize * (shard?.worldSize ?? 1);
    const N = count(train);
    const lengths = Int32Array.from({ length: N }, (_, i) => source(train, i).length);
    const labelSmoothing = cfg.labelSmoothing ?? 0;
    const order = new EpochOrder(); // resumable shuffled batch order
    let batches: Int32Array[] = [];
    const validationBatches = validation && count(validation) > 0 ? inOrder(validation, B) : [];
    const make = (p: Packed, idx: Int32Array) => model.batch(Array.from(idx, (i) => source(p, i)), Array.from(idx, (i) => target(p, i)));
    return {
      batchesPerEpoch: Math.ceil(N / B),
      startEpoch(epoch) {
        batches = batchIndices(lengths, { batchSize: B, shuffle: cfg.shuffle ?? true, bucketSize: cfg.bucketSize ?? 50, generator: order.generator(epoch) });
      },
      batch(i) {
        if (!shard || shard.worldSize === 1) return make(train, batches[i]);
        const idx = batches[i];
        const per = Math.ceil(idx.length / shard.worldSize);
        const mine = idx.subarray(Math.min(idx.length, shard.rank * per), Math.min(idx.length, (shard.rank + 1) * per));
        return mine.length > 0 ? make(train, mine) : null;
      },
      loss: (b) => (b === null ? { value: 0, count: 0, backward: () => undefined } : lossOf(model.loss(b, { labelSmoothing }), b.tokens)),
      validate() {
        if (validationBatches.length === 0) return { loss: NaN };
        const wasTraining = model.training;
        model.eval();
        try {
          return noGrad(() => {
            let loss = 0, tokens = 0, right = 0;
            for (const idx of validationBatches) {
              const b = make(validation!, idx);
              const logits = model.forward(b);
              loss += F.crossEntropy(logits, b.targetOut, { ignoreIndex: -100 }).item() * b.tokens; // a mean over the batch's tokens
              tokens += b.tokens;
              const predicted = argmax(logits);
              for (let r = 0; r < predicted.length; r++) if (b.targetOut[r] !== -100 && predicted[r] === b.targetOut[r]) right++;
            }
            return { loss: loss / tokens, metrics: { tokenAccuracy: (100 * right) / tokens } };
          });
        } finally {
          model.train(wasTraining);
        }
      },
      saveState: () => order.saveState(),
      checkState: (entries, damaged) => order.checkState(entries, damaged),
      loadState: (t) => order.loadState(t),
    };
  },
};

registerTask(SEQ2SEQ_TASK);
