// A stack of recurrent layers (numLayers x directions), PyTorch's nn.RNN/LSTM/GRU:
// layer k > 0 reads the concatenated outputs of layer k-1, dropout between layers in
// training only, variable lengths by masking. Owns its workspaces: they grow with the
// largest (T, B) seen and are never allocated inside a time loop.
#pragma once
#include <cstdint>
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

template <typename F>
class RecurrentStack {
 public:
  explicit RecurrentStack(const StackConfig& cfg) : cfg_(cfg) {}

  int directions() const { return cfg_.bidirectional ? 2 : 1; }
  int gates() const { return gate_count(cfg_.cell); }
  int layer_input_size(int layer) const { return layer == 0 ? cfg_.I : directions() * cfg_.H; }
  const StackConfig& config() const { return cfg_; }

  // input (T, B, I) or (B, T, I) with batch_first — time-major input must stay unchanged
  // and alive until backward (it is not copied); h0, c0 (L*D, B, H) or nullptr;
  // lengths (B) each in 1..T, or nullptr; weights: L*D entries, layer-major then direction.
  // output (T, B, D*H) or (B, T, D*H); hN, cN (L*D, B, H) (cN LSTM only).
  // training saves what backward needs; seed drives the dropout masks.
  void forward(int T, int B, const F* input, const F* h0, const F* c0, const int32_t* lengths,
               const LayerWeights<F>* weights, bool training, uint64_t seed, F* output, F* hN,
               F* cN);

  // Like forward, with layer 0 reading rows of an embedding table: ids (T, B), or (B, T)
  // with batch_first, each in [0, V) (checked by the caller); table (V, I), which must stay
  // unchanged and alive until backward. See TokenInput in recurrent_layer.h.
  void forward_tokens(int T, int B, const int32_t* ids, int V, const F* table, const F* h0, const F* c0,
                      const int32_t* lengths, const LayerWeights<F>* weights, bool training, uint64_t seed,
                      F* output, F* hN, F* cN);

  bool can_backward() const { return saved_; }
  bool saved_tokens() const { return saved_ && tokens_; }
  int token_vocab() const { return V_; }  // V of the last forward_tokens
  int saved_T() const { return T_; }
  int saved_B() const { return B_; }

  // dOutput like output (or nullptr), dhN/dcN like hN/cN (or nullptr). Adds the parameter
  // gradients into grads (L*D entries); writes dInput like input and dh0/dc0 like h0/c0.
  // Consumes what forward saved (the gates buffer receives the gate gradients).
  void backward(const F* dOutput, const F* dhN, const F* dcN, const LayerWeights<F>* weights,
                const LayerGrads<F>* grads, F* dInput, F* dh0, F* dc0);
  // After forward_tokens: adds the gradient of the table into dtable (V, I) instead of
  // writing dInput; row pad (>= 0) gets none (an embedding's padding row).
  void backward_tokens(const F* dOutput, const F* dhN, const F* dcN, const LayerWeights<F>* weights,
                       const LayerGrads<F>* grads, F* dtable, int pad, F* dh0, F* dc0);

 private:
  void allocate(int T, int B, bool training);
  void forward_impl(int T, int B, const F* input, const F* h0, const F* c0, const int32_t* lengths,
                    const LayerWeights<F>* weights, bool training, uint64_t seed, F* output, F* hN, F* cN);
  void backward_impl(const F* dOutput, const F* dhN, const F* dcN, const LayerWeights<F>* weights,
                     const LayerGrads<F>* grads, F* dInput, F* dtable, int pad, F* dh0, F* dc0);
  DirectionBuffers<F> direction_buffers(int layer, int dir);

  StackConfig cfg_;
  int T_ = 0, B_ = 0;
  bool saved_ = false;        // the last forward was a training forward
  bool has_lengths_ = false;
  std::vector<int32_t> lengths_;  // (B)
  AlignedVector<F> x0_;             // batch-first only: (T, B, I), the input transposed
  const F* input_ = nullptr;        // (T, B, I): the layer-0 input of the last forward
  bool tokens_ = false;             // the last forward read token ids (forward_tokens)
  std::vector<int32_t> ids_;        // tokens: (T, B) time-major copy of the ids
  const F* table_ = nullptr;        // tokens: (V, I)
  int V_ = 0;
  AlignedVector<F> token_work_;     // tokens: (V, G*H), see TokenInput::work
  AlignedVector<F> y_;              // (L-1 in training, ≤ 2 in eval, T, B, D*H) inner layers' outputs, + 1 staging slot if batch-first
  AlignedVector<F> dropped_;        // training with dropout: (L-1, T, B, D*H) inputs of layers 1..L-1
  AlignedVector<F> mask_;           // training with dropout: (L-1, T, B, D*H) scale 0 or 1/(1-p)
  AlignedVector<F> gates_;          // training: (L*D, T, B, G*H); eval: (D, T, B, G*H)
  AlignedVector<F> ghn_;            // GRU, like gates_ with H instead of G*H
  AlignedVector<F> hist_h_;         // training: (L*D, T+1, B, H); eval: (D, 2, B, H)
  AlignedVector<F> hist_c_;         // LSTM, like hist_h_
  AlignedVector<F> scratch_;        // (D, B, G*H)
  AlignedVector<F> bias_sum_;       // (D, (G+1)*H): per direction, see DirectionBuffers::bias_sum
  AlignedVector<F> packed_;         // (ceil(H/16)*G, H, 16): one direction's W_hh^T, packed
  // backward only
  AlignedVector<F> dh_, dc_;             // (2, B, H) each
  AlignedVector<F> dy_;                  // (T, B, D*H), when there are layers or batch-first data
  AlignedVector<F> dx_;                  // (T, B, max(I, D*H)), likewise
};

}  // namespace rnn
