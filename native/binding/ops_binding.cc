// The functional ops (kernels/ops.h) and the single-step cells (kernels/cell_step.h). Every
// entry point takes Float32Arrays, or Float64Arrays throughout (the float64 twins the
// gradient checks use): it dispatches on the first float array's type and checks every
// other array's type and length against the sizes before a kernel sees a pointer.
#include <mutex>
#include <string>
#include <vector>

#include "registry.h"
#include "args.h"
#include "kernels/blas.h"
#include "kernels/compute_budget.h"
#include "kernels/cell_step.h"
#include "kernels/cells.h"
#include "kernels/cells_reference.h"
#include "kernels/ops.h"

namespace binding {
namespace {

size_t size_arg(Napi::Env env, const Napi::Value& v, const char* what) {
  return static_cast<size_t>(int_arg(env, v, what, 0, INT32_MAX));
}

// binary(op, out, a, b): out (n) = a op b (nb), n a multiple of nb
template <typename F>
struct BinaryImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const auto op = static_cast<rnn::BinaryOp>(int_arg(env, info[0], "op", 0, 2));
    const size_t n = typed_length<F>(env, info[2], "a"), nb = typed_length<F>(env, info[3], "b");
    if (nb == 0 ? n != 0 : n % nb != 0) throw_range(env, "b's length must divide a's");
    F* out = typed_data<F>(env, info[1], n, "out");
    if (nb) rnn::binary_forward(op, out, typed_data<F>(env, info[2], n, "a"), typed_data<F>(env, info[3], nb, "b"), n, nb);
    return env.Undefined();
  }
};
RNN_DTYPE_ENTRY(Binary, 1, "out")

// binaryBackward(op, da|null, db|null, g, a, b)
template <typename F>
struct BinaryBackwardImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const auto op = static_cast<rnn::BinaryOp>(int_arg(env, info[0], "op", 0, 2));
    const size_t n = typed_length<F>(env, info[3], "g"), nb = typed_length<F>(env, info[5], "b");
    if (nb == 0 ? n != 0 : n % nb != 0) throw_range(env, "b's length must divide g's");
    F* da = optional_typed_data<F>(env, info[1], n, "da");
    F* db = optional_typed_data<F>(env, info[2], nb, "db");
    const F* g = typed_data<F>(env, info[3], n, "g");
    const F* a = typed_data<F>(env, info[4], n, "a");
    const F* b = typed_data<F>(env, info[5], nb, "b");
    if (nb) rnn::binary_backward(op, da, db, g, a, b, n, nb);
    return env.Undefined();
  }
};
RNN_DTYPE_ENTRY(BinaryBackward, 3, "g")

// unary(op, out, x); unaryBackward(op, dx, g, y)
template <typename F>
struct UnaryImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const auto op = static_cast<rnn::UnaryOp>(int_arg(env, info[0], "op", 0, 2));
    const size_t n = typed_length<F>(env, info[2], "x");
    rnn::unary_forward(op, typed_data<F>(env, info[1], n, "out"), typed_data<F>(env, info[2], n, "x"), n);
    return env.Undefined();
  }
};
RNN_DTYPE_ENTRY(Unary, 1, "out")
template <typename F>
struct UnaryBackwardImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const auto op = static_cast<rnn::UnaryOp>(int_arg(env, info[0], "op", 0, 2));
    const size_t n = typed_length<F>(env, info[2], "g");
    rnn::unary_backward(op, typed_data<F>(env, info[1], n, "dx"), typed_data<F>(env, info[2], n, "g"),
                        typed_data<F>(env, info[3], n, "y"), n);
    return env.Undefined();
  }
};
RNN_DTYPE_ENTRY(UnaryBackward, 1, "dx")

