/** Matrix products: 2-D, and batched over a leading dimension. */
import { allocLike, record, recording, Tensor } from '../../core/tensor';
import { native } from '../../native/addon';
import { checkSameDtype, checkTensor, FnNode, keepData, shapeString } from './node';

/**
 * The matrix product: (n, k)·(k, m) → (n, m), or batched (N, n, k)·(N, k, m) → (N, n, m)
 * (torch.matmul / torch.bmm). Differentiable in both.
 *
 * @example
 * const scores = F.matmul(queries, keys.transpose(1, 2)); // (B, Tq, H)·(B, H, Ts) → (B, Tq, Ts)
 */
export function matmul(aIn: Tensor, bIn: Tensor): Tensor {
  const ctx = 'F.matmul';
  const a = checkTensor(ctx, 'a', aIn);
  const b = checkTensor(ctx, 'b', bIn);
  checkSameDtype(ctx, a, b);
  const r = a.shape.length;
  const fits =
    (r === 2 || r === 3) && b.shape.length === r && a.shape[r - 1] === b.shape[r - 2] && (r === 2 || a.shape[0] === b.shape[0]);
  if (!fits)
    throw new RangeError(
      `${ctx}: expected (n, k)·(k, m) or (N, n, k)·(N, k, m), received a ${shapeString(a.shape)} and b ${shapeString(b.shape)}`,
    );
  const batch = r === 3 ? a.shape[0] : 1;
  const n = a.shape[r - 2], k = a.shape[r - 1], m = b.shape[r - 1];
  const out = allocLike(a.data, batch * n * m);
  native.matmul(out, a.data, b.data, batch, n, m, k, false, false, false);
  const shape = r === 3 ? [batch, n, m] : [n, m];
  const y = Tensor.wrap(out, shape);
  if (recording(a, b)) {
    const aData = b.requiresGrad ? keepData(a) : a.data; // each gradient reads the other operand
    const bData = a.requiresGrad ? keepData(b) : b.data;
    record(
      new FnNode('MatmulBackward', [a, b], ([g]) => {
        let da: Float32Array | null = null, db: Float32Array | null = null;
        if (a.requiresGrad) {
          da = allocLike(g!, a.size);
          native.matmul(da, g!, bData, batch, n, k, m, false, true, false); // g · bᵀ
        }
        if (b.requiresGrad) {
          db = allocLike(g!, b.size);
          native.matmul(db, aData, g!, batch, k, m, n, true, false, false); // aᵀ · g
        }
        return [da, db];
      }),
      [y],
    );
  }
  return y;
}
