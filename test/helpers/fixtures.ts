// Loading and comparing PyTorch reference fixtures (written by scripts/make_*_fixtures.py).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tensor } from '../../lib/core/tensor';

export interface FixtureTensor {
  shape: number[];
  data: number[];
}

export function loadFixture<T>(name: string): T {
  return JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', name), 'utf8')) as T;
}

export function toTensor(t: FixtureTensor): Tensor {
  return new Tensor(Float32Array.from(t.data), t.shape);
}

/** Largest |a − b| / (1 + |b|): absolute near 0, relative for large values. */
export function maxError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let m = 0;
  for (let i = 0; i < actual.length; i++) {
    const e = Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i]));
    if (!(e <= m)) m = e; // NaN propagates as a failure
  }
  return m;
}

/** Asserts closeness with a readable failure: which tensor, how far. */
export function expectClose(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  const err = maxError(actual, expected);
  if (!(err <= tol)) throw new Error(`${what}: max error ${err} exceeds ${tol} (length ${actual.length} vs ${expected.length})`);
}