// softmax(log, out, x, outer, n, inner); softmaxBackward(log, dx, g, y, outer, n, inner)
template <typename F>
struct SoftmaxImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const bool log = bool_arg(env, info[0], "log");
    const size_t outer = size_arg(env, info[3], "outer"), n = size_arg(env, info[4], "n"), inner = size_arg(env, info[5], "inner");
    const size_t total = checked_size(env, {outer, n, inner}, "x");
    rnn::softmax_forward(log, typed_data<F>(env, info[1], total, "out"), typed_data<F>(env, info[2], total, "x"), outer, n, inner);
    return env.Undefined();
  }
};
RNN_DTYPE_ENTRY(Softmax, 1, "out")
template <typename F>
struct SoftmaxBackwardImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const bool log = bool_arg(env, info[0], "log");
    const size_t outer = size_arg(env, info[4], "outer"), n = size_arg(env, info[5], "n"), inner = size_arg(env, info[6], "inner");
    const size_t total = checked_size(env, {outer, n, inner}, "g");
    rnn::softmax_backward(log, typed_data<F>(env, info[1], total, "dx"), typed_data<F>(env, info[2], total, "g"),
                          typed_data<F>(env, info[3], total, "y"), outer, n, inner);
    return env.Undefined();
  }
};
RNN_DTYPE_ENTRY(SoftmaxBackward, 1, "dx")

// maskedFill(out, x, mask, value)
template <typename F>
struct MaskedFillImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const size_t n = typed_length<F>(env, info[1], "x");
    const uint8_t* mask = typed_data<uint8_t>(env, info[2], n, "mask");
    rnn::masked_fill(typed_data<F>(env, info[0], n, "out"), typed_data<F>(env, info[1], n, "x"), mask,
                     static_cast<F>(number_arg(env, info[3], "value")), n);
    return env.Undefined();
  }
};
RNN_DTYPE_ENTRY(MaskedFill, 0, "out")

// sum(x) -> number
template <typename F>
struct SumImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const size_t n = typed_length<F>(env, info[0], "x");
    return Napi::Number::New(env, rnn::sum(typed_data<F>(env, info[0], n, "x"), n));
  }
};
RNN_DTYPE_ENTRY(Sum, 0, "x")

// accumulate(dst, src): dst += src
template <typename F>
struct AccumulateImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const size_t n = typed_length<F>(env, info[0], "dst");
    rnn::accumulate(typed_data<F>(env, info[0], n, "dst"), typed_data<F>(env, info[1], n, "src"), n);
    return env.Undefined();
  }
};
RNN_DTYPE_ENTRY(Accumulate, 0, "dst")

// scale(out, x, factor)
template <typename F>
struct ScaleImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const size_t n = typed_length<F>(env, info[1], "x");
    rnn::scale(typed_data<F>(env, info[0], n, "out"), typed_data<F>(env, info[1], n, "x"),
               static_cast<F>(number_arg(env, info[2], "factor")), n);
    return env.Undefined();
  }
};
RNN_DTYPE_ENTRY(Scale, 0, "out")

// copyBlock(dst, dstOffset, dstStride, src, srcOffset, srcStride, rows, cols, add)
template <typename F>
struct CopyBlockImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const size_t dst_len = typed_length<F>(env, info[0], "dst"), src_len = typed_length<F>(env, info[3], "src");
    const size_t dst_off = size_arg(env, info[1], "dstOffset"), dst_stride = size_arg(env, info[2], "dstStride");
    const size_t src_off = size_arg(env, info[4], "srcOffset"), src_stride = size_arg(env, info[5], "srcStride");
    const size_t rows = size_arg(env, info[6], "rows"), cols = size_arg(env, info[7], "cols");
    const bool add = bool_arg(env, info[8], "add");
    if (rows == 0 || cols == 0) return env.Undefined();
    // The last element each side touches must be inside its array (all terms are < 2^31).
    if (dst_off + (rows - 1) * dst_stride + cols > dst_len || src_off + (rows - 1) * src_stride + cols > src_len)
      throw_range(env, "copyBlock: the block does not fit in its arrays");
    rnn::copy_block(typed_data<F>(env, info[0], dst_len, "dst") + dst_off, dst_stride,
                    typed_data<F>(env, info[3], src_len, "src") + src_off, src_stride, rows, cols, add);
    return env.Undefined();
  }
};
RNN_DTYPE_ENTRY(CopyBlock, 0, "dst")

// swapDims(out, x, A, N0, M, N1, C)
template <typename F>
struct SwapDimsImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const size_t A = size_arg(env, info[2], "A"), N0 = size_arg(env, info[3], "N0"), M = size_arg(env, info[4], "M"),
                 N1 = size_arg(env, info[5], "N1"), C = size_arg(env, info[6], "C");
    const size_t n = checked_size(env, {A, N0, M, N1, C}, "x");
    rnn::swap_dims(typed_data<F>(env, info[0], n, "out"), typed_data<F>(env, info[1], n, "x"), A, N0, M, N1, C);
    return env.Undefined();
  }
};
RNN_DTYPE_ENTRY(SwapDims, 0, "out")

