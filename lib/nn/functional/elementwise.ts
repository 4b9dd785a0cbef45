/** Elementwise arithmetic with trailing-dim broadcast, and the activations. */
import type { BinaryCode, UnaryCode } from '../../../binding';
import { Tensor, allocLike, allocOut, record, recording } from '../../core/tensor';
import { native } from '../../native/addon';
import { checkSameDtype, checkTensor, FnNode, keepData, sameShape, shapeString } from './node';

const BINARY_NAMES = ['add', 'sub', 'mul'] as const;

/** b as a tensor: a number is a one-element tensor of a's element type (broadcast to every element). */
function asOperand(ctx: string, a: Tensor, b: unknown): Tensor {
  if (typeof b === 'number') {
    const data = allocLike(a.data, 1);
    data[0] = b;
    return Tensor.wrap(data, []);
  }
  return checkTensor(ctx, 'b', b);
}

function binary(op: BinaryCode, aIn: unknown, bIn: unknown): Tensor {
  const ctx = `F.${BINARY_NAMES[op]}`;
  const a = checkTensor(ctx, 'a', aIn);
  const b = asOperand(ctx, a, bIn);
  checkSameDtype(ctx, a, b);
  const trailing = a.shape.length >= b.shape.length && sameShape(a.shape.slice(a.shape.length - b.shape.length), b.shape);
  if (!trailing)
    throw new RangeError(
      `${ctx}: b's shape must equal a's or a's trailing dimensions (broadcast), received a ${shapeString(a.shape)} and b ${shapeString(b.shape)}`,
    );
  const out = allocLike(a.data, a.size);
  native.binary(op, out, a.data, b.data);
  const y = Tensor.wrap(out, a.shape.slice());
  if (recording(a, b)) {
    const broadcast = b.size !== a.size;
    // mul's backward reads the other operand: kept (a copy of a caller's own array)
    const aData = op === 2 && b.requiresGrad ? keepData(a) : a.data;
    const bData = op === 2 && a.requiresGrad ? keepData(b) : b.data;
    record(
      new FnNode(`${BINARY_NAMES[op][0].toUpperCase()}${BINARY_NAMES[op].slice(1)}Backward`, [a, b], ([g], _i) => {
        const needA = a.requiresGrad, needB = b.requiresGrad;
        // add: both gradients are g itself (b's summed over the broadcast dims)
        if (op === 0 && !broadcast) return [needA ? g : null, needB ? g : null];
        const da = needA ? (op === 2 ? allocOut(g!, g!.length) : null) : null;
        const db = needB ? allocOut(g!, b.size) : null;
        native.binaryBackward(op, da, db, g!, aData, bData);
        return [needA ? (da ?? g) : null, db];
      }),
      [y],
    );
  }
  return y;
}

/**
 * a + b. b has a's shape, or a's trailing dimensions (then it is added to every such slice),
 * or is a number. Differentiable in both.
 * @example F.add(x, bias) // x (B, T, H), bias (H)
 */
export function add(a: Tensor, b: Tensor | number): Tensor {
  return binary(0, a, b);
}
/** a − b, with add's broadcast. @example F.sub(x, mean) */
export function sub(a: Tensor, b: Tensor | number): Tensor {
  return binary(1, a, b);
}
/** a ⊙ b (elementwise), with add's broadcast. @example F.mul(gate, h) */
export function mul(a: Tensor, b: Tensor | number): Tensor {
  return binary(2, a, b);
}

const UNARY_NAMES = ['Tanh', 'Sigmoid', 'Relu'] as const;

function unary(op: UnaryCode, xIn: unknown): Tensor {
  const x = checkTensor(`F.${UNARY_NAMES[op].toLowerCase()}`, 'x', xIn);
  const out = allocLike(x.data, x.size);
  native.unary(op, out, x.data);
  const y = Tensor.wrap(out, x.shape.slice());
  if (recording(x)) {
    record(
      new FnNode(`${UNARY_NAMES[op]}Backward`, [x], ([g]) => {
        const dx = allocOut(g!, g!.length);
        native.unaryBackward(op, dx, g!, out);
        return [dx];
      }),
      [y],
    );
  }
  return y;
}

/** tanh, elementwise. @example const h = F.tanh(F.add(F.matmul(x, w), b)); */
export function tanh(x: Tensor): Tensor {
  return unary(0, x);
}
/** The logistic sigmoid 1 / (1 + e^−x), elementwise. @example const gate = F.sigmoid(z); */
export function sigmoid(x: Tensor): Tensor {
  return unary(1, x);
}
/** max(x, 0), elementwise (gradient 0 at 0, as PyTorch). @example const a = F.relu(z); */
export function relu(x: Tensor): Tensor {
  return unary(2, x);
}
