#include "clip.h"

#include <cmath>

namespace rnn {

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
    for (size_t k = 0; k < count; ++k)
      for (size_t i = 0; i < sizes[k]; ++i) sum += static_cast<double>(bufs[k][i]) * bufs[k][i];
    return std::sqrt(sum);
  }
  if (p == 1) {
    for (size_t k = 0; k < count; ++k)
      for (size_t i = 0; i < sizes[k]; ++i) sum += std::fabs(static_cast<double>(bufs[k][i]));
    return sum;
  }
  for (size_t k = 0; k < count; ++k)
    for (size_t i = 0; i < sizes[k]; ++i) sum += std::pow(std::fabs(static_cast<double>(bufs[k][i])), p);
  return std::pow(sum, 1.0 / p);
}

void scale_all(float* const* bufs, const size_t* sizes, size_t count, float factor) {
  for (size_t k = 0; k < count; ++k)
    for (size_t i = 0; i < sizes[k]; ++i) bufs[k][i] *= factor;
}

void clamp_all(float* const* bufs, const size_t* sizes, size_t count, float clip) {
  for (size_t k = 0; k < count; ++k)
    for (size_t i = 0; i < sizes[k]; ++i) {
      const float v = bufs[k][i];
      bufs[k][i] = v > clip ? clip : (v < -clip ? -clip : v);  // NaN stays NaN, as torch.clamp
    }
}

}  // namespace rnn
