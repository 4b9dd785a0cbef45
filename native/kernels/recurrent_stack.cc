#include "recurrent_stack.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <type_traits>

#include "random.h"

namespace rnn {
namespace {

// (B, T, W) <-> (T, B, W); the same loop serves both ways with the two leading dims swapped.
template <typename F>
void swap_leading_dims(F* dst, const F* src, int A, int Bdim, int W) {
  for (int a = 0; a < A; ++a)
    for (int b = 0; b < Bdim; ++b)
      std::memcpy(dst + (static_cast<size_t>(b) * A + a) * W,
                  src + (static_cast<size_t>(a) * Bdim + b) * W, sizeof(F) * W);
}

size_t align_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

template <typename T>
T* at_offset(uint8_t* data, size_t offset) {
  return reinterpret_cast<T*>(data + offset);
}

}  // namespace

template <typename F>
ActivationLayout RecurrentStack<F>::layout(int T, int B, bool training, bool dropout, bool tokens, bool has_lengths) const {
  const size_t D = directions(), G = gates(), H = cfg_.H, L = cfg_.L, I = cfg_.I;
  const size_t TB = static_cast<size_t>(T) * B, DH = D * H;
  const size_t sets = training ? L * D : D;  // direction buffer sets kept
  const size_t hist_rows = training ? static_cast<size_t>(T) + 1 : 2;
  // Outputs of layers 0..L-2 (all kept in training, two alternating in eval); the last
  // layer writes the caller's output directly, or stage_ to transpose it.
  const size_t inner = L > 1 ? (training ? L - 1 : std::min<size_t>(L - 1, 2)) : 0;
  const bool drop = dropout && cfg_.dropout > 0 && L > 1;
  ActivationLayout l{};
  size_t off = 0;
  const auto take = [&off](size_t bytes) {
    const size_t at = off;
    off += align_up(bytes, kArenaAlign);
    return at;
  };
  l.x0 = take(sizeof(F) * TB * I);
  l.ids = take(sizeof(int32_t) * (tokens ? TB : 0));
  l.lengths = take(sizeof(int32_t) * (has_lengths ? static_cast<size_t>(B) : 0));
  l.y = take(sizeof(F) * inner * TB * DH);
  l.dropped = take(sizeof(F) * (drop ? (L - 1) * TB * DH : 0));
  l.mask = take(sizeof(F) * (drop ? (L - 1) * TB * DH : 0));
  l.gates = take(sizeof(F) * sets * TB * G * H);
  l.ghn = take(sizeof(F) * (cfg_.cell == CellType::Gru ? sets * TB * H : 0));
  l.hist_h = take(sizeof(F) * sets * hist_rows * B * H);
  l.hist_c = take(sizeof(F) * (cfg_.cell == CellType::Lstm ? sets * hist_rows * B * H : 0));
  l.data_bytes = off;
  return l;
}

template <typename F>
size_t RecurrentStack<F>::arena_bytes(int T, int B, bool training, bool dropout, bool tokens, bool has_lengths) const {
  return kArenaHeaderBytes + kArenaAlign + layout(T, B, training, dropout, tokens, has_lengths).data_bytes;
}

template <typename F>
StackActivations<F> RecurrentStack<F>::view(uint8_t* arena, const ActivationLayout& l, int T, int B, int V, bool training,
                                            bool dropout, bool tokens, bool has_lengths) const {
  const uintptr_t start = reinterpret_cast<uintptr_t>(arena + kArenaHeaderBytes);
  uint8_t* data = arena + kArenaHeaderBytes + (align_up(start, kArenaAlign) - start);
  StackActivations<F> a;
  a.T = T;
  a.B = B;
  a.V = V;
  a.training = training;
  a.dropout_applied = dropout && cfg_.dropout > 0 && cfg_.L > 1;
  a.has_lengths = has_lengths;
  a.tokens = tokens;
  a.x0 = at_offset<F>(data, l.x0);
  a.ids = at_offset<int32_t>(data, l.ids);
  a.lengths = at_offset<int32_t>(data, l.lengths);
  a.y = at_offset<F>(data, l.y);
  a.dropped = at_offset<F>(data, l.dropped);
  a.mask = at_offset<F>(data, l.mask);
  a.gates = at_offset<F>(data, l.gates);
  a.ghn = cfg_.cell == CellType::Gru ? at_offset<F>(data, l.ghn) : nullptr;
  a.hist_h = at_offset<F>(data, l.hist_h);
  a.hist_c = cfg_.cell == CellType::Lstm ? at_offset<F>(data, l.hist_c) : nullptr;
  return a;
}

template <typename F>
StackActivations<F> RecurrentStack<F>::bind(uint8_t* arena, int T, int B, int V, bool training, bool dropout, bool tokens,
                                            bool has_lengths) const {
  StackActivations<F> a = view(arena, layout(T, B, training, dropout, tokens, has_lengths), T, B, V, training, dropout, tokens, has_lengths);
  ArenaHeader h{};
  h.magic = kArenaMagic;
  h.owner = id_;
  h.T = T;
  h.B = B;
  h.V = V;
  h.training = training;
  h.dropout_applied = a.dropout_applied;
  h.has_lengths = has_lengths;
  h.tokens = tokens;
  h.saved = 0;  // set once the forward completes
  h.element_bytes = sizeof(F);
  std::memcpy(arena, &h, sizeof h);
  a.header = reinterpret_cast<ArenaHeader*>(arena);
  return a;
}

template <typename F>
const char* RecurrentStack<F>::rebind(uint8_t* arena, size_t bytes, StackActivations<F>& out) const {
  if (bytes < kArenaHeaderBytes) return "these are not the activations of a training forward";
  ArenaHeader h;
  std::memcpy(&h, arena, sizeof h);
  if (h.magic != kArenaMagic || h.element_bytes != sizeof(F)) return "these are not the activations of a training forward";
  if (h.owner != id_) return "these activations belong to another layer";
  if (!h.saved) return "these activations were already used by a backward (or released); run a new forward";
  const bool flags_ok = h.training == 1 && h.dropout_applied <= 1 && h.has_lengths <= 1 && h.tokens <= 1 &&
                        h.T >= 1 && h.B >= 1 && (h.tokens ? h.V >= 1 : h.V == 0);
  if (!flags_ok || arena_bytes(h.T, h.B, true, h.dropout_applied, h.tokens, h.has_lengths) != bytes)
    return "the activations were changed after their forward";
  out = view(arena, layout(h.T, h.B, true, h.dropout_applied, h.tokens, h.has_lengths), h.T, h.B, h.V, true, h.dropout_applied,
             h.tokens, h.has_lengths);
  out.header = reinterpret_cast<ArenaHeader*>(arena);
  // Indices are read by the kernels: they must still be in range (the arena is JS memory).
  const size_t TB = static_cast<size_t>(h.T) * h.B;
  if (h.tokens)
    for (size_t k = 0; k < TB; ++k)
      if (out.ids[k] < 0 || out.ids[k] >= h.V) return "the activations were changed after their forward";
  if (h.has_lengths)
    for (int b = 0; b < h.B; ++b)
      if (out.lengths[b] < 1 || out.lengths[b] > h.T) return "the activations were changed after their forward";
  return nullptr;
}

template <typename F>
StackActivations<F> RecurrentStack<F>::eval_workspace(int T, int B, bool tokens, bool has_lengths) {
  const ActivationLayout l = layout(T, B, false, false, tokens, has_lengths);
  const size_t bytes = kArenaHeaderBytes + kArenaAlign + l.data_bytes;
  if (eval_.size() < bytes) eval_.resize(bytes);
  return view(eval_.data(), l, T, B, 0, false, false, tokens, has_lengths);
}

template <typename F>
void RecurrentStack<F>::prepare_scratch(int T, int B) {
  const size_t D = directions(), G = gates(), H = cfg_.H;
  const size_t TB = static_cast<size_t>(T) * B, DH = D * H;
  stage_.resize(cfg_.batch_first ? TB * DH : 0);
  scratch_.resize(D * B * G * H);
  packed_.resize(((H + 15) / 16) * G * H * 16);
  bias_sum_.resize(D * (G + 1) * H);
}

template <typename F>
DirectionBuffers<F> RecurrentStack<F>::direction_buffers(StackActivations<F>& acts, int layer, int dir) {
  const size_t TB = static_cast<size_t>(acts.T) * acts.B, H = cfg_.H, G = gates();
  const bool full = acts.training;
  const size_t set = full ? static_cast<size_t>(layer) * directions() + dir : dir;
  const size_t hist_rows = full ? static_cast<size_t>(acts.T) + 1 : 2;
  DirectionBuffers<F> buf;
  buf.gates = acts.gates + set * TB * G * H;
  buf.ghn = acts.ghn ? acts.ghn + set * TB * H : nullptr;
  buf.hist_h = acts.hist_h + set * hist_rows * acts.B * H;
  buf.hist_c = acts.hist_c ? acts.hist_c + set * hist_rows * acts.B * H : nullptr;
  buf.packed = packed_.data();  // shared: directions and layers run one after another
  buf.bias_sum = bias_sum_.data() + static_cast<size_t>(dir) * (G + 1) * H;
  buf.full_history = full;
  return buf;
}

template <typename F>
void RecurrentStack<F>::forward(const StackInput<F>& in, const F* h0, const F* c0, const int32_t* lengths,
                                const LayerWeights<F>* weights, uint64_t seed, F* output, F* hN, F* cN,
                                StackActivations<F>& acts, const LowpStackWeights* lowp) {
  if (!std::is_same<F, float>::value || acts.training) lowp = nullptr;  // float32 inference only
  const int T = in.T, B = in.B, D = directions(), H = cfg_.H, L = cfg_.L, G = gates();
  const size_t TB = static_cast<size_t>(T) * B, DH = static_cast<size_t>(D) * H;
  const size_t BH = static_cast<size_t>(B) * H;
  const bool training = acts.training;
  prepare_scratch(T, B);
  if (acts.has_lengths) std::memcpy(acts.lengths, lengths, sizeof(int32_t) * B);
  const int32_t* lens = acts.has_lengths ? acts.lengths : nullptr;

  // The layer-0 input. Token input has no rows of x: layer 0 reads the table (TokenInput).
  // Rows are copied in training (backward reads them, and the caller's array may change
  // meanwhile) and transposed when batch-first; a time-major eval input is read in place.
  const F* x = nullptr;
  if (acts.tokens) {
    acts.V = in.V;
    if (cfg_.batch_first)  // (B, T) -> (T, B)
      for (int t = 0; t < T; ++t)
        for (int b = 0; b < B; ++b) acts.ids[static_cast<size_t>(t) * B + b] = in.ids[static_cast<size_t>(b) * T + t];
    else
      std::memcpy(acts.ids, in.ids, sizeof(int32_t) * TB);
    token_work_.resize(static_cast<size_t>(in.V) * G * H);
  } else if (cfg_.batch_first) {
    swap_leading_dims(acts.x0, in.x, B, T, cfg_.I);
    x = acts.x0;
  } else if (training) {
    std::memcpy(acts.x0, in.x, sizeof(F) * TB * cfg_.I);
    x = acts.x0;
  } else {
    x = in.x;
  }
  const TokenInput<F> token_input{acts.ids, in.table, in.V, token_work_.data()};
  if (lowp && acts.tokens) {  // the converted path reads rows: gather them (time-major)
    for (size_t r = 0; r < TB; ++r)
      std::memcpy(acts.x0 + r * cfg_.I, in.table + static_cast<size_t>(acts.ids[r]) * cfg_.I, sizeof(F) * cfg_.I);
    x = acts.x0;
  }

  const bool drop = acts.dropout_applied;
  const F keep_scale = cfg_.dropout >= 1 ? F(0) : static_cast<F>(1.0 / (1.0 - cfg_.dropout));
  F* y = nullptr;
  for (int l = 0; l < L; ++l) {
    if (l < L - 1) y = acts.y + (training ? static_cast<size_t>(l) : static_cast<size_t>(l & 1)) * TB * DH;
    else y = cfg_.batch_first ? stage_.data() : output;
    for (int d = 0; d < D; ++d) {
      const size_t slot = static_cast<size_t>(l) * D + d;
      LayerDims dims{cfg_.cell, T, B, layer_input_size(l), H, d == 1};
      DirectionBuffers<F> buf = direction_buffers(acts, l, d);
      if constexpr (std::is_same<F, float>::value) {
        if (lowp) {
          layer_forward_lowp(dims, lowp->format, lowp->slots[slot], x, lens, h0 ? h0 + slot * BH : nullptr,
                             c0 ? c0 + slot * BH : nullptr, y + static_cast<size_t>(d) * H, static_cast<int>(DH),
                             hN + slot * BH, cN ? cN + slot * BH : nullptr, buf,
                             scratch_.data() + static_cast<size_t>(d) * B * G * H);
          continue;
        }
      }
      layer_forward(dims, weights[slot], x, l == 0 && acts.tokens ? &token_input : nullptr, lens,
                    h0 ? h0 + slot * BH : nullptr, c0 ? c0 + slot * BH : nullptr, y + static_cast<size_t>(d) * H,
                    static_cast<int>(DH), hN + slot * BH, cN ? cN + slot * BH : nullptr, buf,
                    scratch_.data() + static_cast<size_t>(d) * B * G * H);
    }
    if (drop && l < L - 1) {
      F* mask = acts.mask + static_cast<size_t>(l) * TB * DH;
      F* dropped = acts.dropped + static_cast<size_t>(l) * TB * DH;
      const uint64_t stream = seed + 0x632BE59BD9B4E019ull * static_cast<uint64_t>(l + 1);
      for (size_t k = 0; k < TB * DH; ++k) {
        mask[k] = uniform_at(stream, k) < cfg_.dropout ? F(0) : keep_scale;
        dropped[k] = y[k] * mask[k];
      }
      x = dropped;
    } else {
      x = y;
    }
  }
  if (cfg_.batch_first) swap_leading_dims(output, y, T, B, static_cast<int>(DH));
  if (acts.header && training) {
    const uint8_t saved = 1;
    std::memcpy(reinterpret_cast<uint8_t*>(acts.header) + offsetof(ArenaHeader, saved), &saved, 1);
  }
}

template <typename F>
void RecurrentStack<F>::backward(StackActivations<F>& acts, const F* table, const F* dOutput, const F* dhN,
                                 const F* dcN, const LayerWeights<F>* weights, const LayerGrads<F>* grads,
                                 F* dInput, F* dtable, int pad, F* dh0, F* dc0) {
  const int T = acts.T, B = acts.B, D = directions(), H = cfg_.H, L = cfg_.L;
  const size_t TB = static_cast<size_t>(T) * B, DH = static_cast<size_t>(D) * H;
  const size_t BH = static_cast<size_t>(B) * H;
  const bool lstm = cfg_.cell == CellType::Lstm;
  const bool drop = acts.dropout_applied;
  const int32_t* lens = acts.has_lengths ? acts.lengths : nullptr;

  // After a token forward, the input's gradient needs the rows themselves: gathered now
  // from the table, and layer 0 then runs as for any input. Otherwise layer 0 sums its gate
  // gradients per token (and adds the table's gradient into dtable, when asked).
  const bool token_layer0 = acts.tokens && !dInput;
  if (acts.tokens && dInput)
    for (size_t r = 0; r < TB; ++r)
      std::memcpy(acts.x0 + r * cfg_.I, table + static_cast<size_t>(acts.ids[r]) * cfg_.I, sizeof(F) * cfg_.I);
  prepare_scratch(T, B);
  token_work_.resize(acts.tokens ? static_cast<size_t>(acts.V) * gates() * H : 0);
  const TokenInput<F> token_input{acts.ids, table, acts.V, token_work_.data()};

  // Time-major data needs no staging: the top layer reads dOutput directly and layer 0
  // writes dInput directly. dy_/dx_ (time-major (T, B, width)) carry gradients between
  // layers and through batch-first transposes.
  const bool staged_io = cfg_.batch_first;
  dh_.resize(2 * BH);
  dc_.resize(lstm ? 2 * BH : 0);
  if (L > 1 || (staged_io && dOutput)) dy_.resize(TB * DH);
  if (L > 1 || (staged_io && dInput)) dx_.resize(TB * std::max<size_t>(cfg_.I, DH));
  const F* dy_top = dOutput;
  if (dOutput && staged_io) {
    swap_leading_dims(dy_.data(), dOutput, B, T, static_cast<int>(DH));
    dy_top = dy_.data();
  }

  for (int l = L - 1; l >= 0; --l) {
    const int I_l = layer_input_size(l);
    const F* x = l == 0 ? (token_layer0 ? nullptr : acts.x0)
                 : drop ? acts.dropped + static_cast<size_t>(l - 1) * TB * DH
                        : acts.y + static_cast<size_t>(l - 1) * TB * DH;
    const F* dy_l = l == L - 1 ? dy_top : dy_.data();
    F* dx_l = l > 0 ? dx_.data() : !dInput ? nullptr : staged_io ? dx_.data() : dInput;
    if (dx_l) std::memset(dx_l, 0, sizeof(F) * TB * I_l);
    for (int d = 0; d < D; ++d) {
      const size_t slot = static_cast<size_t>(l) * D + d;
      LayerDims dims{cfg_.cell, T, B, I_l, H, d == 1};
      DirectionBuffers<F> buf = direction_buffers(acts, l, d);
      layer_backward(dims, weights[slot], grads[slot], x, l == 0 && token_layer0 ? &token_input : nullptr, lens,
                     dy_l ? dy_l + static_cast<size_t>(d) * H : nullptr, static_cast<int>(DH),
                     dhN ? dhN + slot * BH : nullptr, dcN && lstm ? dcN + slot * BH : nullptr, dx_l,
                     l == 0 ? dtable : nullptr, pad, dh0 ? dh0 + slot * BH : nullptr,
                     lstm && dc0 ? dc0 + slot * BH : nullptr, buf, buf.gates, buf.ghn, dh_.data(),
                     lstm ? dc_.data() : nullptr);
    }
    if (l > 0) {  // the previous layer's output gradient, through the dropout mask
      if (drop) {
        const F* mask = acts.mask + static_cast<size_t>(l - 1) * TB * DH;
        for (size_t k = 0; k < TB * DH; ++k) dy_[k] = dx_[k] * mask[k];
      } else {
        std::memcpy(dy_.data(), dx_.data(), sizeof(F) * TB * DH);
      }
    }
  }
  if (staged_io && dInput) swap_leading_dims(dInput, dx_.data(), T, B, cfg_.I);
  // The saved gates now hold their gradients: like PyTorch without retain_graph, a second
  // backward needs a new forward.
  if (acts.header) {
    const uint8_t saved = 0;
    std::memcpy(reinterpret_cast<uint8_t*>(acts.header) + offsetof(ArenaHeader, saved), &saved, 1);
  }
}

template class RecurrentStack<float>;
template class RecurrentStack<double>;

}  // namespace rnn
