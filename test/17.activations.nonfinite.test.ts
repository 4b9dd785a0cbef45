// NaN and ±Infinity through the activation kernels of every ISA, at every position of every
// tail length: the scalar exp behind the AVX2 tails and the scalar kernels once converted a
// NaN exponent to an integer, which is undefined behaviour (caught by `npm run test:asan`,
// docs/sanitizers.md). NaN in must give NaN out; infinities saturate.
import { native } from '../lib/native/addon';

const ISAS = ['avx512f', 'avx2', 'scalar'] as const;
const KINDS = ['sigmoid', 'tanh'] as const;

// Quiet and signalling NaNs of both signs, with and without payload bits.
const NANS = new Float32Array(new Uint32Array([0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fffffff, 0x7fa5a5a5]).buffer);

describe.each(ISAS)('%s activations with non-finite input', (isa) => {
  it.each(KINDS)('%s: NaN in gives NaN out at every position of every length up to 40', (kind) => {
    for (let n = 1; n <= 40; n++) {
      for (let at = 0; at < n; at++) {
        const x = Float32Array.from({ length: n }, (_, i) => (i - n / 2) * 0.25);
        x[at] = NANS[(n + at) % NANS.length];
        if (!native.applyActivation(kind, x, isa)) return; // this CPU lacks the ISA
        for (let i = 0; i < n; i++) {
          if (i === at) {
            if (!Number.isNaN(x[i])) throw new Error(`${kind}(NaN) at ${at} of ${n} gave ${x[i]}`);
          } else if (!Number.isFinite(x[i])) {
            throw new Error(`${kind}: the NaN at ${at} of ${n} leaked into element ${i} (${x[i]})`);
          }
        }
      }
    }
  });

  it.each(KINDS)('%s: ±Infinity saturate at every position of a tail', (kind) => {
    for (let n = 1; n <= 20; n++) {
      const x = Float32Array.from({ length: n }, (_, i) => (i % 2 ? -Infinity : Infinity));
      if (!native.applyActivation(kind, x, isa)) return;
      for (let i = 0; i < n; i++) {
        const want = i % 2 ? (kind === 'tanh' ? -1 : 0) : 1;
        expect(Math.abs(x[i] - want)).toBeLessThan(1e-30);
      }
    }
  });
});