// The index of gather / scatterAdd: a copy, each entry in [0, n).
std::vector<int32_t> checked_index(Napi::Env env, const Napi::Value& v, size_t n) {
  const size_t k = typed_length<int32_t>(env, v, "index");
  std::vector<int32_t> index = int32_copy(env, v, k, "index");
  for (size_t r = 0; r < k; ++r)
    if (index[r] < 0 || static_cast<size_t>(index[r]) >= n)
      throw_range(env, "index[" + std::to_string(r) + "] must be in [0, " + std::to_string(n) + "), received " +
                           std::to_string(index[r]));
  return index;
}

// gather(out, x, index, outer, n, inner); scatterAdd(dx, g, index, outer, n, inner)
template <typename F, bool kScatter>
struct GatherLike {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const size_t outer = size_arg(env, info[3], "outer"), n = size_arg(env, info[4], "n"), inner = size_arg(env, info[5], "inner");
    const std::vector<int32_t> index = checked_index(env, info[2], n);
    const size_t big = checked_size(env, {outer, n, inner}, "x"), small = checked_size(env, {outer, index.size(), inner}, "out");
    if (kScatter)
      rnn::scatter_add(typed_data<F>(env, info[0], big, "dx"), typed_data<F>(env, info[1], small, "g"), index.data(),
                       index.size(), outer, n, inner);
    else
      rnn::gather(typed_data<F>(env, info[0], small, "out"), typed_data<F>(env, info[1], big, "x"), index.data(),
                  index.size(), outer, n, inner);
    return env.Undefined();
  }
};
template <typename F>
using GatherImpl = GatherLike<F, false>;
template <typename F>
using ScatterAddImpl = GatherLike<F, true>;
RNN_DTYPE_ENTRY(Gather, 0, "out")
RNN_DTYPE_ENTRY(ScatterAdd, 0, "dx")

// matmul(C, A, B, batch, M, N, K, transA, transB, accumulate)
template <typename F>
struct MatmulImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const int batch = int_arg(env, info[3], "batch", 0, INT32_MAX), M = int_arg(env, info[4], "M", 0, INT32_MAX),
              N = int_arg(env, info[5], "N", 0, INT32_MAX), K = int_arg(env, info[6], "K", 0, INT32_MAX);
    const bool ta = bool_arg(env, info[7], "transA"), tb = bool_arg(env, info[8], "transB"), acc = bool_arg(env, info[9], "accumulate");
    const size_t b = static_cast<size_t>(batch);
    F* C = typed_data<F>(env, info[0], checked_size(env, {b, size_t(M), size_t(N)}, "C"), "C");
    const F* A = typed_data<F>(env, info[1], checked_size(env, {b, size_t(M), size_t(K)}, "A"), "A");
    const F* B = typed_data<F>(env, info[2], checked_size(env, {b, size_t(K), size_t(N)}, "B"), "B");
    if (batch == 0 || M == 0 || N == 0) return env.Undefined();
    if (K == 0) {  // an empty sum: zeros (or C unchanged)
      if (!acc) std::fill(C, C + b * M * N, F(0));
      return env.Undefined();
    }
    rnn::ComputeScope scope;
    rnn::batched_matmul(C, A, B, batch, M, N, K, ta, tb, acc);
    return env.Undefined();
  }
};
RNN_DTYPE_ENTRY(Matmul, 0, "C")

// dropoutMask(mask, p, seedLo, seedHi)
template <typename F>
struct DropoutMaskImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const size_t n = typed_length<F>(env, info[0], "mask");
    const double p = number_arg(env, info[1], "p");
    if (!(p >= 0 && p <= 1)) throw_range(env, "p must be in [0, 1]");
    const double lo = number_arg(env, info[2], "seedLo"), hi = number_arg(env, info[3], "seedHi");
    const uint64_t seed = (static_cast<uint64_t>(static_cast<uint32_t>(hi)) << 32) | static_cast<uint32_t>(lo);
    rnn::dropout_mask(typed_data<F>(env, info[0], n, "mask"), n, p, seed);
    return env.Undefined();
  }
};
RNN_DTYPE_ENTRY(DropoutMask, 0, "mask")

