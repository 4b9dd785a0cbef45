#include "row_dot.h"

#include <cmath>
#include <cstring>

#include "row_dot_internal.h"

namespace rnn {
using namespace row_dot_detail;  // NOLINT: this file's own helpers

uint16_t float_to_bf16(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);  // NaN stays a (quiet) NaN
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest, ties to even
  return static_cast<uint16_t>(u >> 16);
}

namespace {

bool force_portable = false;

// ---- portable kernel: the same order of operations, one element at a time ----------------

float weight_at(const DotSegment& s, int n, int k) {
  const size_t at = static_cast<size_t>(n) * s.ldw + k;
  if (s.format == WeightFormat::Bf16) return bf16_to_float(static_cast<const uint16_t*>(s.w)[at]);
  return static_cast<const float*>(s.w)[at];
}

float element_portable(const DotSegment* segs, int nseg, int r, int n) {
  float p[16] = {0};
  for (int s = 0; s < nseg; ++s) {
    const float* a = segs[s].rows[r];
    for (int k = 0; k < segs[s].K; ++k) p[k & 15] = p[k & 15] + a[k] * weight_at(segs[s], n, k);
  }
  float s8[8], s4[4];
  for (int i = 0; i < 8; ++i) s8[i] = p[i] + p[i + 8];
  for (int i = 0; i < 4; ++i) s4[i] = s8[i] + s8[i + 4];
  const float s2a = s4[0] + s4[2], s2b = s4[1] + s4[3];
  return s2a + s2b;
}

// Float32 and bf16 (widened) weights.
void row_dot_portable(int B, const DotSegment* segs, int nseg, int n0, int n1, const float* bias, float* out,
                      size_t ldo) {
  for (int n = n0; n < n1; ++n)
    for (int r = 0; r < B; ++r) {
      float v = element_portable(segs, nseg, r, n);
      if (bias) v = v + bias[n];
      out[static_cast<size_t>(r) * ldo + n] = v;
    }
}

#ifdef RNN_X86

// Weight loaders: 16 consecutive weights of one row as floats (all lanes, or the masked ones).
struct LoadF32 {
  RNN_AVX512 static __m512 full(const void* w, size_t at) { return _mm512_loadu_ps(static_cast<const float*>(w) + at); }
  RNN_AVX512 static __m512 part(const void* w, size_t at, __mmask16 m) {
    return _mm512_maskz_loadu_ps(m, static_cast<const float*>(w) + at);
  }
};
struct LoadBf16 {
  RNN_AVX512 static __m512 widen(__m256i x) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(x), 16)); }
  RNN_AVX512 static __m512 full(const void* w, size_t at) {
    return widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(w) + at)));
  }
  RNN_AVX512 static __m512 part(const void* w, size_t at, __mmask16 m) {
    return widen(_mm256_maskz_loadu_epi16(m, static_cast<const uint16_t*>(w) + at));
  }
};
// The accumulators: v[r + 4n] is row r0 + r against weight row n0 + n (so that lane 4r + n
// of the reduced vector is out[r][n], and each row's four results are one 128-bit quarter).
#define RNN_ACC(X) X(0, 0) X(1, 0) X(2, 0) X(3, 0) X(0, 1) X(1, 1) X(2, 1) X(3, 1) \
                   X(0, 2) X(1, 2) X(2, 2) X(3, 2) X(0, 3) X(1, 3) X(2, 3) X(3, 3)

