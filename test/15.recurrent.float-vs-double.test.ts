// Larger shapes than the PyTorch fixtures, where the float32 path takes the AVX-512 step
// microkernel over packed weights and splits hidden units across threads (the fixtures are
// small enough to take the BLAS path): float32 results must match the float64 twin.
import type { CellCode } from '../binding';
import { native } from '../lib/native/addon';
import { Generator } from '../lib/core/random';
import { maxError } from './helpers/fixtures';

function compare(cell: CellCode, opts: { L: number; bi: boolean; lengths: boolean; batchFirst: boolean; T: number; B: number; I: number; H: number }) {
  const { L, bi, T, B, I, H } = opts;
  const G = cell === 2 ? 4 : cell === 3 ? 3 : 1;
  const D = bi ? 2 : 1;
  const g = new Generator(99 + cell);
  const rand = (n: number, s = 1) => Float64Array.from({ length: n }, () => (2 * g.uniform() - 1) * s);
  const w64: Float64Array[] = [];
  for (let l = 0; l < L; l++)
    for (let d = 0; d < D; d++) {
      const inSize = l === 0 ? I : D * H;
      const bound = 1 / Math.sqrt(H);
      w64.push(rand(G * H * inSize, bound), rand(G * H * H, bound), rand(G * H, bound), rand(G * H, bound));
    }
  const S = L * D * B * H;
  const x = rand(T * B * I), h0 = rand(S, 0.5), c0 = rand(S, 0.5), gOut = rand(T * B * D * H), gh = rand(S), gc = rand(S);
  const lengths = opts.lengths ? Int32Array.from({ length: B }, (_, b) => 1 + ((b * 7) % T)) : null;
  const lstm = cell === 2;
  const run = <A extends Float32Array | Float64Array>(Ctor: { new (n: number): A; from(a: ArrayLike<number>): A }, Stack: any) => {
    const s = new Stack(cell, I, H, L, bi, true, opts.batchFirst, 0);
    const ws = w64.map((w) => Ctor.from(w));
    const grads = ws.map((w) => new Ctor(w.length));
    const out = new Ctor(T * B * D * H), hN = new Ctor(S), cN = new Ctor(S);
    const ctx = new Float32Array(s.arenaBytes(T, B, 1, false, lengths !== null) / 4);
    s.forward(T, B, Ctor.from(x), null, 0, null, Ctor.from(h0), lstm ? Ctor.from(c0) : null, lengths, ws, 1, 0, 0, out, hN, lstm ? cN : null, ctx);
    const dx = new Ctor(x.length), dh = new Ctor(S), dc = new Ctor(S);
    s.backward(ctx, Ctor.from(gOut), Ctor.from(gh), lstm ? Ctor.from(gc) : null, ws, grads, dx, null, null, -1, dh, lstm ? dc : null);
    return [out, hN, cN, dx, dh, dc, ...grads];
  };
  const f32 = run(Float32Array, native.RecurrentStack);
  const f64 = run(Float64Array, native.RecurrentStack64);
  f32.forEach((a, i) => {
    const err = maxError(a, f64[i]);
    // Gradients sum over up to T·B terms: allow float32 accumulation error, nothing more.
    if (!(err < (i < 3 ? 5e-6 : 5e-5))) throw new Error(`output ${i}: max error ${err}`);
  });
}

describe.each<[string, CellCode]>([['RNN tanh', 0], ['RNN relu', 1], ['LSTM', 2], ['GRU', 3]])('%s float32 vs float64 at batch sizes that use the step microkernel', (_n, cell) => {
  it('one layer, hidden size a multiple of 16', () => compare(cell, { L: 1, bi: false, lengths: false, batchFirst: false, T: 10, B: 16, I: 24, H: 64 }));
  it('two bidirectional layers, ragged hidden size (40 = 16 + 16 + 8), lengths, batchFirst', () =>
    compare(cell, { L: 2, bi: true, lengths: true, batchFirst: true, T: 9, B: 13, I: 20, H: 40 }));
  it('batch 1 (the GEMV path) and odd sizes', () => compare(cell, { L: 2, bi: true, lengths: false, batchFirst: false, T: 7, B: 1, I: 5, H: 37 }));
  it('batch 1 with row lengths that leave a masked tail after a full chunk', () => compare(cell, { L: 1, bi: false, lengths: false, batchFirst: false, T: 3, B: 1, I: 50, H: 21 }));
});
