// The elementwise, reduction, softmax, shape and normalisation ops of the functional API
// (lib/nn/functional), forward and backward, for float and double. Single-threaded loops
// that -O3 vectorises; the products go through BLAS (blas.h). Sizes are element counts.
#pragma once
#include <cstddef>
#include <cstdint>

namespace rnn {

enum class BinaryOp : int { Add = 0, Sub = 1, Mul = 2 };
enum class UnaryOp : int { Tanh = 0, Sigmoid = 1, Relu = 2 };

// out (n) = a (n) op b (nb), b repeated over a's leading dims (n a multiple of nb).
template <typename F>
void binary_forward(BinaryOp op, F* out, const F* a, const F* b, size_t n, size_t nb);
// From g = dL/dout: da (n) = g (Add, Sub) or g * b (Mul), when da is set; db (nb) = the sum over
// the leading dims of g (Add), -g (Sub) or g * a (Mul), when db is set. Both written, not added.
template <typename F>
void binary_backward(BinaryOp op, F* da, F* db, const F* g, const F* a, const F* b, size_t n, size_t nb);

template <typename F>
void unary_forward(UnaryOp op, F* out, const F* x, size_t n);
// dx = g * act'(x), from the forward's output y.
template <typename F>
void unary_backward(UnaryOp op, F* dx, const F* g, const F* y, size_t n);

// Softmax (or log-softmax) over the middle dim of x viewed as (outer, n, inner).
template <typename F>
void softmax_forward(bool log, F* out, const F* x, size_t outer, size_t n, size_t inner);
// From the forward's output y: dx = y (g - Σ g y) for softmax, g - exp(y) Σ g for log-softmax.
template <typename F>
void softmax_backward(bool log, F* dx, const F* g, const F* y, size_t outer, size_t n, size_t inner);

// out = mask ? value : x (mask 1 = replace). With value 0 it is also the backward.
template <typename F>
void masked_fill(F* out, const F* x, const uint8_t* mask, F value, size_t n);

// Σ x, accumulated in double.
template <typename F>
double sum(const F* x, size_t n);
// dst += src.
template <typename F>
void accumulate(F* dst, const F* src, size_t n);
// out = x * factor.
template <typename F>
void scale(F* out, const F* x, F factor, size_t n);

// rows × cols block copy: dst[r * dst_stride + c] (=|+=) src[r * src_stride + c]; the
// pieces of cat, narrow and their backward passes.
template <typename F>
void copy_block(F* dst, size_t dst_stride, const F* src, size_t src_stride, size_t rows, size_t cols, bool add);

// x viewed as (A, N0, M, N1, C) → out (A, N1, M, N0, C): transpose of two dims.
template <typename F>
void swap_dims(F* out, const F* x, size_t A, size_t N0, size_t M, size_t N1, size_t C);

// x viewed as (outer, n, inner); out (outer, k, inner) = x[:, index, :]; index (k) in [0, n).
template <typename F>
void gather(F* out, const F* x, const int32_t* index, size_t k, size_t outer, size_t n, size_t inner);
// dx (outer, n, inner) += scatter of g (outer, k, inner) by index.
template <typename F>
void scatter_add(F* dx, const F* g, const int32_t* index, size_t k, size_t outer, size_t n, size_t inner);

// C (batch, M, N) = op(A) (M, K) · op(B) (K, N) (+ C when accumulate), per batch entry;
// A is stored (M, K), or (K, M) with transA; B (K, N), or (N, K) with transB.
template <typename F>
void batched_matmul(F* C, const F* A, const F* B, int batch, int M, int N, int K, bool transA, bool transB,
                    bool accumulate);

// Dropout's mask: 0 with probability p, else 1 / (1 - p), from a seed (random.h).
template <typename F>
void dropout_mask(F* mask, size_t n, double p, uint64_t seed);

// Layer normalisation over the last n elements of each of `rows` rows:
// out = (x - mean) * rstd * weight + bias (weight, bias (n) or nullptr); mean, rstd (rows) saved.
template <typename F>
void layer_norm_forward(F* out, F* mean, F* rstd, const F* x, const F* weight, const F* bias, size_t rows,
                        size_t n, double eps);
// dx (rows, n) written; dweight, dbias (n) ADDED into when set.
template <typename F>
void layer_norm_backward(F* dx, F* dweight, F* dbias, const F* g, const F* x, const F* mean, const F* rstd,
                         const F* weight, size_t rows, size_t n);

// Losses; each returns the loss and writes d(loss)/d(input) (scaled by 1 / count, as the
// mean reduction is). NaN when no row counts.
// nll over log-probabilities logp (N, C): mean of -logp[n, t_n] over rows with t_n != ignore.
template <typename F>
double nll_loss(F* grad, const F* logp, const int32_t* targets, int N, int C, int32_t ignore_index);
// mean (x - y)^2.
template <typename F>
double mse_loss(F* grad, const F* x, const F* y, size_t n);
// mean of -[w_p y log σ(x) + (1 - y) log(1 - σ(x))], w_p = pos_weight[column] (or 1), with
// columns the last dim of size nc.
template <typename F>
double bce_with_logits(F* grad, const F* x, const F* y, const F* pos_weight, size_t n, size_t nc);

// The k largest values of each row of x (rows, n), in descending order (the lower index first
// on ties), with their indices: values, indices (rows, k). k <= n.
template <typename F>
void topk_rows(F* values, int32_t* indices, const F* x, size_t rows, size_t n, size_t k);

// Additive (Bahdanau) attention scores: s[b, t, j] = Σ_a v[a] tanh(q[b, t, a] + k[b, j, a]),
// q (B, Tq, A), k (B, S, A), v (A) → s (B, Tq, S). tanh_saved (B, Tq, S, A) keeps the tanh
// values for backward (nullptr: not kept).
template <typename F>
void additive_scores(F* s, F* tanh_saved, const F* q, const F* k, const F* v, size_t B, size_t Tq, size_t S,
                     size_t A);
// From g = dL/ds (B, Tq, S) and the saved tanh values: dq (B, Tq, A), dk (B, S, A) written,
// dv (A) ADDED into; each only when set.
template <typename F>
void additive_scores_backward(F* dq, F* dk, F* dv, const F* g, const F* tanh_saved, const F* v, size_t B, size_t Tq,
                              size_t S, size_t A);

// Index of the largest value of each row of (rows, n) (the first one on ties).
template <typename F>
void argmax_rows(int32_t* out, const F* x, size_t rows, size_t n);

}  // namespace rnn
