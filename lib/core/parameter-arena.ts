import { markAsUntransferable } from 'node:worker_threads';
import { native } from '../native/addon';
import { Parameter } from './tensor';
import { rangeError, typeError } from './validate';

/** Floats per slot boundary: 16 floats are 64 bytes, one cache line (and one AVX-512 vector). */
const SLOT_ALIGN = 16;
/** Spare floats after the gradients (data-parallel allreduces its loss, count and flags with them). @internal */
export const GRAD_TAIL = 16;

const roundUp = (n: number) => Math.ceil(n / SLOT_ALIGN) * SLOT_ALIGN;

/** A zeroed Float32Array of `length` (≥ 1) whose first element is on a 64-byte boundary, in a buffer of its own. */
function alignedBlock(length: number): Float32Array {
  // An explicit ArrayBuffer lives outside V8's heap: its data never moves, so the skip holds.
  const buffer = new ArrayBuffer(length * 4 + 60);
  const skip = native.alignmentSkip(buffer);
  const out = new Float32Array(buffer, skip % 4 === 0 ? skip : 0, length);
  try {
    markAsUntransferable(buffer); // a transfer list copies it instead of detaching every parameter
  } catch {
    // already marked
  }
  return out;
}

/** A Float32Array of any realm (an array from a worker's message under a vm context has its own constructor). */
const isFloat32Array = (a: unknown): boolean => ArrayBuffer.isView(a) && Object.prototype.toString.call(a) === '[object Float32Array]';

/** Which arena a parameter's arrays were last moved into, and its slot there. */
const home = new WeakMap<Parameter, { arena: ParameterArena; index: number }>();

/**
 * Parameters' values and gradients in two contiguous, aligned blocks: each parameter's
 * `.data` and `.grad` become views into `data` and `grad` (slots in the given order, each
 * starting on a 64-byte boundary, the padding between slots zero), so that a pass over all
 * of them — the gradient norm of a clip, an optimizer step, zeroing, an allreduce — is one
 * pass over one buffer. Made by `module.flattenParameters()` (PyTorch's name for making an
 * RNN's weights contiguous), or directly for any list of parameters.
 *
 * Moving a parameter copies its values and gradient into the arena and replaces its arrays
 * with the views: arrays taken from it before (a `stateDict()`'s tensors, a `.data` kept
 * aside) no longer follow it. Loading weights (`loadStateDict`, the model files,
 * checkpoints) copies into the views and keeps them. Flatten between steps, not between a
 * forward and its backward. A parameter moved into a second arena leaves the first, which
 * then is no longer `valid`; so does one whose `.data` or `.grad` is replaced by other code.
 * Both buffers are marked untransferable: a `postMessage` transfer list copies them.
 *
 * @example
 * const arena = model.flattenParameters();
 * arena.grad.fill(0);                          // zeroes every gradient at once
 * model.parameters()[0].data.buffer === arena.data.buffer; // true
 */
export class ParameterArena {
  /** The parameters, in slot order. */
  readonly parameters: readonly Parameter[];
  /** Every parameter's values, slot after slot (`offsets[i]` is where parameter i starts). */
  readonly data: Float32Array;
  /** Every parameter's gradient, in the same layout as `data`. */
  readonly grad: Float32Array;
  /** Where each parameter's slot starts in `data` and `grad`, in floats (multiples of 16). */
  readonly offsets: readonly number[];
  /** `grad` followed by GRAD_TAIL spare floats, in one buffer (what data-parallel allreduces). @internal */
  readonly gradWithTail: Float32Array;
  private readonly dataViews: Float32Array[];
  private readonly gradViews: Float32Array[];

