// Embedding lookup, the linear layer and fused softmax cross-entropy.
#pragma once
#include <cstddef>
#include <cstdint>

namespace rnn {

// out (N, E) = weight[ids] with weight (V, E); ids (N) already checked to be in [0, V).
template <typename F>
void embedding_forward(F* out, const F* weight, const int32_t* ids, size_t N, int E);
// dweight (V, E) += scatter of dout (N, E) by ids; rows with id == padding_idx are skipped.
template <typename F>
void embedding_backward(F* dweight, const F* dout, const int32_t* ids, size_t N, int E, int32_t padding_idx);

// y (N, out) = x (N, in) W^T (W is (out, in)) + b.
template <typename F>
void linear_forward(F* y, const F* x, const F* W, const F* b, int N, int in, int out);
// dW (out, in) += dy^T x; db (out) += column sums of dy; dx (N, in) = dy W; each only when set.
template <typename F>
void linear_backward(F* dx, F* dW, F* db, const F* dy, const F* x, const F* W, int N, int in, int out);

// Mean cross-entropy over the rows whose target != ignore_index, with label smoothing
// (torch.nn.functional.cross_entropy). grad (N, C) receives d(loss)/d(logits) (zero on
// ignored rows). Returns the loss (NaN when every row is ignored) and sets *valid_rows.
template <typename F>
double cross_entropy(F* grad, const F* logits, const int32_t* targets, int N, int C, int32_t ignore_index,
                     double label_smoothing, int* valid_rows);

}  // namespace rnn
