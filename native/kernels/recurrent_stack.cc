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

}  // namespace

template <typename F>
void RecurrentStack<F>::allocate(int T, int B, bool training) {
  const size_t D = directions(), G = gates(), H = cfg_.H, L = cfg_.L;
  const size_t TB = static_cast<size_t>(T) * B, DH = D * H;
  const size_t sets = training ? L * D : D;  // direction buffer sets kept
  x0_.resize(cfg_.batch_first ? TB * cfg_.I : 0);
  // Outputs of layers 0..L-2 (all kept in training, two alternating in eval); the last
  // layer writes the caller's output directly, or a staging slot (the last) to transpose.
  const size_t inner = L > 1 ? (training ? L - 1 : std::min<size_t>(L - 1, 2)) : 0;
  y_.resize((inner + (cfg_.batch_first ? 1 : 0)) * TB * DH);
  const bool drop = training && cfg_.dropout > 0 && L > 1;
  dropped_.resize(drop ? (L - 1) * TB * DH : 0);
  mask_.resize(drop ? (L - 1) * TB * DH : 0);
  gates_.resize(sets * TB * G * H);
  ghn_.resize(cfg_.cell == CellType::Gru ? sets * TB * H : 0);
  const size_t hist_rows = training ? static_cast<size_t>(T) + 1 : 2;
  hist_h_.resize(sets * hist_rows * B * H);
  hist_c_.resize(cfg_.cell == CellType::Lstm ? sets * hist_rows * B * H : 0);
  scratch_.resize(D * B * G * H);
  packed_.resize(((H + 15) / 16) * G * H * 16);
  bias_sum_.resize(D * (G + 1) * H);
  if (training) {
    // Backward's scratch. The gate gradients overwrite the saved gates in place (and GRU's
    // dn * r its saved W_hn h + b_hn); dy_/dx_ are needed only between layers or to transpose
    // batch-first data (see backward), so they are sized there, once per shape.
    dh_.resize(2 * B * H);
    dc_.resize(2 * B * H);
  }
}

template <typename F>
DirectionBuffers<F> RecurrentStack<F>::direction_buffers(int layer, int dir) {
  const size_t TB = static_cast<size_t>(T_) * B_, H = cfg_.H, G = gates();
  const bool full = saved_;
  const size_t set = full ? static_cast<size_t>(layer) * directions() + dir : dir;
  const size_t hist_rows = full ? static_cast<size_t>(T_) + 1 : 2;
  DirectionBuffers<F> buf;
  buf.gates = gates_.data() + set * TB * G * H;
  buf.ghn = ghn_.empty() ? nullptr : ghn_.data() + set * TB * H;
  buf.hist_h = hist_h_.data() + set * hist_rows * B_ * H;
  buf.hist_c = hist_c_.empty() ? nullptr : hist_c_.data() + set * hist_rows * B_ * H;
  buf.packed = packed_.data();  // shared: directions and layers run one after another
  buf.bias_sum = bias_sum_.data() + static_cast<size_t>(dir) * (G + 1) * H;
  buf.full_history = full;
  return buf;
}

template <typename F>
void RecurrentStack<F>::forward(int T, int B, const F* input, const F* h0, const F* c0,
                                const int32_t* lengths, const LayerWeights<F>* weights,
                                bool training, uint64_t seed, F* output, F* hN, F* cN) {
  tokens_ = false;
  forward_impl(T, B, input, h0, c0, lengths, weights, training, seed, output, hN, cN);
}

template <typename F>
void RecurrentStack<F>::forward_tokens(int T, int B, const int32_t* ids, int V, const F* table, const F* h0,
                                       const F* c0, const int32_t* lengths, const LayerWeights<F>* weights,
                                       bool training, uint64_t seed, F* output, F* hN, F* cN) {
  saved_ = false;  // before anything can throw: a failed call must not leave a stale saved state
  const size_t TB = static_cast<size_t>(T) * B;
  ids_.resize(TB);
  if (cfg_.batch_first)  // (B, T) -> (T, B)
    for (int t = 0; t < T; ++t)
      for (int b = 0; b < B; ++b) ids_[static_cast<size_t>(t) * B + b] = ids[static_cast<size_t>(b) * T + t];
  else
    std::memcpy(ids_.data(), ids, sizeof(int32_t) * TB);
  tokens_ = true;
  table_ = table;
  V_ = V;
  token_work_.resize(static_cast<size_t>(V) * gates() * cfg_.H);
  forward_impl(T, B, nullptr, h0, c0, lengths, weights, training, seed, output, hN, cN);
}

