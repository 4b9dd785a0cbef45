// Gradient clipping over a list of gradient buffers, torch.nn.utils semantics.
#pragma once
#include <cstddef>

namespace rnn {

// The norm of all buffers taken as one vector: (sum |g|^p)^(1/p); p = +inf gives max |g|.
// Accumulates in double.
double total_norm(float* const* bufs, const size_t* sizes, size_t count, double p);

void scale_all(float* const* bufs, const size_t* sizes, size_t count, float factor);

// Clamps every element into [-clip, clip].
void clamp_all(float* const* bufs, const size_t* sizes, size_t count, float clip);

}  // namespace rnn
