// Thin, type-generic wrappers over CBLAS so the kernels can be templates over float
// (production) and double (finite-difference gradient checks). Row-major throughout.
#pragma once
#include <cblas.h>

#include <cstddef>

#include "thread_pool.h"

namespace rnn {

// C (M,N) = alpha * op(A) (M,K) * op(B) (K,N) + beta * C, row-major with leading dims.
inline void gemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A,
                 int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  if (M == 1 && !transA) {  // one row: GEMV (OpenBLAS 0.3.21's SGEMM is ~10x slower at M = 1)
    cblas_sgemv(CblasRowMajor, transB ? CblasNoTrans : CblasTrans, transB ? N : K, transB ? K : N, alpha, B, ldb,
                A, 1, beta, C, 1);
    return;
  }
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
              M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
inline void gemm(bool transA, bool transB, int M, int N, int K, double alpha, const double* A,
                 int lda, const double* B, int ldb, double beta, double* C, int ldc) {
  cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
              M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// y (M) = alpha * A (M,N) x (N) + beta * y, or with A transposed: y (N) = alpha * A^T x (M).
inline void gemv(bool transA, int M, int N, float alpha, const float* A, int lda, const float* x,
                 float beta, float* y) {
  cblas_sgemv(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, M, N, alpha, A, lda, x, 1, beta, y, 1);
}
inline void gemv(bool transA, int M, int N, double alpha, const double* A, int lda, const double* x,
                 double beta, double* y) {
  cblas_dgemv(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, M, N, alpha, A, lda, x, 1, beta, y, 1);
}

// Number of OpenBLAS threads (process-wide) and its build description.
void blas_set_num_threads(int n);
int blas_get_num_threads();
const char* blas_config();

// OpenBLAS runs single-threaded (set when the addon loads), which makes concurrent calls from
// several threads safe: Debian's 0.3.21 can corrupt results only when multithreaded level-3
// calls of different transpose variants run at once. Entry points take a compute-budget token
// (compute_budget.h) instead of a process-wide lock.

// gemm() split across the kernel thread pool by output columns (or rows, whichever is
// longer), each part one single-threaded BLAS call. Small products run inline.
template <typename F>
void par_gemm(bool transA, bool transB, int M, int N, int K, F alpha, const F* A, int lda, const F* B,
              int ldb, F beta, F* C, int ldc) {
  const double flops = 2.0 * M * N * K;
  if (flops < 4e6 || ThreadPool::instance().threads() == 1) {
    gemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  if (N >= M) {
    parallel_ranges(N, 16, 32, [&](int c0, int c1) {
      gemm(transA, transB, M, c1 - c0, K, alpha, A, lda, transB ? B + static_cast<size_t>(c0) * ldb : B + c0, ldb,
           beta, C + c0, ldc);
    });
  } else {
    parallel_ranges(M, 16, 32, [&](int r0, int r1) {
      gemm(transA, transB, r1 - r0, N, K, alpha, transA ? A + r0 : A + static_cast<size_t>(r0) * lda, lda, B, ldb,
           beta, C + static_cast<size_t>(r0) * ldc, ldc);
    });
  }
}
}  // namespace rnn