// layerNorm(out, mean, rstd, x, weight|null, bias|null, rows, n, eps)
template <typename F>
struct LayerNormImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const size_t rows = size_arg(env, info[6], "rows"), n = size_arg(env, info[7], "n");
    const size_t total = checked_size(env, {rows, n}, "x");
    const double eps = number_arg(env, info[8], "eps");
    if (!(eps >= 0)) throw_range(env, "eps must be >= 0");
    if (n == 0) return env.Undefined();
    rnn::layer_norm_forward(typed_data<F>(env, info[0], total, "out"), typed_data<F>(env, info[1], rows, "mean"),
                            typed_data<F>(env, info[2], rows, "rstd"), typed_data<F>(env, info[3], total, "x"),
                            optional_typed_data<F>(env, info[4], n, "weight"), optional_typed_data<F>(env, info[5], n, "bias"),
                            rows, n, eps);
    return env.Undefined();
  }
};
RNN_DTYPE_ENTRY(LayerNorm, 0, "out")

// layerNormBackward(dx|null, dweight|null, dbias|null, g, x, mean, rstd, weight|null, rows, n)
template <typename F>
struct LayerNormBackwardImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const size_t rows = size_arg(env, info[8], "rows"), n = size_arg(env, info[9], "n");
    const size_t total = checked_size(env, {rows, n}, "x");
    if (n == 0) return env.Undefined();
    rnn::layer_norm_backward(optional_typed_data<F>(env, info[0], total, "dx"), optional_typed_data<F>(env, info[1], n, "dweight"),
                             optional_typed_data<F>(env, info[2], n, "dbias"), typed_data<F>(env, info[3], total, "g"),
                             typed_data<F>(env, info[4], total, "x"), typed_data<F>(env, info[5], rows, "mean"),
                             typed_data<F>(env, info[6], rows, "rstd"), optional_typed_data<F>(env, info[7], n, "weight"),
                             rows, n);
    return env.Undefined();
  }
};
RNN_DTYPE_ENTRY(LayerNormBackward, 3, "g")

// Class targets (N) checked on a copy: each in [0, C) or the ignore index.
std::vector<int32_t> checked_targets(Napi::Env env, const Napi::Value& v, int N, int C, int32_t ignore) {
  std::vector<int32_t> t = int32_copy(env, v, static_cast<size_t>(N), "targets");
  for (int n = 0; n < N; ++n)
    if (t[n] != ignore && (t[n] < 0 || t[n] >= C))
      throw_range(env, "targets[" + std::to_string(n) + "] must be in [0, " + std::to_string(C) +
                           ") or the ignore index, received " + std::to_string(t[n]));
  return t;
}

// nllLoss(grad, logp, targets, N, C, ignoreIndex) -> loss
template <typename F>
struct NllLossImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const int N = int_arg(env, info[3], "N", 0, INT32_MAX), C = int_arg(env, info[4], "C", 1, INT32_MAX);
    const int32_t ignore = int_arg(env, info[5], "ignoreIndex", INT32_MIN, INT32_MAX);
    const size_t total = checked_size(env, {size_t(N), size_t(C)}, "logp");
    const std::vector<int32_t> t = checked_targets(env, info[2], N, C, ignore);
    return Napi::Number::New(env, rnn::nll_loss(typed_data<F>(env, info[0], total, "grad"), typed_data<F>(env, info[1], total, "logp"),
                                                t.data(), N, C, ignore));
  }
};
RNN_DTYPE_ENTRY(NllLoss, 0, "grad")

// mseLoss(grad, x, y) -> loss
template <typename F>
struct MseLossImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const size_t n = typed_length<F>(env, info[1], "x");
    if (n == 0) throw_range(env, "mseLoss needs at least one element");
    return Napi::Number::New(env, rnn::mse_loss(typed_data<F>(env, info[0], n, "grad"), typed_data<F>(env, info[1], n, "x"),
                                                typed_data<F>(env, info[2], n, "y"), n));
  }
};
RNN_DTYPE_ENTRY(MseLoss, 0, "grad")

