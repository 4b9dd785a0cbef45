// Bad arguments to the functional ops, Tensor, the cells and Sequential: the right class
// (TypeError for a wrong type, RangeError for a wrong value, size or shape) and a message
// naming the function and the argument. Errors the native binding throws come from another
// realm under jest (its own RangeError), so those are matched by name and message only.
import { Dropout, Embedding, functional as F, GRUCell, LayerNorm, Linear, LSTM, LSTMCell, Module, RNNCell, Sequential, Tanh, Tensor } from '../lib';
import { t64 } from './helpers/float64';

/** fn throws `cls` (by class: errors of lib/) with a message matching every pattern. */
function throws(fn: () => unknown, cls: typeof TypeError | typeof RangeError, ...patterns: RegExp[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  if (err === undefined) throw new Error(`expected a ${cls.name}, but nothing was thrown`);
  expect(err).toBeInstanceOf(cls);
  for (const p of patterns) expect((err as Error).message).toMatch(p);
}

/** The same for errors of the native binding (another realm): by name and message. */
function throwsNative(fn: () => unknown, name: 'TypeError' | 'RangeError', ...patterns: RegExp[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  if (err === undefined) throw new Error(`expected a ${name}, but nothing was thrown`);
  expect((err as Error).name).toBe(name);
  for (const p of patterns) expect((err as Error).message).toMatch(p);
}

const any = (v: unknown) => v as never;
const x23 = () => Tensor.zeros([2, 3]);

describe('F.add / F.sub / F.mul', () => {
  it.each([['add', F.add], ['sub', F.sub], ['mul', F.mul]] as const)('F.%s: shapes that do not broadcast, wrong types, mixed element types', (name, op) => {
    const ctx = `F\\.${name}`;
    throws(() => op(x23(), Tensor.zeros([3, 2])), RangeError, new RegExp(`^${ctx}: b's shape must equal a's or a's trailing dimensions.*received a \\[2, 3\\] and b \\[3, 2\\]`));
    throws(() => op(x23(), Tensor.zeros([2])), RangeError, new RegExp(`^${ctx}:.*received a \\[2, 3\\] and b \\[2\\]`)); // leading, not trailing
    throws(() => op(Tensor.zeros([3]), x23()), RangeError, new RegExp(`^${ctx}:.*received a \\[3\\] and b \\[2, 3\\]`)); // b larger than a
    throws(() => op(any([1, 2]), x23()), TypeError, new RegExp(`^${ctx}: expected a Tensor for a but received \\[1, 2\\] of type array`));
    throws(() => op(x23(), any('1')), TypeError, new RegExp(`^${ctx}: expected a Tensor for b but received "1" of type string`));
    throws(() => op(x23(), any(null)), TypeError, new RegExp(`^${ctx}: expected a Tensor for b`));
    throws(() => op(x23(), t64([1, 2, 3], [3])), TypeError, new RegExp(`^${ctx}: a and b must have the same element type`));
  });
});

describe('activations', () => {
  it.each([['tanh', F.tanh], ['sigmoid', F.sigmoid], ['relu', F.relu]] as const)('F.%s of a non-Tensor is a TypeError naming x', (name, op) => {
    throws(() => op(any([1, 2])), TypeError, new RegExp(`^F\\.${name}: expected a Tensor for x but received \\[1, 2\\] of type array`));
    throws(() => op(any(new Float32Array(3))), TypeError, new RegExp(`^F\\.${name}: expected a Tensor for x but received Float32Array\\(3\\)`));
  });
});

describe('F.matmul', () => {
  it('inner dimensions that differ', () => {
    throws(() => F.matmul(Tensor.zeros([2, 3]), Tensor.zeros([4, 5])), RangeError, /^F\.matmul: expected .* received a \[2, 3\] and b \[4, 5\]/);
  });
  it('batch sizes that differ, ranks that differ, 1-D and 4-D operands', () => {
    throws(() => F.matmul(Tensor.zeros([2, 2, 3]), Tensor.zeros([3, 3, 4])), RangeError, /^F\.matmul: expected \(n, k\)·\(k, m\) or \(N, n, k\)·\(N, k, m\), received a \[2, 2, 3\] and b \[3, 3, 4\]/);
    throws(() => F.matmul(Tensor.zeros([2, 3]), Tensor.zeros([1, 3, 4])), RangeError, /received a \[2, 3\] and b \[1, 3, 4\]/);
    throws(() => F.matmul(Tensor.zeros([3]), Tensor.zeros([3])), RangeError, /received a \[3\] and b \[3\]/);
    throws(() => F.matmul(Tensor.zeros([1, 1, 2, 3]), Tensor.zeros([1, 1, 3, 2])), RangeError, /received a \[1, 1, 2, 3\]/);
  });
  it('wrong types and mixed element types', () => {
    throws(() => F.matmul(any({}), x23()), TypeError, /^F\.matmul: expected a Tensor for a/);
    throws(() => F.matmul(x23(), any(undefined)), TypeError, /^F\.matmul: expected a Tensor for b but received undefined/);
    throws(() => F.matmul(x23(), t64([1, 2, 3], [3, 1])), TypeError, /^F\.matmul: a and b must have the same element type/);
  });
});

describe('F.softmax / F.logSoftmax', () => {
  it.each([['softmax', F.softmax], ['logSoftmax', F.logSoftmax]] as const)('F.%s: dims out of range, non-integer, wrong type; a tensor of no dimensions', (name, op) => {
    const x = Tensor.zeros([2, 3, 4]);
    const ctx = `^F\\.${name}: `;
    throws(() => op(x, 3), RangeError, new RegExp(`${ctx}expected an integer in \\[-3, 2\\] for dim but received 3`));
    throws(() => op(x, -4), RangeError, new RegExp(`${ctx}expected an integer in \\[-3, 2\\] for dim but received -4`));
    throws(() => op(x, 1.5), RangeError, new RegExp(`${ctx}.*for dim but received 1\\.5`));
    throws(() => op(x, any('1')), TypeError, new RegExp(`${ctx}.*for dim but received "1" of type string`));
    throws(() => op(x, any(undefined)), TypeError, new RegExp(`${ctx}.*for dim`));
    throws(() => op(Tensor.zeros([]), 0), RangeError, new RegExp(`${ctx}a tensor of no dimensions has no dim`));
    throws(() => op(any(5), 0), TypeError, new RegExp(`${ctx}expected a Tensor for x`));
  });
});

describe('F.maskedFill', () => {
  it('a mask of the wrong type', () => {
    throws(() => F.maskedFill(x23(), any(new Int32Array(6)), 0), TypeError, /^F\.maskedFill: expected a Uint8Array of 6 elements \(x\.size\) for mask but received Int32Array\(6\)/);
    throws(() => F.maskedFill(x23(), any([0, 1, 0, 1, 0, 1]), 0), TypeError, /^F\.maskedFill: .* for mask but received \[0, 1, 0, 1, 0, 1\] of type array/);
    throws(() => F.maskedFill(x23(), any(new Uint8ClampedArray(6)), 0), TypeError, /for mask/);
  });
  it('a mask of the wrong length', () => {
    throws(() => F.maskedFill(x23(), new Uint8Array(5), 0), RangeError, /^F\.maskedFill: mask must have 6 elements \(one per element of x\), received 5/);
    throws(() => F.maskedFill(x23(), new Uint8Array(7), 0), RangeError, /mask must have 6 elements.*received 7/);
  });
  it('a value that is not a number, or NaN (±Infinity is allowed)', () => {
    throws(() => F.maskedFill(x23(), new Uint8Array(6), any('0')), TypeError, /^F\.maskedFill: expected a number for value but received "0"/);
    throws(() => F.maskedFill(x23(), new Uint8Array(6), NaN), RangeError, /^F\.maskedFill: expected a number for value but received NaN/);
    expect(F.maskedFill(x23(), new Uint8Array(6).fill(1), -Infinity).data[0]).toBe(-Infinity);
  });
  it('x that is not a Tensor', () => {
    throws(() => F.maskedFill(any(null), new Uint8Array(6), 0), TypeError, /^F\.maskedFill: expected a Tensor for x/);
  });
});

describe('F.dropout', () => {
  it('p outside [0, 1] or not a number; training not a boolean', () => {
    throws(() => F.dropout(x23(), 1.5, true), RangeError, /^F\.dropout: expected a finite number ≥ 0 and ≤ 1 for p but received 1\.5/);
    throws(() => F.dropout(x23(), -0.1, true), RangeError, /for p but received -0\.1/);
    throws(() => F.dropout(x23(), NaN, true), RangeError, /for p but received NaN/);
    throws(() => F.dropout(x23(), any('0.5'), true), TypeError, /^F\.dropout: .* for p but received "0\.5"/);
    throws(() => F.dropout(x23(), 0.5, any(1)), TypeError, /^F\.dropout: expected a boolean for training but received 1/);
    throws(() => F.dropout(x23(), 0.5, any(undefined)), TypeError, /for training/);
  });
});

describe('F.cat / F.stack', () => {
  it('F.cat of mismatched shapes names the tensor, both shapes and the dim', () => {
    throws(() => F.cat([x23(), Tensor.zeros([2, 4])], 0), RangeError, /^F\.cat: tensors\[1\] has shape \[2, 4\], which does not match tensors\[0\] \[2, 3\] outside dim 0/);
    throws(() => F.cat([x23(), x23(), Tensor.zeros([3, 3])], -1), RangeError, /^F\.cat: tensors\[2\] has shape \[3, 3\].*outside dim 1/);
    throws(() => F.cat([x23(), Tensor.zeros([2, 3, 1])], 0), RangeError, /^F\.cat: tensors\[1\] has shape \[2, 3, 1\]/);
  });
  it('F.cat: dims out of range, non-Tensor elements, not an array, mixed element types', () => {
    throws(() => F.cat([x23()], 2), RangeError, /^F\.cat: expected an integer in \[-2, 1\] for dim but received 2/);
    throws(() => F.cat([x23()], -3), RangeError, /for dim but received -3/);
    throws(() => F.cat([x23(), any(5)], 0), TypeError, /^F\.cat: expected a Tensor for tensors\[1\] but received 5/);
    throws(() => F.cat(any(x23()), 0), TypeError, /^F\.cat: expected a non-empty array of Tensors for tensors/);
    throws(() => F.cat([x23(), t64([1, 2, 3], [1, 3])], 0), TypeError, /^F\.cat: tensors\[0\] and tensors\[1\] must have the same element type/);
  });
  it('F.stack: shapes that differ, dims out of range (rank + 1 positions), non-Tensors', () => {
    throws(() => F.stack([x23(), Tensor.zeros([3, 2])], 0), RangeError, /^F\.stack: tensors\[1\] has shape \[3, 2\], not tensors\[0\]'s \[2, 3\]/);
    throws(() => F.stack([x23()], 3), RangeError, /^F\.stack: expected an integer in \[-3, 2\] for dim but received 3/);
    throws(() => F.stack([x23()], -4), RangeError, /^F\.stack: .*for dim but received -4/);
    throws(() => F.stack([x23(), any('t')], 0), TypeError, /^F\.stack: expected a Tensor for tensors\[1\]/);
    throws(() => F.stack(any(null), 0), TypeError, /^F\.stack: expected a non-empty array of Tensors for tensors/);
  });
  it('F.stack of mixed element types names F.stack (not the F.cat it calls)', () => {
    throws(() => F.stack([Tensor.zeros([3]), t64([1, 2, 3], [3])], 0), TypeError, /^F\.stack: .*same element type/);
  });
  it('an empty list of tensors is a wrong value (RangeError), as the library\'s convention has it', () => {
    throws(() => F.cat([], 0), RangeError, /^F\.cat: .*non-empty.*tensors/);
    throws(() => F.stack([], 0), RangeError, /^F\.stack: .*non-empty.*tensors/);
  });
});

describe('F.narrow', () => {
  it('start and length out of range, dims out of range, non-integers', () => {
    throws(() => F.narrow(x23(), 1, 4, 0), RangeError, /^F\.narrow: expected an integer in \[0, 3\] for start but received 4/);
    throws(() => F.narrow(x23(), 1, -1, 1), RangeError, /^F\.narrow: .*for start but received -1/);
    throws(() => F.narrow(x23(), 1, 1, 3), RangeError, /^F\.narrow: expected an integer in \[0, 2\] for length but received 3/);
    throws(() => F.narrow(x23(), 0, 0, 1.5), RangeError, /for length but received 1\.5/);
    throws(() => F.narrow(x23(), 2, 0, 1), RangeError, /^F\.narrow: expected an integer in \[-2, 1\] for dim but received 2/);
    throws(() => F.narrow(x23(), 0, any('0'), 1), TypeError, /^F\.narrow: .*for start but received "0"/);
    throws(() => F.narrow(any([1]), 0, 0, 1), TypeError, /^F\.narrow: expected a Tensor for x/);
  });
});

describe('F.indexSelect', () => {
  it('an index out of range names its position', () => {
    throws(() => F.indexSelect(x23(), 1, Int32Array.of(0, 3)), RangeError, /^F\.indexSelect: expected an index in \[0, 3\) for index\[1\] but received 3/);
    throws(() => F.indexSelect(x23(), 0, Int32Array.of(1, 1, -1)), RangeError, /^F\.indexSelect: expected an index in \[0, 2\) for index\[2\] but received -1/);
    throws(() => F.indexSelect(x23(), -1, Int32Array.of(7)), RangeError, /in \[0, 3\) for index\[0\] but received 7/);
  });
  it('an index that is not an Int32Array; a dim out of range', () => {
    throws(() => F.indexSelect(x23(), 0, any([0])), TypeError, /^F\.indexSelect: expected an Int32Array for index but received \[0\]/);
    throws(() => F.indexSelect(x23(), 0, any(new Float32Array(1))), TypeError, /for index but received Float32Array\(1\)/);
    throws(() => F.indexSelect(x23(), 2, Int32Array.of(0)), RangeError, /^F\.indexSelect: expected an integer in \[-2, 1\] for dim/);
  });
});

describe('F.sum / F.mean', () => {
  it('a non-Tensor; the mean of no elements', () => {
    throws(() => F.sum(any(3)), TypeError, /^F\.sum: expected a Tensor for x but received 3/);
    throws(() => F.mean(any([1])), TypeError, /^F\.mean: expected a Tensor for x/);
    throws(() => F.mean(Tensor.zeros([0, 2])), RangeError, /^F\.mean: the mean of no elements is undefined \(x has shape \[0, 2\]\)/);
    expect(F.sum(Tensor.zeros([0, 2])).item()).toBe(0);
  });
});

describe('losses', () => {
  const logits = () => Tensor.zeros([2, 3]);
  it.each([['crossEntropy', F.crossEntropy], ['nllLoss', F.nllLoss]] as const)('F.%s: targets out of range, of the wrong length or type; input not (N, C)', (name, op) => {
    const ctx = `^F\\.${name}: `;
    throws(() => op(logits(), Int32Array.of(0, 3)), RangeError, new RegExp(`${ctx}expected a class in \\[0, 3\\) or ignoreIndex -100 for targets\\[1\\] but received 3`));
    throws(() => op(logits(), Int32Array.of(-1, 0)), RangeError, new RegExp(`${ctx}.*for targets\\[0\\] but received -1`));
    throws(() => op(logits(), Int32Array.of(5, 0), { ignoreIndex: 4 }), RangeError, new RegExp(`${ctx}.*or ignoreIndex 4 for targets\\[0\\] but received 5`));
    throws(() => op(logits(), Int32Array.of(0)), RangeError, new RegExp(`${ctx}expected an Int32Array of length 2 for targets but received Int32Array\\(1\\)`));
    throws(() => op(logits(), any(Float32Array.of(0, 1))), TypeError, new RegExp(`${ctx}expected an Int32Array for targets but received Float32Array\\(2\\)`));
    throws(() => op(logits(), any([0, 1])), TypeError, new RegExp(`${ctx}.*for targets`));
    throws(() => op(Tensor.zeros([3]), Int32Array.of(0)), RangeError, new RegExp(`${ctx}input must have 2 dimensions \\(N, C\\) with C ≥ 1, received shape \\[3\\]`));
    throws(() => op(Tensor.zeros([2, 0]), Int32Array.of(0, 0)), RangeError, new RegExp(`${ctx}input must have 2 dimensions.*received shape \\[2, 0\\]`));
    throws(() => op(any('x'), Int32Array.of(0)), TypeError, new RegExp(`${ctx}expected a Tensor for input`));
    throws(() => op(logits(), Int32Array.of(0, 1), { ignoreIndex: 1.5 }), RangeError, new RegExp(`${ctx}.*for opts\\.ignoreIndex but received 1\\.5`));
    throws(() => op(logits(), Int32Array.of(0, 1), any(5)), TypeError, new RegExp(`${ctx}expected an options object for opts but received 5`));
  });
  it('F.crossEntropy: unknown options (with a suggestion), labelSmoothing out of range', () => {
    throws(() => F.crossEntropy(logits(), Int32Array.of(0, 1), any({ ignore_index: 1 })), RangeError,
      /^F\.crossEntropy: unknown option "ignore_index" \(did you mean "ignoreIndex"\?\); known options: ignoreIndex, labelSmoothing/);
    throws(() => F.crossEntropy(logits(), Int32Array.of(0, 1), any({ labelSmothing: 0.1 })), RangeError, /unknown option "labelSmothing" \(did you mean "labelSmoothing"\?\)/);
    throws(() => F.crossEntropy(logits(), Int32Array.of(0, 1), { labelSmoothing: 1.5 }), RangeError, /^F\.crossEntropy: expected a finite number ≥ 0 and ≤ 1 for opts\.labelSmoothing but received 1\.5/);
    throws(() => F.crossEntropy(logits(), Int32Array.of(0, 1), { labelSmoothing: any('0.1') }), TypeError, /for opts\.labelSmoothing/);
  });
  it('F.nllLoss: an option only crossEntropy has is unknown', () => {
    throws(() => F.nllLoss(logits(), Int32Array.of(0, 1), any({ labelSmoothing: 0.1 })), RangeError, /^F\.nllLoss: unknown option "labelSmoothing"; known options: ignoreIndex/);
    throws(() => F.nllLoss(logits(), Int32Array.of(0, 1), any({ ignoreIdx: 0 })), RangeError, /^F\.nllLoss: unknown option "ignoreIdx" \(did you mean "ignoreIndex"\?\)/);
  });
  it('F.mseLoss: shapes that differ, no elements, wrong types, mixed element types', () => {
    throws(() => F.mseLoss(logits(), Tensor.zeros([3, 2])), RangeError, /^F\.mseLoss: target must have input's shape \[2, 3\], received \[3, 2\]/);
    throws(() => F.mseLoss(logits(), Tensor.zeros([6])), RangeError, /received \[6\]/);
    throws(() => F.mseLoss(Tensor.zeros([0]), Tensor.zeros([0])), RangeError, /^F\.mseLoss: input has no elements/);
    throws(() => F.mseLoss(logits(), any(new Float32Array(6))), TypeError, /^F\.mseLoss: expected a Tensor for target/);
    throws(() => F.mseLoss(any(null), logits()), TypeError, /^F\.mseLoss: expected a Tensor for input/);
    throws(() => F.mseLoss(logits(), t64(new Array(6).fill(0), [2, 3])), TypeError, /^F\.mseLoss: input and target must have the same element type/);
  });
  it('F.bceWithLogitsLoss: shapes that differ, posWeight of the wrong size or type, unknown options', () => {
    throws(() => F.bceWithLogitsLoss(logits(), Tensor.zeros([6])), RangeError, /^F\.bceWithLogitsLoss: target must have input's shape \[2, 3\], received \[6\]/);
    throws(() => F.bceWithLogitsLoss(logits(), logits(), { posWeight: Tensor.zeros([2]) }), RangeError,
      /^F\.bceWithLogitsLoss: opts\.posWeight must have 3 elements \(input's last dimension\), received shape \[2\]/);
    throws(() => F.bceWithLogitsLoss(logits(), logits(), { posWeight: any([1, 2, 3]) }), TypeError, /^F\.bceWithLogitsLoss: expected a Tensor for opts\.posWeight but received \[1, 2, 3\]/);
    throws(() => F.bceWithLogitsLoss(logits(), logits(), any({ pos_weight: Tensor.ones([3]) })), RangeError,
      /^F\.bceWithLogitsLoss: unknown option "pos_weight" \(did you mean "posWeight"\?\); known options: posWeight/);
    throws(() => F.bceWithLogitsLoss(Tensor.zeros([0]), Tensor.zeros([0])), RangeError, /^F\.bceWithLogitsLoss: input has no elements/);
    throws(() => F.bceWithLogitsLoss(logits(), any(5)), TypeError, /^F\.bceWithLogitsLoss: expected a Tensor for target/);
  });
  it('F.bceWithLogitsLoss: a posWeight of another element type than the input is refused (by the binding)', () => {
    const x = t64([1, 2, 3, 4, 5, 6], [2, 3]), y = t64([1, 0, 1, 0, 1, 0], [2, 3]);
    throwsNative(() => F.bceWithLogitsLoss(x, y, { posWeight: Tensor.ones([3]) }), 'TypeError', /posWeight must be a Float64Array/);
  });
});

describe('F.layerNorm', () => {
  it('normalizedShape that is not x\'s trailing dimensions; weight/bias of the wrong shape or type; eps < 0', () => {
    throws(() => F.layerNorm(x23(), [2]), RangeError, /^F\.layerNorm: normalizedShape \[2\] must equal x's trailing dimensions, x has shape \[2, 3\]/);
    throws(() => F.layerNorm(Tensor.zeros([2, 3, 4]), [3]), RangeError, /normalizedShape \[3\] must equal x's trailing dimensions, x has shape \[2, 3, 4\]/);
    throws(() => F.layerNorm(x23(), any(3)), TypeError, /^F\.layerNorm: expected a non-empty array of x's trailing dimensions .* for normalizedShape but received 3/);
    throws(() => F.layerNorm(x23(), [3], Tensor.zeros([2])), RangeError, /^F\.layerNorm: weight must have shape \[3\], received \[2\]/);
    throws(() => F.layerNorm(x23(), [3], null, Tensor.zeros([3, 1])), RangeError, /^F\.layerNorm: bias must have shape \[3\], received \[3, 1\]/);
    throws(() => F.layerNorm(x23(), [3], null, any([1, 2, 3])), TypeError, /^F\.layerNorm: expected a Tensor for bias but received \[1, 2, 3\]/);
    throws(() => F.layerNorm(x23(), [3], any('w')), TypeError, /^F\.layerNorm: expected a Tensor for weight/);
    throws(() => F.layerNorm(x23(), [3], null, null, -1), RangeError, /^F\.layerNorm: expected a finite number ≥ 0 for eps but received -1/);
    throws(() => F.layerNorm(any(null), [3]), TypeError, /^F\.layerNorm: expected a Tensor for x/);
  });
  it('normalizedShape empty or longer than x\'s rank is a wrong size (RangeError), not a wrong type', () => {
    throws(() => F.layerNorm(x23(), [1, 2, 3]), RangeError, /^F\.layerNorm: .*normalizedShape/);
    throws(() => F.layerNorm(x23(), []), RangeError, /^F\.layerNorm: .*normalizedShape/);
  });
  it('a weight of another element type than x is refused (by the binding)', () => {
    throwsNative(() => F.layerNorm(t64([1, 2, 3, 4, 5, 6], [2, 3]), [3], Tensor.ones([3])), 'TypeError', /weight must be a Float64Array/);
  });
});

describe('Tensor', () => {
  it('Tensor.from with ragged nesting names the offending position', () => {
    throws(() => Tensor.from([[1, 2], [3]]), RangeError, /^Tensor\.from: expected an array of length 2 \(the nesting must be regular\) for values\[1\] but received \[3\]/);
    throws(() => Tensor.from([[1, 2], 3 as never]), RangeError, /for values\[1\] but received 3 of type number/);
    throws(() => Tensor.from([[[1], [2]], [[3], [4, 5]]]), RangeError, /expected an array of length 1 .* for values\[1\]\[1\]/);
    throws(() => Tensor.from([[1, 'x' as never]]), TypeError, /^Tensor\.from: expected a number for values\[0\]\[1\] but received "x"/);
    throws(() => Tensor.from([1, 2, 3], [2, 2]), RangeError, /^Tensor\.from: values has 3 elements but shape \[2, 2\] needs 4/);
    throws(() => Tensor.from(any('abc')), TypeError, /^Tensor\.from: expected nested arrays of numbers or a typed array for values/);
  });
  it('Tensor.reshape to a wrong size', () => {
    const t = x23();
    throws(() => t.reshape([4, 2]), RangeError, /^Tensor\.reshape: cannot view 6 elements \(shape \[2, 3\]\) as \[4, 2\] \(8 elements\)/);
    throws(() => t.reshape([-1, 4]), RangeError, /^Tensor\.reshape: cannot view 6 elements \(shape \[2, 3\]\) as \[-1, 4\]/);
    throws(() => t.reshape([-1, 0]), RangeError, /cannot view 6 elements/);
    throws(() => t.reshape([-2, -3]), RangeError, /^Tensor\.reshape: expected an integer in \[0, \d+\] for shape\[0\] but received -2/);
    throws(() => t.reshape([2, 1.5]), RangeError, /for shape\[1\] but received 1\.5/);
    throws(() => t.reshape(any(6)), TypeError, /^Tensor\.reshape: expected an array of integers for shape but received 6/);
  });
  it('Tensor.reshape with two -1s says at most one -1 is allowed', () => {
    throws(() => x23().reshape([-1, -1]), RangeError, /^Tensor\.reshape: .*at most one -1/);
    throws(() => x23().reshape([-1, 3, -1]), RangeError, /^Tensor\.reshape: .*at most one -1/);
  });
  it('Tensor.transpose with a dim out of range; item() of a tensor with several elements', () => {
    throws(() => x23().transpose(0, 2), RangeError, /^Tensor\.transpose: expected an integer in \[-2, 1\] for dim1 but received 2/);
    throws(() => x23().transpose(-3, 0), RangeError, /^Tensor\.transpose: .*for dim0 but received -3/);
    throws(() => x23().item(), RangeError, /^Tensor\.item: only a one-element tensor has an item, this one has shape \[2, 3\]/);
  });
  it.each([
    ['zeros', () => Tensor.zeros([2], any({ requiresgrad: true }))],
    ['ones', () => Tensor.ones([2], any({ requires_grad: true }))],
    ['randn', () => Tensor.randn([2], any({ generater: undefined }))],
    ['rand', () => Tensor.rand([2], any({ requiresGrads: true }))],
  ])('Tensor.%s: an unknown option is a RangeError with a suggestion, like every other options object', (name, fn) => {
    throws(fn, RangeError, new RegExp(`^Tensor\\.${name}: unknown option ".*" \\(did you mean "(requiresGrad|generator)"\\?\\)`));
  });
});

describe('cells', () => {
  const cells = [
    ['RNNCell', () => new RNNCell({ inputSize: 3, hiddenSize: 4 })],
    ['GRUCell', () => new GRUCell({ inputSize: 3, hiddenSize: 4 })],
    ['LSTMCell', () => new LSTMCell({ inputSize: 3, hiddenSize: 4 })],
  ] as const;
  it.each(cells)('%s: x of the wrong shape or type', (name, make) => {
    const cell = make();
    const ctx = `^${name}\\.forward: `;
    throws(() => cell.forward(Tensor.zeros([2, 4])), RangeError, new RegExp(`${ctx}x must have shape \\(B, 3\\) with B ≥ 1, received shape \\[2, 4\\]`));
    throws(() => cell.forward(Tensor.zeros([3])), RangeError, new RegExp(`${ctx}x must have shape \\(B, 3\\).*received shape \\[3\\]`));
    throws(() => cell.forward(Tensor.zeros([0, 3])), RangeError, new RegExp(`${ctx}x must have shape.*received shape \\[0, 3\\]`));
    throws(() => cell.forward(Tensor.zeros([1, 2, 3])), RangeError, new RegExp(`${ctx}x must have shape`));
    throws(() => cell.forward(any(new Float32Array(6))), TypeError, new RegExp(`${ctx}expected a Tensor for x but received Float32Array\\(6\\)`));
  });
  it.each(cells)('%s: a state of the wrong shape, batch or type', (name, make) => {
    const cell = make();
    const ctx = `^${name}\\.forward: `;
    const c = name === 'LSTMCell' ? { c: Tensor.zeros([2, 4]) } : {};
    throws(() => cell.forward(x23(), any({ h: Tensor.zeros([2, 5]), ...c })), RangeError, new RegExp(`${ctx}state\\.h must have shape \\[2, 4\\] \\(B, H\\), received shape \\[2, 5\\]`));
    throws(() => cell.forward(x23(), any({ h: Tensor.zeros([3, 4]), ...c })), RangeError, new RegExp(`${ctx}state\\.h must have shape \\[2, 4\\].*received shape \\[3, 4\\]`));
    throws(() => cell.forward(x23(), any({ h: Tensor.zeros([1, 2, 4]), ...c })), RangeError, new RegExp(`${ctx}state\\.h must have shape`));
    throws(() => cell.forward(x23(), any({ h: new Float32Array(8), ...c })), TypeError, new RegExp(`${ctx}expected a Tensor for state\\.h but received Float32Array\\(8\\)`));
    throws(() => cell.forward(x23(), any(5)), TypeError, new RegExp(`${ctx}expected an object \\{ h(, c)? \\} for state but received 5`));
    throws(() => cell.forward(x23(), any({ ...c })), TypeError, new RegExp(`${ctx}expected a Tensor for state\\.h but received undefined`));
  });
  it('LSTMCell: a state without c, or a c of the wrong shape', () => {
    const cell = new LSTMCell({ inputSize: 3, hiddenSize: 4 });
    throws(() => cell.forward(x23(), any({ h: Tensor.zeros([2, 4]) })), RangeError, /^LSTMCell\.forward: state\.c is missing: an LSTM cell's state is \{ h, c \}/);
    throws(() => cell.forward(x23(), { h: Tensor.zeros([2, 4]), c: Tensor.zeros([1, 4]) }), RangeError, /^LSTMCell\.forward: state\.c must have shape \[2, 4\] \(B, H\), received shape \[1, 4\]/);
    throws(() => cell.forward(x23(), { h: Tensor.zeros([2, 4]), c: any([0]) }), TypeError, /^LSTMCell\.forward: expected a Tensor for state\.c/);
  });
  it.each([['RNNCell'], ['GRUCell']] as const)('%s: a state with c (only LSTMCell has one)', (name) => {
    const cell = name === 'RNNCell' ? new RNNCell({ inputSize: 3, hiddenSize: 4 }) : new GRUCell({ inputSize: 3, hiddenSize: 4 });
    throws(() => cell.forward(x23(), { h: Tensor.zeros([2, 4]), c: Tensor.zeros([2, 4]) }), RangeError, new RegExp(`^${name}\\.forward: state\\.c is only for LSTMCell`));
  });
  it('constructors: unknown options with a suggestion, bad sizes, a bad nonlinearity', () => {
    throws(() => new LSTMCell(any({ inputSize: 3, hiddenSize: 4, biass: true })), RangeError, /^LSTMCell: unknown option "biass" \(did you mean "bias"\?\); known options: inputSize, hiddenSize, bias/);
    throws(() => new RNNCell(any({ inputSize: 3, hiddenSize: 4, nonlinearty: 'relu' })), RangeError, /^RNNCell: unknown option "nonlinearty" \(did you mean "nonlinearity"\?\)/);
    throws(() => new GRUCell(any({ input_size: 3, hiddenSize: 4 })), RangeError, /^GRUCell: unknown option "input_size" \(did you mean "inputSize"\?\)/);
    throws(() => new RNNCell({ inputSize: 3, hiddenSize: 4, nonlinearity: any('sigmoid') }), RangeError, /^RNNCell: expected one of "tanh", "relu" for nonlinearity but received "sigmoid"/);
    throws(() => new GRUCell({ inputSize: 3, hiddenSize: 0 }), RangeError, /^GRUCell: expected an integer in \[1, \d+\] for hiddenSize but received 0/);
    throws(() => new LSTMCell({ inputSize: any('3'), hiddenSize: 4 }), TypeError, /^LSTMCell: .*for inputSize but received "3"/);
    throws(() => new GRUCell(any(undefined)), TypeError, /^GRUCell: expected an options object with inputSize and hiddenSize for options/);
    throws(() => new LSTMCell({ inputSize: 3, hiddenSize: 4, bias: any(1) }), TypeError, /^LSTMCell: expected a boolean for bias/);
  });
});

describe('Sequential', () => {
  class ReturnsObject extends Module {
    forward(x: Tensor): Tensor {
      return { y: x } as unknown as Tensor;
    }
  }
  class ReturnsNothing extends Module {
    forward(): Tensor {
      return undefined as unknown as Tensor;
    }
  }
  it('a module whose forward returns a non-Tensor is a TypeError naming its position and class', () => {
    const seq = new Sequential(new Linear({ inFeatures: 3, outFeatures: 3 }), new ReturnsObject());
    throws(() => seq.forward(Tensor.zeros([1, 3])), TypeError, /^Sequential\.forward: module 1 \(ReturnsObject\) returned object, not a Tensor/);
    throws(() => new Sequential(new ReturnsNothing()).forward(Tensor.zeros([1, 3])), TypeError, /^Sequential\.forward: module 0 \(ReturnsNothing\) returned undefined, not a Tensor/);
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 2 });
    throws(() => new Sequential(any(lstm)).forward(Tensor.zeros([1, 1, 3])), TypeError, /^Sequential\.forward: module 0 \(LSTM\) returned object, not a Tensor; Sequential chains modules whose forward takes and returns one Tensor/);
  });
  it('a child that is not a Module is a TypeError naming it', () => {
    throws(() => new Sequential(new Tanh(), any({ forward: (x: Tensor) => x })), TypeError, /^Sequential: expected a Module with forward\(x\) for modules\["1"\] but received \[object\]/);
    throws(() => new Sequential(any({ a: new Tanh(), b: 5 })), TypeError, /^Sequential: expected a Module with forward\(x\) for modules\["b"\] but received 5/);
  });
  it('an error inside a child propagates unchanged', () => {
    const seq = new Sequential(new Linear({ inFeatures: 3, outFeatures: 2 }), new Linear({ inFeatures: 3, outFeatures: 2 }));
    throws(() => seq.forward(Tensor.zeros([1, 3])), RangeError, /^Linear\.forward: x must have 3 features in its last dimension, received shape \[1, 2\]/);
  });
});

describe('unknown options of the modules say "did you mean"', () => {
  it.each([
    ['LSTM', () => new LSTM(any({ inputSize: 3, hiddenSize: 2, batch_first: true })), /^LSTM: unknown option "batch_first" \(did you mean "batchFirst"\?\)/],
    ['LSTM.forward', () => new LSTM({ inputSize: 3, hiddenSize: 2 }).forward(Tensor.zeros([1, 1, 3]), undefined, any({ length: Int32Array.of(1) })), /^LSTM\.forward: unknown option "length" \(did you mean "lengths"\?\); known options: lengths/],
    ['Linear', () => new Linear(any({ inFeatures: 3, outFeatures: 2, biass: false })), /^Linear: unknown option "biass" \(did you mean "bias"\?\)/],
    ['Embedding', () => new Embedding(any({ numEmbeddings: 3, embeddingDim: 2, padding_idx: 0 })), /^Embedding: unknown option "padding_idx" \(did you mean "paddingIdx"\?\)/],
    ['LayerNorm', () => new LayerNorm(any({ normalizedShape: 3, elementwise_affine: false })), /^LayerNorm: unknown option "elementwise_affine" \(did you mean "elementwiseAffine"\?\)/],
    ['Dropout', () => new Dropout(any({ P: 0.1 })), /^Dropout: unknown option "P" \(did you mean "p"\?\); known options: p/],
    ['Dropout (no close name)', () => new Dropout(any({ rate: 0.1 })), /^Dropout: unknown option "rate"; known options: p$/],
  ] as Array<[string, () => unknown, RegExp]>)('%s', (_name, fn, pattern) => {
    throws(fn, RangeError, pattern);
  });
});
