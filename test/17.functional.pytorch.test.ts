// The functional API (F.*) and its backward against PyTorch 1.13
// (scripts/make_composition_fixtures.py → test/fixtures/ops.json and losses.json).
// Each case: the inputs as float32 leaves requiring grad, the op through F.*, the output,
// then backward of sum(out · R) (out.backward(R)) and every input's .grad.
import { functional as F, Tensor } from '../lib';
import { expectClose, FixtureTensor, loadFixture, maxError, toTensor } from './helpers/fixtures';

interface OpCase {
  name: string;
  seed: number;
  op: string;
  args: Record<string, unknown>;
  inputs: Record<string, FixtureTensor>;
  output: FixtureTensor;
  gradOutput: FixtureTensor;
  grads: Record<string, FixtureTensor>;
}

const ops = loadFixture<{ cases: OpCase[] }>('ops.json').cases;
const losses = loadFixture<{ cases: OpCase[] }>('losses.json').cases;

// float32 rounding. Every value here is O(1) and each element goes through at most a short
// reduction (k = 4 in matmul, 6 in layerNorm). Worst errors seen, |a−b|/(1+|b|): 3.0e-7 for
// layerNorm's dx (cancellation in g·w − mean(g·w) − x̂·mean(g·w·x̂), ~14 ulp of 0.48),
// ≤ 1e-7 for every other op and loss, 0 for the pure data movement (cat, narrow, transpose,
// reshape, indexSelect, maskedFill) and add/sub/mul. 2e-6 (as test 10) is ~7× the worst and
// far below every signal (see the last describe).
const TOL = 2e-6;

// Worst errors seen, printed with REPORT_ERRORS=1.
const worst: Record<string, number> = {};
const track = (what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number) => {
  worst[what] = Math.max(worst[what] ?? 0, maxError(actual, expected));
  expectClose(what, actual, expected, tol);
};
afterAll(() => {
  if (process.env.REPORT_ERRORS) console.log('max errors (|a-b|/(1+|b|)):', worst);
});

/** The fixture's inputs as leaves; those with an entry in `grads` require grad. */
function leaves(c: OpCase): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(c.inputs)) {
    const x = toTensor(t);
    if (name in c.grads) x.requiresGrad = true;
    out[name] = x;
  }
  return out;
}

/** '-Infinity' / 'Infinity' / 'NaN' (strings in the JSON) or a plain number. */
function fixtureNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === '-Infinity') return -Infinity;
  if (v === 'Infinity') return Infinity;
  throw new Error(`unexpected fixture number ${String(v)}`);
}

function runOp(c: OpCase, i: Record<string, Tensor>): Tensor {
  const a = c.args;
  switch (c.op) {
    case 'matmul': {
      const rank = i.a.shape.length;
      if (rank !== 2 && rank !== 3) throw new Error(`matmul of rank ${rank}`);
      return F.matmul(i.a, i.b); // 2-D, or batched (= bmm) for rank 3
    }
    case 'add': return F.add(i.a, i.b);
    case 'sub': return F.sub(i.a, i.b);
    case 'mul': return F.mul(i.a, i.b);
    case 'tanh': return F.tanh(i.x);
    case 'sigmoid': return F.sigmoid(i.x);
    case 'relu': return F.relu(i.x);
    case 'softmax': return F.softmax(i.x, a.dim as number);
    case 'logSoftmax': return F.logSoftmax(i.x, a.dim as number);
    case 'maskedFill': return F.maskedFill(i.x, Uint8Array.from(a.mask as number[]), fixtureNumber(a.value));
    case 'maskedFill+softmax':
      return F.softmax(F.maskedFill(i.x, Uint8Array.from(a.mask as number[]), fixtureNumber(a.value)), a.dim as number);
    case 'cat': {
      const parts = Object.keys(c.inputs).sort().map((k) => i[k]); // x0, x1[, x2]
      return F.cat(parts, a.dim as number);
    }
    case 'sum': return F.sum(i.x);
    case 'mean': return F.mean(i.x);
    case 'transpose': return i.x.transpose(a.dim0 as number, a.dim1 as number);
    case 'reshape': return i.x.reshape(a.shape as number[]);
    case 'narrow': return F.narrow(i.x, a.dim as number, a.start as number, a.length as number);
    case 'indexSelect': return F.indexSelect(i.x, a.dim as number, Int32Array.from(a.index as number[]));
    case 'layerNorm': return F.layerNorm(i.x, a.normalizedShape as number[], i.weight, i.bias, a.eps as number);
    // losses.json
    case 'crossEntropy':
      return F.crossEntropy(i.input, Int32Array.from(a.targets as number[]), {
        ignoreIndex: a.ignoreIndex as number,
        labelSmoothing: a.labelSmoothing as number,
      });
    case 'nllLoss': return F.nllLoss(i.input, Int32Array.from(a.targets as number[]), { ignoreIndex: a.ignoreIndex as number });
    case 'mseLoss': return F.mseLoss(i.input, i.target);
    case 'bceWithLogitsLoss':
      return F.bceWithLogitsLoss(
        i.input,
        i.target,
        a.posWeight === undefined ? undefined : { posWeight: Tensor.from(a.posWeight as number[]) },
      );
    default:
      throw new Error(`no runner for op ${c.op}`);
  }
}

