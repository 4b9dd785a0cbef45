#include "vec_math.h"

#include <cstring>
#include <initializer_list>

#include "activations.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define RNN_X86 1
#endif

namespace rnn {
namespace {

// ---- scalar --------------------------------------------------------------------------------
void sigmoid_scalar(float* out, const float* x, int n) {
  for (int i = 0; i < n; ++i) out[i] = sigmoid_f32(x[i]);
}
void exp_scalar(float* out, const float* x, int n) {
  for (int i = 0; i < n; ++i) out[i] = exp_f32(x[i]);
}
void tanh_scalar(float* out, const float* x, int n) {
  for (int i = 0; i < n; ++i) out[i] = tanh_f32(x[i]);
}

#ifdef RNN_X86
// ---- AVX-512 ------------------------------------------------------------------------------
__attribute__((target("avx512f"))) inline __m512 exp512(__m512 x_in) {
  __m512 x = _mm512_min_ps(_mm512_max_ps(x_in, _mm512_set1_ps(-87.3365f)), _mm512_set1_ps(88.3762f));
  const __m512 fx = _mm512_roundscale_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), _mm512_set1_ps(0.5f)),
                                         _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fmadd_ps(fx, _mm512_set1_ps(2.12194440e-4f), r);
  const __m512 z = _mm512_mul_ps(r, r);
  __m512 y = _mm512_set1_ps(1.9875691500E-4f);
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.3981999507E-3f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(8.3334519073E-3f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(4.1665795894E-2f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.6666665459E-1f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(5.0000001201E-1f));
  y = _mm512_fmadd_ps(y, z, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(fx), _mm512_set1_epi32(127)), 23);
  y = _mm512_mul_ps(y, _mm512_castsi512_ps(e));
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x_in, x_in, _CMP_UNORD_Q), y, x_in);  // NaN stays NaN
}
__attribute__((target("avx512f"))) inline __m512 sigmoid512(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 y = _mm512_div_ps(one, _mm512_add_ps(one, exp512(_mm512_sub_ps(_mm512_setzero_ps(), x))));
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), y, x);  // NaN stays NaN
}
__attribute__((target("avx512f"))) inline __m512 tanh512(__m512 x) {
  const __m512 ax = _mm512_abs_ps(x);
  const __m512 z = _mm512_mul_ps(x, x);
  __m512 p = _mm512_set1_ps(-5.70498872745E-3f);
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(2.06390887954E-2f));
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(-5.37397155531E-2f));
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(1.33314422036E-1f));
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(-3.33332819422E-1f));
  const __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(p, z), x, x);
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 e = exp512(_mm512_mul_ps(_mm512_set1_ps(2.0f), _mm512_min_ps(ax, _mm512_set1_ps(10.0f))));
  const __m512 mag = _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, one)));
  // copy the sign of x onto mag
  const __m512i sign = _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(INT32_MIN));
  const __m512 big = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(mag), sign));
  const __m512 y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.625f), _CMP_LT_OQ), big, small);
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), y, x);  // NaN stays NaN
}
template <__m512 (*Op)(__m512)>
__attribute__((target("avx512f"))) void map512(float* out, const float* x, int n) {
  int i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, Op(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(out + i, m, Op(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

// The LSTM cell's forward pass over n units in one sweep (gate pointers as in cells.h):
// the same operations as the separate passes it replaces (sigmoid512/tanh512, then
// c = f·c_in + i·g and h = o·tanh(c) unfused, as -ffp-contract=off compiles the plain
// loops), so the results are bit for bit those of the AVX-512 kernels.
__attribute__((target("avx512f"))) void lstm_cell512(float* gi, float* gf, float* gg, float* go, const float* c_in,
                                                     float* c_out, float* h_out, float* y, int n) {
  for (int j = 0; j < n; j += 16) {
    const __mmask16 m = n - j >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (n - j)) - 1u);
    const __m512 i = sigmoid512(_mm512_maskz_loadu_ps(m, gi + j));
    const __m512 f = sigmoid512(_mm512_maskz_loadu_ps(m, gf + j));
    const __m512 g = tanh512(_mm512_maskz_loadu_ps(m, gg + j));
    const __m512 o = sigmoid512(_mm512_maskz_loadu_ps(m, go + j));
    _mm512_mask_storeu_ps(gi + j, m, i);
    _mm512_mask_storeu_ps(gf + j, m, f);
    _mm512_mask_storeu_ps(gg + j, m, g);
    _mm512_mask_storeu_ps(go + j, m, o);
    const __m512 c = _mm512_add_ps(_mm512_mul_ps(f, _mm512_maskz_loadu_ps(m, c_in + j)), _mm512_mul_ps(i, g));
    _mm512_mask_storeu_ps(c_out + j, m, c);
    const __m512 h = _mm512_mul_ps(o, tanh512(c));
    _mm512_mask_storeu_ps(h_out + j, m, h);
    _mm512_mask_storeu_ps(y + j, m, h);
  }
}

// The LSTM cell's backward step over n units (cells.h's lstm_backward_step): tanh(c_t), the
// gate gradients and, when db is given, their sums, in one sweep. Every expression is
// evaluated in the order and rounding of cells.cc's loops (unfused, left to right).
__attribute__((target("avx512f"))) void lstm_cell_backward512(float* g, int H, const float* dh, const float* dc,
                                                              const float* c_in, const float* c_t, float* dh_prev,
                                                              float* dc_prev, float* db, int n) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int j = 0; j < n; j += 16) {
    const __mmask16 m = n - j >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (n - j)) - 1u);
    const __m512 i = _mm512_maskz_loadu_ps(m, g + j), f = _mm512_maskz_loadu_ps(m, g + H + j);
    const __m512 c_hat = _mm512_maskz_loadu_ps(m, g + 2 * H + j), og = _mm512_maskz_loadu_ps(m, g + 3 * H + j);
    const __m512 tc = tanh512(_mm512_maskz_loadu_ps(m, c_t + j));
    const __m512 dhj = _mm512_maskz_loadu_ps(m, dh + j);
    // dct = dc + dh * og * (1 - tc * tc)
    const __m512 dct = _mm512_add_ps(_mm512_maskz_loadu_ps(m, dc + j),
                                     _mm512_mul_ps(_mm512_mul_ps(dhj, og), _mm512_sub_ps(one, _mm512_mul_ps(tc, tc))));
    const __m512 d0 = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dct, c_hat), i), _mm512_sub_ps(one, i));
    const __m512 d1 = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dct, _mm512_maskz_loadu_ps(m, c_in + j)), f), _mm512_sub_ps(one, f));
    const __m512 d2 = _mm512_mul_ps(_mm512_mul_ps(dct, i), _mm512_sub_ps(one, _mm512_mul_ps(c_hat, c_hat)));
    const __m512 d3 = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dhj, tc), og), _mm512_sub_ps(one, og));
    _mm512_mask_storeu_ps(g + j, m, d0);
    _mm512_mask_storeu_ps(g + H + j, m, d1);
    _mm512_mask_storeu_ps(g + 2 * H + j, m, d2);
    _mm512_mask_storeu_ps(g + 3 * H + j, m, d3);
    _mm512_mask_storeu_ps(dc_prev + j, m, _mm512_mul_ps(dct, f));
    _mm512_mask_storeu_ps(dh_prev + j, m, _mm512_setzero_ps());
    if (db) {
      float* b = db + j;
      _mm512_mask_storeu_ps(b, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, b), d0));
      _mm512_mask_storeu_ps(b + H, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, b + H), d1));
      _mm512_mask_storeu_ps(b + 2 * H, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, b + 2 * H), d2));
      _mm512_mask_storeu_ps(b + 3 * H, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, b + 3 * H), d3));
    }
  }
}

