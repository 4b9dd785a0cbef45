/** Attention scores and the length mask they use. */
import { Tensor, allocLike, allocOut, record, recording } from '../../core/tensor';
import { checkInt32Array, checkInteger, rangeError } from '../../core/validate';
import { native } from '../../native/addon';
import { checkSameDtype, checkTensor, FnNode, keepData, shapeString } from './node';

/**
 * Additive (Bahdanau) attention scores: s[b, t, j] = Σₐ v[a] · tanh(q[b, t, a] + k[b, j, a]),
 * fused in one native pass (no (B, Tq, S, A) tensor of intermediates in the graph).
 * q (B, Tq, A) and k (B, S, A) are the projected queries and keys; v (A). Differentiable in all three.
 * @example const scores = F.additiveScores(Wq.forward(dec), Wk.forward(enc), v); // (B, Tq, S)
 */
export function additiveScores(qIn: Tensor, kIn: Tensor, vIn: Tensor): Tensor {
  const ctx = 'F.additiveScores';
  const q = checkTensor(ctx, 'q', qIn), k = checkTensor(ctx, 'k', kIn), v = checkTensor(ctx, 'v', vIn);
  checkSameDtype(ctx, q, k, ['q', 'k']);
  checkSameDtype(ctx, q, v, ['q', 'v']);
  const ok = q.shape.length === 3 && k.shape.length === 3 && v.shape.length === 1 && q.shape[0] === k.shape[0] &&
    q.shape[2] === k.shape[2] && v.shape[0] === q.shape[2];
  if (!ok)
    throw new RangeError(`${ctx}: expected q (B, Tq, A), k (B, S, A) and v (A), received q ${shapeString(q.shape)}, k ${shapeString(k.shape)}, v ${shapeString(v.shape)}`);
  const [B, Tq, A] = q.shape;
  const S = k.shape[1];
  const out = allocLike(q.data, B * Tq * S);
  const wanted = recording(q, k, v);
  const tanhSaved = wanted ? allocLike(q.data, B * Tq * S * A) : null;
  native.additiveScores(out, tanhSaved, q.data, k.data, v.data, B, Tq, S, A);
  const y = Tensor.wrap(out, [B, Tq, S]);
  if (wanted) {
    const vData = keepData(v);
    record(
      new FnNode('AdditiveScoresBackward', [q, k, v], ([g]) => {
        const dq = q.requiresGrad ? allocOut(g!, q.size) : null;
        const dk = k.requiresGrad ? allocOut(g!, k.size) : null;
        const dv = v.requiresGrad ? allocLike(g!, A) : null;
        native.additiveScoresBackward(dq, dk, dv, g!, tanhSaved!, vData, B, Tq, S, A);
        return [dq, dk, dv];
      }),
      [y],
    );
  }
  return y;
}

/**
 * The padding mask of attention scores (B, Tq, S): 1 at every key position j ≥ lengths[b]
 * (positions to fill with −Infinity before the softmax), 0 elsewhere.
 * @example const scores = F.maskedFill(raw, F.lengthMask(srcLengths, Tq, S), -Infinity);
 */
export function lengthMask(lengths: Int32Array, Tq: number, S: number): Uint8Array {
  const ctx = 'F.lengthMask';
  checkInt32Array(ctx, 'lengths', lengths);
  checkInteger(ctx, 'Tq', Tq, 0);
  checkInteger(ctx, 'S', S, 1);
  const B = lengths.length;
  if (B * Tq * S > 2 ** 31 - 1) throw new RangeError(`${ctx}: a (${B}, ${Tq}, ${S}) mask is too large`);
  const mask = new Uint8Array(B * Tq * S);
  for (let b = 0; b < B; b++) {
    const len = lengths[b];
    if (!(len >= 1 && len <= S)) throw rangeError(ctx, `lengths[${b}]`, `a length in [1, ${S}]`, len);
    for (let t = 0; t < Tq; t++) mask.fill(1, (b * Tq + t) * S + len, (b * Tq + t + 1) * S);
  }
  return mask;
}
