// The lower-precision kernels of row_dot (row_dot.h): bf16 pairs through AVX512-BF16
// vdpbf16ps, and int8 dynamic quantization through AVX512-VNNI vpdpbusd (with the exact
// portable twin). Register blocks as in row_dot.cc: 4 rows × 4 weight rows, accumulator
// v[r + 4n], reduced sixteen at a time.
#include <cstring>

#include "row_dot_internal.h"

namespace rnn {
namespace row_dot_detail {
#ifdef RNN_X86
void store_bf16(uint16_t* o, const float* x, __mmask16 m);  // 16 floats → bf16 (AVX512-BF16)
#endif

namespace {

// Quantized (int8) or bf16 copies of every segment's rows, in the thread's scratch:
// rows[s * B + r] points at row r of segment s; sx likewise (int8 only).
template <bool kInt8>
void prepare_rows(int B, const DotSegment* segs, int nseg, RowScratch& sc) {
  size_t bytes = 0;
  for (int s = 0; s < nseg; ++s) bytes += static_cast<size_t>(B) * segs[s].K * (kInt8 ? 1 : 2);
  sc.bytes.resize(bytes + 64);
  sc.rows.resize(static_cast<size_t>(nseg) * B);
  sc.sx.resize(static_cast<size_t>(nseg) * B);
  uint8_t* at = sc.bytes.data();
  for (int s = 0; s < nseg; ++s)
    for (int r = 0; r < B; ++r) {
      const int K = segs[s].K;
      sc.rows[static_cast<size_t>(s) * B + r] = at;
      if (kInt8) {
        quantize_activation_row(segs[s].rows[r], K, at, &sc.sx[static_cast<size_t>(s) * B + r]);
        at += K;
      } else {
        uint16_t* o = reinterpret_cast<uint16_t*>(at);
#ifdef RNN_X86
        // The hardware's conversion (round to nearest even), the one vdpbf16ps is paired with.
        int k = 0;
        const float* x = segs[s].rows[r];
        for (; k + 16 <= K; k += 16) store_bf16(o + k, x + k, 0xFFFF);
        if (k < K) store_bf16(o + k, x + k, static_cast<__mmask16>((1u << (K - k)) - 1u));
#endif
        at += static_cast<size_t>(K) * 2;
      }
    }
}

}  // namespace

// ---- int8, portable: exact integer sums ------------------------------------------------------

void row_dot_int8_portable(int B, const DotSegment* segs, int nseg, int n0, int n1, const float* bias, float* out,
                           size_t ldo) {
  RowScratch& sc = row_scratch();
  prepare_rows<true>(B, segs, nseg, sc);
  for (int n = n0; n < n1; ++n)
    for (int r = 0; r < B; ++r) {
      float total = 0.0f;
      for (int s = 0; s < nseg; ++s) {
        const DotSegment& g = segs[s];
        const uint8_t* u = static_cast<const uint8_t*>(sc.rows[static_cast<size_t>(s) * B + r]);
        const int8_t* w = static_cast<const int8_t*>(g.w) + static_cast<size_t>(n) * g.ldw;
        int32_t acc = 0;
        for (int k = 0; k < g.K; ++k) acc += static_cast<int32_t>(u[k]) * w[k];
        const float v = int8_term(acc, g.wsum[n], sc.sx[static_cast<size_t>(s) * B + r], g.scale[n]);
        total = s == 0 ? v : total + v;
      }
      if (bias) total = total + bias[n];
      out[static_cast<size_t>(r) * ldo + n] = total;
    }
}

#ifdef RNN_X86
#define RNN_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))
#define RNN_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))

#define RNN_ACC(X) X(0, 0) X(1, 0) X(2, 0) X(3, 0) X(0, 1) X(1, 1) X(2, 1) X(3, 1) \
                   X(0, 2) X(1, 2) X(2, 2) X(3, 2) X(0, 3) X(1, 3) X(2, 3) X(3, 3)

RNN_BF16 void store_bf16(uint16_t* o, const float* x, __mmask16 m) {
  const __m256bh b = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, x));
  _mm256_mask_storeu_epi16(o, m, (__m256i)b);
}