template <typename F>
void RecurrentStack<F>::forward_impl(int T, int B, const F* input, const F* h0, const F* c0,
                                     const int32_t* lengths, const LayerWeights<F>* weights,
                                     bool training, uint64_t seed, F* output, F* hN, F* cN) {
  const int D = directions(), H = cfg_.H, L = cfg_.L, G = gates();
  const size_t TB = static_cast<size_t>(T) * B, DH = static_cast<size_t>(D) * H;
  const size_t BH = static_cast<size_t>(B) * H;
  saved_ = false;  // a forward that fails (bad_alloc) must not leave a stale saved state
  T_ = T;
  B_ = B;
  allocate(T, B, training);
  saved_ = training;  // direction_buffers reads it: full histories in training
  has_lengths_ = lengths != nullptr;
  if (lengths) lengths_.assign(lengths, lengths + B);
  const int32_t* lens = has_lengths_ ? lengths_.data() : nullptr;

  // Time-major input is used in place (and, in training, read again by backward: the
  // binding keeps the caller's array alive until then); batch-first input is transposed.
  // Token input has no rows of x: layer 0 reads the table (see TokenInput).
  const TokenInput<F> token_input{ids_.data(), table_, V_, token_work_.data()};
  if (tokens_) {
    input_ = nullptr;
  } else if (cfg_.batch_first) {
    swap_leading_dims(x0_.data(), input, B, T, cfg_.I);
    input_ = x0_.data();
  } else {
    input_ = input;
  }

  const bool drop = training && cfg_.dropout > 0 && L > 1;
  const F keep_scale = cfg_.dropout >= 1 ? F(0) : static_cast<F>(1.0 / (1.0 - cfg_.dropout));
  const F* x = input_;
  F* y = nullptr;
  for (int l = 0; l < L; ++l) {
    if (l < L - 1) y = y_.data() + (training ? static_cast<size_t>(l) : static_cast<size_t>(l & 1)) * TB * DH;
    else y = cfg_.batch_first ? y_.data() + (y_.size() - TB * DH) : output;
    for (int d = 0; d < D; ++d) {
      const size_t slot = static_cast<size_t>(l) * D + d;
      LayerDims dims{cfg_.cell, T, B, layer_input_size(l), H, d == 1};
      DirectionBuffers<F> buf = direction_buffers(l, d);
      layer_forward(dims, weights[slot], x, l == 0 && tokens_ ? &token_input : nullptr, lens, h0 ? h0 + slot * BH : nullptr,
                    c0 ? c0 + slot * BH : nullptr, y + static_cast<size_t>(d) * H,
                    static_cast<int>(DH), hN + slot * BH, cN ? cN + slot * BH : nullptr, buf,
                    scratch_.data() + static_cast<size_t>(d) * B * G * H);
    }
    if (drop && l < L - 1) {
      F* mask = mask_.data() + static_cast<size_t>(l) * TB * DH;
      F* dropped = dropped_.data() + static_cast<size_t>(l) * TB * DH;
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
}

template <typename F>
void RecurrentStack<F>::backward(const F* dOutput, const F* dhN, const F* dcN,
                                 const LayerWeights<F>* weights, const LayerGrads<F>* grads,
                                 F* dInput, F* dh0, F* dc0) {
  backward_impl(dOutput, dhN, dcN, weights, grads, dInput, nullptr, -1, dh0, dc0);
}

template <typename F>
void RecurrentStack<F>::backward_tokens(const F* dOutput, const F* dhN, const F* dcN,
                                        const LayerWeights<F>* weights, const LayerGrads<F>* grads,
                                        F* dtable, int pad, F* dh0, F* dc0) {
  backward_impl(dOutput, dhN, dcN, weights, grads, nullptr, dtable, pad, dh0, dc0);
}

template <typename F>
void RecurrentStack<F>::backward_impl(const F* dOutput, const F* dhN, const F* dcN,
                                      const LayerWeights<F>* weights, const LayerGrads<F>* grads,
                                      F* dInput, F* dtable, int pad, F* dh0, F* dc0) {
  const int T = T_, B = B_, D = directions(), H = cfg_.H, L = cfg_.L;
  const size_t TB = static_cast<size_t>(T) * B, DH = static_cast<size_t>(D) * H;
  const size_t BH = static_cast<size_t>(B) * H;
  const bool lstm = cfg_.cell == CellType::Lstm;
  const bool drop = cfg_.dropout > 0 && L > 1;
  const int32_t* lens = has_lengths_ ? lengths_.data() : nullptr;

  // Time-major data needs no staging: the top layer reads dOutput directly and layer 0
  // writes dInput directly. dy_/dx_ (time-major (T, B, width)) carry gradients between
  // layers and through batch-first transposes.
  const bool staged_io = cfg_.batch_first;
  if (L > 1 || (staged_io && dOutput)) dy_.resize(TB * DH);
  if (L > 1 || staged_io) dx_.resize(TB * std::max<size_t>(cfg_.I, DH));
  const F* dy_top = dOutput;
  if (dOutput && staged_io) {
    swap_leading_dims(dy_.data(), dOutput, B, T, static_cast<int>(DH));
    dy_top = dy_.data();
  }

  for (int l = L - 1; l >= 0; --l) {
    const int I_l = layer_input_size(l);
    const F* x = l == 0 ? input_
                 : drop ? dropped_.data() + static_cast<size_t>(l - 1) * TB * DH
                        : y_.data() + static_cast<size_t>(l - 1) * TB * DH;
    const F* dy_l = l == L - 1 ? dy_top : dy_.data();
    const bool token_layer = l == 0 && tokens_;  // no rows of x: the table's gradient instead
    F* dx_l = token_layer ? nullptr : l == 0 && !staged_io ? dInput : dx_.data();
    if (dx_l) std::memset(dx_l, 0, sizeof(F) * TB * I_l);
    const TokenInput<F> token_input{ids_.data(), table_, V_, token_work_.data()};
    for (int d = 0; d < D; ++d) {
      const size_t slot = static_cast<size_t>(l) * D + d;
      LayerDims dims{cfg_.cell, T, B, I_l, H, d == 1};
      DirectionBuffers<F> buf = direction_buffers(l, d);
      layer_backward(dims, weights[slot], grads[slot], x, token_layer ? &token_input : nullptr, lens,
                     dy_l ? dy_l + static_cast<size_t>(d) * H : nullptr,
                     static_cast<int>(DH), dhN ? dhN + slot * BH : nullptr,
                     dcN && lstm ? dcN + slot * BH : nullptr, dx_l, dtable, pad, dh0 + slot * BH,
                     lstm ? dc0 + slot * BH : nullptr, buf, buf.gates,
                     buf.ghn, dh_.data(),
                     lstm ? dc_.data() : nullptr);
    }
    if (l > 0) {  // the previous layer's output gradient, through the dropout mask
      if (drop) {
        const F* mask = mask_.data() + static_cast<size_t>(l - 1) * TB * DH;
        for (size_t k = 0; k < TB * DH; ++k) dy_[k] = dx_[k] * mask[k];
      } else {
        std::memcpy(dy_.data(), dx_.data(), sizeof(F) * TB * DH);
      }
    }
  }
  if (staged_io && !tokens_) swap_leading_dims(dInput, dx_.data(), T, B, cfg_.I);
  // The saved gates now hold their gradients: like PyTorch without retain_graph, a second
  // backward needs a new forward.
  saved_ = false;
}

template class RecurrentStack<float>;
template class RecurrentStack<double>;

}  // namespace rnn
