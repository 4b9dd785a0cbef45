// The fast per-step cell kernels (native/kernels/cells.cc: vectorised activations, fused
// passes, in-place gate buffers) against their plain double-precision twin
// (cells_reference.h), one row at a time through the binding's test hooks cellUnitsForward /
// cellUnitsBackward: every cell kind, hidden sizes that leave every tail of the 8- and 16-wide
// vector loops, inputs up to ±20 (saturated gates). And the two tables of cell kinds, native
// and TypeScript, must agree.
//
// Tolerance: 1e-6 relative, plus a few float32 roundings of the largest input of the call.
// The fast kernels add and multiply in float32 what the reference does in double, so with
// terms of ±20 a sum that cancels carries ~2e-6 of absolute rounding (GRU's
// n = tanh(gx + r·(gh + b_hn)), LSTM's dc + dh·o·(1 − tanh²c)); a formula or tail bug is
// off by orders of magnitude more. A sweep of 60 000 random rows stays under 0.4 of it.
import { native } from '../lib/native/addon';
import { CELL_KINDS, CellKind } from '../lib/nn/cell-kinds';

const CELL_KIND_NAMES = Object.keys(CELL_KINDS) as CellKind[];
import { Generator } from '../lib/core/random';

const SIZES = [1, 7, 16, 33, 64];
const TOLERANCE = 1e-6;
/** Float32 roundings of the largest input allowed on top (2^-21 ≈ 4.8e-7 per unit of input). */
const ROUNDING = 2 ** -21;

/** Uniform in [-small, small), with about one value in four in [-20, 20) and a few exactly ±20. */
function values(g: Generator, n: number, small = 3): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = g.uniform();
    if (u < 0.05) a[i] = g.uniform() < 0.5 ? -20 : 20;
    else if (u < 0.25) a[i] = (2 * g.uniform() - 1) * 20;
    else a[i] = (2 * g.uniform() - 1) * small;
  }
  return a;
}

