/**
 * Scratch arrays reused across calls: what a recorded op keeps for its backward (a cell's
 * gates, say) comes from here and returns here when the backward has run, so a loop over
 * time steps does not allocate a new buffer per step. Arrays are pooled by element type and
 * length, a few of each. @internal
 */
const MAX_PER_SIZE = 8;
const pools = new Map<string, Float32Array[]>();

function key(float64: boolean, n: number): string {
  return `${float64 ? 'd' : 'f'}${n}`;
}

/** A zeroed-or-stale array of n elements of `like`'s type: the caller overwrites it. */
export function acquire(like: Float32Array, n: number): Float32Array {
  const float64 = like instanceof Float64Array;
  const list = pools.get(key(float64, n));
  const reused = list?.pop();
  if (reused) return reused;
  return float64 ? (new Float64Array(n) as unknown as Float32Array) : new Float32Array(n);
}

/** Gives an array back for reuse; the caller must not touch it afterwards. */
export function release(a: Float32Array): void {
  const k = key(a instanceof Float64Array, a.length);
  let list = pools.get(k);
  if (!list) pools.set(k, (list = []));
  if (list.length < MAX_PER_SIZE) list.push(a);
}
