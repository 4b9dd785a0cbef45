#include "ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <vector>

#include "blas.h"
#include "random.h"

namespace rnn {
namespace {

template <typename F>
inline F sigmoid_of(F x) {
  return F(1) / (F(1) + std::exp(-x));
}

}  // namespace

template <typename F>
void binary_forward(BinaryOp op, F* out, const F* a, const F* b, size_t n, size_t nb) {
  for (size_t k = 0; k < n; k += nb) {
    const F* ak = a + k;
    F* ok = out + k;
    switch (op) {
      case BinaryOp::Add: for (size_t j = 0; j < nb; ++j) ok[j] = ak[j] + b[j]; break;
      case BinaryOp::Sub: for (size_t j = 0; j < nb; ++j) ok[j] = ak[j] - b[j]; break;
      case BinaryOp::Mul: for (size_t j = 0; j < nb; ++j) ok[j] = ak[j] * b[j]; break;
    }
  }
}

template <typename F>
void binary_backward(BinaryOp op, F* da, F* db, const F* g, const F* a, const F* b, size_t n, size_t nb) {
  if (da) {
    if (op == BinaryOp::Mul)
      for (size_t k = 0; k < n; k += nb)
        for (size_t j = 0; j < nb; ++j) da[k + j] = g[k + j] * b[j];
    else
      std::memcpy(da, g, sizeof(F) * n);
  }
  if (!db) return;
  std::memset(db, 0, sizeof(F) * nb);
  for (size_t k = 0; k < n; k += nb) {
    const F* gk = g + k;
    switch (op) {
      case BinaryOp::Add: for (size_t j = 0; j < nb; ++j) db[j] += gk[j]; break;
      case BinaryOp::Sub: for (size_t j = 0; j < nb; ++j) db[j] -= gk[j]; break;
      case BinaryOp::Mul: for (size_t j = 0; j < nb; ++j) db[j] += gk[j] * a[k + j]; break;
    }
  }
}

template <typename F>
void unary_forward(UnaryOp op, F* out, const F* x, size_t n) {
  switch (op) {
    case UnaryOp::Tanh: for (size_t i = 0; i < n; ++i) out[i] = std::tanh(x[i]); break;
    case UnaryOp::Sigmoid: for (size_t i = 0; i < n; ++i) out[i] = sigmoid_of(x[i]); break;
    case UnaryOp::Relu: for (size_t i = 0; i < n; ++i) out[i] = x[i] > F(0) ? x[i] : F(0); break;
  }
}

template <typename F>
void unary_backward(UnaryOp op, F* dx, const F* g, const F* y, size_t n) {
  switch (op) {
    case UnaryOp::Tanh: for (size_t i = 0; i < n; ++i) dx[i] = g[i] * (F(1) - y[i] * y[i]); break;
    case UnaryOp::Sigmoid: for (size_t i = 0; i < n; ++i) dx[i] = g[i] * y[i] * (F(1) - y[i]); break;
    case UnaryOp::Relu: for (size_t i = 0; i < n; ++i) dx[i] = y[i] > F(0) ? g[i] : F(0); break;
  }
}

template <typename F>
void softmax_forward(bool log, F* out, const F* x, size_t outer, size_t n, size_t inner) {
  for (size_t o = 0; o < outer; ++o)
    for (size_t i = 0; i < inner; ++i) {
      const F* xs = x + o * n * inner + i;
      F* ys = out + o * n * inner + i;
      F m = -std::numeric_limits<F>::infinity();
      for (size_t k = 0; k < n; ++k) m = xs[k * inner] > m ? xs[k * inner] : m;
      double total = 0;
      for (size_t k = 0; k < n; ++k) total += std::exp(static_cast<double>(xs[k * inner]) - m);
      if (log) {
        const double lse = m + std::log(total);
        for (size_t k = 0; k < n; ++k) ys[k * inner] = static_cast<F>(xs[k * inner] - lse);
      } else {
        for (size_t k = 0; k < n; ++k) ys[k * inner] = static_cast<F>(std::exp(static_cast<double>(xs[k * inner]) - m) / total);
      }
    }
}

template <typename F>
void softmax_backward(bool log, F* dx, const F* g, const F* y, size_t outer, size_t n, size_t inner) {
  for (size_t o = 0; o < outer; ++o)
    for (size_t i = 0; i < inner; ++i) {
      const size_t base = o * n * inner + i;
      double dot = 0;
      for (size_t k = 0; k < n; ++k) dot += log ? g[base + k * inner] : static_cast<double>(g[base + k * inner]) * y[base + k * inner];
      for (size_t k = 0; k < n; ++k) {
        const size_t p = base + k * inner;
        dx[p] = log ? static_cast<F>(g[p] - std::exp(static_cast<double>(y[p])) * dot)
                    : static_cast<F>(y[p] * (g[p] - dot));
      }
    }
}

template <typename F>
void masked_fill(F* out, const F* x, const uint8_t* mask, F value, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = mask[i] ? value : x[i];
}

template <typename F>
double sum(const F* x, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += x[i];
  return s;
}

template <typename F>
void accumulate(F* dst, const F* src, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] += src[i];
}

