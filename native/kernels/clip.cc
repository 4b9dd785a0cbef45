#include "clip.h"

#include <cmath>

#include "clones.h"

namespace rnn {

namespace {

// Sum over x[0, n) of x², and of |x|, in double. Eight independent partial sums: a single
// running sum is bound by the add latency (~0.4 ms for a 350 k-parameter model); these
// vectorise. The order is fixed, so the result is the same from run to run.
RNN_CLONES double sum_squares(const float* x, size_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) acc[l] += static_cast<double>(x[i + l]) * x[i + l];
  for (; i < n; ++i) acc[0] += static_cast<double>(x[i]) * x[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}
RNN_CLONES double sum_abs(const float* x, size_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) acc[l] += std::fabs(static_cast<double>(x[i + l]));
  for (; i < n; ++i) acc[0] += std::fabs(static_cast<double>(x[i]));
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

}  // namespace

double total_norm(float* const* bufs, const size_t* sizes, size_t count, double p) {
  if (std::isinf(p)) {
    double m = 0;
    for (size_t k = 0; k < count; ++k)
      for (size_t i = 0; i < sizes[k]; ++i) {
        const double a = std::fabs(static_cast<double>(bufs[k][i]));
        if (!(a <= m)) m = a;  // propagates NaN: NaN is never <= m
      }
    return m;
  }
  double sum = 0;
  if (p == 2) {
    for (size_t k = 0; k < count; ++k) sum += sum_squares(bufs[k], sizes[k]);
    return std::sqrt(sum);
  }
  if (p == 1) {
    for (size_t k = 0; k < count; ++k) sum += sum_abs(bufs[k], sizes[k]);
    return sum;
  }
  for (size_t k = 0; k < count; ++k)
    for (size_t i = 0; i < sizes[k]; ++i) sum += std::pow(std::fabs(static_cast<double>(bufs[k][i])), p);
  return std::pow(sum, 1.0 / p);
}

RNN_CLONES void scale_all(float* const* bufs, const size_t* sizes, size_t count, float factor) {
  for (size_t k = 0; k < count; ++k)
    for (size_t i = 0; i < sizes[k]; ++i) bufs[k][i] *= factor;
}

RNN_CLONES void clamp_all(float* const* bufs, const size_t* sizes, size_t count, float clip) {
  for (size_t k = 0; k < count; ++k)
    for (size_t i = 0; i < sizes[k]; ++i) {
      const float v = bufs[k][i];
      bufs[k][i] = v > clip ? clip : (v < -clip ? -clip : v);  // NaN stays NaN, as torch.clamp
    }
}

}  // namespace rnn
