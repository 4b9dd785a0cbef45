// Embedding lookup, the linear layer and fused softmax cross-entropy.
#pragma once
#include <cstddef>
#include <cstdint>

namespace rnn {

// out (N, E) = weight[ids] with weight (V, E); ids (N) already checked to be in [0, V).
void embedding_forward(float* out, const float* weight, const int32_t* ids, size_t N, int E);
// dweight (V, E) += scatter of dout (N, E) by ids; rows with id == padding_idx are skipped.
void embedding_backward(float* dweight, const float* dout, const int32_t* ids, size_t N, int E,
                        int32_t padding_idx);

// y (N, out) = x (N, in) W^T (W is (out, in)) + b.
void linear_forward(float* y, const float* x, const float* W, const float* b, int N, int in, int out);
// dW (out, in) += dy^T x; db (out) += column sums of dy; dx (N, in) = dy W (when dx is set).
void linear_backward(float* dx, float* dW, float* db, const float* dy, const float* x, const float* W,
                     int N, int in, int out);

// Mean cross-entropy over the rows whose target != ignore_index, with label smoothing
// (torch.nn.functional.cross_entropy). grad (N, C) receives d(loss)/d(logits) (zero on
// ignored rows). Returns the loss (NaN when every row is ignored) and sets *valid_rows.
double cross_entropy(float* grad, const float* logits, const int32_t* targets, int N, int C,
                     int32_t ignore_index, double label_smoothing, int* valid_rows);

}  // namespace rnn
