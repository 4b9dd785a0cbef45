/**
 * Arrays reused across calls instead of allocated anew, so that a training loop does not
 * make the JS engine collect thousands of typed arrays per step (with a model held in memory
 * a full collection costs tens of milliseconds; allocation churn is what triggers them).
 *
 * - acquire / release: scratch an op keeps for its backward (a cell's gates) is taken here
 *   and given back when the backward has run.
 * - Backward scopes: while the tape runs a backward pass, every zeroed array the nodes ask
 *   for (gradients of inputs, of states) comes from the pool and goes back when the pass
 *   ends — none of them outlives it (leaves receive copies or sums, never these arrays).
 *
 * Arrays are pooled by element type and length, within a byte budget. (Internal to the package.)
 */
const MAX_POOLED_BYTES = 256 << 20;
const pools = new Map<string, Float32Array[]>();
let pooledBytes = 0;
/** The arrays handed out in the backward pass under way, or null outside one. */
let scope: Float32Array[] | null = null;

function key(float64: boolean, n: number): string {
  return `${float64 ? 'd' : 'f'}${n}`;
}

/** A stale array of n elements of `like`'s type: the caller overwrites every element. @internal */
export function acquire(like: Float32Array, n: number): Float32Array {
  const float64 = like instanceof Float64Array;
  const reused = pools.get(key(float64, n))?.pop();
  if (reused) {
    pooledBytes -= reused.byteLength;
    return reused;
  }
  return float64 ? (new Float64Array(n) as unknown as Float32Array) : new Float32Array(n);
}

/** Gives an array back for reuse; the caller must not touch it afterwards. @internal */
export function release(a: Float32Array): void {
  if (pooledBytes + a.byteLength > MAX_POOLED_BYTES || a.length === 0) return;
  const k = key(a instanceof Float64Array, a.length);
  let list = pools.get(k);
  if (!list) pools.set(k, (list = []));
  list.push(a);
  pooledBytes += a.byteLength;
}

/** A zeroed array of n elements of `like`'s type: pooled inside a backward scope, else new. @internal */
export function allocZeroed(like: Float32Array, n: number): Float32Array {
  if (!scope) return like instanceof Float64Array ? (new Float64Array(n) as unknown as Float32Array) : new Float32Array(n);
  const a = acquire(like, n);
  a.fill(0);
  scope.push(a);
  return a;
}

/** Like allocZeroed, for a kernel that writes every element: a pooled array is not cleared. @internal */
export function allocOverwritten(like: Float32Array, n: number): Float32Array {
  if (!scope) return like instanceof Float64Array ? (new Float64Array(n) as unknown as Float32Array) : new Float32Array(n);
  const a = acquire(like, n);
  scope.push(a);
  return a;
}

/** Runs fn as a backward pass: arrays allocZeroed hands out meanwhile return to the pool after it. @internal */
export function inBackwardScope<T>(fn: () => T): T {
  if (scope) return fn(); // nested (not expected): the outer scope releases
  const mine: Float32Array[] = [];
  scope = mine;
  try {
    return fn();
  } finally {
    scope = null;
    const seen = new Set<Float32Array>();
    for (const a of mine) if (!seen.has(a)) {
      seen.add(a);
      release(a);
    }
  }
}
