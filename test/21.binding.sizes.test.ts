// The bindings' own size checks: element counts are products of sizes checked in C++ for
// overflow and for the 32-bit index range of BLAS and the kernels (checked_size in
// native/binding/args.h), not only in the TypeScript layer. The arrays here are larger than
// 2^31 elements but never touched: they are rejected before a kernel sees them, so their
// 8 GiB stay virtual.
import { native } from '../lib/native/addon';

// The addon's errors come from node's own realm, not jest's sandbox: compare the class by name.
function throwsWith(fn: () => unknown, cls: 'RangeError' | 'TypeError', ...parts: string[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect((err as Error | undefined)?.constructor?.name).toBe(cls);
  for (const part of parts) expect((err as Error).message).toContain(part);
}

const HUGE = 2 ** 31 + 16; // elements; 2^31 - 1 is the limit
const LIMIT = 'more than the 2147483647 one buffer can hold (BLAS dimensions are 32-bit ints)';

describe('checked sizes in the bindings', () => {
  let huge: Float32Array;
  let huge2: Float32Array;
  beforeAll(() => {
    huge = new Float32Array(HUGE);
    huge2 = new Float32Array(HUGE);
  });

  it('applyActivation refuses an array beyond the kernels\' int range (it used to do nothing and return true)', () => {
    throwsWith(() => native.applyActivation('tanh', huge, 'scalar'), 'RangeError', `x would need ${HUGE} elements, ${LIMIT}`);
  });

  it('the optimizer steps refuse a parameter beyond the int range (its length was cast to int: a negative count, then a wild write)', () => {
    const hyper = { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, firstStep: true };
    throwsWith(() => native.sgdStep(huge, huge2, null, hyper), 'RangeError', `param would need ${HUGE} elements, ${LIMIT}`);
    const adam = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, decoupled: false, step: 1 };
    throwsWith(() => native.adamStep(huge, huge2, huge, huge2, null, adam), 'RangeError', `param would need ${HUGE} elements`);
    const rms = { lr: 0.1, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false };
    throwsWith(() => native.rmspropStep(huge, huge2, huge, null, null, rms), 'RangeError', `param would need ${HUGE} elements`);
    const ada = { lr: 0.1, lrDecay: 0, eps: 1e-10, weightDecay: 0, maximize: false, step: 1 };
    throwsWith(() => native.adagradStep(huge, huge2, huge, ada), 'RangeError', `param would need ${HUGE} elements`);
  });

  it('maxNormRows checks rows x cols before comparing lengths', () => {
    throwsWith(() => native.maxNormRows(new Float32Array(4), 65536, 65536, 1), 'RangeError',
      `param would need 65536 x 65536 = 4294967296 elements, ${LIMIT}`);
    throwsWith(() => native.maxNormRows(new Float32Array(4), 2, 3, 1), 'RangeError', 'param must have 6 elements, received 4');
  });

  it('sizes within the limit still work', () => {
    const p = Float32Array.from([3, 4, 0, 0.5]);
    native.maxNormRows(p, 2, 2, 1);
    expect(Array.from(p).map((v) => Math.round(v * 1e4) / 1e4)).toEqual([0.6, 0.8, 0, 0.5]);
    const g = Float32Array.from([1, 1, 1, 1]);
    native.sgdStep(p, g, null, { lr: 0.5, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, firstStep: true });
    expect(Array.from(p).map((v) => Math.round(v * 1e4) / 1e4)).toEqual([0.1, 0.3, -0.5, 0]);
  });
});