// RB rows × NB weight rows (each ≤ 4); accumulators outside the block stay zero and their
// lanes are not stored.
template <int RB, int NB, typename Load>
RNN_AVX512 void micro(const DotSegment* segs, int nseg, int r0, int n0, const float* bias, float* out, size_t ldo) {
#define RNN_DECL(r, n) __m512 v##r##n = _mm512_setzero_ps();
  RNN_ACC(RNN_DECL)
#undef RNN_DECL
  for (int s = 0; s < nseg; ++s) {
    const DotSegment& g = segs[s];
    const float* a0 = g.rows[r0];
    const float* a1 = RB > 1 ? g.rows[r0 + 1] : a0;
    const float* a2 = RB > 2 ? g.rows[r0 + 2] : a0;
    const float* a3 = RB > 3 ? g.rows[r0 + 3] : a0;
    const size_t w0 = static_cast<size_t>(n0) * g.ldw;
    const size_t w1 = NB > 1 ? w0 + g.ldw : w0, w2 = NB > 2 ? w0 + 2 * g.ldw : w0, w3 = NB > 3 ? w0 + 3 * g.ldw : w0;
    const int K = g.K;
#define RNN_BODY(LOADA, LOADW)                                                         \
  {                                                                                    \
    const __m512 b0 = LOADW(w0);                                                       \
    const __m512 b1 = NB > 1 ? LOADW(w1) : b0;                                         \
    const __m512 b2 = NB > 2 ? LOADW(w2) : b0;                                         \
    const __m512 b3 = NB > 3 ? LOADW(w3) : b0;                                         \
    RNN_ROW(0, a0, LOADA) RNN_ROW(1, a1, LOADA) RNN_ROW(2, a2, LOADA) RNN_ROW(3, a3, LOADA) \
  }
#define RNN_ROW(r, ptr, LOADA)                                    \
  if constexpr (RB > r) {                                         \
    const __m512 x = LOADA(ptr);                                  \
    v##r##0 = _mm512_fmadd_ps(x, b0, v##r##0);                    \
    if constexpr (NB > 1) v##r##1 = _mm512_fmadd_ps(x, b1, v##r##1); \
    if constexpr (NB > 2) v##r##2 = _mm512_fmadd_ps(x, b2, v##r##2); \
    if constexpr (NB > 3) v##r##3 = _mm512_fmadd_ps(x, b3, v##r##3); \
  }
    int k = 0;
#define RNN_LA_FULL(p) _mm512_loadu_ps((p) + k)
#define RNN_LW_FULL(o) Load::full(g.w, (o) + k)
    for (; k + 16 <= K; k += 16) RNN_BODY(RNN_LA_FULL, RNN_LW_FULL)
    if (k < K) {
      const __mmask16 m = static_cast<__mmask16>((1u << (K - k)) - 1u);
#define RNN_LA_PART(p) _mm512_maskz_loadu_ps(m, (p) + k)
#define RNN_LW_PART(o) Load::part(g.w, (o) + k, m)
      RNN_BODY(RNN_LA_PART, RNN_LW_PART)
#undef RNN_LA_PART
#undef RNN_LW_PART
    }
#undef RNN_LA_FULL
#undef RNN_LW_FULL
#undef RNN_ROW
#undef RNN_BODY
  }
  // The tree, sixteen sums at a time.
  const __m512 t0 = level1(v00, v10), t1 = level1(v20, v30), t2 = level1(v01, v11), t3 = level1(v21, v31);
  const __m512 t4 = level1(v02, v12), t5 = level1(v22, v32), t6 = level1(v03, v13), t7 = level1(v23, v33);
  const __m512 u0 = level2(t0, t1), u1 = level2(t2, t3), u2 = level2(t4, t5), u3 = level2(t6, t7);
  __m512 sums = level4(level3(u0, u1), level3(u2, u3));
  const __mmask8 cols = static_cast<__mmask8>((1u << NB) - 1u);
  if (bias) sums = _mm512_add_ps(sums, _mm512_broadcast_f32x4(_mm_maskz_loadu_ps(cols, bias + n0)));
  _mm_mask_storeu_ps(out + static_cast<size_t>(r0) * ldo + n0, cols, _mm512_extractf32x4_ps(sums, 0));
  if constexpr (RB > 1) _mm_mask_storeu_ps(out + static_cast<size_t>(r0 + 1) * ldo + n0, cols, _mm512_extractf32x4_ps(sums, 1));
  if constexpr (RB > 2) _mm_mask_storeu_ps(out + static_cast<size_t>(r0 + 2) * ldo + n0, cols, _mm512_extractf32x4_ps(sums, 2));
  if constexpr (RB > 3) _mm_mask_storeu_ps(out + static_cast<size_t>(r0 + 3) * ldo + n0, cols, _mm512_extractf32x4_ps(sums, 3));
}
#undef RNN_ACC

using MicroFn = void (*)(const DotSegment*, int, int, int, const float*, float*, size_t);

template <typename Load, int RB>
MicroFn micro_for_nb(int nb) {
  switch (nb) {
    case 1: return micro<RB, 1, Load>;
    case 2: return micro<RB, 2, Load>;
    case 3: return micro<RB, 3, Load>;
    default: return micro<RB, 4, Load>;
  }
}
template <typename Load>
MicroFn micro_for(int rb, int nb) {
  switch (rb) {
    case 1: return micro_for_nb<Load, 1>(nb);
    case 2: return micro_for_nb<Load, 2>(nb);
    case 3: return micro_for_nb<Load, 3>(nb);
    default: return micro_for_nb<Load, 4>(nb);
  }
}

