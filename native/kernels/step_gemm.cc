#include "step_gemm.h"

#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define RNN_X86 1
#endif

namespace rnn {
namespace {

bool disabled_for_testing = false;

#ifdef RNN_X86
// R rows (≤ 8) × P panels (P = 1 or 2) of 16 columns; B loads are masked to each panel's width.
// Accumulators are named registers (an array of __m512 makes GCC spill them every k).
#define RNN_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
template <int R, int P>
__attribute__((target("avx512f"))) void micro(const float* A, size_t lda, const float* B0, const float* B1,
                                              size_t k_stride, int K, float* C0, float* C1, size_t ldc,
                                              __mmask16 m0, __mmask16 m1, bool accumulate) {
#define RNN_DECL(r) __m512 a0_##r = _mm512_setzero_ps(), a1_##r = _mm512_setzero_ps();
  RNN_ROWS(RNN_DECL)
#undef RNN_DECL
  for (int k = 0; k < K; ++k) {
    const __m512 b0 = _mm512_maskz_loadu_ps(m0, B0 + k * k_stride);
    const __m512 b1 = P == 2 ? _mm512_maskz_loadu_ps(m1, B1 + k * k_stride) : b0;
#define RNN_FMA(r)                                          \
    if constexpr (R > r) {                                  \
      const __m512 a = _mm512_set1_ps(A[r * lda + k]);      \
      a0_##r = _mm512_fmadd_ps(a, b0, a0_##r);              \
      if constexpr (P == 2) a1_##r = _mm512_fmadd_ps(a, b1, a1_##r); \
    }
    RNN_ROWS(RNN_FMA)
#undef RNN_FMA
  }
#define RNN_STORE(r)                                                                  \
  if constexpr (R > r) {                                                              \
    float* c0 = C0 + r * ldc;                                                         \
    if (accumulate) a0_##r = _mm512_add_ps(a0_##r, _mm512_maskz_loadu_ps(m0, c0));    \
    _mm512_mask_storeu_ps(c0, m0, a0_##r);                                            \
    if constexpr (P == 2) {                                                           \
      float* c1 = C1 + r * ldc;                                                       \
      if (accumulate) a1_##r = _mm512_add_ps(a1_##r, _mm512_maskz_loadu_ps(m1, c1));  \
      _mm512_mask_storeu_ps(c1, m1, a1_##r);                                          \
    }                                                                                 \
  }
  RNN_ROWS(RNN_STORE)
#undef RNN_STORE
}
#undef RNN_ROWS

using MicroFn = void (*)(const float*, size_t, const float*, const float*, size_t, int, float*, float*, size_t,
                         __mmask16, __mmask16, bool);
template <int P>
MicroFn micro_for(int rows) {
  switch (rows) {
    case 1: return micro<1, P>;
    case 2: return micro<2, P>;
    case 3: return micro<3, P>;
    case 4: return micro<4, P>;
    case 5: return micro<5, P>;
    case 6: return micro<6, P>;
    case 7: return micro<7, P>;
    default: return micro<8, P>;
  }
}

inline __mmask16 mask_of(int width) {
  return width >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << width) - 1u);
}
#endif

#ifdef RNN_X86
// One row at a time, two accumulators over alternate 16-float chunks: a single sequential
// stream per row. For weights streamed from L3 (one-step inference) this reads ~15 % faster
// than four rows side by side (83 → 97 GB/s per core here; bench/NOTES.md §8).
__attribute__((target("avx512f"))) void dot_row(const float* w, const float* x, int K, float* y, bool accumulate) {
  __m512 a = _mm512_setzero_ps(), b = _mm512_setzero_ps();
  int k = 0;
  for (; k + 32 <= K; k += 32) {
    a = _mm512_fmadd_ps(_mm512_loadu_ps(w + k), _mm512_loadu_ps(x + k), a);
    b = _mm512_fmadd_ps(_mm512_loadu_ps(w + k + 16), _mm512_loadu_ps(x + k + 16), b);
  }
  for (; k < K; k += 16) {
    const __mmask16 m = K - k >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (K - k)) - 1u);
    a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w + k), _mm512_maskz_loadu_ps(m, x + k), a);
  }
  const float v = _mm512_reduce_add_ps(_mm512_add_ps(a, b));
  *y = accumulate ? *y + v : v;
}
#endif

}  // namespace