// ---- AVX2 + FMA ---------------------------------------------------------------------------
__attribute__((target("avx2,fma"))) inline __m256 exp256(__m256 x_in) {
  __m256 x = _mm256_min_ps(_mm256_max_ps(x_in, _mm256_set1_ps(-87.3365f)), _mm256_set1_ps(88.3762f));
  const __m256 fx = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
  __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fmadd_ps(fx, _mm256_set1_ps(2.12194440e-4f), r);
  const __m256 z = _mm256_mul_ps(r, r);
  __m256 y = _mm256_set1_ps(1.9875691500E-4f);
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507E-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073E-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894E-2f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459E-1f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201E-1f));
  y = _mm256_fmadd_ps(y, z, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
  y = _mm256_mul_ps(y, _mm256_castsi256_ps(e));
  return _mm256_blendv_ps(y, x_in, _mm256_cmp_ps(x_in, x_in, _CMP_UNORD_Q));  // NaN stays NaN
}
__attribute__((target("avx2,fma"))) inline __m256 sigmoid256(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 y = _mm256_div_ps(one, _mm256_add_ps(one, exp256(_mm256_sub_ps(_mm256_setzero_ps(), x))));
  return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));  // NaN stays NaN
}
__attribute__((target("avx2,fma"))) inline __m256 tanh256(__m256 x) {
  const __m256 sign_mask = _mm256_castsi256_ps(_mm256_set1_epi32(INT32_MIN));
  const __m256 ax = _mm256_andnot_ps(sign_mask, x);
  const __m256 z = _mm256_mul_ps(x, x);
  __m256 p = _mm256_set1_ps(-5.70498872745E-3f);
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.06390887954E-2f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-5.37397155531E-2f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.33314422036E-1f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-3.33332819422E-1f));
  const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), x, x);
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 e = exp256(_mm256_mul_ps(_mm256_set1_ps(2.0f), _mm256_min_ps(ax, _mm256_set1_ps(10.0f))));
  const __m256 mag = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
  const __m256 big = _mm256_or_ps(mag, _mm256_and_ps(x, sign_mask));
  const __m256 y = _mm256_blendv_ps(big, small, _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_LT_OQ));
  return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));  // NaN stays NaN
}
template <__m256 (*Op)(__m256), void (*Tail)(float*, const float*, int)>
__attribute__((target("avx2,fma"))) void map256(float* out, const float* x, int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, Op(_mm256_loadu_ps(x + i)));
  if (i < n) Tail(out + i, x + i, n - i);
}
#endif