template <typename Load>
void row_dot_avx512(int B, const DotSegment* segs, int nseg, int n0, int n1, const float* bias, float* out, size_t ldo) {
  // Weight rows outermost: a block of four stays in L1 while every row block of the batch
  // passes over it (the batch's rows come from L2).
  for (int n = n0; n < n1; n += 4) {
    const int nb = n1 - n < 4 ? n1 - n : 4;
    for (int r = 0; r < B; r += 4) {
      const int rb = B - r < 4 ? B - r : 4;
      micro_for<Load>(rb, nb)(segs, nseg, r, n, bias, out, ldo);
    }
  }
}

#endif

}  // namespace

namespace row_dot_detail {
bool has_avx512() {
#ifdef RNN_X86
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  return has;
#else
  return false;
#endif
}
bool has_bf16() {
#ifdef RNN_X86
  static const bool has = has_avx512() && __builtin_cpu_supports("avx512bf16");
  return has;
#else
  return false;
#endif
}
bool has_vnni() {
#ifdef RNN_X86
  static const bool has = has_avx512() && __builtin_cpu_supports("avx512vnni");
  return has;
#else
  return false;
#endif
}

void quantize_activation_row(const float* x, int K, uint8_t* u, float* sx) {
  float max = 0.0f;
  for (int k = 0; k < K; ++k) {
    const float a = std::fabs(x[k]);
    max = a > max ? a : max;  // NaN never wins: it gives garbage, not undefined behaviour
  }
  const float inv = max > 0.0f ? 127.0f / max : 0.0f;
  for (int k = 0; k < K; ++k) {
    float q = std::nearbyint(x[k] * inv);  // the default rounding: to nearest, ties to even
    q = q > 127.0f ? 127.0f : q < -127.0f ? -127.0f : q;
    u[k] = static_cast<uint8_t>(static_cast<int>(q == q ? q : 0.0f) + 128);
  }
  *sx = max / 127.0f;
}

RowScratch& row_scratch() {
  thread_local RowScratch scratch;
  return scratch;
}
}  // namespace row_dot_detail

void row_dot(int B, const DotSegment* segs, int nseg, int n0, int n1, const float* bias, float* out, size_t ldo) {
  if (B <= 0 || n1 <= n0) return;
  const WeightFormat f = segs[0].format;
  if (f == WeightFormat::Int8) {
    if (has_vnni() && !force_portable) row_dot_int8_vnni(B, segs, nseg, n0, n1, bias, out, ldo);
    else row_dot_int8_portable(B, segs, nseg, n0, n1, bias, out, ldo);
    return;
  }
  if (f == WeightFormat::Bf16 && has_bf16() && !force_portable) {
    row_dot_bf16dp(B, segs, nseg, n0, n1, bias, out, ldo);
    return;
  }
#ifdef RNN_X86
  if (has_avx512() && !force_portable) {
    if (f == WeightFormat::Bf16) row_dot_avx512<LoadBf16>(B, segs, nseg, n0, n1, bias, out, ldo);
    else row_dot_avx512<LoadF32>(B, segs, nseg, n0, n1, bias, out, ldo);
    return;
  }
#endif
  row_dot_portable(B, segs, nseg, n0, n1, bias, out, ldo);
}

const char* row_dot_isa(WeightFormat format) {
  if (force_portable) return "portable";
  if (format == WeightFormat::Int8) return has_vnni() ? "avx512vnni" : "portable";
  if (format == WeightFormat::Bf16 && has_bf16()) return "avx512bf16";
  return has_avx512() ? "avx512f" : "portable";
}

void convert_bf16(const float* w, size_t n, uint16_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = float_to_bf16(w[i]);
}

void quantize_rows_int8(const float* w, int N, int K, int8_t* q, float* scale, int32_t* wsum) {
  for (int n = 0; n < N; ++n) {
    const float* row = w + static_cast<size_t>(n) * K;
    float max = 0.0f;
    for (int k = 0; k < K; ++k) max = std::fabs(row[k]) > max ? std::fabs(row[k]) : max;
    const float s = max > 0.0f ? max / 127.0f : 1.0f;
    int32_t sum = 0;
    for (int k = 0; k < K; ++k) {
      float v = std::nearbyint(row[k] / s);
      v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : (v == v ? v : 0.0f);
      q[static_cast<size_t>(n) * K + k] = static_cast<int8_t>(v);
      sum += static_cast<int32_t>(v);
    }
    scale[n] = s;
    wsum[n] = sum;
  }
}

void row_dot_force_portable(bool portable) { force_portable = portable; }

}  // namespace rnn
