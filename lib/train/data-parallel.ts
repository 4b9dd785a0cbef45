/**
 * The data-parallel side of a training run (DDP's job), used by the loop when a process group
 * is initialised: every rank starts from rank 0's weights and random state, trains on its
 * share of each global batch, and after backward one allreduce gives every rank the
 * token-weighted mean of all ranks' gradients — what one process with the whole batch
 * computes — together with the global loss and the ranks' stop requests. The gradients live
 * in the model's ParameterArena (the loop flattens every model it trains), so that allreduce
 * is a single call over one buffer with no copies, and the start's broadcast of rank 0's
 * weights one call over the values' buffer. (Internal to the package.)
 */
import { GRAD_TAIL, ParameterArena } from '../core/parameter-arena';
import { defaultGenerator } from '../core/random';
import { rangeError, shapeString } from '../core/validate';
import type { Parameter } from '../core/tensor';
import { native } from '../native/addon';

/** Where this rank's data is: its share of every global batch of worldSize × batchSize. */
export interface Shard {
  readonly rank: number;
  readonly worldSize: number;
  /** Every rank's `local` (the same length on all), concatenated in rank order; a collective. */
  allGather(local: Float32Array): Float32Array;
}

/** What the ranks agreed on in a step's allreduce. */
export interface ReducedStep {
  /** The mean loss over every rank's units (NaN when any rank's loss was non-finite). */
  loss: number;
  /** The units (tokens) of all ranks together. */
  count: number;
  /** The ranks' mean seconds since the run started (what a budget scheduler steps by). */
  elapsed: number;
  /** Why the run must stop after this step, when some rank asked: 'aborted' or 'max-seconds'. */
  stop: 'aborted' | 'max-seconds' | null;
}

/** A 32-bit FNV-1a hash of a string, to compare settings that are not integers across ranks. */
function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

export class DataParallel implements Shard {
  readonly rank: number;
  readonly worldSize: number;
  private readonly timeoutMs: number;
  /**
   * (G + 5) floats of the parameter arena's gradient buffer: the gradient slots (G floats,
   * padding zero), then in its spare tail loss × count, count, abort, over-time, elapsed seconds.
   */
  private readonly arena: Float32Array;
  /** The gradient slots: arena[0, G). */
  private readonly grads: Float32Array;
  private readonly tail: number;

  /** Joins the run to the process's group; the gradients are reduced where the model's arena holds them. */
  constructor(private readonly ctx: string, private readonly params: ParameterArena) {
    const info = native.distInfo();
    if (info === null) throw new Error(`${ctx}: no process group is initialised`);
    [this.rank, this.worldSize, this.timeoutMs] = info;
    const total = params.grad.length;
    if (GRAD_TAIL < 5) throw new Error(`${ctx}: the arena's gradient tail holds ${GRAD_TAIL} floats, the step's allreduce needs 5`);
    this.tail = total;
    this.arena = params.gradWithTail.subarray(0, total + 5);
    this.grads = params.grad;
  }

  /** Throws when something (a hook) replaced a parameter's `.data` or `.grad`: the allreduce would miss it. */
  private checkArena(): void {
    const i = this.params.firstStray();
    if (i < 0) return;
    const p = this.params.parameters[i];
    const which = p.data.buffer === this.params.data.buffer ? 'grad' : 'data';
    throw rangeError(this.ctx, `the .${which} of parameter ${i} (shape ${shapeString(p.shape)})`,
      "the view into the model's ParameterArena that the trainer made (data-parallel gradients are allreduced there: change values in place, never replace the array)",
      p[which]);
  }

  /**
   * Checks that every rank has the same `value` for a setting (an integer, or anything else
   * by a hash of its JSON); throws on every rank, naming it, when they differ.
   */
  agree(what: string, value: unknown): void {
    const v = typeof value === 'number' && Number.isSafeInteger(value) ? value : hashString(JSON.stringify(value) ?? 'undefined');
    native.distAgreeSync(v, what, this.timeoutMs, this.ctx);
  }

  /** Every rank takes rank 0's weights (one broadcast over the arena's values) and default-generator state (dropout, shuffling). */
  syncStart(): void {
    this.checkArena();
    native.distBroadcastSync(this.params.data, 0, this.timeoutMs, 0, this.ctx);
    // The generator's 4 uint32 words, sent as their bytes (a broadcast copies, never rounds).
    const rng = Uint32Array.from(defaultGenerator.getState());
    native.distBroadcastSync(new Float32Array(rng.buffer), 0, this.timeoutMs, 0, this.ctx);
    defaultGenerator.setState(Array.from(rng));
  }

  /**
   * After backward: every rank's gradients weighted by its units (count), summed, and divided
   * by all ranks' units, in one allreduce that also sums the losses and the stop requests.
   * `loss` is this rank's mean loss (non-finite when its backward was skipped: its gradients
   * are then zero, and the global loss becomes NaN on every rank). `step` is checked equal on
   * every rank.
   */
  reduce(loss: number, count: number, step: number, abort: boolean, overTime: boolean, elapsed: number): ReducedStep {
    this.checkArena();
    const a = this.arena, t = this.tail;
    const finite = Number.isFinite(loss);
    if (finite && count !== 1) native.scaleGrads([this.grads], count);
    a[t] = finite ? loss * count : NaN;
    a[t + 1] = count;
    a[t + 2] = abort ? 1 : 0;
    a[t + 3] = overTime ? 1 : 0;
    a[t + 4] = elapsed;
    native.distAllReduceSync(a, 0, this.timeoutMs, step, this.ctx);
    const total = a[t + 1];
    if (total > 0) native.scaleGrads([this.grads], 1 / total);
    return { loss: a[t] / total, count: total, elapsed: a[t + 4] / this.worldSize, stop: a[t + 2] > 0 ? 'aborted' : a[t + 3] > 0 ? 'max-seconds' : null };
  }

  /** Throws on every rank when the ranks' weights differ (a checksum of every bit of them). */
  checkWeights(params: readonly Parameter[], step: number): void {
    const sum = native.distChecksum(params.map((p) => p.data));
    native.distAgreeSync(sum, `the checksum of the weights after step ${step} (the ranks' weights have diverged)`, this.timeoutMs, this.ctx);
  }

  /** Rank 0's validation result on every rank, so that every rank takes the same decisions (early stopping, plateau). */
  shareValidation(v: { loss: number; metrics?: Record<string, number> }): { loss: number; metrics?: Record<string, number> } {
    const keys = v.metrics ? Object.keys(v.metrics).sort() : [];
    this.agree('the validation metrics', keys);
    const values = new Float64Array(1 + keys.length); // doubles, sent as their bytes
    values[0] = v.loss;
    keys.forEach((k, i) => (values[i + 1] = v.metrics![k]));
    native.distBroadcastSync(new Float32Array(values.buffer), 0, this.timeoutMs, 0, this.ctx);
    return { loss: values[0], ...(v.metrics ? { metrics: Object.fromEntries(keys.map((k, i) => [k, values[i + 1]])) } : {}) };
  }

  allGather(local: Float32Array): Float32Array {
    const n = local.length;
    // (worldSize, n): rank r's piece in row r, zeros elsewhere; a sum fills every row
    // (x + 0 is exactly x).
    const all = new Float32Array(n * this.worldSize);
    all.set(local, this.rank * n);
    native.distAllReduceSync(all, 0, this.timeoutMs, 0, this.ctx);
    return all;
  }
}