using MapFn = void (*)(float*, const float*, int);
using LstmCellFn = void (*)(float*, float*, float*, float*, const float*, float*, float*, float*, int);
using LstmBackFn = void (*)(float*, int, const float*, const float*, const float*, const float*, float*, float*, float*,
                            int);
struct Kernels {
  MapFn sigmoid, tanh, exp;
  const char* isa;
  LstmCellFn lstm_cell;  // nullptr: run the separate passes
  LstmBackFn lstm_back;  // likewise
};

Kernels kernels_for(const char* isa) {
#ifdef RNN_X86
  if (std::strcmp(isa, "avx512f") == 0) return {map512<sigmoid512>, map512<tanh512>, map512<exp512>, "avx512f", lstm_cell512, lstm_cell_backward512};
  if (std::strcmp(isa, "avx2") == 0)
    return {map256<sigmoid256, sigmoid_scalar>, map256<tanh256, tanh_scalar>, map256<exp256, exp_scalar>, "avx2", nullptr, nullptr};
#endif
  (void)isa;
  return {sigmoid_scalar, tanh_scalar, exp_scalar, "scalar", nullptr, nullptr};
}

bool supported(const char* isa) {
#ifdef RNN_X86
  if (std::strcmp(isa, "avx512f") == 0) return __builtin_cpu_supports("avx512f");
  if (std::strcmp(isa, "avx2") == 0) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return std::strcmp(isa, "scalar") == 0;
}

Kernels best() {
  for (const char* isa : {"avx512f", "avx2"})
    if (supported(isa)) return kernels_for(isa);
  return kernels_for("scalar");
}

Kernels active = best();

}  // namespace

void sigmoid_inplace(float* x, int n) { active.sigmoid(x, x, n); }
void tanh_inplace(float* x, int n) { active.tanh(x, x, n); }
void exp_inplace(float* x, int n) { active.exp(x, x, n); }
void tanh_to(float* out, const float* x, int n) { active.tanh(out, x, n); }
bool lstm_cell_forward_fused(float* gi, float* gf, float* gg, float* go, const float* c_in, float* c_out, float* h_out,
                             float* y, int n) {
  if (!active.lstm_cell) return false;
  active.lstm_cell(gi, gf, gg, go, c_in, c_out, h_out, y, n);
  return true;
}
bool lstm_cell_backward_fused(float* g, int H, const float* dh, const float* dc, const float* c_in, const float* c_t,
                              float* dh_prev, float* dc_prev, float* db, int n) {
  if (!active.lstm_back) return false;
  active.lstm_back(g, H, dh, dc, c_in, c_t, dh_prev, dc_prev, db, n);
  return true;
}
const char* vec_math_isa() { return active.isa; }
bool vec_math_force(const char* isa) {
  if (!supported(isa)) return false;
  active = kernels_for(isa);
  return true;
}

}  // namespace rnn