/** Forward, backward of sum(out · gradOutput), and the comparisons of output and every .grad. */
function check(file: string, c: OpCase, tol: number): void {
  const inputs = leaves(c);
  const out = runOp(c, inputs);
  expect(out.shape).toEqual(c.output.shape);
  expect(out.requiresGrad).toBe(true);
  track(`${file} ${c.op} output`, out.data, c.output.data, tol);
  out.backward(toTensor(c.gradOutput));
  for (const [name, t] of Object.entries(inputs)) {
    if (name in c.grads) {
      expect(t.grad).not.toBeNull();
      track(`${file} ${c.op} grad`, t.grad!, c.grads[name].data, tol);
    } else {
      expect(t.grad).toBeNull(); // a target that does not require grad gets none
    }
  }
}

describe('F.* against PyTorch (ops.json)', () => {
  it('has every op of the fixture', () => {
    expect(ops.length).toBe(35);
    expect(new Set(ops.map((c) => c.op))).toEqual(
      new Set(['matmul', 'add', 'sub', 'mul', 'tanh', 'sigmoid', 'relu', 'softmax', 'logSoftmax', 'maskedFill', 'maskedFill+softmax',
        'cat', 'sum', 'mean', 'transpose', 'reshape', 'narrow', 'indexSelect', 'layerNorm']),
    );
    for (const c of ops) expect(Object.keys(c.grads).sort()).toEqual(Object.keys(c.inputs).sort());
  });

  it.each(ops.map((c) => [c.name, c] as const))('%s: output and input gradients match', (_n, c) => {
    check('ops', c, TOL);
  });
});

describe('F.* losses against PyTorch (losses.json)', () => {
  it('has every loss of the fixture', () => {
    expect(losses.length).toBe(10);
    expect(new Set(losses.map((c) => c.op))).toEqual(new Set(['crossEntropy', 'nllLoss', 'mseLoss', 'bceWithLogitsLoss']));
    for (const c of losses) {
      expect(c.output.shape).toEqual([]);
      expect(c.gradOutput.shape).toEqual([]);
      expect(Object.keys(c.grads)).toEqual(['input']);
    }
  });

  it.each(losses.map((c) => [c.name, c] as const))('%s: loss and input gradient match', (_n, c) => {
    check('losses', c, TOL);
  });

  it('backward() without an argument is backward(1): the gradient is the fixture\'s divided by its R', () => {
    for (const c of losses) {
      const inputs = leaves(c);
      runOp(c, inputs).backward();
      const R = c.gradOutput.data[0];
      track('losses grad (R = 1)', inputs.input.grad!, c.grads.input.data.map((g) => g / R), 4 * TOL);
    }
  });
});

describe('the tolerance is tight compared with the signal', () => {
  const all = [...ops, ...losses];

  it.each(all.map((c) => [c.name, c] as const))('%s: zeros, or the gradient of −R, would fail', (_n, c) => {
    // every compared tensor carries a signal far above TOL...
    expect(maxError(new Float32Array(c.output.data.length), c.output.data)).toBeGreaterThan(100 * TOL);
    for (const g of Object.values(c.grads)) {
      const zeros = new Float32Array(g.data.length);
      // a few gradients have exact zeros (relu, masked elements, unselected rows) but none is all zero
      expect(maxError(zeros, g.data)).toBeGreaterThan(100 * TOL);
    }
    // ...and a backward with the sign flipped is caught
    const inputs = leaves(c);
    const out = runOp(c, inputs);
    const neg = toTensor(c.gradOutput);
    neg.data.forEach((v, k) => (neg.data[k] = -v));
    out.backward(neg);
    for (const name of Object.keys(c.grads)) expect(() => expectClose(name, inputs[name].grad!, c.grads[name].data, TOL)).toThrow(/exceeds/);
  });
});
