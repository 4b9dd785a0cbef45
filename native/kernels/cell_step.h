// One time step of a recurrent cell over a batch: the single-step modules (RNNCell,
// LSTMCell, GRUCell), PyTorch's nn.*Cell. Two GEMMs and one fused elementwise pass per
// step (cells.h), the same math as the layers.
#pragma once
#include "cell_kinds.h"
#include "recurrent_layer.h"

namespace rnn {

// What a forward keeps for its backward: saved (B, (G+1)*H) = the activated gates (B, G*H),
// then per row (B, H): GRU W_hn h + b_hn, LSTM c_t, RNN h_t.
inline size_t cell_saved_size(CellType cell, int B, int H) {
  return static_cast<size_t>(B) * (gate_count(cell) + 1) * H;
}

// x (B, I), h (B, H), c (B, H) LSTM only; h_out, c_out (B, H); scratch (B, (G+1)*H).
template <typename F>
void cell_forward(CellType cell, int B, int I, int H, const F* x, const F* h, const F* c, const LayerWeights<F>& w,
                  F* h_out, F* c_out, F* saved, F* scratch);

// From dh_out, dc_out (B, H) (dc_out LSTM only, either may be nullptr for zero): writes dx
// (B, I), dh (B, H), dc (B, H) (each when set) and ADDS the parameter gradients (null members
// skipped). Consumes saved (overwritten with gradients). scratch (B, H).
template <typename F>
void cell_backward(CellType cell, int B, int I, int H, const F* x, const F* h, const F* c, const LayerWeights<F>& w,
                   const LayerGrads<F>& g, F* saved, const F* dh_out, const F* dc_out, F* dx, F* dh, F* dc,
                   F* scratch);

}  // namespace rnn