// bceWithLogits(grad, x, y, posWeight|null, nc) -> loss
template <typename F>
struct BceWithLogitsImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const size_t n = typed_length<F>(env, info[1], "x");
    const size_t nc = size_arg(env, info[4], "columns");
    if (n == 0 || nc == 0 || n % nc != 0) throw_range(env, "bceWithLogits: x must hold whole rows of `columns` elements");
    return Napi::Number::New(env, rnn::bce_with_logits(typed_data<F>(env, info[0], n, "grad"), typed_data<F>(env, info[1], n, "x"),
                                                       typed_data<F>(env, info[2], n, "y"),
                                                       optional_typed_data<F>(env, info[3], nc, "posWeight"), n, nc));
  }
};
RNN_DTYPE_ENTRY(BceWithLogits, 0, "grad")

// argmax(out Int32Array (rows), x, rows, n)
template <typename F>
struct ArgmaxImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const size_t rows = size_arg(env, info[2], "rows"), n = size_arg(env, info[3], "n");
    if (n == 0 && rows > 0) throw_range(env, "argmax needs at least one element per row");
    rnn::argmax_rows(typed_data<int32_t>(env, info[0], rows, "out"), typed_data<F>(env, info[1], checked_size(env, {rows, n}, "x"), "x"),
                     rows, n);
    return env.Undefined();
  }
};
RNN_DTYPE_ENTRY(Argmax, 1, "x")

// topk(values, indices Int32Array, x, rows, n, k)
template <typename F>
struct TopkImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const size_t rows = size_arg(env, info[3], "rows"), n = size_arg(env, info[4], "n"), k = size_arg(env, info[5], "k");
    if (k > n) throw_range(env, "topk: k must be at most n");
    const size_t rk = checked_size(env, {rows, k}, "values");
    rnn::topk_rows(typed_data<F>(env, info[0], rk, "values"), typed_data<int32_t>(env, info[1], rk, "indices"),
                   typed_data<F>(env, info[2], checked_size(env, {rows, n}, "x"), "x"), rows, n, k);
    return env.Undefined();
  }
};
RNN_DTYPE_ENTRY(Topk, 0, "values")

// additiveScores(s, tanhSaved|null, q, k, v, B, Tq, S, A)
template <typename F>
struct AdditiveScoresImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const size_t B = size_arg(env, info[5], "B"), Tq = size_arg(env, info[6], "Tq"), S = size_arg(env, info[7], "S"),
                 A = size_arg(env, info[8], "A");
    rnn::additive_scores(typed_data<F>(env, info[0], checked_size(env, {B, Tq, S}, "scores"), "scores"),
                         optional_typed_data<F>(env, info[1], checked_size(env, {B, Tq, S, A}, "tanhSaved"), "tanhSaved"),
                         typed_data<F>(env, info[2], checked_size(env, {B, Tq, A}, "q"), "q"),
                         typed_data<F>(env, info[3], checked_size(env, {B, S, A}, "k"), "k"), typed_data<F>(env, info[4], A, "v"),
                         B, Tq, S, A);
    return env.Undefined();
  }
};
RNN_DTYPE_ENTRY(AdditiveScores, 0, "scores")

// additiveScoresBackward(dq|null, dk|null, dv|null, g, tanhSaved, v, B, Tq, S, A)
template <typename F>
struct AdditiveScoresBackwardImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const size_t B = size_arg(env, info[6], "B"), Tq = size_arg(env, info[7], "Tq"), S = size_arg(env, info[8], "S"),
                 A = size_arg(env, info[9], "A");
    rnn::additive_scores_backward(optional_typed_data<F>(env, info[0], checked_size(env, {B, Tq, A}, "dq"), "dq"),
                                  optional_typed_data<F>(env, info[1], checked_size(env, {B, S, A}, "dk"), "dk"),
                                  optional_typed_data<F>(env, info[2], A, "dv"),
                                  typed_data<F>(env, info[3], checked_size(env, {B, Tq, S}, "g"), "g"),
                                  typed_data<F>(env, info[4], checked_size(env, {B, Tq, S, A}, "tanhSaved"), "tanhSaved"),
                                  typed_data<F>(env, info[5], A, "v"), B, Tq, S, A);
    return env.Undefined();
  }
};
RNN_DTYPE_ENTRY(AdditiveScoresBackward, 3, "g")

// ---- single-step cells ----------------------------------------------------------------

