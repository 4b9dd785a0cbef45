#include "tree_cells.h"

#include <cstring>

#include "cells.h"
#include "clones.h"

namespace rnn {

template <typename F>
RNN_CLONES void tree_rnn_forward(bool relu, F* __restrict g, const F* __restrict b, F* __restrict h, int H) {
  if (b) add_span(g, b, H);
  if (relu)
    for (int j = 0; j < H; ++j) g[j] = g[j] > F(0) ? g[j] : F(0);
  else
    tanh_span(g, H);
  std::memcpy(h, g, sizeof(F) * H);
}

template <typename F>
RNN_CLONES void tree_rnn_backward(bool relu, F* __restrict g, const F* __restrict dh, int H) {
  if (relu)
    for (int j = 0; j < H; ++j) g[j] = g[j] > F(0) ? dh[j] : F(0);
  else
    for (int j = 0; j < H; ++j) g[j] = dh[j] * (F(1) - g[j] * g[j]);
}

template <typename F>
RNN_CLONES void nary_lstm_forward(F* __restrict g, const F* __restrict xg, const F* __restrict b, const F* cs,
                                  const int32_t* kpos, int M, F* __restrict c, F* __restrict h, int H, int K) {
  F* __restrict gi = g;
  F* __restrict gu = g + static_cast<size_t>(1 + K) * H;
  F* __restrict go = g + static_cast<size_t>(2 + K) * H;
  const F* __restrict xi = xg;
  const F* __restrict xf = xg + H;
  const F* __restrict xu = xg + 2 * H;
  const F* __restrict xo = xg + 3 * H;
  for (int j = 0; j < H; ++j) gi[j] += xi[j];
  for (int k = 0; k < K; ++k) {
    F* __restrict gf = g + static_cast<size_t>(1 + k) * H;
    for (int j = 0; j < H; ++j) gf[j] += xf[j];
  }
  for (int j = 0; j < H; ++j) gu[j] += xu[j];
  for (int j = 0; j < H; ++j) go[j] += xo[j];
  if (b) add_span(g, b, (3 + K) * H);
  sigmoid_span(g, (1 + K) * H);  // i and every f_k: adjacent blocks
  tanh_span(gu, H);
  sigmoid_span(go, H);
  for (int j = 0; j < H; ++j) c[j] = gi[j] * gu[j];
  for (int k = 0; k < M && k < K; ++k) {
    if (kpos[k] < 0) continue;
    const F* __restrict ck = cs + static_cast<size_t>(kpos[k]) * H;
    const F* __restrict gf = g + static_cast<size_t>(1 + k) * H;
    for (int j = 0; j < H; ++j) c[j] += gf[j] * ck[j];
  }
  tanh_copy(h, c, H);
  for (int j = 0; j < H; ++j) h[j] *= go[j];
}

template <typename F>
RNN_CLONES void nary_lstm_backward(F* __restrict g, F* __restrict dxg, const F* cs, const int32_t* kpos, int M,
                                   F* __restrict tc, const F* __restrict dh, const F* __restrict dc, F* dcs, int H,
                                   int K) {
  F* __restrict gi = g;
  F* __restrict gu = g + static_cast<size_t>(1 + K) * H;
  F* __restrict go = g + static_cast<size_t>(2 + K) * H;
  F* __restrict dxi = dxg;
  F* __restrict dxf = dxg + H;
  F* __restrict dxu = dxg + 2 * H;
  F* __restrict dxo = dxg + 3 * H;
  for (int j = 0; j < H; ++j) {
    const F t = tc[j], o = go[j], i = gi[j], u = gu[j];
    const F dct = dc[j] + dh[j] * o * (F(1) - t * t);
    tc[j] = dct;
    go[j] = dxo[j] = dh[j] * t * o * (F(1) - o);
    gi[j] = dxi[j] = dct * u * i * (F(1) - i);
    gu[j] = dxu[j] = dct * i * (F(1) - u * u);
    dxf[j] = F(0);
  }
  for (int k = 0; k < K; ++k) {
    F* __restrict gf = g + static_cast<size_t>(1 + k) * H;
    if (k >= M || kpos[k] < 0) {  // an empty position: c_k = 0, so df_k = 0
      std::memset(gf, 0, sizeof(F) * H);
      continue;
    }
    const F* __restrict ck = cs + static_cast<size_t>(kpos[k]) * H;
    F* __restrict dck = dcs + static_cast<size_t>(kpos[k]) * H;
    for (int j = 0; j < H; ++j) {
      const F f = gf[j];
      const F df = tc[j] * ck[j] * f * (F(1) - f);
      gf[j] = df;
      dxf[j] += df;
      dck[j] += tc[j] * f;
    }
  }
}

template <typename F>
RNN_CLONES void child_sum_forward(F* __restrict g, const F* __restrict b, F* __restrict fk, const F* cs,
                                  const int32_t* kpos, int M, F* __restrict c, F* __restrict h, int H) {
  F* __restrict gi = g;
  const F* __restrict gf = g + H;
  F* __restrict gu = g + 2 * H;
  F* __restrict go = g + 3 * H;
  if (b) add_span(g, b, 4 * H);
  sigmoid_span(gi, H);
  tanh_span(gu, H);
  sigmoid_span(go, H);
  for (int j = 0; j < H; ++j) c[j] = gi[j] * gu[j];
  for (int k = 0; k < M; ++k) {
    F* __restrict f = fk + static_cast<size_t>(k) * H;
    for (int j = 0; j < H; ++j) f[j] += gf[j];
    sigmoid_span(f, H);
    if (kpos[k] < 0) continue;
    const F* __restrict ck = cs + static_cast<size_t>(kpos[k]) * H;
    for (int j = 0; j < H; ++j) c[j] += f[j] * ck[j];
  }
  tanh_copy(h, c, H);
  for (int j = 0; j < H; ++j) h[j] *= go[j];
}

template <typename F>
RNN_CLONES void child_sum_backward(F* __restrict g, F* __restrict fk, const F* cs, const int32_t* kpos, int M,
                                   F* __restrict tc, const F* __restrict dh, const F* __restrict dc, F* dcs, int H) {
  F* __restrict gi = g;
  F* __restrict gf = g + H;
  F* __restrict gu = g + 2 * H;
  F* __restrict go = g + 3 * H;
  for (int j = 0; j < H; ++j) {
    const F t = tc[j], o = go[j], i = gi[j], u = gu[j];
    const F dct = dc[j] + dh[j] * o * (F(1) - t * t);
    tc[j] = dct;
    go[j] = dh[j] * t * o * (F(1) - o);
    gi[j] = dct * u * i * (F(1) - i);
    gu[j] = dct * i * (F(1) - u * u);
    gf[j] = F(0);
  }
  for (int k = 0; k < M; ++k) {
    F* __restrict f = fk + static_cast<size_t>(k) * H;
    if (kpos[k] < 0) {
      std::memset(f, 0, sizeof(F) * H);
      continue;
    }
    const F* __restrict ck = cs + static_cast<size_t>(kpos[k]) * H;
    F* __restrict dck = dcs + static_cast<size_t>(kpos[k]) * H;
    for (int j = 0; j < H; ++j) {
      const F fv = f[j];
      const F df = tc[j] * ck[j] * fv * (F(1) - fv);
      f[j] = df;
      gf[j] += df;
      dck[j] += tc[j] * fv;
    }
  }
}

#define RNN_INSTANTIATE_TREE_CELLS(F)                                                                          \
  template void tree_rnn_forward<F>(bool, F*, const F*, F*, int);                                               \
  template void tree_rnn_backward<F>(bool, F*, const F*, int);                                                  \
  template void nary_lstm_forward<F>(F*, const F*, const F*, const F*, const int32_t*, int, F*, F*, int, int);  \
  template void nary_lstm_backward<F>(F*, F*, const F*, const int32_t*, int, F*, const F*, const F*, F*, int,   \
                                      int);                                                                     \
  template void child_sum_forward<F>(F*, const F*, F*, const F*, const int32_t*, int, F*, F*, int);             \
  template void child_sum_backward<F>(F*, F*, const F*, const int32_t*, int, F*, const F*, const F*, F*, int);
RNN_INSTANTIATE_TREE_CELLS(float)
RNN_INSTANTIATE_TREE_CELLS(double)
#undef RNN_INSTANTIATE_TREE_CELLS

}  // namespace rnn
