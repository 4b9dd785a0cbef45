// Activations for the fused cell passes.
//
// float: the scalar forms of the polynomials in vec_math.cc (Cephes expf / tanhf), used
// by its scalar fallback and tails; accuracy a few ulp (test/14.activations.test.ts).
// double: the C library's, for the finite-difference gradient checks.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace rnn {

// e^x for x clamped to [-87.3365, 88.3762] (±inf saturate there); NaN gives NaN.
inline float exp_f32(float x) {
  x = x < -87.3365f ? -87.3365f : (x > 88.3762f ? 88.3762f : x);  // NaN passes through
  const float fx = std::floor(x * 1.44269504088896341f + 0.5f);  // round(x / ln 2), in [-126, 127]; NaN for NaN
  // Converting NaN to an integer is undefined behaviour: use 0 for the exponent then; the
  // polynomial y is NaN already and carries it to the result. A select, so loops vectorise.
  const int32_t n = static_cast<int32_t>(fx == fx ? fx : 0.0f);
  float r = x - fx * 0.693359375f;                               // Cody–Waite: ln2 = C1 + C2
  r = r + fx * 2.12194440e-4f;
  const float z = r * r;
  float y = 1.9875691500E-4f;
  y = y * r + 1.3981999507E-3f;
  y = y * r + 8.3334519073E-3f;
  y = y * r + 4.1665795894E-2f;
  y = y * r + 1.6666665459E-1f;
  y = y * r + 5.0000001201E-1f;
  y = y * z + r + 1.0f;
  const uint32_t bits = static_cast<uint32_t>(n + 127) << 23;  // 2^n: n + 127 in [1, 254], a normal float's exponent
  return y * __builtin_bit_cast(float, bits);
}

inline float tanh_f32(float x) {
  const float ax = std::fabs(x);
  // |x| < 0.625: odd polynomial (no cancellation near 0)
  const float z = x * x;
  float p = -5.70498872745E-3f;
  p = p * z + 2.06390887954E-2f;
  p = p * z - 5.37397155531E-2f;
  p = p * z + 1.33314422036E-1f;
  p = p * z - 3.33332819422E-1f;
  const float small = p * z * x + x;
  // otherwise 1 − 2 / (e^{2|x|} + 1), with the sign of x
  const float e = exp_f32(2.0f * (ax > 10.0f ? 10.0f : ax));
  const float big = std::copysign(1.0f - 2.0f / (e + 1.0f), x);
  return ax < 0.625f ? small : big;
}

inline float sigmoid_f32(float x) { return 1.0f / (1.0f + exp_f32(-x)); }

template <typename F>
inline F sigmoid(F x) {
  return F(1) / (F(1) + std::exp(-x));
}
template <>
inline float sigmoid<float>(float x) {
  return sigmoid_f32(x);
}

template <typename F>
inline F tanh_(F x) {
  return std::tanh(x);
}
template <>
inline float tanh_<float>(float x) {
  return tanh_f32(x);
}

}  // namespace rnn
