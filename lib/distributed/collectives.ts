/**
 * The collectives, as torch.distributed's: allReduce, broadcast and barrier. Each is async (it
 * runs off the event loop), works in place on a Float32Array or a Tensor's data, and fails
 * within its timeout when a rank is gone or stuck. Every rank must make the same calls in the
 * same order with arrays of the same length; a call where ranks differ is refused on every
 * rank, naming what differs.
 */
import { Tensor } from '../core/tensor';
import { checkInteger, checkKnownOptions, checkOneOf, checkOptions, typeError } from '../core/validate';
import { native } from '../native/addon';
import { groupInfo } from './process-group';
import { afterPreviousCollectives } from './queue';

/** How allReduce combines the ranks' values: sum, mean (the sum divided by the world size), max or min. */
export type ReduceOp = 'sum' | 'mean' | 'max' | 'min';

/** Per-call options of a collective. */
export interface CollectiveOptions {
  /** How long to wait for the other ranks (default: the group's timeoutMs). */
  timeoutMs?: number;
}

const OPS: readonly ReduceOp[] = ['sum', 'mean', 'max', 'min'];

/** A Float32Array of any realm (worker threads and vm contexts have their own constructors). */
function isFloat32Array(value: unknown): value is Float32Array {
  return value instanceof Float32Array || (ArrayBuffer.isView(value) && Object.prototype.toString.call(value) === '[object Float32Array]');
}

/** The Float32Array a collective works on: the array itself or a Tensor's data. */
function dataOf(ctx: string, data: unknown): Float32Array {
  if (data instanceof Tensor) return data.data;
  if (isFloat32Array(data)) return data;
  throw typeError(ctx, 'data', 'a Float32Array or a Tensor', data);
}

/**
 * Runs a collective on a private copy of `array` taken now, as the call returns (the caller
 * may change or transfer the array while the collective waits for the other ranks), and
 * writes the result back into it when the collective is done.
 */
async function onCopy(ctx: string, array: Float32Array, run: (work: Float32Array) => Promise<void>): Promise<void> {
  const work = array.slice();
  await afterPreviousCollectives(() => run(work));
  if (array.length !== work.length)
    throw new Error(`${ctx}: data was transferred or detached while the collective ran; its result could not be written back`);
  array.set(work);
}

/** The call's timeout: its own or the group's. Throws when no group is initialised. */
function timeoutOf(ctx: string, options: unknown): number {
  const o = checkOptions<CollectiveOptions>(ctx, 'options', options);
  checkKnownOptions(ctx, o, ['timeoutMs']);
  const own = o.timeoutMs === undefined ? undefined : checkInteger(ctx, 'timeoutMs', o.timeoutMs, 1, 2 ** 31 - 1);
  return own ?? groupInfo(ctx)[2];
}

/**
 * Combines `data` across all ranks, in place: afterwards every rank holds the elementwise
 * sum (mean, max, min) of what all ranks passed. Gloo's ring algorithm: each rank sends and
 * receives 2·(N−1)/N of the array's bytes.
 *
 * @example
 * const grads = new Float32Array([rank, 1]);
 * await distributed.allReduce(grads, 'mean'); // [(0 + 1 + … + N−1) / N, 1] on every rank
 */
export async function allReduce(data: Float32Array | Tensor, op: ReduceOp = 'sum', options?: CollectiveOptions): Promise<void> {
  const ctx = 'allReduce';
  const array = dataOf(ctx, data);
  const code = OPS.indexOf(checkOneOf(ctx, 'op', op, OPS));
  const timeoutMs = timeoutOf(ctx, options);
  await onCopy(ctx, array, (work) => native.distAllReduce(work, code, timeoutMs));
}

/**
 * Replaces `data` on every rank by rank `src`'s, in place.
 *
 * @example
 * await distributed.broadcast(model.embedding.weight, 0); // every rank starts from rank 0's weights
 */
export async function broadcast(data: Float32Array | Tensor, src: number, options?: CollectiveOptions): Promise<void> {
  const ctx = 'broadcast';
  const array = dataOf(ctx, data);
  checkInteger(ctx, 'src', src, 0, 1 << 20);
  const timeoutMs = timeoutOf(ctx, options);
  const worldSize = groupInfo(ctx)[1];
  if (src >= worldSize) throw new RangeError(`${ctx}: expected a rank in [0, ${worldSize - 1}] for src (worldSize ${worldSize}) but received ${src}`);
  await onCopy(ctx, array, (work) => native.distBroadcast(work, src, timeoutMs));
}

/**
 * Resolves once every rank has called barrier().
 * @example
 * if (distributed.getRank() === 0) writeFiles();
 * await distributed.barrier(); // every rank sees the files after this
 */
export async function barrier(options?: CollectiveOptions): Promise<void> {
  const timeoutMs = timeoutOf('barrier', options);
  await afterPreviousCollectives(() => native.distBarrier(timeoutMs));
}
