// A plain twin of cells.h: the same functions written as directly as the equations, in double
// precision with the C library's exp and tanh, no vectorisation, no in-place tricks. The
// tests run both on the same inputs (the binding's cellReferenceCheck hook) so the fast
// kernels are checked against the equations themselves, not only against PyTorch.
#pragma once
#include <cmath>

namespace rnn {
namespace reference {

inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// One row, all H units, active. Arguments as in cells.h with j0 = 0, n = H.
template <typename F>
void rnn_forward(bool relu, F* g, F* h_out, int H) {
  for (int j = 0; j < H; ++j) {
    const double a = g[j];
    g[j] = static_cast<F>(relu ? (a > 0 ? a : 0) : std::tanh(a));
    h_out[j] = g[j];
  }
}

template <typename F>
void lstm_forward(F* g, const F* c_in, F* h_out, F* c_out, int H) {
  for (int j = 0; j < H; ++j) {
    const double i = sigmoid(g[j]), f = sigmoid(g[H + j]), gg = std::tanh(g[2 * H + j]), o = sigmoid(g[3 * H + j]);
    const double c = f * c_in[j] + i * gg;
    g[j] = static_cast<F>(i);
    g[H + j] = static_cast<F>(f);
    g[2 * H + j] = static_cast<F>(gg);
    g[3 * H + j] = static_cast<F>(o);
    c_out[j] = static_cast<F>(c);
    h_out[j] = static_cast<F>(o * std::tanh(c));
  }
}

// gx (3H) and gh (3H) as in cells.h; b_hn (H) or nullptr.
template <typename F>
void gru_forward(F* gx, const F* gh, const F* b_hn, const F* h_in, F* h_out, F* ghn_save, int H) {
  for (int j = 0; j < H; ++j) {
    const double r = sigmoid(double(gx[j]) + gh[j]);
    const double z = sigmoid(double(gx[H + j]) + gh[H + j]);
    const double hn = double(gh[2 * H + j]) + (b_hn ? b_hn[j] : 0.0);
    const double n = std::tanh(double(gx[2 * H + j]) + r * hn);
    gx[j] = static_cast<F>(r);
    gx[H + j] = static_cast<F>(z);
    gx[2 * H + j] = static_cast<F>(n);
    ghn_save[j] = static_cast<F>(hn);
    h_out[j] = static_cast<F>((1 - z) * n + z * h_in[j]);
  }
}

// Backward: g holds the activated gates in, their pre-activation gradients out.
template <typename F>
void rnn_backward(bool relu, F* g, const F* dh, const F* h, F* dh_prev, int H) {
  for (int j = 0; j < H; ++j) {
    g[j] = static_cast<F>(relu ? (h[j] > 0 ? dh[j] : 0.0) : dh[j] * (1.0 - double(h[j]) * h[j]));
    dh_prev[j] = 0;
  }
}

// c_out: c_t (the reference recomputes tanh(c_t) itself).
template <typename F>
void lstm_backward(F* g, const F* dh, const F* dc, const F* c_in, const F* c_out, F* dc_prev, int H) {
  for (int j = 0; j < H; ++j) {
    const double i = g[j], f = g[H + j], gg = g[2 * H + j], o = g[3 * H + j];
    const double tc = std::tanh(double(c_out[j]));
    const double dct = dc[j] + dh[j] * o * (1 - tc * tc);
    g[j] = static_cast<F>(dct * gg * i * (1 - i));
    g[H + j] = static_cast<F>(dct * c_in[j] * f * (1 - f));
    g[2 * H + j] = static_cast<F>(dct * i * (1 - gg * gg));
    g[3 * H + j] = static_cast<F>(dh[j] * tc * o * (1 - o));
    dc_prev[j] = static_cast<F>(dct * f);
  }
}

template <typename F>
void gru_backward(F* g, const F* dh, F* ghn, const F* h_prev, F* dh_prev, int H) {
  for (int j = 0; j < H; ++j) {
    const double r = g[j], z = g[H + j], n = g[2 * H + j];
    const double dn = dh[j] * (1 - z) * (1 - n * n);
    const double dz = dh[j] * (double(h_prev[j]) - n) * z * (1 - z);
    const double dr = dn * ghn[j] * r * (1 - r);
    g[j] = static_cast<F>(dr);
    g[H + j] = static_cast<F>(dz);
    g[2 * H + j] = static_cast<F>(dn);
    ghn[j] = static_cast<F>(dn * r);
    dh_prev[j] = static_cast<F>(dh[j] * z);
  }
}

}  // namespace reference
}  // namespace rnn
