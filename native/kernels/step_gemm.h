// The per-time-step GEMM of the recurrent layers, C (M, ·) (+)= A (M, K) · panels, for small
// M (the batch). Panels are 16-column slices of the right-hand matrix; each lands at its own
// output column, so a thread can compute exactly the gate columns of its hidden units and
// run their elementwise pass without waiting for the others. An AVX-512 microkernel
// (8 rows × 32 columns of accumulators, weights streamed from L2) where the CPU has it.
#pragma once
#include <cstddef>

namespace rnn {

struct Panels {
  const float* data;    // panel p starts at data + p * panel_stride
  size_t panel_stride;  // floats between the first elements of consecutive panels
  size_t k_stride;      // floats between consecutive k within a panel
  const int* dest;      // (panels) output column of each panel's first column
  const int* width;     // (panels) valid columns, 1..16; the rest is never read or written
};

bool step_gemm_available();  // the CPU has AVX-512F (and it is not disabled for testing)
void step_gemm_disable_for_testing(bool disabled);

// C[r][dest[p] + c] (+)= sum_k A[r][k] * panel_p[k][c] for r < M, p in [p0, p1), c < width[p].
void step_gemm(int M, int K, const float* A, size_t lda, const Panels& B, int p0, int p1, float* C,
               size_t ldc, bool accumulate);

// y[r] (+)= dot(W[r, 0:K], x) for r < rows, W row-major with leading dimension ldw: the
// batch-1 step product, reading W in place (no packing, so nothing to redo when weights
// change). AVX-512, one row at a time as one sequential stream (see dot_row). Requires
// step_gemm_available().
void gemv_rows(const float* W, size_t ldw, const float* x, int K, float* y, int rows, bool accumulate);

// Packs 16-column slices of W (K, ldw) row-major: panel p holds, for each k, W[k][first[p] + c]
// for c < width[p] (zero-padded to 16). out needs panels * K * 16 floats.
void pack_column_panels(float* out, const float* W, size_t ldw, int K, const int* first, const int* width,
                        int panels);

// Packs the transpose of the rows of W (rows, K) row-major into panels of 16 rows each:
// out panel p holds, for each k, W[row0(p) + c][k] for c < 16 (zero-padded). `rows_of(p)`
// is given by first[p] and width[p]. out needs panels * K * 16 floats.
void pack_transposed_panels(float* out, const float* W, size_t ldw, int K, const int* first,
                            const int* width, int panels);

}  // namespace rnn
