// One direction of one recurrent layer: forward and backward through time.
//
// Letters: T time steps, B batch, I input size, H hidden size, G gates (RNN 1, LSTM 4 in
// PyTorch's order i,f,g,o; GRU 3 in order r,z,n). Everything is row-major and time-major.
// The speed recipe (docs/architecture.md): the input projection of all T steps is one GEMM; each step
// is one GEMM of h_{t-1} against the stacked (G*H, H) recurrent weights plus one fused
// elementwise pass; backward loops over time for dgates and dh only, then the weight
// gradients are one GEMM each over all T*B rows.
//
// Threads (thread_pool.h): with enough batch rows (8 or more per thread) the time loop is
// split by rows — each thread runs the whole recurrence of its rows, which depend on no other
// row, so there is no barrier in the loop; otherwise by hidden units — each thread owns blocks
// of 16 units, computes their gate columns (its rows of W_hh, which stay in its core's cache)
// and runs their elementwise pass, with one barrier per step. The float path uses an AVX-512
// microkernel over W_hh packed once per call (step_gemm.h) when the CPU has it.
//
// Variable lengths (pack_padded_sequence semantics) are handled by masking: at time t row
// b is active when t < lengths[b]. An inactive row keeps its state unchanged and outputs 0,
// so the forward direction ends with each row's state at its last valid step and the
// reverse direction starts each row from h0 at its own last valid step.
#pragma once
#include <cstddef>
#include <cstdint>

#include "cell_kinds.h"

namespace rnn {

struct LayerDims {
  CellType cell;
  int T, B, I, H;
  bool reverse;  // the backward direction of a bidirectional layer
};

template <typename F>
struct LayerWeights {
  const F* w_ih;  // (G*H, I)
  const F* w_hh;  // (G*H, H)
  const F* b_ih;  // (G*H), nullptr when the layer has no bias
  const F* b_hh;  // (G*H), nullptr when the layer has no bias
};

template <typename F>
struct LayerGrads {  // backward ADDS into these; nullptr: not wanted (the parameter is frozen)
  F* dw_ih;  // (G*H, I)
  F* dw_hh;  // (G*H, H)
  F* db_ih;  // (G*H)
  F* db_hh;  // (G*H)
};

// What one direction keeps between forward and backward. Buffers are owned by the caller.
template <typename F>
struct DirectionBuffers {
  F* gates;   // (T, B, G*H): input projection, then the activated gates after forward
  F* ghn;     // (T, B, H), GRU only: W_hn h_{t-1} + b_hn, needed for dr
  F* hist_h;  // training (T+1, B, H): hist[t] -> hist[t+1] forward, hist[t+1] -> hist[t] reverse;
              // eval (2, B, H): the same indices taken modulo 2
  F* hist_c;  // like hist_h, LSTM only
  F* packed;  // (ceil(H/16)*G, H, 16): W_hh^T packed for the float microkernel; scratch
  F* bias_sum;  // ((G+1)*H) scratch. Forward, first G*H: b_ih + b_hh (b_ih alone for GRU's n
                // gate). Backward: the bias gradients' column sums, G*H, + H for GRU's dn * r.
  bool full_history;  // true in training
};

// A layer-0 input given as token ids into an embedding table instead of rows of x (a
// language model's first layer). The input projection becomes one (V, G*H) product of the
// table and a gather of its rows, and backward sums the gate gradients per token before its
// two products: for V well below T*B that replaces three (T*B)-row GEMMs by (V)-row ones.
template <typename F>
struct TokenInput {
  const int32_t* ids;  // (T, B) time-major, each in [0, V)
  const F* table;      // (V, I): the embedding weight
  int V;
  F* work;             // (V, G*H) scratch: the projected table; in backward, the per-token sums
};

// Forward through time for one direction.
// x (T, B, I) contiguous, or tokens (then x is unused); y (T, B, ldy) pre-offset to this
// direction's columns; h0/c0 (B, H) or nullptr for zeros; hN/cN (B, H); scratch (B, G*H).
template <typename F>
void layer_forward(const LayerDims& d, const LayerWeights<F>& w, const F* x, const TokenInput<F>* tokens,
                   const int32_t* lengths, const F* h0, const F* c0, F* y, int ldy, F* hN, F* cN,
                   DirectionBuffers<F>& buf, F* scratch);

// Backward through time for one direction, using what a training forward saved.
// dy (T, B, ldy) pre-offset, or nullptr; dhN/dcN (B, H) or nullptr.
// dx (T, B, I): ADDED into, or nullptr when not wanted. dh0/dc0 (B, H): written, or nullptr. With tokens (the forward's), x and dx
// are unused: dtable (V, I) is ADDED into instead, except row `pad` (>= 0) — an embedding's
// padding row gets no gradient.
// dgates (T, B, G*H) receives the gate gradients; it is best buf.gates itself (each gate
// is read before it is overwritten), else the gates are copied into it first; dgates_hh (T, B, H) receives GRU's n part of the recurrent gradient, dn * r —
// best buf.ghn itself, likewise;
// dh (2, B, H) and dc (2, B, H) are scratch.
template <typename F>
void layer_backward(const LayerDims& d, const LayerWeights<F>& w, const LayerGrads<F>& g,
                    const F* x, const TokenInput<F>* tokens, const int32_t* lengths, const F* dy, int ldy,
                    const F* dhN, const F* dcN, F* dx, F* dtable, int pad, F* dh0, F* dc0,
                    const DirectionBuffers<F>& buf, F* dgates, F* dgates_hh, F* dh, F* dc);

}  // namespace rnn