struct CellDims {
  rnn::CellType cell;
  int B, I, H, G;
  bool lstm;
};
CellDims cell_dims(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CellDims d;
  d.cell = static_cast<rnn::CellType>(int_arg(env, info[0], "cell", 0, rnn::kCellKindCount - 1));
  d.B = int_arg(env, info[1], "B", 1, INT32_MAX);
  d.I = int_arg(env, info[2], "I", 1, INT32_MAX);
  d.H = int_arg(env, info[3], "H", 1, INT32_MAX);
  d.G = rnn::gate_count(d.cell);
  d.lstm = d.cell == rnn::CellType::Lstm;
  checked_size(env, {size_t(d.B), size_t(d.G + 1), size_t(d.H)}, "the saved gates (B, (G + 1) * H)");
  checked_size(env, {size_t(d.G), size_t(d.H), size_t(d.I)}, "weight_ih");
  checked_size(env, {size_t(d.G), size_t(d.H), size_t(d.H)}, "weight_hh");
  checked_size(env, {size_t(d.B), size_t(d.I)}, "x");
  return d;
}

// [weight_ih, weight_hh, bias_ih|null, bias_hh|null] (or gradients: every entry may be null)
template <typename F, typename Ptr>
void cell_params(Napi::Env env, const Napi::Value& v, const CellDims& d, bool nullable, Ptr out[4], const char* what) {
  Napi::Array a = array_arg(env, v, 4, what);
  const size_t GH = static_cast<size_t>(d.G) * d.H;
  const size_t sizes[4] = {GH * d.I, GH * d.H, GH, GH};
  for (uint32_t k = 0; k < 4; ++k)
    out[k] = (nullable || k >= 2) ? optional_typed_data<F>(env, a.Get(k), sizes[k], ArgName(what, k))
                                  : typed_data<F>(env, a.Get(k), sizes[k], ArgName(what, k));
  if (!nullable && (out[2] == nullptr) != (out[3] == nullptr)) throw_range(env, "a cell has both biases or neither");
}

// The cells' per-step scratch: grows to the largest step seen and is reused, so a loop over
// time steps allocates nothing here. One per thread: calls from several threads never share it.
template <typename F>
F* cell_scratch(size_t n) {
  thread_local std::vector<F> scratch;
  if (scratch.size() < n) scratch.resize(n);
  return scratch.data();
}

// cellForward(cell, B, I, H, x, h, c|null, weights, hOut, cOut|null, saved)
template <typename F>
struct CellForwardImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const CellDims d = cell_dims(info);
    const size_t BH = static_cast<size_t>(d.B) * d.H;
    const F* x = typed_data<F>(env, info[4], static_cast<size_t>(d.B) * d.I, "x");
    const F* h = typed_data<F>(env, info[5], BH, "h");
    const F* c = d.lstm ? typed_data<F>(env, info[6], BH, "c") : nullptr;
    const F* p[4];
    cell_params<F, const F*>(env, info[7], d, false, p, "weights");
    F* h_out = typed_data<F>(env, info[8], BH, "hOut");
    F* c_out = d.lstm ? typed_data<F>(env, info[9], BH, "cOut") : nullptr;
    F* saved = typed_data<F>(env, info[10], rnn::cell_saved_size(d.cell, d.B, d.H), "saved");
    rnn::ComputeScope scope;
    F* scratch = cell_scratch<F>(static_cast<size_t>(d.B) * (d.G + 1) * d.H);
    rnn::cell_forward(d.cell, d.B, d.I, d.H, x, h, c, rnn::LayerWeights<F>{p[0], p[1], p[2], p[3]}, h_out, c_out, saved,
                      scratch);
    return env.Undefined();
  }
};
RNN_DTYPE_ENTRY(CellForward, 4, "x")