template <typename F>
void scale(F* out, const F* x, F factor, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = x[i] * factor;
}

template <typename F>
void copy_block(F* dst, size_t dst_stride, const F* src, size_t src_stride, size_t rows, size_t cols, bool add) {
  for (size_t r = 0; r < rows; ++r) {
    F* d = dst + r * dst_stride;
    const F* s = src + r * src_stride;
    if (add)
      for (size_t c = 0; c < cols; ++c) d[c] += s[c];
    else
      std::memcpy(d, s, sizeof(F) * cols);
  }
}

template <typename F>
void swap_dims(F* out, const F* x, size_t A, size_t N0, size_t M, size_t N1, size_t C) {
  for (size_t a = 0; a < A; ++a)
    for (size_t i = 0; i < N0; ++i)
      for (size_t m = 0; m < M; ++m)
        for (size_t j = 0; j < N1; ++j)
          std::memcpy(out + ((((a * N1 + j) * M + m) * N0 + i) * C), x + ((((a * N0 + i) * M + m) * N1 + j) * C),
                      sizeof(F) * C);
}

template <typename F>
void gather(F* out, const F* x, const int32_t* index, size_t k, size_t outer, size_t n, size_t inner) {
  for (size_t o = 0; o < outer; ++o)
    for (size_t r = 0; r < k; ++r)
      std::memcpy(out + (o * k + r) * inner, x + (o * n + static_cast<size_t>(index[r])) * inner, sizeof(F) * inner);
}

template <typename F>
void scatter_add(F* dx, const F* g, const int32_t* index, size_t k, size_t outer, size_t n, size_t inner) {
  for (size_t o = 0; o < outer; ++o)
    for (size_t r = 0; r < k; ++r) {
      F* d = dx + (o * n + static_cast<size_t>(index[r])) * inner;
      const F* s = g + (o * k + r) * inner;
      for (size_t c = 0; c < inner; ++c) d[c] += s[c];
    }
}

template <typename F>
void batched_matmul(F* C, const F* A, const F* B, int batch, int M, int N, int K, bool transA, bool transB,
                    bool accumulate) {
  const size_t sa = static_cast<size_t>(M) * K, sb = static_cast<size_t>(K) * N, sc = static_cast<size_t>(M) * N;
  for (int i = 0; i < batch; ++i)
    par_gemm(transA, transB, M, N, K, F(1), A + i * sa, transA ? M : K, B + i * sb, transB ? K : N,
             accumulate ? F(1) : F(0), C + i * sc, N);
}

template <typename F>
void dropout_mask(F* mask, size_t n, double p, uint64_t seed) {
  const F keep = p >= 1 ? F(0) : static_cast<F>(1.0 / (1.0 - p));
  for (size_t k = 0; k < n; ++k) mask[k] = uniform_at(seed, k) < p ? F(0) : keep;
}

template <typename F>
void layer_norm_forward(F* out, F* mean, F* rstd, const F* x, const F* weight, const F* bias, size_t rows,
                        size_t n, double eps) {
  for (size_t r = 0; r < rows; ++r) {
    const F* xr = x + r * n;
    F* yr = out + r * n;
    double m = 0;
    for (size_t j = 0; j < n; ++j) m += xr[j];
    m /= static_cast<double>(n);
    double v = 0;
    for (size_t j = 0; j < n; ++j) v += (xr[j] - m) * (xr[j] - m);
    v /= static_cast<double>(n);
    const double s = 1.0 / std::sqrt(v + eps);
    mean[r] = static_cast<F>(m);
    rstd[r] = static_cast<F>(s);
    for (size_t j = 0; j < n; ++j) {
      double yv = (xr[j] - m) * s;
      if (weight) yv *= weight[j];
      if (bias) yv += bias[j];
      yr[j] = static_cast<F>(yv);
    }
  }
}

