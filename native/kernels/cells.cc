#include "cells.h"

#include <cstring>
#include <initializer_list>
#include <type_traits>

#include "activations.h"
#include "clones.h"
#include "vec_math.h"

namespace rnn {

// ---- span activations: vectorised kernels for float, the C library for double ---------
template <typename F>
void sigmoid_span(F* x, int n) {
  for (int i = 0; i < n; ++i) x[i] = sigmoid(x[i]);
}
template <>
void sigmoid_span<float>(float* x, int n) {
  sigmoid_inplace(x, n);
}
template <typename F>
void tanh_span(F* x, int n) {
  for (int i = 0; i < n; ++i) x[i] = tanh_(x[i]);
}
template <>
void tanh_span<float>(float* x, int n) {
  tanh_inplace(x, n);
}
template <typename F>
void tanh_copy(F* out, const F* x, int n) {
  for (int i = 0; i < n; ++i) out[i] = tanh_(x[i]);
}
template <>
void tanh_copy<float>(float* out, const float* x, int n) {
  tanh_to(out, x, n);
}

// ---- fused per-step elementwise passes ------------------------------------------------
// Each handles hidden units [j0, j0 + n) of one batch row: g points at that row's (G*H)
// gate pre-activations (gates H apart) and holds the activated gates on exit; the state
// pointers are row starts. An inactive row (past its length) keeps its state, outputs 0.

template <typename F>
RNN_CLONES void rnn_forward(bool relu, F* __restrict g, const F* __restrict h_in, F* __restrict h_out,
               F* __restrict y, int j0, int n, bool active) {
  g += j0; h_in += j0; h_out += j0; y += j0;
  if (!active) {
    std::memcpy(h_out, h_in, sizeof(F) * n);
    std::memset(y, 0, sizeof(F) * n);
    std::memset(g, 0, sizeof(F) * n);
    return;
  }
  if (relu)
    for (int j = 0; j < n; ++j) g[j] = g[j] > F(0) ? g[j] : F(0);
  else
    tanh_span(g, n);
  std::memcpy(h_out, g, sizeof(F) * n);
  std::memcpy(y, g, sizeof(F) * n);
}

template <typename F>
RNN_CLONES void lstm_forward(F* __restrict g, const F* __restrict h_in, const F* __restrict c_in,
                F* __restrict h_out, F* __restrict c_out, F* __restrict y, int H, int j0, int n,
                bool active) {
  h_in += j0; c_in += j0; h_out += j0; c_out += j0; y += j0;
  F* __restrict gi = g + j0;
  F* __restrict gf = g + H + j0;
  F* __restrict gg = g + 2 * H + j0;
  F* __restrict go = g + 3 * H + j0;
  if (!active) {
    std::memcpy(h_out, h_in, sizeof(F) * n);
    std::memcpy(c_out, c_in, sizeof(F) * n);
    std::memset(y, 0, sizeof(F) * n);
    for (F* gate : {gi, gf, gg, go}) std::memset(gate, 0, sizeof(F) * n);
    return;
  }
  if constexpr (std::is_same<F, float>::value)  // one sweep instead of seven (AVX-512)
    if (lstm_cell_forward_fused(gi, gf, gg, go, c_in, c_out, h_out, y, n)) return;
  sigmoid_span(gi, n);
  sigmoid_span(gf, n);
  tanh_span(gg, n);
  sigmoid_span(go, n);
  for (int j = 0; j < n; ++j) c_out[j] = gf[j] * c_in[j] + gi[j] * gg[j];
  tanh_copy(h_out, c_out, n);
  for (int j = 0; j < n; ++j) {
    const F h = go[j] * h_out[j];
    h_out[j] = h;
    y[j] = h;
  }
}

// gx: the row's (3H) input projection incl. b_ih and b_hr, b_hz; gh: the row's (3H)
// W_hh h (no bias); b_hn: (H) or nullptr; ghn_save: the row's (H) W_hn h + b_hn.
template <typename F>
RNN_CLONES void gru_forward(F* __restrict gx, const F* __restrict gh, const F* __restrict b_hn,
               const F* __restrict h_in, F* __restrict h_out, F* __restrict y,
               F* __restrict ghn_save, int H, int j0, int n, bool active) {
  h_in += j0; h_out += j0; y += j0; ghn_save += j0;
  F* __restrict r = gx + j0;
  F* __restrict z = gx + H + j0;
  F* __restrict nn = gx + 2 * H + j0;
  const F* __restrict hr = gh + j0;
  const F* __restrict hz = gh + H + j0;
  const F* __restrict hn = gh + 2 * H + j0;
  if (!active) {
    std::memcpy(h_out, h_in, sizeof(F) * n);
    std::memset(y, 0, sizeof(F) * n);
    for (F* gate : {r, z, nn}) std::memset(gate, 0, sizeof(F) * n);
    std::memset(ghn_save, 0, sizeof(F) * n);
    return;
  }
  for (int j = 0; j < n; ++j) r[j] += hr[j];
  for (int j = 0; j < n; ++j) z[j] += hz[j];
  sigmoid_span(r, n);
  sigmoid_span(z, n);
  for (int j = 0; j < n; ++j) {
    const F v = hn[j] + (b_hn ? b_hn[j0 + j] : F(0));
    ghn_save[j] = v;
    nn[j] += r[j] * v;
  }
  tanh_span(nn, n);
  for (int j = 0; j < n; ++j) {
    const F h = (F(1) - z[j]) * nn[j] + z[j] * h_in[j];
    h_out[j] = h;
    y[j] = h;
  }
}

// g[0, n) += b[0, n): the summed biases onto one row's pre-activations of one gate.
template <typename F>
RNN_CLONES void add_span(F* __restrict g, const F* __restrict b, int n) {
  for (int j = 0; j < n; ++j) g[j] += b[j];
}

// ---- backward elementwise passes ---------------------------------------------------------
// n hidden units of one batch row. g holds the activated gates on entry (gates H apart) and
// their pre-activation gradients on exit — for the float path it is the saved gates buffer
// itself, each element read before it is overwritten. dh: dL/dh_t (incl. dy); dh_prev
// receives the part of dL/dh_{t-1} that does not pass through W_hh.

template <typename F>
RNN_CLONES void lstm_backward(F* __restrict g, int H, const F* __restrict dh, const F* __restrict dc,
                         const F* __restrict c_in, F* __restrict tanh_c_then_dh_prev,
                         F* __restrict dc_prev, int n) {
  for (int j = 0; j < n; ++j) {
    const F i = g[j], f = g[H + j], c_hat = g[2 * H + j], og = g[3 * H + j];
    const F tc = tanh_c_then_dh_prev[j];
    const F dct = dc[j] + dh[j] * og * (F(1) - tc * tc);
    g[j] = dct * c_hat * i * (F(1) - i);
    g[H + j] = dct * c_in[j] * f * (F(1) - f);
    g[2 * H + j] = dct * i * (F(1) - c_hat * c_hat);
    g[3 * H + j] = dh[j] * tc * og * (F(1) - og);
    dc_prev[j] = dct * f;
    tanh_c_then_dh_prev[j] = F(0);
  }
}

template <typename F>
void lstm_backward_step(F* g, int H, const F* dh, const F* dc, const F* c_in, const F* c_t, F* dh_prev, F* dc_prev,
                        F* db, int n) {
  if constexpr (std::is_same<F, float>::value)
    if (lstm_cell_backward_fused(g, H, dh, dc, c_in, c_t, dh_prev, dc_prev, db, n)) return;
  tanh_copy(dh_prev, c_t, n);
  lstm_backward(g, H, dh, dc, c_in, dh_prev, dc_prev, n);
  if (db)
    for (int q = 0; q < 4; ++q) add_span(db + q * H, g + q * H, n);
}

// ghn: in, W_hn h + b_hn saved by forward; out, dn * r (the n part of the recurrent
// pre-activation gradient), in place like the gates.
template <typename F>
RNN_CLONES void gru_backward(F* __restrict g, int H, const F* __restrict dh, F* __restrict ghn,
                                   const F* __restrict h_prev, F* __restrict dh_prev, int n) {
  for (int j = 0; j < n; ++j) {
    const F r = g[j], z = g[H + j], nv = g[2 * H + j];
    const F dn_pre = dh[j] * (F(1) - z) * (F(1) - nv * nv);
    const F dz_pre = dh[j] * (h_prev[j] - nv) * z * (F(1) - z);
    const F dr_pre = dn_pre * ghn[j] * r * (F(1) - r);
    g[j] = dr_pre;
    g[H + j] = dz_pre;
    g[2 * H + j] = dn_pre;
    ghn[j] = dn_pre * r;
    dh_prev[j] = dh[j] * z;
  }
}

// h: the step's output (the activated gate itself).
template <typename F>
RNN_CLONES void rnn_backward(bool relu, F* __restrict g, const F* __restrict dh, const F* __restrict h,
                        F* __restrict dh_prev, int n) {
  if (relu)
    for (int j = 0; j < n; ++j) g[j] = h[j] > F(0) ? dh[j] : F(0);
  else
    for (int j = 0; j < n; ++j) g[j] = dh[j] * (F(1) - h[j] * h[j]);
  for (int j = 0; j < n; ++j) dh_prev[j] = F(0);
}


#define RNN_INSTANTIATE_CELLS(F)                                                                                  \
  template void rnn_forward<F>(bool, F*, const F*, F*, F*, int, int, bool);                                     \
  template void lstm_forward<F>(F*, const F*, const F*, F*, F*, F*, int, int, int, bool);                       \
  template void gru_forward<F>(F*, const F*, const F*, const F*, F*, F*, F*, int, int, int, bool);              \
  template void rnn_backward<F>(bool, F*, const F*, const F*, F*, int);                                         \
  template void lstm_backward<F>(F*, int, const F*, const F*, const F*, F*, F*, int);                           \
  template void lstm_backward_step<F>(F*, int, const F*, const F*, const F*, const F*, F*, F*, F*, int);        \
  template void gru_backward<F>(F*, int, const F*, F*, const F*, F*, int);                                      \
  template void add_span<F>(F*, const F*, int);                                                                 \
  template void sigmoid_span<F>(F*, int);                                                                       \
  template void tanh_span<F>(F*, int);                                                                          \
  template void tanh_copy<F>(F*, const F*, int);
RNN_INSTANTIATE_CELLS(float)
RNN_INSTANTIATE_CELLS(double)
#undef RNN_INSTANTIATE_CELLS

}  // namespace rnn
