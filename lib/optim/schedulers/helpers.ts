/**
 * Helpers shared by the scheduler files: option and state-dict validation, the JSON encoding of
 * non-finite floats, bisect. (Internal to the package.)
 */
import { checkNumber, rangeError, typeError } from '../../core/validate';
import type { SchedulableOptimizer, ParamGroup, JsonFloat } from './types';

export const SAFE = Number.MAX_SAFE_INTEGER;
/** Only undefined takes the default: null is a wrong type, as any other non-value. */
export const orDefault = <T>(v: T | undefined, d: T): T => (v === undefined ? d : v);

export function encodeFloat(x: number): JsonFloat {
  if (Number.isFinite(x)) return x;
  return Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity';
}

export function decodeFloat(ctx: string, name: string, v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (v === 'NaN') return NaN;
  throw typeError(ctx, name, "a number (or 'Infinity', '-Infinity', 'NaN')", v);
}

export function checkObject(ctx: string, name: string, v: unknown): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw typeError(ctx, name, 'a plain object', v);
  return v as Record<string, unknown>;
}

export function checkArray(ctx: string, name: string, v: unknown, what: string, length?: number): unknown[] {
  if (!Array.isArray(v)) throw typeError(ctx, name, what, v);
  if (length !== undefined && v.length !== length) throw rangeError(ctx, name, `${what} of length ${length}`, v);
  return v;
}

/** A number, or an array of one number per param group (torch's "float or list" options). */
export function perGroup(ctx: string, name: string, v: unknown, groups: number, opts: Parameters<typeof checkNumber>[3]): number[] {
  if (Array.isArray(v)) {
    if (v.length !== groups) throw rangeError(ctx, name, `a number or an array of ${groups} numbers (one per param group)`, v);
    return v.map((x, i) => checkNumber(ctx, `${name}[${i}]`, x, opts));
  }
  if (typeof v !== 'number') throw typeError(ctx, name, `a number or an array of ${groups} numbers (one per param group)`, v);
  return new Array<number>(groups).fill(checkNumber(ctx, name, v, opts));
}

export function checkOptimizer(ctx: string, optimizer: unknown): SchedulableOptimizer {
  if (optimizer === null || typeof optimizer !== 'object')
    throw typeError(ctx, 'optimizer', 'an optimizer (an object with a paramGroups array)', optimizer);
  const groups = (optimizer as { paramGroups?: unknown }).paramGroups;
  if (!Array.isArray(groups)) throw typeError(ctx, 'optimizer.paramGroups', 'an array of param groups', groups);
  if (groups.length === 0) throw rangeError(ctx, 'optimizer.paramGroups', 'at least one param group', groups);
  groups.forEach((g: unknown, i) => {
    checkObject(ctx, `optimizer.paramGroups[${i}]`, g);
    checkNumber(ctx, `optimizer.paramGroups[${i}].lr`, (g as ParamGroup).lr, { min: 0 });
  });
  return optimizer as SchedulableOptimizer;
}

/** Number of elements of a sorted array that are ≤ x (Python's bisect.bisect_right). */
export function bisectRight(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x < sorted[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