// cellBackward(cell, B, I, H, x, h, c|null, weights, grads, saved, dhOut|null, dcOut|null, dx|null, dh|null, dc|null)
template <typename F>
struct CellBackwardImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const CellDims d = cell_dims(info);
    const size_t BH = static_cast<size_t>(d.B) * d.H;
    const F* x = typed_data<F>(env, info[4], static_cast<size_t>(d.B) * d.I, "x");
    const F* h = typed_data<F>(env, info[5], BH, "h");
    const F* c = d.lstm ? typed_data<F>(env, info[6], BH, "c") : nullptr;
    const F* p[4];
    cell_params<F, const F*>(env, info[7], d, false, p, "weights");
    F* gp[4];
    cell_params<F, F*>(env, info[8], d, true, gp, "grads");
    F* saved = typed_data<F>(env, info[9], rnn::cell_saved_size(d.cell, d.B, d.H), "saved");
    const F* dh_out = optional_typed_data<F>(env, info[10], BH, "gradH");
    const F* dc_out = d.lstm ? optional_typed_data<F>(env, info[11], BH, "gradC") : nullptr;
    F* dx = optional_typed_data<F>(env, info[12], static_cast<size_t>(d.B) * d.I, "dx");
    F* dh = optional_typed_data<F>(env, info[13], BH, "dh");
    F* dc = d.lstm ? optional_typed_data<F>(env, info[14], BH, "dc") : nullptr;
    rnn::ComputeScope scope;
    F* scratch = cell_scratch<F>(4 * BH);
    rnn::cell_backward(d.cell, d.B, d.I, d.H, x, h, c, rnn::LayerWeights<F>{p[0], p[1], p[2], p[3]},
                       rnn::LayerGrads<F>{gp[0], gp[1], gp[2], gp[3]}, saved, dh_out, dc_out, dx, dh, dc, scratch);
    return env.Undefined();
  }
};
RNN_DTYPE_ENTRY(CellBackward, 4, "x")

// Test hooks: one row of a cell's forward or backward units, by the fast kernel (cells.h) or
// the plain reference (cells_reference.h), float32, so the tests can compare the two.
// cellUnitsForward(cell, reference, H, g (G*H, in/out), gh (3H)|null, bhn|null, hIn, cIn|null, hOut, cOut|null, ghn|null)
Napi::Value CellUnitsForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto cell = static_cast<rnn::CellType>(int_arg(env, info[0], "cell", 0, rnn::kCellKindCount - 1));
  const bool reference = bool_arg(env, info[1], "reference");
  const int H = int_arg(env, info[2], "H", 1, 1 << 20);
  const size_t h = H, GH = static_cast<size_t>(rnn::gate_count(cell)) * H;
  const bool lstm = cell == rnn::CellType::Lstm, gru = cell == rnn::CellType::Gru;
  float* g = typed_data<float>(env, info[3], GH, "g");
  const float* gh = gru ? typed_data<float>(env, info[4], GH, "gh") : nullptr;
  const float* bhn = gru ? optional_typed_data<float>(env, info[5], h, "bhn") : nullptr;
  const float* h_in = typed_data<float>(env, info[6], h, "hIn");
  const float* c_in = lstm ? typed_data<float>(env, info[7], h, "cIn") : nullptr;
  float* h_out = typed_data<float>(env, info[8], h, "hOut");
  float* c_out = lstm ? typed_data<float>(env, info[9], h, "cOut") : nullptr;
  float* ghn = gru ? typed_data<float>(env, info[10], h, "ghn") : nullptr;
  std::vector<float> y(h);
  const bool relu = cell == rnn::CellType::RnnRelu;
  if (reference) {
    if (lstm) rnn::reference::lstm_forward(g, c_in, h_out, c_out, H);
    else if (gru) rnn::reference::gru_forward(g, gh, bhn, h_in, h_out, ghn, H);
    else rnn::reference::rnn_forward(relu, g, h_out, H);
  } else {
    if (lstm) rnn::lstm_forward(g, h_in, c_in, h_out, c_out, y.data(), H, 0, H, true);
    else if (gru) rnn::gru_forward(g, gh, bhn, h_in, h_out, y.data(), ghn, H, 0, H, true);
    else rnn::rnn_forward(relu, g, h_in, h_out, y.data(), 0, H, true);
  }
  return env.Undefined();
}

