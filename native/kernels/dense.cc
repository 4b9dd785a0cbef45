#include "dense.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "blas.h"
#include "vec_math.h"

namespace rnn {

void embedding_forward(float* out, const float* weight, const int32_t* ids, size_t N, int E) {
  for (size_t n = 0; n < N; ++n)
    std::memcpy(out + n * E, weight + static_cast<size_t>(ids[n]) * E, sizeof(float) * E);
}

void embedding_backward(float* dweight, const float* dout, const int32_t* ids, size_t N, int E,
                        int32_t padding_idx) {
  for (size_t n = 0; n < N; ++n) {
    if (ids[n] == padding_idx) continue;
    float* row = dweight + static_cast<size_t>(ids[n]) * E;
    const float* g = dout + n * E;
    for (int e = 0; e < E; ++e) row[e] += g[e];
  }
}

void linear_forward(float* y, const float* x, const float* W, const float* b, int N, int in, int out) {
  if (b) {
    for (int n = 0; n < N; ++n) std::memcpy(y + static_cast<size_t>(n) * out, b, sizeof(float) * out);
  }
  par_gemm(false, true, N, out, in, 1.0f, x, in, W, in, b ? 1.0f : 0.0f, y, out);
}

void linear_backward(float* dx, float* dW, float* db, const float* dy, const float* x, const float* W,
                     int N, int in, int out) {
  par_gemm(true, false, out, in, N, 1.0f, dy, out, x, in, 1.0f, dW, in);
  if (db)
    for (int n = 0; n < N; ++n) {
      const float* row = dy + static_cast<size_t>(n) * out;
      for (int j = 0; j < out; ++j) db[j] += row[j];
    }
  if (dx) par_gemm(false, false, N, in, out, 1.0f, dy, out, W, in, 0.0f, dx, in);
}

double cross_entropy(float* grad, const float* logits, const int32_t* targets, int N, int C,
                     int32_t ignore_index, double label_smoothing, int* valid_rows) {
  int valid = 0;
  for (int n = 0; n < N; ++n) valid += targets[n] != ignore_index;
  *valid_rows = valid;
  const double eps = label_smoothing;
  const float inv_valid = valid ? 1.0f / static_cast<float>(valid) : 0.0f;
  // Rows are independent: split them across the kernel threads, each row's two loss terms
  // kept apart so the sum is the same whatever the split.
  std::vector<double> nll(N, 0.0), smooth(N, 0.0);
  parallel_ranges(N, 1, 256, [&](int n0, int n1) {
    for (int n = n0; n < n1; ++n) {
      const float* z = logits + static_cast<size_t>(n) * C;
      float* g = grad + static_cast<size_t>(n) * C;
      if (targets[n] == ignore_index) {
        std::memset(g, 0, sizeof(float) * C);
        continue;
      }
      float m = z[0];
      for (int c = 1; c < C; ++c) m = z[c] > m ? z[c] : m;
      for (int c = 0; c < C; ++c) g[c] = z[c] - m;
      exp_inplace(g, C);  // vectorised; the max subtraction keeps it in range
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
      const float inv_sum = static_cast<float>(1.0 / sum);
      const float off = static_cast<float>(eps / C);
      for (int c = 0; c < C; ++c) g[c] = (g[c] * inv_sum - off) * inv_valid;
      g[targets[n]] -= static_cast<float>(1.0 - eps) * inv_valid;
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

}  // namespace rnn