void gemv_rows(const float* W, size_t ldw, const float* x, int K, float* y, int rows, bool accumulate) {
#ifdef RNN_X86
  for (int r = 0; r < rows; ++r) dot_row(W + r * ldw, x, K, y + r, accumulate);
#else
  (void)W; (void)ldw; (void)x; (void)K; (void)y; (void)rows; (void)accumulate;
#endif
}

bool step_gemm_available() {
#ifdef RNN_X86
  static const bool has = __builtin_cpu_supports("avx512f");
  return has && !disabled_for_testing;
#else
  return false;
#endif
}

void step_gemm_disable_for_testing(bool disabled) { disabled_for_testing = disabled; }

void step_gemm(int M, int K, const float* A, size_t lda, const Panels& B, int p0, int p1, float* C,
               size_t ldc, bool accumulate) {
#ifdef RNN_X86
  // Panel pairs outermost: their 2 × K × 16 floats stay in L1 while all row blocks use them.
  for (int p = p0; p < p1; p += 2) {
    const bool pair = p + 1 < p1;
    const float* B0 = B.data + p * B.panel_stride;
    const float* B1 = pair ? B.data + (p + 1) * B.panel_stride : B0;
    const __mmask16 m0 = mask_of(B.width[p]);
    const __mmask16 m1 = pair ? mask_of(B.width[p + 1]) : 0;
    // Row blocks of at most 8, balanced (M = 30 → 8, 8, 7, 7): each B load feeds 8 rows.
    const int nblocks = (M + 7) / 8;
    for (int blk = 0, r = 0; blk < nblocks; ++blk) {
      const int rows = (M - r) / (nblocks - blk) + ((M - r) % (nblocks - blk) ? 1 : 0);
      MicroFn fn = pair ? micro_for<2>(rows) : micro_for<1>(rows);
      fn(A + r * lda, lda, B0, B1, B.k_stride, K, C + r * ldc + B.dest[p], C + r * ldc + (pair ? B.dest[p + 1] : 0),
         ldc, m0, m1, accumulate);
      r += rows;
    }
  }
#else
  (void)M; (void)K; (void)A; (void)lda; (void)B; (void)p0; (void)p1; (void)C; (void)ldc; (void)accumulate;
#endif
}

void pack_column_panels(float* out, const float* W, size_t ldw, int K, const int* first, const int* width,
                        int panels) {
  for (int p = 0; p < panels; ++p) {
    float* dst = out + static_cast<size_t>(p) * K * 16;
    for (int k = 0; k < K; ++k) {
      const float* src = W + static_cast<size_t>(k) * ldw + first[p];
      std::memcpy(dst + k * 16, src, sizeof(float) * width[p]);
      if (width[p] < 16) std::memset(dst + k * 16 + width[p], 0, sizeof(float) * (16 - width[p]));
    }
  }
}

void pack_transposed_panels(float* out, const float* W, size_t ldw, int K, const int* first, const int* width,
                            int panels) {
  for (int p = 0; p < panels; ++p) {
    float* dst = out + static_cast<size_t>(p) * K * 16;
    std::memset(dst, 0, sizeof(float) * K * 16);
    for (int c = 0; c < width[p]; ++c) {
      const float* row = W + static_cast<size_t>(first[p] + c) * ldw;
      for (int k = 0; k < K; ++k) dst[k * 16 + c] = row[k];
    }
  }
}

}  // namespace rnn