// cellUnitsBackward(cell, reference, H, g (activated gates in, gradients out), dh, dc|null,
//                   cIn|null, cOut|null, ghn|null (in/out), hPrev|null, hOut|null, dhPrev, dcPrev|null)
Napi::Value CellUnitsBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto cell = static_cast<rnn::CellType>(int_arg(env, info[0], "cell", 0, rnn::kCellKindCount - 1));
  const bool reference = bool_arg(env, info[1], "reference");
  const int H = int_arg(env, info[2], "H", 1, 1 << 20);
  const size_t h = H, GH = static_cast<size_t>(rnn::gate_count(cell)) * H;
  const bool lstm = cell == rnn::CellType::Lstm, gru = cell == rnn::CellType::Gru;
  float* g = typed_data<float>(env, info[3], GH, "g");
  const float* dh = typed_data<float>(env, info[4], h, "dh");
  const float* dc = lstm ? typed_data<float>(env, info[5], h, "dc") : nullptr;
  const float* c_in = lstm ? typed_data<float>(env, info[6], h, "cIn") : nullptr;
  const float* c_out = lstm ? typed_data<float>(env, info[7], h, "cOut") : nullptr;
  float* ghn = gru ? typed_data<float>(env, info[8], h, "ghn") : nullptr;
  const float* h_prev = gru ? typed_data<float>(env, info[9], h, "hPrev") : nullptr;
  const float* h_out = !lstm && !gru ? typed_data<float>(env, info[10], h, "hOut") : nullptr;
  float* dh_prev = typed_data<float>(env, info[11], h, "dhPrev");
  float* dc_prev = lstm ? typed_data<float>(env, info[12], h, "dcPrev") : nullptr;
  const bool relu = cell == rnn::CellType::RnnRelu;
  if (reference) {
    if (lstm) {
      rnn::reference::lstm_backward(g, dh, dc, c_in, c_out, dc_prev, H);
      std::fill(dh_prev, dh_prev + h, 0.0f);
    } else if (gru) {
      rnn::reference::gru_backward(g, dh, ghn, h_prev, dh_prev, H);
    } else {
      rnn::reference::rnn_backward(relu, g, dh, h_out, dh_prev, H);
    }
  } else {
    if (lstm) {
      rnn::tanh_copy(dh_prev, c_out, H);
      rnn::lstm_backward(g, H, dh, dc, c_in, dh_prev, dc_prev, H);
    } else if (gru) {
      rnn::gru_backward(g, H, dh, ghn, h_prev, dh_prev, H);
    } else {
      rnn::rnn_backward(relu, g, dh, h_out, dh_prev, H);
    }
  }
  return env.Undefined();
}

// The native table of cell kinds (kernels/cell_kinds.h), for the test that checks the
// TypeScript twin against it.
Napi::Value CellKinds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env, rnn::kCellKindCount);
  for (int k = 0; k < rnn::kCellKindCount; ++k) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("code", static_cast<int>(rnn::kCellKinds[k].type));
    o.Set("name", rnn::kCellKinds[k].name);
    o.Set("gates", rnn::kCellKinds[k].gates);
    o.Set("hasCellState", rnn::kCellKinds[k].has_cell_state);
    out.Set(static_cast<uint32_t>(k), o);
  }
  return out;
}

}  // namespace

void register_ops(Napi::Env env, Napi::Object exports) {
  const struct {
    const char* name;
    Napi::Value (*fn)(const Napi::CallbackInfo&);
  } entries[] = {
      {"binary", Binary}, {"binaryBackward", BinaryBackward}, {"unary", Unary}, {"unaryBackward", UnaryBackward},
      {"softmax", Softmax}, {"softmaxBackward", SoftmaxBackward}, {"maskedFill", MaskedFill}, {"sum", Sum},
      {"accumulate", Accumulate}, {"scale", Scale}, {"copyBlock", CopyBlock}, {"swapDims", SwapDims},
      {"gather", Gather}, {"scatterAdd", ScatterAdd}, {"matmul", Matmul}, {"dropoutMask", DropoutMask},
      {"layerNorm", LayerNorm}, {"layerNormBackward", LayerNormBackward}, {"nllLoss", NllLoss},
      {"mseLoss", MseLoss}, {"bceWithLogits", BceWithLogits}, {"argmax", Argmax}, {"cellForward", CellForward},
      {"cellBackward", CellBackward}, {"cellUnitsForward", CellUnitsForward}, {"topk", Topk},
      {"additiveScores", AdditiveScores}, {"additiveScoresBackward", AdditiveScoresBackward},
      {"cellUnitsBackward", CellUnitsBackward}, {"cellKinds", CellKinds},
  };
  for (const auto& e : entries) exports.Set(e.name, Napi::Function::New(env, e.fn, e.name));
}

}  // namespace binding
