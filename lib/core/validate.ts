/**
 * Argument validation shared by every public entry point. One message template:
 * `${context}: expected ${what} for ${name} but received ${value} of type ${type}`.
 * Wrong type → TypeError; wrong value, size or shape → RangeError.
 * @internal
 */

/** Largest element count we allow in one buffer (BLAS dimensions are 32-bit ints). */
export const MAX_ELEMENTS = 2 ** 31 - 1;

/** A short, safe rendering of any value for an error message. */
export function show(value: unknown, depth = 0): string {
  try {
    if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
    if (typeof value === 'bigint') return `${value}n`;
    if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
    if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as ArrayLike<unknown>).length})`;
    if (Array.isArray(value)) {
      // Nested (or cyclic) arrays are shown three levels deep: a message, not a dump.
      if (depth >= 3) return `[…] (length ${value.length})`;
      const items = value.slice(0, 8).map((v) => show(v, depth + 1));
      return value.length > 8 ? `[${items.join(', ')}, …] (length ${value.length})` : `[${items.join(', ')}]`;
    }
    if (value !== null && typeof value === 'object') {
      const name = value.constructor?.name;
      return name && name !== 'Object' ? `[object ${name}]` : '[object]';
    }
    return String(value);
  } catch {
    // A Proxy or an object whose getters throw: still a message, never a second error.
    return '[unprintable value]';
  }
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  try {
    if (Array.isArray(value)) return 'array';
    if (ArrayBuffer.isView(value)) return value.constructor.name;
  } catch {
    // a revoked Proxy: typeof still answers
  }
  return typeof value;
}

export function message(context: string, name: string, what: string, value: unknown): string {
  return `${context}: expected ${what} for ${name} but received ${show(value)} of type ${kind(value)}`;
}

export function typeError(context: string, name: string, what: string, value: unknown): TypeError {
  return new TypeError(message(context, name, what, value));
}

export function rangeError(context: string, name: string, what: string, value: unknown): RangeError {
  return new RangeError(message(context, name, what, value));
}

/** An integer in [min, max]; non-numbers are a TypeError, the rest a RangeError. */
export function checkInteger(context: string, name: string, value: unknown, min: number, max = MAX_ELEMENTS): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
  const what = `an integer in [${min}, ${max}]`;
  if (typeof value !== 'number') throw typeError(context, name, what, value);
  throw rangeError(context, name, what, value);
}

/** A finite number in [min, max] (or (min, max] with minExclusive). */
export function checkNumber(
  context: string,
  name: string,
  value: unknown,
  opts: { min?: number; max?: number; minExclusive?: boolean; maxExclusive?: boolean; finite?: boolean } = {},
): number {
  const { min = -Infinity, max = Infinity, minExclusive = false, maxExclusive = false, finite = true } = opts;
  const lo = min === -Infinity ? '' : `${minExclusive ? '>' : '≥'} ${min}`;
  const hi = max === Infinity ? '' : `${maxExclusive ? '<' : '≤'} ${max}`;
  const what = `a ${finite ? 'finite ' : ''}number${lo || hi ? ' ' : ''}${[lo, hi].filter(Boolean).join(' and ')}`;
  if (typeof value !== 'number') throw typeError(context, name, what, value);
  if (Number.isNaN(value) || (finite && !Number.isFinite(value))) throw rangeError(context, name, what, value);
  if (minExclusive ? value <= min : value < min) throw rangeError(context, name, what, value);
  if (maxExclusive ? value >= max : value > max) throw rangeError(context, name, what, value);
  return value;
}

export function checkBoolean(context: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw typeError(context, name, 'a boolean', value);
  return value;
}

export function checkOneOf<T extends string>(context: string, name: string, value: unknown, options: readonly T[]): T {
  const what = `one of ${options.map((o) => JSON.stringify(o)).join(', ')}`;
  if (typeof value !== 'string') throw typeError(context, name, what, value);
  if (!options.includes(value as T)) throw rangeError(context, name, what, value);
  return value as T;
}

/** A plain options object (or undefined → {}); anything else is a TypeError. */
export function checkOptions<T extends object>(context: string, name: string, value: unknown): Partial<T> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw typeError(context, name, 'an options object', value);
  return value as Partial<T>;
}

export function checkInt32Array(context: string, name: string, value: unknown, length?: number): Int32Array {
  if (!(value instanceof Int32Array)) throw typeError(context, name, 'an Int32Array', value);
  if (length !== undefined && value.length !== length)
    throw rangeError(context, name, `an Int32Array of length ${length}`, value);
  return value;
}

/** Product of dims with an overflow guard: throws a RangeError past MAX_ELEMENTS. */
export function checkedProduct(context: string, name: string, dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  if (n > MAX_ELEMENTS)
    throw new RangeError(`${context}: ${name} would need ${n} elements, more than the ${MAX_ELEMENTS} one buffer can hold`);
  return n;
}

export function shapeString(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Edit distance between two short strings (for "did you mean" suggestions). */
function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length];
}

/** The closest of `known` to `name` when it is plausibly a typo of it, else undefined. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/**
 * The one check for option objects: every key of `options` must be in `known`, else a
 * RangeError naming the unknown key, a suggestion when it looks like a typo, and the known keys.
 */
export function checkKnownOptions(context: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const guess = closestName(key, known);
    throw new RangeError(
      `${context}: unknown option "${key}"${guess ? ` (did you mean "${guess}"?)` : ''}; known options: ${known.join(', ')}`,
    );
  }
}