  /**
   * Moves `parameters` (distinct float32 Parameters) into a new arena, in this order.
   * @example const arena = new ParameterArena([lstm.weight_ih_l0, lstm.weight_hh_l0]);
   */
  constructor(parameters: readonly Parameter[]) {
    const ctx = 'ParameterArena';
    if (!Array.isArray(parameters)) throw typeError(ctx, 'parameters', 'an array of Parameter', parameters);
    const seen = new Map<Parameter, number>();
    parameters.forEach((p, i) => {
      if (!(p instanceof Parameter)) throw typeError(ctx, `parameters[${i}]`, 'a Parameter', p);
      if (!isFloat32Array(p.data) || !isFloat32Array(p.grad))
        throw typeError(ctx, `parameters[${i}]`, 'a Parameter whose data and grad are Float32Arrays', p.data);
      const first = seen.get(p);
      if (first !== undefined) throw rangeError(ctx, `parameters[${i}]`, `a Parameter not already listed (it is parameters[${first}])`, p);
      seen.set(p, i);
    });
    const offsets: number[] = [];
    let total = 0;
    for (const p of parameters) {
      offsets.push(total);
      total += roundUp(p.size);
    }
    this.data = alignedBlock(Math.max(total, 1)).subarray(0, total);
    this.gradWithTail = alignedBlock(total + GRAD_TAIL);
    this.grad = this.gradWithTail.subarray(0, total);
    this.parameters = Object.freeze(parameters.slice());
    this.offsets = Object.freeze(offsets);
    this.dataViews = [];
    this.gradViews = [];
    parameters.forEach((p, i) => {
      const at = offsets[i];
      const d = this.data.subarray(at, at + p.size);
      const g = this.grad.subarray(at, at + p.size);
      d.set(p.data);
      g.set(p.grad);
      (p as { data: Float32Array }).data = d;
      p.grad = g;
      this.dataViews.push(d);
      this.gradViews.push(g);
      home.set(p, { arena: this, index: i });
    });
  }

  /**
   * The arena a parameter's arrays are views into, or null (never moved, moved on since, or
   * its `.data` or `.grad` replaced).
   */
  static of(p: Parameter): ParameterArena | null {
    if (!(p instanceof Parameter)) throw typeError('ParameterArena.of', 'p', 'a Parameter', p);
    const h = home.get(p);
    return h && h.arena.holds(p, h.index) ? h.arena : null;
  }

  /** True while every parameter's `.data` and `.grad` are still this arena's views. */
  get valid(): boolean {
    return this.firstStray() < 0;
  }

  /** The index of the first parameter whose `.data` or `.grad` is no longer this arena's view, or −1. @internal */
  firstStray(): number {
    for (let i = 0; i < this.parameters.length; i++) if (!this.holds(this.parameters[i], i)) return i;
    return -1;
  }

  /** Sets every gradient to zero (one fill). */
  zeroGrad(): void {
    this.grad.fill(0);
  }

  private holds(p: Parameter, i: number): boolean {
    return p.data === this.dataViews[i] && p.grad === this.gradViews[i];
  }

  /**
   * The range [start, end) of floats whose slots hold exactly `params` (in any order, each
   * once), when they are a run of adjacent slots of this arena and all still its views; else
   * null. @internal
   */
  rangeOf(params: readonly Parameter[]): [number, number] | null {
    const n = params.length;
    if (n === 0) return null;
    let lo = Infinity, hi = -1;
    for (const p of params) {
      const h = home.get(p);
      if (!h || h.arena !== this || !this.holds(p, h.index)) return null;
      if (h.index < lo) lo = h.index;
      if (h.index > hi) hi = h.index;
    }
    // n distinct slots in [lo, hi] with hi − lo + 1 = n: a duplicate would leave one out.
    if (hi - lo + 1 !== n) return null;
    if (n > 1) {
      const marks = new Uint8Array(n);
      for (const p of params) {
        const k = home.get(p)!.index - lo;
        if (marks[k]) return null;
        marks[k] = 1;
      }
    }
    const last = this.parameters[hi];
    return [this.offsets[lo], this.offsets[hi] + roundUp(last.size)];
  }
}

/**
 * The one arena (and its range) whose slots hold exactly `params`, or null: the fast path of
 * clipping and optimizer steps. @internal
 */
export function arenaRangeOf(params: readonly Parameter[]): { arena: ParameterArena; start: number; end: number } | null {
  if (params.length === 0) return null;
  const h = home.get(params[0]);
  if (!h) return null;
  const r = h.arena.rangeOf(params);
  return r ? { arena: h.arena, start: r[0], end: r[1] } : null;
}