/** The largest |x| of the arrays given, at least 1. */
function scaleOf(...arrays: Array<Float32Array | null>): number {
  let m = 1;
  for (const a of arrays) if (a) for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

/** The largest |fast − reference| as a fraction of the tolerance, with the index where it occurs. */
function worst(fast: Float32Array, ref: Float32Array, scale: number): { ratio: number; at: number } {
  expect(fast.length).toBe(ref.length);
  let ratio = 0, at = -1;
  for (let i = 0; i < ref.length; i++) {
    const tolerance = TOLERANCE * Math.max(1, Math.abs(ref[i])) + ROUNDING * scale;
    const r = Math.abs(fast[i] - ref[i]) / tolerance;
    if (!(r <= ratio)) [ratio, at] = [r, i];
  }
  return { ratio, at };
}

/** fast ≈ ref (both finite); scale: the largest input magnitude of the call. */
function expectClose(what: string, fast: Float32Array | null, ref: Float32Array | null, scale: number): void {
  if (fast === null || ref === null) {
    expect(fast).toBe(ref);
    return;
  }
  for (let i = 0; i < ref.length; i++) {
    if (!Number.isFinite(ref[i]) || !Number.isFinite(fast[i])) throw new Error(`${what}[${i}]: fast ${fast[i]}, reference ${ref[i]} (not finite)`);
  }
  const { ratio, at } = worst(fast, ref, scale);
  if (!(ratio <= 1))
    throw new Error(`${what}[${at}]: fast ${fast[at]} vs reference ${ref[at]} (${ratio.toFixed(2)} times the tolerance at input scale ${scale})`);
}

interface ForwardIn {
  g: Float32Array;
  gh: Float32Array | null;
  bhn: Float32Array | null;
  hIn: Float32Array;
  cIn: Float32Array | null;
}
interface ForwardOut {
  g: Float32Array;
  hOut: Float32Array;
  cOut: Float32Array | null;
  ghn: Float32Array | null;
}

function forward(kind: CellKind, reference: boolean, H: number, a: ForwardIn): ForwardOut {
  const info = CELL_KINDS[kind];
  const lstm = kind === 'lstm', gru = kind === 'gru';
  const out: ForwardOut = {
    g: a.g.slice(),
    hOut: new Float32Array(H).fill(NaN),
    cOut: lstm ? new Float32Array(H).fill(NaN) : null,
    ghn: gru ? new Float32Array(H).fill(NaN) : null,
  };
  native.cellUnitsForward(info.code, reference, H, out.g, a.gh, a.bhn, a.hIn, a.cIn, out.hOut, out.cOut, out.ghn);
  return out;
}

interface BackwardIn {
  g: Float32Array; // activated gates
  dh: Float32Array;
  dc: Float32Array | null;
  cIn: Float32Array | null;
  cOut: Float32Array | null;
  ghn: Float32Array | null;
  hPrev: Float32Array | null;
  hOut: Float32Array | null;
}
interface BackwardOut {
  g: Float32Array;
  ghn: Float32Array | null;
  dhPrev: Float32Array;
  dcPrev: Float32Array | null;
}

function backward(kind: CellKind, reference: boolean, H: number, a: BackwardIn): BackwardOut {
  const info = CELL_KINDS[kind];
  const lstm = kind === 'lstm';
  const out: BackwardOut = {
    g: a.g.slice(),
    ghn: a.ghn ? a.ghn.slice() : null,
    dhPrev: new Float32Array(H).fill(NaN),
    dcPrev: lstm ? new Float32Array(H).fill(NaN) : null,
  };
  native.cellUnitsBackward(info.code, reference, H, out.g, a.dh, a.dc, a.cIn, a.cOut, out.ghn, a.hPrev, a.hOut, out.dhPrev, out.dcPrev);
  return out;
}

describe.each(CELL_KIND_NAMES)('%s cell kernels: fast vs reference', (kind) => {
  const info = CELL_KINDS[kind];
  const lstm = kind === 'lstm', gru = kind === 'gru';

  describe.each(SIZES)('H = %d', (H) => {
    const cases = gru ? [['with b_hn', true], ['without b_hn', false]] as const : [['', true]] as const;
    it.each(cases)('forward and backward agree (1e-6 relative + float32 rounding of the inputs) %s', (_label, withBhn) => {
      for (let trial = 0; trial < 4; trial++) {
        const g = new Generator(1000 * info.code + 10 * H + trial);
        const fin: ForwardIn = {
          g: values(g, info.gates * H),
          gh: gru ? values(g, 3 * H) : null,
          bhn: gru && withBhn ? values(g, H, 1) : null,
          hIn: values(g, H, 1).map((v) => Math.max(-1, Math.min(1, v))),
          cIn: lstm ? values(g, H, 2) : null,
        };
        const fast = forward(kind, false, H, fin);
        const ref = forward(kind, true, H, fin);
        const tag = `${kind} H=${H} trial ${trial} forward`;
        const fs = scaleOf(fin.g, fin.gh, fin.bhn, fin.cIn);
        expectClose(`${tag} gates`, fast.g, ref.g, fs);
        expectClose(`${tag} hOut`, fast.hOut, ref.hOut, fs);
        expectClose(`${tag} cOut`, fast.cOut, ref.cOut, fs);
        expectClose(`${tag} ghn`, fast.ghn, ref.ghn, fs);

        // backward from the reference forward's activations
        const bin: BackwardIn = {
          g: ref.g,
          dh: values(g, H, 2),
          dc: lstm ? values(g, H, 2) : null,
          cIn: fin.cIn,
          cOut: ref.cOut,
          ghn: ref.ghn,
          hPrev: gru ? fin.hIn : null,
          hOut: !lstm && !gru ? ref.hOut : null,
        };
        const fb = backward(kind, false, H, bin);
        const rb = backward(kind, true, H, bin);
        const btag = `${kind} H=${H} trial ${trial} backward`;
        const bs = scaleOf(bin.dh, bin.dc, bin.cIn, bin.ghn);
        expectClose(`${btag} gate gradients`, fb.g, rb.g, bs);
        expectClose(`${btag} ghn`, fb.ghn, rb.ghn, bs);
        expectClose(`${btag} dhPrev`, fb.dhPrev, rb.dhPrev, bs);
        expectClose(`${btag} dcPrev`, fb.dcPrev, rb.dcPrev, bs);
      }
    });
  });

  it('saturated gates (pre-activations exactly ±20 everywhere) give finite, matching values', () => {
    const H = 33;
    const g = new Generator(7 + info.code);
    const sat = (n: number) => Float32Array.from({ length: n }, () => (g.uniform() < 0.5 ? -20 : 20));
    const fin: ForwardIn = {
      g: sat(info.gates * H), gh: gru ? sat(3 * H) : null, bhn: gru ? sat(H) : null,
      hIn: Float32Array.from({ length: H }, () => 2 * g.uniform() - 1), cIn: lstm ? sat(H) : null,
    };
    const fast = forward(kind, false, H, fin), ref = forward(kind, true, H, fin);
    const fs = scaleOf(fin.g, fin.gh, fin.bhn, fin.cIn);
    expectClose('gates', fast.g, ref.g, fs);
    expectClose('hOut', fast.hOut, ref.hOut, fs);
    expectClose('cOut', fast.cOut, ref.cOut, fs);
    expectClose('ghn', fast.ghn, ref.ghn, fs);
    for (const v of fast.g) expect(Math.abs(v)).toBeLessThanOrEqual(kind === 'rnn_relu' ? 20 : 1);
    const bin: BackwardIn = {
      g: ref.g, dh: sat(H), dc: lstm ? sat(H) : null, cIn: fin.cIn, cOut: ref.cOut, ghn: ref.ghn,
      hPrev: gru ? fin.hIn : null, hOut: !lstm && !gru ? ref.hOut : null,
    };
    const fb = backward(kind, false, H, bin), rb = backward(kind, true, H, bin);
    const bs = scaleOf(bin.dh, bin.dc, bin.cIn, bin.ghn);
    expectClose('gate gradients', fb.g, rb.g, bs);
    expectClose('ghn', fb.ghn, rb.ghn, bs);
    expectClose('dhPrev', fb.dhPrev, rb.dhPrev, bs);
    expectClose('dcPrev', fb.dcPrev, rb.dcPrev, bs);
  });

  it('the reference hook follows the textbook equations (spot check of one unit, in double)', () => {
    const H = 7;
    const g = new Generator(99 + info.code);
    const fin: ForwardIn = {
      g: values(g, info.gates * H), gh: gru ? values(g, 3 * H) : null, bhn: gru ? values(g, H, 1) : null,
      hIn: values(g, H, 1).map((v) => Math.max(-1, Math.min(1, v))), cIn: lstm ? values(g, H, 2) : null,
    };
    const ref = forward(kind, true, H, fin);
    const s = (x: number) => 1 / (1 + Math.exp(-x));
    const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(b)));
    for (let j = 0; j < H; j++) {
      if (kind === 'rnn_tanh') close(ref.hOut[j], Math.tanh(fin.g[j]));
      else if (kind === 'rnn_relu') close(ref.hOut[j], Math.max(0, fin.g[j]));
      else if (lstm) {
        const c = s(fin.g[H + j]) * fin.cIn![j] + s(fin.g[j]) * Math.tanh(fin.g[2 * H + j]);
        close(ref.cOut![j], c);
        close(ref.hOut[j], s(fin.g[3 * H + j]) * Math.tanh(c));
      } else {
        const r = s(fin.g[j] + fin.gh![j]), z = s(fin.g[H + j] + fin.gh![H + j]);
        const n = Math.tanh(fin.g[2 * H + j] + r * (fin.gh![2 * H + j] + fin.bhn![j]));
        close(ref.hOut[j], (1 - z) * n + z * fin.hIn[j]);
      }
    }
  });
});