template <typename F>
void layer_norm_backward(F* dx, F* dweight, F* dbias, const F* g, const F* x, const F* mean, const F* rstd,
                         const F* weight, size_t rows, size_t n) {
  for (size_t r = 0; r < rows; ++r) {
    const F* xr = x + r * n;
    const F* gr = g + r * n;
    const double m = mean[r], s = rstd[r];
    double sum_dxhat = 0, sum_dxhat_xhat = 0;
    for (size_t j = 0; j < n; ++j) {
      const double xhat = (xr[j] - m) * s;
      const double dxhat = static_cast<double>(gr[j]) * (weight ? weight[j] : F(1));
      sum_dxhat += dxhat;
      sum_dxhat_xhat += dxhat * xhat;
      if (dweight) dweight[j] += static_cast<F>(gr[j] * xhat);
      if (dbias) dbias[j] += gr[j];
    }
    if (!dx) continue;
    const double inv_n = 1.0 / static_cast<double>(n);
    for (size_t j = 0; j < n; ++j) {
      const double xhat = (xr[j] - m) * s;
      const double dxhat = static_cast<double>(gr[j]) * (weight ? weight[j] : F(1));
      dx[r * n + j] = static_cast<F>(s * (dxhat - sum_dxhat * inv_n - xhat * sum_dxhat_xhat * inv_n));
    }
  }
}

template <typename F>
double nll_loss(F* grad, const F* logp, const int32_t* targets, int N, int C, int32_t ignore_index) {
  int valid = 0;
  for (int i = 0; i < N; ++i) valid += targets[i] != ignore_index;
  std::memset(grad, 0, sizeof(F) * static_cast<size_t>(N) * C);
  if (!valid) return std::numeric_limits<double>::quiet_NaN();
  double total = 0;
  for (int i = 0; i < N; ++i) {
    if (targets[i] == ignore_index) continue;
    const size_t p = static_cast<size_t>(i) * C + targets[i];
    total -= logp[p];
    grad[p] = static_cast<F>(-1.0 / valid);
  }
  return total / valid;
}

template <typename F>
double mse_loss(F* grad, const F* x, const F* y, size_t n) {
  double total = 0;
  for (size_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - y[i];
    total += d * d;
    grad[i] = static_cast<F>(2.0 * d / static_cast<double>(n));
  }
  return total / static_cast<double>(n);
}

template <typename F>
double bce_with_logits(F* grad, const F* x, const F* y, const F* pos_weight, size_t n, size_t nc) {
  double total = 0;
  for (size_t i = 0; i < n; ++i) {
    const double xi = x[i], yi = y[i];
    const double lw = pos_weight ? (pos_weight[i % nc] - 1.0) * yi + 1.0 : 1.0;
    // (1 - y) x + lw (log(1 + e^{-|x|}) + max(-x, 0)): stable for any x, as PyTorch computes it.
    total += (1 - yi) * xi + lw * (std::log1p(std::exp(-std::fabs(xi))) + (xi < 0 ? -xi : 0));
    const double sig_neg = 1.0 / (1.0 + std::exp(xi));  // σ(-x)
    grad[i] = static_cast<F>(((1 - yi) - lw * sig_neg) / static_cast<double>(n));
  }
  return total / static_cast<double>(n);
}

template <typename F>
void topk_rows(F* values, int32_t* indices, const F* x, size_t rows, size_t n, size_t k) {
  std::vector<int32_t> order(n);
  for (size_t r = 0; r < rows; ++r) {
    const F* xr = x + r * n;
    std::iota(order.begin(), order.end(), 0);
    // NaN sorts first (largest), as in argmax; ties keep the lower index first.
    const auto before = [xr](int32_t a, int32_t b) {
      const bool na = std::isnan(xr[a]), nb = std::isnan(xr[b]);
      if (na || nb) return na && (!nb || a < b);
      return xr[a] > xr[b] || (xr[a] == xr[b] && a < b);
    };
    std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
    for (size_t j = 0; j < k; ++j) {
      values[r * k + j] = xr[order[j]];
      indices[r * k + j] = order[j];
    }
  }
}

template <typename F>
void additive_scores(F* s, F* tanh_saved, const F* q, const F* k, const F* v, size_t B, size_t Tq, size_t S,
                     size_t A) {
  std::vector<F> row(A);
  for (size_t b = 0; b < B; ++b)
    for (size_t t = 0; t < Tq; ++t) {
      const F* qt = q + (b * Tq + t) * A;
      for (size_t j = 0; j < S; ++j) {
        const F* kj = k + (b * S + j) * A;
        F* th = tanh_saved ? tanh_saved + ((b * Tq + t) * S + j) * A : row.data();
        double acc = 0;
        for (size_t a = 0; a < A; ++a) {
          th[a] = std::tanh(qt[a] + kj[a]);
          acc += static_cast<double>(v[a]) * th[a];
        }
        s[(b * Tq + t) * S + j] = static_cast<F>(acc);
      }
    }
}