// Stores lanes 4r + n (n < NB) of `sums` (+ bias) at out[r0 + r][n0 + n].
template <int RB, int NB>
RNN_AVX512 inline void store_block(__m512 sums, const float* bias, float* out, size_t ldo, int r0, int n0) {
  const __mmask8 cols = static_cast<__mmask8>((1u << NB) - 1u);
  if (bias) sums = _mm512_add_ps(sums, _mm512_broadcast_f32x4(_mm_maskz_loadu_ps(cols, bias + n0)));
  _mm_mask_storeu_ps(out + static_cast<size_t>(r0) * ldo + n0, cols, _mm512_extractf32x4_ps(sums, 0));
  if constexpr (RB > 1) _mm_mask_storeu_ps(out + static_cast<size_t>(r0 + 1) * ldo + n0, cols, _mm512_extractf32x4_ps(sums, 1));
  if constexpr (RB > 2) _mm_mask_storeu_ps(out + static_cast<size_t>(r0 + 2) * ldo + n0, cols, _mm512_extractf32x4_ps(sums, 2));
  if constexpr (RB > 3) _mm_mask_storeu_ps(out + static_cast<size_t>(r0 + 3) * ldo + n0, cols, _mm512_extractf32x4_ps(sums, 3));
}

// ---- bf16 pairs: vdpbf16ps ------------------------------------------------------------------