describe('native.cellKinds()', () => {
  it('equals the TypeScript table CELL_KINDS (names, codes, gates, hasCellState)', () => {
    const nativeTable = native.cellKinds().map((k) => ({ name: k.name, code: k.code, gates: k.gates, hasCellState: k.hasCellState }));
    const tsTable = (Object.entries(CELL_KINDS) as Array<[CellKind, (typeof CELL_KINDS)[CellKind]]>).map(([name, k]) => ({
      name, code: k.code, gates: k.gates, hasCellState: k.hasCellState,
    }));
    const byCode = (a: { code: number }, b: { code: number }) => a.code - b.code;
    expect(nativeTable.slice().sort(byCode)).toEqual(tsTable.slice().sort(byCode));
    // codes are the table's indices on the native side (cell_kind(type) indexes by code)
    native.cellKinds().forEach((k, i) => expect(k.code).toBe(i));
    expect(new Set(nativeTable.map((k) => k.name)).size).toBe(nativeTable.length);
    expect(CELL_KIND_NAMES.slice().sort()).toEqual(nativeTable.map((k) => k.name).sort());
  });

  it('every CELL_KINDS row is consistent: G blocks of weights, c only for the LSTM, the layer label', () => {
    expect(CELL_KINDS.lstm).toMatchObject({ gates: 4, hasCellState: true, label: 'LSTM' });
    expect(CELL_KINDS.gru).toMatchObject({ gates: 3, hasCellState: false, label: 'GRU' });
    expect(CELL_KINDS.rnn_tanh).toMatchObject({ gates: 1, hasCellState: false, label: 'RNN' });
    expect(CELL_KINDS.rnn_relu).toMatchObject({ gates: 1, hasCellState: false, label: 'RNN' });
  });
});
