// The vectorised activation kernels (AVX-512, AVX2/FMA, scalar) against float64 references.
import { native } from '../lib/native/addon';

const ISAS = ['avx512f', 'avx2', 'scalar'] as const;

function grid(): Float32Array {
  const xs: number[] = [0, -0, 1e-30, -1e-30, 1e-7, -1e-7, 0.625, -0.625, 0.6249999, 9, -9, 20, -20, 87, -87, 88.5, -88.5, 100, -100, 1e4, -1e4];
  for (let x = -30; x <= 30; x += 0.0137) xs.push(x);
  for (let k = 0; k < 2000; k++) xs.push(Math.sin(k * 12.9898) * 3); // dense where it matters
  return Float32Array.from(xs);
}

const ulp = (v: number) => {
  const f = Math.fround(Math.abs(v)) || 1e-45;
  const b = new Float32Array([f]);
  const i = new Int32Array(b.buffer);
  i[0] += 1;
  return b[0] - f;
};

describe.each(ISAS)('%s activations', (isa) => {
  const x = grid();

  it('tanh is within 4 ulp (or 1e-7 absolute) of float64 everywhere, odd and bounded', () => {
    const y = x.slice();
    if (!native.applyActivation('tanh', y, isa)) return; // this CPU lacks the ISA
    for (let i = 0; i < x.length; i++) {
      const ref = Math.tanh(x[i]);
      const err = Math.abs(y[i] - ref);
      if (!(err <= Math.max(4 * ulp(ref), 1e-7))) throw new Error(`tanh(${x[i]}) = ${y[i]}, expected ${ref}`);
      expect(Math.abs(y[i])).toBeLessThanOrEqual(1);
    }
  });

  it('sigmoid is within 4 ulp (or 1e-7 absolute) of float64 everywhere', () => {
    const y = x.slice();
    if (!native.applyActivation('sigmoid', y, isa)) return;
    for (let i = 0; i < x.length; i++) {
      const ref = 1 / (1 + Math.exp(-x[i]));
      const err = Math.abs(y[i] - ref);
      if (!(err <= Math.max(4 * ulp(ref), 1e-7))) throw new Error(`sigmoid(${x[i]}) = ${y[i]}, expected ${ref}`);
      expect(y[i]).toBeGreaterThanOrEqual(0);
      expect(y[i]).toBeLessThanOrEqual(1);
    }
  });

  it('propagates NaN and saturates at ±Infinity', () => {
    const t = Float32Array.from([NaN, Infinity, -Infinity, NaN, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NaN]);
    const s = t.slice();
    if (!native.applyActivation('tanh', t, isa) || !native.applyActivation('sigmoid', s, isa)) return;
    expect([t[0], t[1], t[2], t[3], t[16]]).toEqual([NaN, 1, -1, NaN, NaN]);
    expect([s[0], s[1], s[16]]).toEqual([NaN, 1, NaN]);
    expect(s[2]).toBeGreaterThanOrEqual(0); // e^x is clamped at e^-87.3: sigmoid(−∞) ≈ 4e-39, not 0
    expect(s[2]).toBeLessThan(1e-38);
  });

  it('handles every tail length', () => {
    for (let n = 1; n <= 40; n++) {
      const x = Float32Array.from({ length: n }, (_, i) => (i - n / 2) * 0.3);
      const y = x.slice();
      if (!native.applyActivation('tanh', y, isa)) return;
      for (let i = 0; i < n; i++) expect(Math.abs(y[i] - Math.tanh(x[i]))).toBeLessThan(1e-6);
    }
  });
});

it('dispatches to the best kernel this CPU has', () => {
  expect(ISAS).toContain(native.vecMathIsa());
});