template <typename F>
void additive_scores_backward(F* dq, F* dk, F* dv, const F* g, const F* tanh_saved, const F* v, size_t B, size_t Tq,
                              size_t S, size_t A) {
  if (dq) std::memset(dq, 0, sizeof(F) * B * Tq * A);
  if (dk) std::memset(dk, 0, sizeof(F) * B * S * A);
  for (size_t b = 0; b < B; ++b)
    for (size_t t = 0; t < Tq; ++t)
      for (size_t j = 0; j < S; ++j) {
        const F gs = g[(b * Tq + t) * S + j];
        const F* th = tanh_saved + ((b * Tq + t) * S + j) * A;
        F* dqt = dq ? dq + (b * Tq + t) * A : nullptr;
        F* dkj = dk ? dk + (b * S + j) * A : nullptr;
        for (size_t a = 0; a < A; ++a) {
          if (dv) dv[a] += gs * th[a];
          const F d = gs * v[a] * (F(1) - th[a] * th[a]);  // through tanh
          if (dqt) dqt[a] += d;
          if (dkj) dkj[a] += d;
        }
      }
}

template <typename F>
void argmax_rows(int32_t* out, const F* x, size_t rows, size_t n) {
  for (size_t r = 0; r < rows; ++r) {
    const F* xr = x + r * n;
    size_t best = 0;
    for (size_t j = 1; j < n; ++j)
      if (xr[j] > xr[best] || (std::isnan(xr[j]) && !std::isnan(xr[best]))) best = j;
    out[r] = static_cast<int32_t>(best);
  }
}

#define RNN_INSTANTIATE_OPS(F)                                                                                    \
  template void binary_forward<F>(BinaryOp, F*, const F*, const F*, size_t, size_t);                            \
  template void binary_backward<F>(BinaryOp, F*, F*, const F*, const F*, const F*, size_t, size_t);             \
  template void unary_forward<F>(UnaryOp, F*, const F*, size_t);                                                \
  template void unary_backward<F>(UnaryOp, F*, const F*, const F*, size_t);                                     \
  template void softmax_forward<F>(bool, F*, const F*, size_t, size_t, size_t);                                 \
  template void softmax_backward<F>(bool, F*, const F*, const F*, size_t, size_t, size_t);                      \
  template void masked_fill<F>(F*, const F*, const uint8_t*, F, size_t);                                        \
  template double sum<F>(const F*, size_t);                                                                      \
  template void accumulate<F>(F*, const F*, size_t);                                                            \
  template void scale<F>(F*, const F*, F, size_t);                                                              \
  template void copy_block<F>(F*, size_t, const F*, size_t, size_t, size_t, bool);                              \
  template void swap_dims<F>(F*, const F*, size_t, size_t, size_t, size_t, size_t);                             \
  template void gather<F>(F*, const F*, const int32_t*, size_t, size_t, size_t, size_t);                        \
  template void scatter_add<F>(F*, const F*, const int32_t*, size_t, size_t, size_t, size_t);                   \
  template void batched_matmul<F>(F*, const F*, const F*, int, int, int, int, bool, bool, bool);                \
  template void dropout_mask<F>(F*, size_t, double, uint64_t);                                                  \
  template void layer_norm_forward<F>(F*, F*, F*, const F*, const F*, const F*, size_t, size_t, double);        \
  template void layer_norm_backward<F>(F*, F*, F*, const F*, const F*, const F*, const F*, const F*, size_t,     \
                                       size_t);                                                                  \
  template double nll_loss<F>(F*, const F*, const int32_t*, int, int, int32_t);                                 \
  template double mse_loss<F>(F*, const F*, const F*, size_t);                                                  \
  template double bce_with_logits<F>(F*, const F*, const F*, const F*, size_t, size_t);                         \
  template void argmax_rows<F>(int32_t*, const F*, size_t, size_t);                                           \
  template void topk_rows<F>(F*, int32_t*, const F*, size_t, size_t, size_t);                                  \
  template void additive_scores<F>(F*, F*, const F*, const F*, const F*, size_t, size_t, size_t, size_t);       \
  template void additive_scores_backward<F>(F*, F*, F*, const F*, const F*, const F*, size_t, size_t, size_t, size_t);
RNN_INSTANTIATE_OPS(float)
RNN_INSTANTIATE_OPS(double)
#undef RNN_INSTANTIATE_OPS

}  // namespace rnn
