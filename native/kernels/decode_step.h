// One decoding step of a language model (embedding → L stacked unidirectional recurrent
// layers → linear head) for B independent rows, each with its own token and state: the
// inner loop of generation, and of continuous batching, where the rows are requests that
// joined at different times. Every product goes through row_dot (row_dot.h), so a row's
// results do not depend on the other rows, on B, or on the thread that computes them: a
// request decoded in a batch gets bit for bit what it gets alone.
//
// Shapes: tokens (B); state h, c (B, L, H) — each row's layers side by side, so that a row
// joins or leaves a batch by copying one contiguous block; logits (B, V).
// Threads: hidden units are split across the kernel pool in blocks of 16 (the split depends
// on H and the thread count only, never on B); one barrier per layer; the head's rows split
// likewise.
#pragma once
#include <cstdint>
#include <vector>

#include "aligned.h"
#include "cell_kinds.h"
#include "row_dot.h"

namespace rnn {

// A weight matrix (N, K) in the net's format; Int8: per-row scales and sums (N), else nullptr.
struct DecodeMatrix {
  const void* w;
  const float* scale;
  const int32_t* sum;
};

// One layer's weights in PyTorch's layout: w_ih (G*H, in), w_hh (G*H, H); biases (G*H)
// float32 or nullptr.
struct DecodeLayer {
  DecodeMatrix w_ih, w_hh;
  const float* b_ih;
  const float* b_hh;
};

struct DecodeNet {
  CellType cell;
  int L, E, H, V;
  int table_rows;             // the embedding's rows (the model's vocabulary)
  WeightFormat format;        // of every recurrent and head weight matrix
  const float* table;         // (table_rows, E) float32: a lookup reads only B rows
  const DecodeLayer* layers;  // (L)
  DecodeMatrix head_w;        // (V, H)
  const float* head_b;        // (V) or nullptr
};

// Scratch of one step, grown to fit and reused (the caller keeps one per model).
struct DecodeWorkspace {
  AlignedVector<float> gates;   // (B, G*H) pre-activations, then activated gates
  AlignedVector<float> gh;      // GRU: (B, G*H) W_hh h without bias
  AlignedVector<float> ghn;     // GRU: (B, H) W_hn h + b_hn (what a training forward would save)
  AlignedVector<float> y;       // (B, H) the cells' y output (the state is written separately)
  AlignedVector<float> bias;    // (L, G*H) summed biases
  std::vector<const float*> rows;  // (2L + 1, B) row pointers: per layer its input and its h, then the head's input
};

// tokens[r] in [0, table_rows) (checked by the caller). h_in/c_in → h_out/c_out (distinct
// buffers; c only for LSTM). logits (B, V).
void decode_step(const DecodeNet& net, int B, const int32_t* tokens, const float* h_in, const float* c_in,
                 float* h_out, float* c_out, float* logits, DecodeWorkspace& ws);

// How many kernel threads a step of this net uses (from its size and the pool, not from B).
int decode_workers(const DecodeNet& net);

}  // namespace rnn
