// A stack of recurrent layers (numLayers x directions), PyTorch's nn.RNN/LSTM/GRU:
// layer k > 0 reads the concatenated outputs of layer k-1, dropout between layers in
// training only, variable lengths by masking.
//
// Per-call state: everything a training forward keeps for its backward lives in a
// StackActivations object owned by that call (PyTorch's ctx, llm.c's activations struct),
// so a stack can run any number of forwards before their backwards. Activations come from
// an ActivationPool and go back to it after backward: their buffers keep their capacity, so
// a training loop does not allocate (or page-fault) per step. Scratch used only inside one
// call (packed weights, per-step rows, backward's carries) stays with the stack: calls on one
// stack never overlap (every kernel call holds the compute lock, blas_mutex()).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "aligned.h"
#include "recurrent_layer.h"

namespace rnn {

struct StackConfig {
  CellType cell;
  int I, H, L;
  bool bidirectional, bias, batch_first;
  double dropout;  // probability of zeroing, between layers, training only
};

// What one forward keeps. In training the histories are full (backward reads every step);
// in eval they are two rows deep and the object is only a workspace.
template <typename F>
struct StackActivations {
  int T = 0, B = 0;
  bool training = false;         // full histories, kept for a backward
  bool dropout_applied = false;  // the masks between layers were drawn (training mode)
  bool has_lengths = false;
  std::vector<int32_t> lengths;  // (B)
  // The layer-0 input, time-major (T, B, I): a copy in training (a caller may change or
  // detach the input array before backward), the transposed input for batch-first data in
  // eval. With token input it stays empty until a backward asks for the input's gradient.
  AlignedVector<F> x0;
  bool tokens = false;           // layer 0 read rows of a table by id (forward_tokens)
  int V = 0;                     // tokens: rows of the table
  std::vector<int32_t> ids;      // tokens: (T, B) time-major copy
  AlignedVector<F> y;            // (L-1 in training, <= 2 in eval, T, B, D*H) inner layers' outputs
  AlignedVector<F> dropped;      // training with dropout: (L-1, T, B, D*H) inputs of layers 1..L-1
  AlignedVector<F> mask;         // training with dropout: (L-1, T, B, D*H) scale 0 or 1/(1-p)
  AlignedVector<F> gates;        // training: (L*D, T, B, G*H); eval: (D, T, B, G*H)
  AlignedVector<F> ghn;          // GRU, like gates with H instead of G*H
  AlignedVector<F> hist_h;       // training: (L*D, T+1, B, H); eval: (D, 2, B, H)
  AlignedVector<F> hist_c;       // LSTM, like hist_h
  bool saved = false;            // a training forward filled it and no backward consumed it yet
  size_t accounted_bytes = 0;    // what the binding reported to the JS engine for it

  size_t capacity_bytes() const;
};

// A few released activations kept for reuse (their vectors keep their capacity).
template <typename F>
class ActivationPool {
 public:
  static constexpr size_t kKeep = 2;
  std::unique_ptr<StackActivations<F>> acquire();
  // Returns the object to the pool, or hands it back when the pool is full (the caller frees it).
  std::unique_ptr<StackActivations<F>> give_back(std::unique_ptr<StackActivations<F>> a);
  const std::vector<std::unique_ptr<StackActivations<F>>>& free_list() const { return free_; }

 private:
  std::vector<std::unique_ptr<StackActivations<F>>> free_;
};

// The layer-0 input of a forward: rows x, or token ids into an embedding table.
template <typename F>
struct StackInput {
  int T, B;
  const F* x;            // (T, B, I), or (B, T, I) with batch_first; nullptr with tokens
  const int32_t* ids;    // tokens: (T, B), or (B, T) with batch_first, each in [0, V); else nullptr
  int V;
  const F* table;        // tokens: (V, I)
};

template <typename F>
class RecurrentStack {
 public:
  explicit RecurrentStack(const StackConfig& cfg) : cfg_(cfg) {}

  int directions() const { return cfg_.bidirectional ? 2 : 1; }
  int gates() const { return gate_count(cfg_.cell); }
  int layer_input_size(int layer) const { return layer == 0 ? cfg_.I : directions() * cfg_.H; }
  const StackConfig& config() const { return cfg_; }

  // h0, c0 (L*D, B, H) or nullptr; lengths (B) each in 1..T, or nullptr; weights: L*D
  // entries, layer-major then direction. output (T, B, D*H) or (B, T, D*H); hN, cN
  // (L*D, B, H) (cN LSTM only). training: acts keeps what backward needs (acts.saved);
  // else acts is a workspace (the stack's own eval_workspace() will do). dropout: apply the
  // masks between layers (training mode; a kept eval-mode forward has none), drawn from seed. Token input (in.ids): layer 0's input projection is one (V, G*H) product of
  // the table and a gather (TokenInput in recurrent_layer.h); the table is not copied — a
  // backward reads it again from the caller.
  void forward(const StackInput<F>& in, const F* h0, const F* c0, const int32_t* lengths,
               const LayerWeights<F>* weights, bool training, bool dropout, uint64_t seed, F* output, F* hN,
               F* cN, StackActivations<F>& acts);

  // Backward through a training forward's activations (consumed: acts.saved turns false).
  // dOutput like output (or nullptr), dhN/dcN like hN/cN (or nullptr). Adds the parameter
  // gradients into grads (L*D entries; null members are skipped). dInput (like the input)
  // receives the input's gradient, or nullptr. After a token forward: table (V, I) is the
  // table again (needed for dInput and for W_ih's gradient), dtable (V, I) receives the
  // table's gradient by rows (ADDED, row pad excepted) instead of dInput — at most one of
  // dInput and dtable. dh0/dc0 like h0/c0, or nullptr.
  void backward(StackActivations<F>& acts, const F* table, const F* dOutput, const F* dhN, const F* dcN,
                const LayerWeights<F>* weights, const LayerGrads<F>* grads, F* dInput, F* dtable, int pad,
                F* dh0, F* dc0);

  StackActivations<F>& eval_workspace() { return eval_; }

 private:
  void allocate(StackActivations<F>& acts, int T, int B, bool training, bool drop);
  DirectionBuffers<F> direction_buffers(StackActivations<F>& acts, int layer, int dir);

  StackConfig cfg_;
  StackActivations<F> eval_;        // the workspace of eval-mode forwards
  // Scratch used inside one call only.
  AlignedVector<F> token_work_;     // tokens: (V, G*H), see TokenInput::work
  AlignedVector<F> stage_;          // batch-first: (T, B, D*H) time-major output or output gradient
  AlignedVector<F> scratch_;        // (D, B, G*H)
  AlignedVector<F> bias_sum_;       // (D, (G+1)*H): per direction, see DirectionBuffers::bias_sum
  AlignedVector<F> packed_;         // (ceil(H/16)*G, H, 16): one direction's W_hh^T, packed
  AlignedVector<F> dh_, dc_;        // backward: (2, B, H) each
  AlignedVector<F> dy_;             // backward: (T, B, D*H), between layers
  AlignedVector<F> dx_;             // backward: (T, B, max(I, D*H)), between layers and for batch-first input
};

}  // namespace rnn
