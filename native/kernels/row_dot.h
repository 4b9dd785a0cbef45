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

// Weight storage and arithmetic. Float32 is the default: the fixed sequence above.
//
// Bf16 holds the upper 16 bits of each float32 weight (rounded to nearest even). Where the
// CPU has AVX512-BF16, activations are rounded to bf16 too and vdpbf16ps multiplies pairs
// (lane l takes the pairs k, k+1 with ⌊k/2⌋ ≡ l mod 16); elsewhere the weights are widened
// to float32 and the Float32 sequence runs on float32 activations. Either way one fixed
// sequence per element on a given CPU.
//
// Int8 is dynamic quantization (as PyTorch's quantize_dynamic and ONNX Runtime's
// DynamicQuantizeLSTM): weights are int8 q_w with one scale per row (w ≈ q_w · scale[n]) and
// their row sums; each call quantizes every activation row of a segment to int8 with its own
// scale (s_x = max|x| / 127, q_x = round(x / s_x)), and the products are exact integer sums
// Σ q_x q_w (AVX512-VNNI vpdpbusd where present, else plain integer arithmetic — the same
// result). An element is then Σ_seg float(Σ q_x q_w) · (s_x · scale[n]), + bias[n]: identical
// on every CPU.
enum class WeightFormat : int { Float32 = 0, Bf16 = 1, Int8 = 2 };

// One segment of a product: rows[r] points at row r's K values; w at the (N, K) matrix (its
// storage given by the format; ldw in elements); Int8: scale (N) per-row scales and wsum (N)
// per-row sums of the int8 weights, else nullptr.
struct DotSegment {
  const float* const* rows;  // (B) row pointers
  const void* w;
  size_t ldw;
  int K;
  WeightFormat format;
  const float* scale;    // Int8: (N)
  const int32_t* wsum;   // Int8: (N)
};

// The largest K an Int8 segment may have (its integer sums must fit in 32 bits).
constexpr int kInt8MaxK = 65536;

// out[r * ldo + n] = Σ over segments of row r · W row n, + bias[n] when bias is given, for
// r < B and n in [n0, n1). At most 2 segments.
void row_dot(int B, const DotSegment* segs, int nseg, int n0, int n1, const float* bias, float* out, size_t ldo);

// Which kernel row_dot uses for a format: "avx512f", "avx512bf16", "avx512vnni" or
// "portable". (For tests and benchmarks.)
const char* row_dot_isa(WeightFormat format);
// Test hook: use the portable kernel even where AVX-512 is present (false restores).
void row_dot_force_portable(bool portable);

// Int8 weights of rows (N, K) float32: q (N, K), scale (N) = max|row| / 127 (1 for a zero row),
// wsum (N) = Σ_k q[n][k].
void quantize_rows_int8(const float* w, int N, int K, int8_t* q, float* scale, int32_t* wsum);
void convert_bf16(const float* w, size_t n, uint16_t* out);

// Bf16 conversion: the upper half of the float32 after rounding to nearest even (NaN kept NaN).
uint16_t float_to_bf16(float x);
inline float bf16_to_float(uint16_t b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  __builtin_memcpy(&f, &u, sizeof f);
  return f;
}

}  // namespace rnn
