/**
 * Batching variable-length token sequences: padding into one rectangular array with the
 * lengths beside it (what the recurrent layers' `lengths` option reads), and an iterator that
 * shuffles and buckets examples by length so each batch wastes little padding.
 */
import { defaultGenerator, Generator } from '../core/random';
import { checkBoolean, checkInt32Array, checkInteger, checkKnownOptions, checkOptions, rangeError, typeError } from '../core/validate';

export interface PaddedBatch {
  /** (T, B) time-major, or (B, T) with batchFirst; padded with padValue. */
  ids: Int32Array;
  /** (B): each sequence's length (after truncation). */
  lengths: Int32Array;
  /** The longest length (the padded time dimension). */
  T: number;
  B: number;
}

/**
 * Pads sequences of token ids to one length (the longest, or maxLength, truncating longer
 * ones), time-major by default as the recurrent layers read them.
 * @example
 * const { ids, lengths, T, B } = padSequences([Int32Array.of(4, 5, 6), Int32Array.of(7)]);
 * const x = embedding.forward(ids, [T, B]);
 * const { output } = lstm.forward(x, undefined, { lengths });
 */
export function padSequences(
  sequences: ArrayLike<number>[],
  opts?: { batchFirst?: boolean; padValue?: number; maxLength?: number },
): PaddedBatch {
  const ctx = 'padSequences';
  if (!Array.isArray(sequences) || sequences.length === 0) throw typeError(ctx, 'sequences', 'a non-empty array of Int32Arrays or number arrays', sequences);
  const o = checkOptions<{ batchFirst: boolean; padValue: number; maxLength: number }>(ctx, 'opts', opts);
  checkKnownOptions(ctx, o, ['batchFirst', 'padValue', 'maxLength']);
  const batchFirst = checkBoolean(ctx, 'opts.batchFirst', o.batchFirst ?? false);
  const padValue = checkInteger(ctx, 'opts.padValue', o.padValue ?? 0, -(2 ** 31), 2 ** 31 - 1);
  const maxLength = o.maxLength === undefined ? Infinity : checkInteger(ctx, 'opts.maxLength', o.maxLength, 1);
  const B = sequences.length;
  const lengths = new Int32Array(B);
  sequences.forEach((s, b) => {
    if (!(s instanceof Int32Array) && !Array.isArray(s)) throw typeError(ctx, `sequences[${b}]`, 'an Int32Array or an array of integers', s);
    if (s.length === 0) throw new RangeError(`${ctx}: sequences[${b}] is empty; every sequence needs at least one token (the recurrent layers' lengths are ≥ 1)`);
    lengths[b] = Math.min(s.length, maxLength);
  });
  const T = Math.max(...lengths);
  const ids = new Int32Array(T * B).fill(padValue);
  sequences.forEach((s, b) => {
    for (let t = 0; t < lengths[b]; t++) {
      const v = s[t];
      if (typeof v !== 'number') throw typeError(ctx, `sequences[${b}][${t}]`, 'a 32-bit integer', v);
      if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) throw rangeError(ctx, `sequences[${b}][${t}]`, 'a 32-bit integer', v);
      ids[batchFirst ? b * T + t : t * B + b] = v;
    }
  });
  return { ids, lengths, T, B };
}

export interface BatchOptions {
  batchSize: number;
  /** Shuffle the examples (and the order of batches) each pass; default true. */
  shuffle?: boolean;
  /**
   * Group examples of similar length: examples are sorted by length within windows of
   * bucketSize × batchSize (after shuffling, when shuffling), so each batch pads little; the
   * batches are then shuffled. Default 1: no bucketing.
   */
  bucketSize?: number;
  /** Keep a last batch smaller than batchSize; default true. */
  keepLast?: boolean;
  generator?: Generator;
}

/**
 * The indices of `lengths.length` examples split into batches: shuffled and bucketed by
 * length as asked. Each call is one pass (an epoch); the generator decides the order.
 * @example
 * for (const batch of batchIndices(lengths, { batchSize: 32, bucketSize: 50 })) {
 *   const padded = padSequences(Array.from(batch, (i) => data[i]));
 * }
 */
export function batchIndices(lengths: Int32Array | number[], options: BatchOptions): Int32Array[] {
  const ctx = 'batchIndices';
  if (Array.isArray(lengths))
    lengths.forEach((n, i) => {
      if (typeof n !== 'number') throw typeError(ctx, `lengths[${i}]`, 'a non-negative integer', n);
      checkInteger(ctx, `lengths[${i}]`, n, 0);
    });
  const lens = Array.isArray(lengths) ? Int32Array.from(lengths) : checkInt32Array(ctx, 'lengths', lengths);
  if (options === undefined) throw typeError(ctx, 'options', 'an options object with batchSize', options);
  const o = checkOptions<BatchOptions>(ctx, 'options', options);
  checkKnownOptions(ctx, o, ['batchSize', 'shuffle', 'bucketSize', 'keepLast', 'generator']);
  const batchSize = checkInteger(ctx, 'batchSize', o.batchSize, 1);
  const shuffle = checkBoolean(ctx, 'shuffle', o.shuffle ?? true);
  const bucketSize = checkInteger(ctx, 'bucketSize', o.bucketSize ?? 1, 1);
  const keepLast = checkBoolean(ctx, 'keepLast', o.keepLast ?? true);
  if (o.generator !== undefined && !(o.generator instanceof Generator)) throw typeError(ctx, 'generator', 'a Generator', o.generator);
  const g = o.generator ?? defaultGenerator;
  const order = Array.from({ length: lens.length }, (_, i) => i);
  const shuffleInPlace = <T>(a: T[]) => {
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(g.uniform() * (i + 1));
      [a[i], a[j]] = [a[j], a[i]];
    }
  };
  if (shuffle) shuffleInPlace(order);
  if (bucketSize > 1) {
    const window = bucketSize * batchSize;
    for (let s = 0; s < order.length; s += window) {
      const part = order.slice(s, s + window).sort((a, b) => lens[a] - lens[b]);
      order.splice(s, part.length, ...part);
    }
  }
  const batches: Int32Array[] = [];
  for (let s = 0; s < order.length; s += batchSize) {
    if (s + batchSize > order.length && !keepLast) break;
    batches.push(Int32Array.from(order.slice(s, s + batchSize)));
  }
  if (shuffle && bucketSize > 1) shuffleInPlace(batches);
  return batches;
}
