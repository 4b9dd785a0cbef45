// Eval-mode forward of one direction of one recurrent layer with its weights in a lower
// precision (row_dot's Bf16 or Int8 formats, row_dot.h): per step, one row_dot of
// [x_t, h_{t-1}] against [W_ih, W_hh] for the gate columns of each thread's hidden units
// (GRU: its input and recurrent parts apart), then the cell's fused elementwise pass, one
// barrier per step. Nothing is packed: the converted weights are read in place, and each
// thread's rows stay in its core's cache from step to step (at H 256 the bf16 weights of a
// step are 1 MiB: half a megabyte per core).
#pragma once
#include <cstdint>

#include "recurrent_layer.h"
#include "row_dot.h"

namespace rnn {

// A converted weight matrix: the data in the format; Int8: per-row scales and sums.
struct LowpMatrix {
  const void* w;
  const float* scale;
  const int32_t* sum;
};

// One direction's converted weights (PyTorch's layout), biases float32 or nullptr.
struct LowpLayerWeights {
  LowpMatrix w_ih;  // (G*H, I)
  LowpMatrix w_hh;  // (G*H, H)
  const float* b_ih;
  const float* b_hh;
};

// A stack's converted weights: one entry per layer and direction (layer-major).
struct LowpStackWeights {
  WeightFormat format;
  const LowpLayerWeights* slots;
};

// Shapes as layer_forward's (recurrent_layer.h) in eval mode: x (T, B, I) time-major; y
// (T, B, ldy) pre-offset; h0/c0 (B, H) or nullptr; hN/cN (B, H); buf from an eval workspace
// (two history rows); scratch (B, G*H).
void layer_forward_lowp(const LayerDims& d, WeightFormat format, const LowpLayerWeights& w, const float* x,
                        const int32_t* lengths, const float* h0, const float* c0, float* y, int ldy, float* hN,
                        float* cN, DirectionBuffers<float>& buf, float* scratch);

}  // namespace rnn
