#include "recurrent_stack.h"

#include <algorithm>
#include <cstring>

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

template <typename V>
size_t bytes_of(const V& v) {
  return v.capacity() * sizeof(typename V::value_type);
}

}  // namespace

template <typename F>
size_t StackActivations<F>::capacity_bytes() const {
  return bytes_of(lengths) + bytes_of(x0) + bytes_of(ids) + bytes_of(y) + bytes_of(dropped) + bytes_of(mask) +
         bytes_of(gates) + bytes_of(ghn) + bytes_of(hist_h) + bytes_of(hist_c);
}

template <typename F>
std::unique_ptr<StackActivations<F>> ActivationPool<F>::acquire() {
  if (free_.empty()) return std::make_unique<StackActivations<F>>();
  std::unique_ptr<StackActivations<F>> a = std::move(free_.back());
  free_.pop_back();
  return a;
}

template <typename F>
std::unique_ptr<StackActivations<F>> ActivationPool<F>::give_back(std::unique_ptr<StackActivations<F>> a) {
  a->saved = false;
  if (free_.size() >= kKeep) return a;
  free_.push_back(std::move(a));
  return nullptr;
}

template <typename F>
void RecurrentStack<F>::allocate(StackActivations<F>& acts, int T, int B, bool training, bool drop) {
  const size_t D = directions(), G = gates(), H = cfg_.H, L = cfg_.L;
  const size_t TB = static_cast<size_t>(T) * B, DH = D * H;
  const size_t sets = training ? L * D : D;  // direction buffer sets kept
  // Outputs of layers 0..L-2 (all kept in training, two alternating in eval); the last
  // layer writes the caller's output directly, or stage_ to transpose it.
  const size_t inner = L > 1 ? (training ? L - 1 : std::min<size_t>(L - 1, 2)) : 0;
  acts.y.resize(inner * TB * DH);
  acts.dropped.resize(drop ? (L - 1) * TB * DH : 0);
  acts.mask.resize(drop ? (L - 1) * TB * DH : 0);
  acts.gates.resize(sets * TB * G * H);
  acts.ghn.resize(cfg_.cell == CellType::Gru ? sets * TB * H : 0);
  const size_t hist_rows = training ? static_cast<size_t>(T) + 1 : 2;
  acts.hist_h.resize(sets * hist_rows * B * H);
  acts.hist_c.resize(cfg_.cell == CellType::Lstm ? sets * hist_rows * B * H : 0);
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
  buf.gates = acts.gates.data() + set * TB * G * H;
  buf.ghn = acts.ghn.empty() ? nullptr : acts.ghn.data() + set * TB * H;
  buf.hist_h = acts.hist_h.data() + set * hist_rows * acts.B * H;
  buf.hist_c = acts.hist_c.empty() ? nullptr : acts.hist_c.data() + set * hist_rows * acts.B * H;
  buf.packed = packed_.data();  // shared: directions and layers run one after another
  buf.bias_sum = bias_sum_.data() + static_cast<size_t>(dir) * (G + 1) * H;
  buf.full_history = full;
  return buf;
}

