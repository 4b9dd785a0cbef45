#include "dense.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "blas.h"
#include "vec_math.h"

namespace rnn {

namespace {

// e^x in place over a row: the vectorised kernel for float, the C library for double.
template <typename F>
void exp_row(F* x, int n) {
  for (int i = 0; i < n; ++i) x[i] = std::exp(x[i]);
}
template <>
void exp_row<float>(float* x, int n) {
  exp_inplace(x, n);
}

}  // namespace

template <typename F>
void embedding_forward(F* out, const F* weight, const int32_t* ids, size_t N, int E) {
  for (size_t n = 0; n < N; ++n)
    std::memcpy(out + n * E, weight + static_cast<size_t>(ids[n]) * E, sizeof(F) * E);
}

template <typename F>
void embedding_backward(F* dweight, const F* dout, const int32_t* ids, size_t N, int E, int32_t padding_idx) {
  for (size_t n = 0; n < N; ++n) {
    if (ids[n] == padding_idx) continue;
    F* row = dweight + static_cast<size_t>(ids[n]) * E;
    const F* g = dout + n * E;
    for (int e = 0; e < E; ++e) row[e] += g[e];
  }
}

template <typename F>
void linear_forward(F* y, const F* x, const F* W, const F* b, int N, int in, int out) {
  if (b) {
    for (int n = 0; n < N; ++n) std::memcpy(y + static_cast<size_t>(n) * out, b, sizeof(F) * out);
  }
  par_gemm(false, true, N, out, in, F(1), x, in, W, in, b ? F(1) : F(0), y, out);
}

template <typename F>
void linear_backward(F* dx, F* dW, F* db, const F* dy, const F* x, const F* W, int N, int in, int out) {
  if (dW) par_gemm(true, false, out, in, N, F(1), dy, out, x, in, F(1), dW, in);
  if (db)
    for (int n = 0; n < N; ++n) {
      const F* row = dy + static_cast<size_t>(n) * out;
      for (int j = 0; j < out; ++j) db[j] += row[j];
    }
  if (dx) par_gemm(false, false, N, in, out, F(1), dy, out, W, in, F(0), dx, in);
}

template <typename F>
double cross_entropy(F* grad, const F* logits, const int32_t* targets, int N, int C, int32_t ignore_index,
                     double label_smoothing, int* valid_rows) {
  int valid = 0;
  for (int n = 0; n < N; ++n) valid += targets[n] != ignore_index;
  *valid_rows = valid;
  const double eps = label_smoothing;
  const F inv_valid = valid ? F(1) / static_cast<F>(valid) : F(0);
  // Rows are independent: split them across the kernel threads, each row's two loss terms
  // kept apart so the sum is the same whatever the split.
  std::vector<double> nll(N, 0.0), smooth(N, 0.0);
  parallel_ranges(N, 1, 256, [&](int n0, int n1) {
    for (int n = n0; n < n1; ++n) {
      const F* z = logits + static_cast<size_t>(n) * C;
      F* g = grad + static_cast<size_t>(n) * C;
      if (targets[n] == ignore_index) {
        std::memset(g, 0, sizeof(F) * C);
        continue;
      }
      F m = z[0];
      for (int c = 1; c < C; ++c) m = z[c] > m ? z[c] : m;
      for (int c = 0; c < C; ++c) g[c] = z[c] - m;
      exp_row(g, C);  // the max subtraction keeps it in range
      double sum = 0;
      for (int c = 0; c < C; ++c) sum += g[c];
      const double log_sum = std::log(sum) + m;  // log Σ exp z
      nll[n] = log_sum - z[targets[n]];
      if (eps > 0) {
        double zsum = 0;
        for (int c = 0; c < C; ++c) zsum += z[c];
        smooth[n] = C * log_sum - zsum;  // -Σ_c log p_c
      }
      // d/dz_c = (p_c − (1−ε)·[c = y] − ε/C) / valid
      const F inv_sum = static_cast<F>(1.0 / sum);
      const F off = static_cast<F>(eps / C);
      for (int c = 0; c < C; ++c) g[c] = (g[c] * inv_sum - off) * inv_valid;
      g[targets[n]] -= static_cast<F>(1.0 - eps) * inv_valid;
    }
  });
  if (!valid) return std::numeric_limits<double>::quiet_NaN();
  double nll_sum = 0, smooth_sum = 0;
  for (int n = 0; n < N; ++n) {
    nll_sum += nll[n];
    smooth_sum += smooth[n];
  }
  return (1 - eps) * nll_sum / valid + (eps / C) * smooth_sum / valid;
}

#define RNN_INSTANTIATE_DENSE(F)                                                                  \
  template void embedding_forward<F>(F*, const F*, const int32_t*, size_t, int);                \
  template void embedding_backward<F>(F*, const F*, const int32_t*, size_t, int, int32_t);      \
  template void linear_forward<F>(F*, const F*, const F*, const F*, int, int, int);             \
  template void linear_backward<F>(F*, F*, F*, const F*, const F*, const F*, int, int, int);    \
  template double cross_entropy<F>(F*, const F*, const int32_t*, int, int, int32_t, double, int*);
RNN_INSTANTIATE_DENSE(float)
RNN_INSTANTIATE_DENSE(double)
#undef RNN_INSTANTIATE_DENSE

}  // namespace rnn