template <int RB, int NB>
RNN_BF16 void micro_bf16(const DotSegment* segs, int nseg, const RowScratch& sc, int B, int r0, int n0, const float* bias,
                         float* out, size_t ldo) {
#define RNN_DECL(r, n) __m512 v##r##n = _mm512_setzero_ps();
  RNN_ACC(RNN_DECL)
#undef RNN_DECL
  for (int s = 0; s < nseg; ++s) {
    const DotSegment& g = segs[s];
    const uint16_t* const* rows = reinterpret_cast<const uint16_t* const*>(sc.rows.data() + static_cast<size_t>(s) * B);
    const uint16_t* a0 = rows[r0];
    const uint16_t* a1 = RB > 1 ? rows[r0 + 1] : a0;
    const uint16_t* a2 = RB > 2 ? rows[r0 + 2] : a0;
    const uint16_t* a3 = RB > 3 ? rows[r0 + 3] : a0;
    const uint16_t* W = static_cast<const uint16_t*>(g.w);
    const uint16_t* w0 = W + static_cast<size_t>(n0) * g.ldw;
    const uint16_t* w1 = NB > 1 ? w0 + g.ldw : w0;
    const uint16_t* w2 = NB > 2 ? w0 + 2 * g.ldw : w0;
    const uint16_t* w3 = NB > 3 ? w0 + 3 * g.ldw : w0;
    const int K = g.K;
#define RNN_DP(acc, x, w) acc = _mm512_dpbf16_ps(acc, (__m512bh)(x), (__m512bh)(w));
#define RNN_ROW(r, ptr, LOAD)                                  \
  if constexpr (RB > r) {                                      \
    const __m512i x = LOAD(ptr);                               \
    RNN_DP(v##r##0, x, b0)                                     \
    if constexpr (NB > 1) RNN_DP(v##r##1, x, b1)               \
    if constexpr (NB > 2) RNN_DP(v##r##2, x, b2)               \
    if constexpr (NB > 3) RNN_DP(v##r##3, x, b3)               \
  }
#define RNN_BODY(LOAD)                                         \
  {                                                            \
    const __m512i b0 = LOAD(w0);                               \
    const __m512i b1 = NB > 1 ? LOAD(w1) : b0;                 \
    const __m512i b2 = NB > 2 ? LOAD(w2) : b0;                 \
    const __m512i b3 = NB > 3 ? LOAD(w3) : b0;                 \
    RNN_ROW(0, a0, LOAD) RNN_ROW(1, a1, LOAD) RNN_ROW(2, a2, LOAD) RNN_ROW(3, a3, LOAD) \
  }
    int k = 0;
#define RNN_FULL(p) _mm512_loadu_si512((p) + k)
    for (; k + 32 <= K; k += 32) RNN_BODY(RNN_FULL)
#undef RNN_FULL
    if (k < K) {  // the last pairs; an odd K's missing partner is a zero
      const __mmask32 m = static_cast<__mmask32>((1ull << (K - k)) - 1u);
#define RNN_PART(p) _mm512_maskz_loadu_epi16(m, (p) + k)
      RNN_BODY(RNN_PART)
#undef RNN_PART
    }
#undef RNN_BODY
#undef RNN_ROW
#undef RNN_DP
  }
  const __m512 t0 = level1(v00, v10), t1 = level1(v20, v30), t2 = level1(v01, v11), t3 = level1(v21, v31);
  const __m512 t4 = level1(v02, v12), t5 = level1(v22, v32), t6 = level1(v03, v13), t7 = level1(v23, v33);
  const __m512 sums = level4(level3(level2(t0, t1), level2(t2, t3)), level3(level2(t4, t5), level2(t6, t7)));
  store_block<RB, NB>(sums, bias, out, ldo, r0, n0);
}

// ---- int8 dynamic: vpdpbusd ----------------------------------------------------------------

template <int RB, int NB>
RNN_VNNI void micro_int8(const DotSegment* segs, int nseg, const RowScratch& sc, int B, int r0, int n0, const float* bias,
                         float* out, size_t ldo) {
  const __mmask8 cols = static_cast<__mmask8>((1u << NB) - 1u);
  __m512 total = _mm512_setzero_ps();
  for (int s = 0; s < nseg; ++s) {
    const DotSegment& g = segs[s];
#define RNN_DECL(r, n) __m512i v##r##n = _mm512_setzero_si512();
    RNN_ACC(RNN_DECL)
#undef RNN_DECL
    const uint8_t* const* rows = reinterpret_cast<const uint8_t* const*>(sc.rows.data() + static_cast<size_t>(s) * B);
    const uint8_t* a0 = rows[r0];
    const uint8_t* a1 = RB > 1 ? rows[r0 + 1] : a0;
    const uint8_t* a2 = RB > 2 ? rows[r0 + 2] : a0;
    const uint8_t* a3 = RB > 3 ? rows[r0 + 3] : a0;
    const int8_t* W = static_cast<const int8_t*>(g.w);
    const int8_t* w0 = W + static_cast<size_t>(n0) * g.ldw;
    const int8_t* w1 = NB > 1 ? w0 + g.ldw : w0;
    const int8_t* w2 = NB > 2 ? w0 + 2 * g.ldw : w0;
    const int8_t* w3 = NB > 3 ? w0 + 3 * g.ldw : w0;
    const int K = g.K;
#define RNN_DP(acc, x, w) acc = _mm512_dpbusd_epi32(acc, x, w);
#define RNN_ROW(r, ptr, LOAD)                                  \
  if constexpr (RB > r) {                                      \
    const __m512i x = LOAD(ptr);                               \
    RNN_DP(v##r##0, x, b0)                                     \
    if constexpr (NB > 1) RNN_DP(v##r##1, x, b1)               \
    if constexpr (NB > 2) RNN_DP(v##r##2, x, b2)               \
    if constexpr (NB > 3) RNN_DP(v##r##3, x, b3)               \
  }
#define RNN_BODY(LOAD)                                         \
  {                                                            \
    const __m512i b0 = LOAD(w0);                               \
    const __m512i b1 = NB > 1 ? LOAD(w1) : b0;                 \
    const __m512i b2 = NB > 2 ? LOAD(w2) : b0;                 \
    const __m512i b3 = NB > 3 ? LOAD(w3) : b0;                 \
    RNN_ROW(0, a0, LOAD) RNN_ROW(1, a1, LOAD) RNN_ROW(2, a2, LOAD) RNN_ROW(3, a3, LOAD) \
  }
    int k = 0;
#define RNN_FULL(p) _mm512_loadu_si512((p) + k)
    for (; k + 64 <= K; k += 64) RNN_BODY(RNN_FULL)
#undef RNN_FULL
    if (k < K) {
      const __mmask64 m = static_cast<__mmask64>((K - k) >= 64 ? ~0ull : (1ull << (K - k)) - 1u);
#define RNN_PART(p) _mm512_maskz_loadu_epi8(m, (p) + k)
      RNN_BODY(RNN_PART)
#undef RNN_PART
    }
#undef RNN_BODY
#undef RNN_ROW
#undef RNN_DP
    // Exact integer sums, lane 4r + n; then the element's float term for this segment.
#define f(x) _mm512_castsi512_ps(x)
    const __m512i t0 = ilevel(f(v00), f(v10), 1), t1 = ilevel(f(v20), f(v30), 1), t2 = ilevel(f(v01), f(v11), 1), t3 = ilevel(f(v21), f(v31), 1);
    const __m512i t4 = ilevel(f(v02), f(v12), 1), t5 = ilevel(f(v22), f(v32), 1), t6 = ilevel(f(v03), f(v13), 1), t7 = ilevel(f(v23), f(v33), 1);
    const __m512i u0 = ilevel(f(t0), f(t1), 2), u1 = ilevel(f(t2), f(t3), 2), u2 = ilevel(f(t4), f(t5), 2), u3 = ilevel(f(t6), f(t7), 2);
    const __m512i acc = ilevel(f(ilevel(f(u0), f(u1), 3)), f(ilevel(f(u2), f(u3), 3)), 4);
#undef f
    const __m512i wsum = _mm512_broadcast_i32x4(_mm_maskz_loadu_epi32(cols, g.wsum + n0));
    const __m512 corrected = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc, _mm512_slli_epi32(wsum, 7)));
    const float* sx = sc.sx.data() + static_cast<size_t>(s) * B + r0;
    const __m512 sxv = _mm512_setr_ps(sx[0], sx[0], sx[0], sx[0], RB > 1 ? sx[1] : 0.f, RB > 1 ? sx[1] : 0.f, RB > 1 ? sx[1] : 0.f,
                                      RB > 1 ? sx[1] : 0.f, RB > 2 ? sx[2] : 0.f, RB > 2 ? sx[2] : 0.f, RB > 2 ? sx[2] : 0.f,
                                      RB > 2 ? sx[2] : 0.f, RB > 3 ? sx[3] : 0.f, RB > 3 ? sx[3] : 0.f, RB > 3 ? sx[3] : 0.f,
                                      RB > 3 ? sx[3] : 0.f);
    const __m512 scale = _mm512_broadcast_f32x4(_mm_maskz_loadu_ps(cols, g.scale + n0));
    const __m512 term = _mm512_mul_ps(corrected, _mm512_mul_ps(sxv, scale));
    total = s == 0 ? term : _mm512_add_ps(total, term);
  }
  store_block<RB, NB>(total, bias, out, ldo, r0, n0);
}
#undef RNN_ACC

using LowFn = void (*)(const DotSegment*, int, const RowScratch&, int, int, int, const float*, float*, size_t);

template <bool kInt8, int RB>
LowFn low_for_nb(int nb) {
  switch (nb) {
    case 1: return kInt8 ? micro_int8<RB, 1> : micro_bf16<RB, 1>;
    case 2: return kInt8 ? micro_int8<RB, 2> : micro_bf16<RB, 2>;
    case 3: return kInt8 ? micro_int8<RB, 3> : micro_bf16<RB, 3>;
    default: return kInt8 ? micro_int8<RB, 4> : micro_bf16<RB, 4>;
  }
}
template <bool kInt8>
LowFn low_for(int rb, int nb) {
  switch (rb) {
    case 1: return low_for_nb<kInt8, 1>(nb);
    case 2: return low_for_nb<kInt8, 2>(nb);
    case 3: return low_for_nb<kInt8, 3>(nb);
    default: return low_for_nb<kInt8, 4>(nb);
  }
}

template <bool kInt8>
void run_blocks(int B, const DotSegment* segs, int nseg, int n0, int n1, const float* bias, float* out, size_t ldo) {
  RowScratch& sc = row_scratch();
  prepare_rows<kInt8>(B, segs, nseg, sc);
  for (int n = n0; n < n1; n += 4) {
    const int nb = n1 - n < 4 ? n1 - n : 4;
    for (int r = 0; r < B; r += 4) {
      const int rb = B - r < 4 ? B - r : 4;
      low_for<kInt8>(rb, nb)(segs, nseg, sc, B, r, n, bias, out, ldo);
    }
  }
}

void row_dot_bf16dp(int B, const DotSegment* segs, int nseg, int n0, int n1, const float* bias, float* out, size_t ldo) {
  run_blocks<false>(B, segs, nseg, n0, n1, bias, out, ldo);
}
void row_dot_int8_vnni(int B, const DotSegment* segs, int nseg, int n0, int n1, const float* bias, float* out, size_t ldo) {
  run_blocks<true>(B, segs, nseg, n0, n1, bias, out, ldo);
}
#else
void row_dot_bf16dp(int, const DotSegment*, int, int, int, const float*, float*, size_t) {}
void row_dot_int8_vnni(int, const DotSegment*, int, int, int, const float*, float*, size_t) {}
#endif

}  // namespace row_dot_detail
}  // namespace rnn