template <typename F>
void RecurrentStack<F>::forward(const StackInput<F>& in, const F* h0, const F* c0, const int32_t* lengths,
                                const LayerWeights<F>* weights, bool training, bool dropout, uint64_t seed,
                                F* output, F* hN, F* cN, StackActivations<F>& acts) {
  const int T = in.T, B = in.B, D = directions(), H = cfg_.H, L = cfg_.L, G = gates();
  const size_t TB = static_cast<size_t>(T) * B, DH = static_cast<size_t>(D) * H;
  const size_t BH = static_cast<size_t>(B) * H;
  acts.saved = false;  // before anything can throw (bad_alloc): never a stale saved state
  acts.T = T;
  acts.B = B;
  acts.training = training;
  const bool drop = dropout && cfg_.dropout > 0 && L > 1;
  acts.dropout_applied = drop;
  allocate(acts, T, B, training, drop);
  acts.has_lengths = lengths != nullptr;
  if (lengths) acts.lengths.assign(lengths, lengths + B);
  const int32_t* lens = acts.has_lengths ? acts.lengths.data() : nullptr;

  // The layer-0 input. Token input has no rows of x: layer 0 reads the table (TokenInput).
  // Rows are copied in training (backward reads them, and the caller's array may change
  // meanwhile) and transposed when batch-first; a time-major eval input is read in place.
  acts.tokens = in.ids != nullptr;
  const F* x = nullptr;
  if (acts.tokens) {
    acts.V = in.V;
    acts.ids.resize(TB);
    if (cfg_.batch_first)  // (B, T) -> (T, B)
      for (int t = 0; t < T; ++t)
        for (int b = 0; b < B; ++b) acts.ids[static_cast<size_t>(t) * B + b] = in.ids[static_cast<size_t>(b) * T + t];
    else
      std::memcpy(acts.ids.data(), in.ids, sizeof(int32_t) * TB);
    token_work_.resize(static_cast<size_t>(in.V) * G * H);
    acts.x0.clear();
  } else if (cfg_.batch_first) {
    acts.x0.resize(TB * cfg_.I);
    swap_leading_dims(acts.x0.data(), in.x, B, T, cfg_.I);
    x = acts.x0.data();
  } else if (training) {
    acts.x0.assign(in.x, in.x + TB * cfg_.I);
    x = acts.x0.data();
  } else {
    x = in.x;
  }
  const TokenInput<F> token_input{acts.ids.data(), in.table, in.V, token_work_.data()};

  const F keep_scale = cfg_.dropout >= 1 ? F(0) : static_cast<F>(1.0 / (1.0 - cfg_.dropout));
  F* y = nullptr;
  for (int l = 0; l < L; ++l) {
    if (l < L - 1) y = acts.y.data() + (training ? static_cast<size_t>(l) : static_cast<size_t>(l & 1)) * TB * DH;
    else y = cfg_.batch_first ? stage_.data() : output;
    for (int d = 0; d < D; ++d) {
      const size_t slot = static_cast<size_t>(l) * D + d;
      LayerDims dims{cfg_.cell, T, B, layer_input_size(l), H, d == 1};
      DirectionBuffers<F> buf = direction_buffers(acts, l, d);
      layer_forward(dims, weights[slot], x, l == 0 && acts.tokens ? &token_input : nullptr, lens,
                    h0 ? h0 + slot * BH : nullptr, c0 ? c0 + slot * BH : nullptr, y + static_cast<size_t>(d) * H,
                    static_cast<int>(DH), hN + slot * BH, cN ? cN + slot * BH : nullptr, buf,
                    scratch_.data() + static_cast<size_t>(d) * B * G * H);
    }
    if (drop && l < L - 1) {
      F* mask = acts.mask.data() + static_cast<size_t>(l) * TB * DH;
      F* dropped = acts.dropped.data() + static_cast<size_t>(l) * TB * DH;
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
  acts.saved = training;
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
  const int32_t* lens = acts.has_lengths ? acts.lengths.data() : nullptr;

  // After a token forward, the input's gradient needs the rows themselves: gathered now
  // from the table, and layer 0 then runs as for any input. Otherwise layer 0 sums its gate
  // gradients per token (and adds the table's gradient into dtable, when asked).
  const bool token_layer0 = acts.tokens && !dInput;
  if (acts.tokens && dInput) {
    acts.x0.resize(TB * cfg_.I);
    for (size_t r = 0; r < TB; ++r)
      std::memcpy(acts.x0.data() + r * cfg_.I, table + static_cast<size_t>(acts.ids[r]) * cfg_.I, sizeof(F) * cfg_.I);
  }
  token_work_.resize(acts.tokens ? static_cast<size_t>(acts.V) * gates() * H : 0);
  const TokenInput<F> token_input{acts.ids.data(), table, acts.V, token_work_.data()};

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
    const F* x = l == 0 ? (token_layer0 ? nullptr : acts.x0.data())
                 : drop ? acts.dropped.data() + static_cast<size_t>(l - 1) * TB * DH
                        : acts.y.data() + static_cast<size_t>(l - 1) * TB * DH;
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
        const F* mask = acts.mask.data() + static_cast<size_t>(l - 1) * TB * DH;
        for (size_t k = 0; k < TB * DH; ++k) dy_[k] = dx_[k] * mask[k];
      } else {
        std::memcpy(dy_.data(), dx_.data(), sizeof(F) * TB * DH);
      }
    }
  }
  if (staged_io && dInput) swap_leading_dims(dInput, dx_.data(), T, B, cfg_.I);
  // The saved gates now hold their gradients: like PyTorch without retain_graph, a second
  // backward needs a new forward.
  acts.saved = false;
}

template struct StackActivations<float>;
template struct StackActivations<double>;
template class ActivationPool<float>;
template class ActivationPool<double>;
template class RecurrentStack<float>;
template class RecurrentStack<double>;

}  // namespace rnn
