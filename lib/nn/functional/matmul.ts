/** Matrix products: 2-D, and batched over a leading dimension. */
import { Tensor, allocLike, allocOut, record, recording } from '../../core/tensor';
import { checkBoolean, checkKnownOptions, checkOptions } from '../../core/validate';
import { native } from '../../native/addon';
import { checkSameDtype, checkTensor, FnNode, keepData, shapeString } from './node';

/**
 * The matrix product: (n, k)·(k, m) → (n, m), or batched (N, n, k)·(N, k, m) → (N, n, m)
 * (torch.matmul / torch.bmm). Differentiable in both. `transposeA` / `transposeB` multiply by
 * the transpose of an operand's last two dimensions without copying it (a (N, m, k) b with
 * transposeB is the (N, k, m) operand: q·kᵀ of attention in one call).
 *
 * @example
 * const scores = F.matmul(queries, keys, { transposeB: true }); // (B, Tq, H)·(B, Ts, H)ᵀ → (B, Tq, Ts)
 */
export function matmul(aIn: Tensor, bIn: Tensor, opts?: { transposeA?: boolean; transposeB?: boolean }): Tensor {
  const ctx = 'F.matmul';
  const a = checkTensor(ctx, 'a', aIn);
  const b = checkTensor(ctx, 'b', bIn);
  checkSameDtype(ctx, a, b);
  const o = checkOptions<{ transposeA: boolean; transposeB: boolean }>(ctx, 'opts', opts);
  checkKnownOptions(ctx, o, ['transposeA', 'transposeB']);
  const tA = checkBoolean(ctx, 'opts.transposeA', o.transposeA ?? false);
  const tB = checkBoolean(ctx, 'opts.transposeB', o.transposeB ?? false);
  const r = a.shape.length;
  const sameRank = (r === 2 || r === 3) && b.shape.length === r && (r === 2 || a.shape[0] === b.shape[0]);
  // op(a) (n, k), op(b) (k, m)
  const n = sameRank ? a.shape[tA ? r - 1 : r - 2] : 0, k = sameRank ? a.shape[tA ? r - 2 : r - 1] : 0;
  const kb = sameRank ? b.shape[tB ? r - 1 : r - 2] : -1, m = sameRank ? b.shape[tB ? r - 2 : r - 1] : 0;
  if (!sameRank || k !== kb) {
    const ta = tA ? 'ᵀ' : '', tb = tB ? 'ᵀ' : '';
    throw new RangeError(
      `${ctx}: expected (n, k)·(k, m) or (N, n, k)·(N, k, m), received a${ta} ${shapeString(a.shape)} and b${tb} ${shapeString(b.shape)}`,
    );
  }
  const batch = r === 3 ? a.shape[0] : 1;
  const out = allocLike(a.data, batch * n * m);
  native.matmul(out, a.data, b.data, batch, n, m, k, tA, tB, false);
  const y = Tensor.wrap(out, r === 3 ? [batch, n, m] : [n, m]);
  if (recording(a, b)) {
    const aData = b.requiresGrad ? keepData(a) : a.data; // each gradient reads the other operand
    const bData = a.requiresGrad ? keepData(b) : b.data;
    record(
      new FnNode('MatmulBackward', [a, b], ([g]) => {
        let da: Float32Array | null = null, db: Float32Array | null = null;
        // d op(a) = g · op(b)ᵀ, d op(b) = op(a)ᵀ · g, each transposed back when its operand was
        if (a.requiresGrad) {
          da = allocOut(g!, a.size);
          if (!tA) native.matmul(da, g!, bData, batch, n, k, m, false, !tB, false);
          else native.matmul(da, bData, g!, batch, k, n, m, tB, true, false);
        }
        if (b.requiresGrad) {
          db = allocOut(g!, b.size);
          if (!tB) native.matmul(db, aData, g!, batch, k, m, n, !tA, false, false);
          else native.matmul(db, g!, aData, batch, m, k, n, true, tA, false);
        }
        return [da, db];
      }),
      [y],
    );
  }
  return y;
}
