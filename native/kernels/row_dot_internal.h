// Shared between row_dot.cc (dispatch, float32 and widened-bf16 kernels, the portable kernel)
// and row_dot_lowp.cc (the AVX512-BF16 and AVX512-VNNI kernels). Not for other callers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "row_dot.h"

namespace rnn {
namespace row_dot_detail {

bool has_avx512();  // F, BW, VL, DQ
bool has_bf16();    // has_avx512() and AVX512-BF16
bool has_vnni();    // has_avx512() and AVX512-VNNI

// Int8 activation quantization of one row: u (K) = round(x · 127 / max|x|) + 128 (round to
// nearest even; a zero row gives 128s), *sx = max|x| / 127. Identical in every kernel.
void quantize_activation_row(const float* x, int K, uint8_t* u, float* sx);

// The combination of an element's integer sum: float(acc − 128 · wsum) · (sx · scale).
inline float int8_term(int32_t acc, int32_t wsum, float sx, float scale) {
  return static_cast<float>(acc - 128 * wsum) * (sx * scale);
}

// Per-call scratch of a thread: quantized or bf16 copies of a call's activation rows.
struct RowScratch {
  std::vector<uint8_t> bytes;
  std::vector<const void*> rows;  // (nseg, B)
  std::vector<float> sx;          // (nseg, B)
};
RowScratch& row_scratch();

void row_dot_bf16dp(int B, const DotSegment* segs, int nseg, int n0, int n1, const float* bias, float* out, size_t ldo);
void row_dot_int8_vnni(int B, const DotSegment* segs, int nseg, int n0, int n1, const float* bias, float* out, size_t ldo);
void row_dot_int8_portable(int B, const DotSegment* segs, int nseg, int n0, int n1, const float* bias, float* out, size_t ldo);

}  // namespace row_dot_detail
}  // namespace rnn

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define RNN_X86 1
#define RNN_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))
namespace rnn {
namespace row_dot_detail {
// Sixteen vectors v[0..15] → one vector whose lane 4c + m is the sum of v[c + 4m], each sum
// by the tree in row_dot.h (the shuffles only move values; every add is one pair of the tree).
// Call as level4(level3(level2(level1(v0, v1), level1(v2, v3)), …), …) with v[r + 4n].
RNN_AVX512 inline __m512 level1(__m512 a, __m512 b) {  // lanes 0-7: a[i]+a[i+8]; 8-15: b[i]+b[i+8]
  return _mm512_add_ps(_mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 2, 3, 2)));
}
RNN_AVX512 inline __m512 level2(__m512 a, __m512 b) {  // quarter c: s8[i] + s8[i+4] of a's two, then b's two
  return _mm512_add_ps(_mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(2, 0, 2, 0)), _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
}
RNN_AVX512 inline __m512 level3(__m512 a, __m512 b) {  // per quarter: s4[i] + s4[i+2] of a, then of b
  return _mm512_add_ps(_mm512_shuffle_ps(a, b, _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_ps(a, b, _MM_SHUFFLE(3, 2, 3, 2)));
}
RNN_AVX512 inline __m512 level4(__m512 a, __m512 b) {  // per quarter: s2[0] + s2[1] of a's two, then b's two
  return _mm512_add_ps(_mm512_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)), _mm512_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
}
// The same movements on 32-bit integers (exact sums: any order would do).
RNN_AVX512 inline __m512i ilevel(__m512 a, __m512 b, int which) {
  const __m512 x = which == 1 ? _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(1, 0, 1, 0)) : which == 2 ? _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(2, 0, 2, 0))
                 : which == 3 ? _mm512_shuffle_ps(a, b, _MM_SHUFFLE(1, 0, 1, 0)) : _mm512_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
  const __m512 y = which == 1 ? _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 2, 3, 2)) : which == 2 ? _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 1, 3, 1))
                 : which == 3 ? _mm512_shuffle_ps(a, b, _MM_SHUFFLE(3, 2, 3, 2)) : _mm512_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
  return _mm512_add_epi32(_mm512_castps_si512(x), _mm512_castps_si512(y));
}
}  // namespace row_dot_detail
}  // namespace rnn
#endif
