// Gradient clipping against torch.nn.utils.clip_grad_norm_ / clip_grad_value_.
import { clipGradNorm, clipGradValue, Parameter } from '../lib';
import { expectClose, loadFixture } from './helpers/fixtures';

interface ClipCase {
  name: string;
  fn: 'norm' | 'value';
  maxNorm?: number;
  normType?: number | 'inf';
  clipValue?: number;
  shapes: number[][];
  before: number[][];
  after: number[][];
  total?: number;
}
const { cases } = loadFixture<{ cases: ClipCase[] }>('clip.json');

function params(c: ClipCase): Parameter[] {
  return c.shapes.map((s, i) => {
    const p = new Parameter(new Float32Array(c.before[i].length), s);
    p.grad.set(c.before[i]);
    return p;
  });
}

describe('clipGradNorm()', () => {
  it.each(cases.filter((c) => c.fn === 'norm').map((c) => [c.name, c] as const))('%s matches PyTorch', (_n, c) => {
    const ps = params(c);
    const total = clipGradNorm(ps, c.maxNorm!, { normType: c.normType });
    expect(Math.abs(total - c.total!) / c.total!).toBeLessThan(1e-6);
    ps.forEach((p, i) => expectClose(`grad ${i}`, p.grad, c.after[i], 1e-6));
  });

  it('defaults to the L2 norm and returns 0 for no parameters', () => {
    const c = cases.find((x) => x.name === 'l2_clipped')!;
    expect(clipGradNorm(params(c), 1)).toBeCloseTo(c.total!, 5);
    expect(clipGradNorm([], 1)).toBe(0);
  });

  it('handles non-finite gradients as torch does, or throws with errorIfNonfinite', () => {
    const p = new Parameter(new Float32Array(3), [3]);
    p.grad.set([1, Infinity, 2]);
    expect(() => clipGradNorm([p], 1, { errorIfNonfinite: true })).toThrow(/total norm of order 2 of the gradients is non-finite/);
    expect(Array.from(p.grad)).toEqual([1, Infinity, 2]); // untouched when it throws
    expect(clipGradNorm([p], 1)).toBe(Infinity);
    expect(p.grad[0]).toBe(0); // scaled by 1 / inf
    p.grad.set([1, NaN, 2]);
    expect(clipGradNorm([p], 1)).toBeNaN();
    expect(Number.isNaN(p.grad[0])).toBe(true);
  });

  it('validates its arguments', () => {
    const p = new Parameter(new Float32Array(3), [3]);
    expect(() => clipGradNorm('x' as any, 1)).toThrow(TypeError);
    expect(() => clipGradNorm([p, {} as any], 1)).toThrow(/clipGradNorm: expected a Parameter for params\[1\] but received \[object\] of type object/);
    expect(() => clipGradNorm([p], -1)).toThrow(RangeError);
    expect(() => clipGradNorm([p], '1' as any)).toThrow(/expected a number ≥ 0 for maxNorm but received "1" of type string/);
    expect(() => clipGradNorm([p], 1, { normType: 0 })).toThrow(RangeError);
    expect(() => clipGradNorm([p], 1, { normType: 'max' as any })).toThrow(/expected a positive number or 'inf' for opts.normType/);
    expect(() => clipGradNorm([p], 1, { errorIfNonfinite: 1 as any })).toThrow(TypeError);
  });
});

describe('clipGradValue()', () => {
  it.each(cases.filter((c) => c.fn === 'value').map((c) => [c.name, c] as const))('%s matches PyTorch', (_n, c) => {
    const ps = params(c);
    clipGradValue(ps, c.clipValue!);
    ps.forEach((p, i) => expectClose(`grad ${i}`, p.grad, c.after[i], 0));
  });

  it('validates its arguments', () => {
    expect(() => clipGradValue([], -0.5)).toThrow(RangeError);
    expect(() => clipGradValue([], NaN)).toThrow(/for clipValue but received NaN/);
    expect(() => clipGradValue([1] as any, 1)).toThrow(TypeError);
  });
});
