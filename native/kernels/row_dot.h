// Batch-invariant products for decoding: out[r][n] = Σ_seg Σ_k A_seg[r][k] · W_seg[n][k]
// (+ bias[n]), every element computed by one fixed sequence of operations whatever the
// number of rows, the row's position in the batch and the thread that computes it. A request
// decoded in a batch of 64 therefore gets bit for bit the numbers it gets alone — which a
// BLAS GEMM does not promise (its blocking, and at one row the switch to GEMV, change the
// order of the sums).
//
// The fixed sequence: sixteen partial sums (lane l takes k ≡ l mod 16, in increasing k,
// fused multiply-adds, continuing across segments in order), then one reduction tree —
// s8[i] = p[i] + p[i+8], s4[i] = s8[i] + s8[i+4], s2[i] = s4[i] + s4[i+2], s = s2[0] + s2[1] —
// then + bias[n]. The AVX-512 kernel reduces sixteen elements at once by a transpose that
// adds exactly those pairs; the portable kernel (other CPUs) follows the same order with a
// multiply and an add where the AVX-512 one fuses them, so results differ between the two
// kinds of CPU but never within one.
//
// W is row-major (N, K), PyTorch's layout for weight_ih, weight_hh and a Linear's weight,
// read in place: nothing is packed, so a model whose weights change needs nothing redone.
#pragma once
#include <cstddef>
#include <cstdint>

namespace rnn {

// Weight storage. Float32 is the default; Bf16 holds the upper 16 bits of each float32
// (round to nearest even), Int8 holds q with w ≈ q · scale[n] (one scale per weight row).
enum class WeightFormat : int { Float32 = 0, Bf16 = 1, Int8 = 2 };

// One segment of a product: rows[r] points at row r's K values; w at the (N, K) matrix (its
// storage given by the format; ldw in elements); scale (N) for Int8, else nullptr.
struct DotSegment {
  const float* const* rows;  // (B) row pointers
  const void* w;
  size_t ldw;
  int K;
  WeightFormat format;
  const float* scale;  // Int8: (N) per-row scales
};

// out[r * ldo + n] = Σ over segments of row r · W row n, + bias[n] when bias is given, for
// r < B and n in [n0, n1). At most 2 segments.
void row_dot(int B, const DotSegment* segs, int nseg, int n0, int n1, const float* bias, float* out, size_t ldo);

// Which kernel row_dot uses: "avx512f" or "portable". (For tests and benchmarks.)
const char* row_dot_isa();
// Test hook: use the portable kernel even where AVX-512 is present (false restores).
void row_dot_force_portable(bool portable);

// Bf16 conversion: the upper half of the float32 after rounding to nearest even (NaN kept NaN).
uint16_t float_to_bf16(float x);
inline float bf16_to_float(uint16_t b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  __builtin_memcpy(&f, &u, sizeof f);
  return f;
}

}  // namespace rnn
