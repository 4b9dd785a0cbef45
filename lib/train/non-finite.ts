/**
 * Numerical faults during training: finding a non-finite loss, gradient or weight cheaply.
 * (Each task's diagnose() re-runs a failing batch module by module, with detectAnomaly.)
 * (Internal to the package.)
 */
import { native } from '../native/addon';
import { Parameter } from '../core/tensor';

/** Whether every element of every array is finite: one native pass (sum of |x| in double). */
export function allFinite(arrays: Float32Array[]): boolean {
  // Finite float32 values cannot overflow a double sum of |x| at any size we allow, so the sum is
  // finite exactly when no element is ±Infinity or NaN.
  return arrays.length === 0 || Number.isFinite(native.gradNorm(arrays, 1));
}

/** The name of the first parameter whose `pick` (data or grad) holds a non-finite value, or null. */
export function firstNonFinite(named: Array<[string, Parameter]>, pick: 'data' | 'grad'): string | null {
  for (const [name, p] of named) if (!allFinite([p[pick]])) return name;
  return null;
}

/**
 * The error of a step whose loss or gradient was non-finite with `nonFinite: 'stop'` (or whose
 * weights were). `step` is the failing step (1-based, as BatchInfo.step); the model holds the
 * weights from before it.
 */
export class NonFiniteError extends Error {
  constructor(message: string, readonly step: number) {
    super(message);
    this.name = 'Error';
  }
}
