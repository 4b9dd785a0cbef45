// A stack of recurrent layers (numLayers x directions), PyTorch's nn.RNN/LSTM/GRU:
// layer k > 0 reads the concatenated outputs of layer k-1, dropout between layers in
// training only, variable lengths by masking.
//
// Per-call state: everything a training forward keeps for its backward lives in an arena
// the caller provides — one block of bytes owned by that call (PyTorch's ctx, llm.c's
// activations struct), so a stack can run any number of forwards before their backwards.
// The binding makes it a JS ArrayBuffer: the JS engine frees it the moment the call's graph
// is collected (native memory behind a finalizer would wait for the event loop to turn, and a
// synchronous loop of forwards without backwards would pile it up), and the library pools
// arenas for reuse. The arena starts with a header describing the call, so that a backward
// checks the arena it is given against this stack before reading it. Eval-mode forwards use
// the stack's own workspace. Scratch used only inside one call (packed weights, per-step
// rows, backward's carries) stays with the stack: calls on one stack never overlap (the
// binding holds the stack's own mutex around every call).
#pragma once
#include <cstdint>
#include <vector>

#include "aligned.h"
#include "recurrent_layer.h"
#include "recurrent_lowp.h"

namespace rnn {

struct StackConfig {
  CellType cell;
  int I, H, L;
  bool bidirectional, bias, batch_first;
  double dropout;  // probability of zeroing, between layers, training only
};

// What one forward keeps, as byte offsets from the arena's 64-byte-aligned data start.
// In training the histories are full (backward reads every step); in eval they are two rows
// deep and the arena is only a workspace.
struct ActivationLayout {
  size_t x0;       // F (T, B, I): the layer-0 input, time-major (a copy in training; the
                   // transposed input for batch-first data; with token input, the rows
                   // gathered by a backward that needs the input's gradient)
  size_t ids;      // int32 (T, B) time-major token ids (token input)
  size_t lengths;  // int32 (B)
  size_t y;        // F (L-1 in training, <= 2 in eval, T, B, D*H) inner layers' outputs
  size_t dropped;  // F (L-1, T, B, D*H) inputs of layers 1..L-1 after dropout (training with dropout)
  size_t mask;     // F (L-1, T, B, D*H) scale 0 or 1/(1-p) (training with dropout)
  size_t gates;    // F training: (L*D, T, B, G*H); eval: (D, T, B, G*H)
  size_t ghn;      // F GRU, like gates with H instead of G*H
  size_t hist_h;   // F training: (L*D, T+1, B, H); eval: (D, 2, B, H)
  size_t hist_c;   // F LSTM, like hist_h
  size_t data_bytes;
};

// The arena's first bytes: what the call was, checked by a backward before it reads anything.
struct ArenaHeader {
  uint64_t magic;
  uint64_t owner;  // the stack that wrote it (a process-unique id)
  int32_t T, B, V;
  uint8_t training, dropout_applied, has_lengths, tokens, saved, element_bytes;
};
constexpr size_t kArenaHeaderBytes = 64;
constexpr size_t kArenaAlign = 64;
constexpr uint64_t kArenaMagic = 0x41435452'4E4E5231ull;  // "1RNNRTCA"
static_assert(sizeof(ArenaHeader) <= kArenaHeaderBytes, "the header fits its slot");

// A forward's activations as pointers into an arena.
template <typename F>
struct StackActivations {
  int T = 0, B = 0, V = 0;
  bool training = false, dropout_applied = false, has_lengths = false, tokens = false;
  F *x0 = nullptr, *y = nullptr, *dropped = nullptr, *mask = nullptr, *gates = nullptr, *ghn = nullptr;
  F *hist_h = nullptr, *hist_c = nullptr;
  int32_t *ids = nullptr, *lengths = nullptr;
  ArenaHeader* header = nullptr;  // nullptr for the stack's eval workspace
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
  RecurrentStack(const StackConfig& cfg, uint64_t id) : cfg_(cfg), id_(id) {}

  int directions() const { return cfg_.bidirectional ? 2 : 1; }
  int gates() const { return gate_count(cfg_.cell); }
  int layer_input_size(int layer) const { return layer == 0 ? cfg_.I : directions() * cfg_.H; }
  const StackConfig& config() const { return cfg_; }

  // The arena bytes a forward of this shape keeps (header and alignment slack included).
  size_t arena_bytes(int T, int B, bool training, bool dropout, bool tokens, bool has_lengths) const;
  // Lays out an arena of exactly arena_bytes(...) bytes for a forward and writes its header.
  StackActivations<F> bind(uint8_t* arena, int T, int B, int V, bool training, bool dropout, bool tokens, bool has_lengths) const;
  // The activations a training forward left in `arena` (`bytes` long), after checking its
  // header against this stack and its size against the layout the header implies; nullptr
  // and a reason when it does not fit (or a backward already consumed it).
  const char* rebind(uint8_t* arena, size_t bytes, StackActivations<F>& out) const;

  // h0, c0 (L*D, B, H) or nullptr; lengths (B) each in 1..T, or nullptr; weights: L*D
  // entries, layer-major then direction. output (T, B, D*H) or (B, T, D*H); hN, cN
  // (L*D, B, H) (cN LSTM only). `acts` comes from bind() with the same T, B and flags (training:
  // keeps what backward needs; eval: a workspace — eval_workspace() makes one). seed drives the
  // dropout masks (when bound with dropout). Token input (in.ids): layer 0's input projection is
  // one (V, G*H) product of the table and a gather (TokenInput in recurrent_layer.h); the table
  // is not copied — a backward reads it again from the caller. `lowp` (eval, float only): the
  // weights converted to a lower precision, used instead of `weights`' matrices
  // (recurrent_lowp.h); token input is then gathered into rows first.
  void forward(const StackInput<F>& in, const F* h0, const F* c0, const int32_t* lengths,
               const LayerWeights<F>* weights, uint64_t seed, F* output, F* hN, F* cN, StackActivations<F>& acts,
               const LowpStackWeights* lowp = nullptr);

  // Backward through a training forward's activations (consumed: the header is marked used).
  // dOutput like output (or nullptr), dhN/dcN like hN/cN (or nullptr). Adds the parameter
  // gradients into grads (L*D entries; null members are skipped). dInput (like the input)
  // receives the input's gradient, or nullptr. After a token forward: table (V, I) is the
  // table again (needed for dInput and for W_ih's gradient), dtable (V, I) receives the
  // table's gradient by rows (ADDED, row pad excepted) instead of dInput — at most one of
  // dInput and dtable. dh0/dc0 like h0/c0, or nullptr.
  void backward(StackActivations<F>& acts, const F* table, const F* dOutput, const F* dhN, const F* dcN,
                const LayerWeights<F>* weights, const LayerGrads<F>* grads, F* dInput, F* dtable, int pad,
                F* dh0, F* dc0);

  // The stack's own arena for eval-mode forwards, grown to fit.
  StackActivations<F> eval_workspace(int T, int B, bool tokens, bool has_lengths);

 private:
  ActivationLayout layout(int T, int B, bool training, bool dropout, bool tokens, bool has_lengths) const;
  StackActivations<F> view(uint8_t* arena, const ActivationLayout& l, int T, int B, int V, bool training, bool dropout,
                           bool tokens, bool has_lengths) const;
  void prepare_scratch(int T, int B);
  DirectionBuffers<F> direction_buffers(StackActivations<F>& acts, int layer, int dir);

  StackConfig cfg_;
  uint64_t id_;
  AlignedVector<uint8_t> eval_;     // the eval workspace's arena
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
