// A plain twin of tree_cells.h: the same functions written as directly as Tai et al.'s
// equations, in double precision with the C library's exp and tanh, no vectorisation, no
// in-place tricks. The tests run both on the same inputs (the binding's treeUnits* hooks)
// so the fast kernels are checked against the equations themselves, not only against PyTorch.
// Arguments as in tree_cells.h, except that backward takes the node's cell c (it recomputes
// tanh(c) itself) instead of tanh(c) in a scratch row.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "cells_reference.h"

namespace rnn {
namespace reference {

template <typename F>
void tree_rnn_forward(bool relu, F* g, const F* b, F* h, int H) {
  for (int j = 0; j < H; ++j) {
    const double a = double(g[j]) + (b ? b[j] : 0.0);
    g[j] = static_cast<F>(relu ? (a > 0 ? a : 0.0) : std::tanh(a));
    h[j] = g[j];
  }
}

template <typename F>
void tree_rnn_backward(bool relu, F* g, const F* dh, int H) {
  for (int j = 0; j < H; ++j) {
    const double y = g[j];
    g[j] = static_cast<F>(relu ? (y > 0 ? double(dh[j]) : 0.0) : dh[j] * (1.0 - y * y));
  }
}

// The child's cell value at unit j, or 0 for an empty or absent slot.
template <typename F>
double child_cell(const F* cs, const int32_t* kpos, int M, int k, int j, int H) {
  return k < M && kpos[k] >= 0 ? double(cs[static_cast<size_t>(kpos[k]) * H + j]) : 0.0;
}

template <typename F>
void nary_lstm_forward(F* g, const F* xg, const F* b, const F* cs, const int32_t* kpos, int M, F* c, F* h, int H,
                       int K) {
  const auto bias = [&](int block, int j) { return b ? double(b[static_cast<size_t>(block) * H + j]) : 0.0; };
  for (int j = 0; j < H; ++j) {
    const double i = sigmoid(double(g[j]) + xg[j] + bias(0, j));                                       // (9)
    const double u = std::tanh(double(g[static_cast<size_t>(1 + K) * H + j]) + xg[2 * H + j] + bias(1 + K, j));  // (12)
    const double o = sigmoid(double(g[static_cast<size_t>(2 + K) * H + j]) + xg[3 * H + j] + bias(2 + K, j));   // (11)
    double cell = i * u;
    for (int k = 0; k < K; ++k) {
      const double f = sigmoid(double(g[static_cast<size_t>(1 + k) * H + j]) + xg[H + j] + bias(1 + k, j));  // (10)
      g[static_cast<size_t>(1 + k) * H + j] = static_cast<F>(f);
      cell += f * child_cell(cs, kpos, M, k, j, H);                                                  // (13)
    }
    g[j] = static_cast<F>(i);
    g[static_cast<size_t>(1 + K) * H + j] = static_cast<F>(u);
    g[static_cast<size_t>(2 + K) * H + j] = static_cast<F>(o);
    c[j] = static_cast<F>(cell);
    h[j] = static_cast<F>(o * std::tanh(cell));                                                      // (14)
  }
}

template <typename F>
void nary_lstm_backward(F* g, F* dxg, const F* cs, const int32_t* kpos, int M, const F* c, const F* dh, const F* dc,
                        F* dcs, int H, int K) {
  for (int j = 0; j < H; ++j) {
    const size_t ui = static_cast<size_t>(1 + K) * H + j, oi = static_cast<size_t>(2 + K) * H + j;
    const double i = g[j], u = g[ui], o = g[oi];
    const double tc = std::tanh(double(c[j]));
    const double dct = dc[j] + dh[j] * o * (1 - tc * tc);
    const double di = dct * u * i * (1 - i), du = dct * i * (1 - u * u), d_o = dh[j] * tc * o * (1 - o);
    double dfsum = 0;
    for (int k = 0; k < K; ++k) {
      const size_t fi = static_cast<size_t>(1 + k) * H + j;
      const double f = g[fi];
      const double ck = child_cell(cs, kpos, M, k, j, H);
      const double df = dct * ck * f * (1 - f);
      g[fi] = static_cast<F>(df);
      dfsum += df;
      if (k < M && kpos[k] >= 0) {
        F& d = dcs[static_cast<size_t>(kpos[k]) * H + j];
        d = static_cast<F>(double(d) + dct * f);
      }
    }
    g[j] = static_cast<F>(di);
    g[ui] = static_cast<F>(du);
    g[oi] = static_cast<F>(d_o);
    dxg[j] = static_cast<F>(di);
    dxg[H + j] = static_cast<F>(dfsum);
    dxg[2 * H + j] = static_cast<F>(du);
    dxg[3 * H + j] = static_cast<F>(d_o);
  }
}

template <typename F>
void child_sum_forward(F* g, const F* b, F* fk, const F* cs, const int32_t* kpos, int M, F* c, F* h, int H) {
  const auto bias = [&](int block, int j) { return b ? double(b[static_cast<size_t>(block) * H + j]) : 0.0; };
  for (int j = 0; j < H; ++j) {
    const double i = sigmoid(double(g[j]) + bias(0, j));              // (3)
    const double fx = double(g[H + j]) + bias(1, j);
    const double u = std::tanh(double(g[2 * H + j]) + bias(2, j));    // (6)
    const double o = sigmoid(double(g[3 * H + j]) + bias(3, j));      // (5)
    double cell = i * u;
    for (int k = 0; k < M; ++k) {
      const double f = sigmoid(fx + fk[static_cast<size_t>(k) * H + j]);  // (4)
      fk[static_cast<size_t>(k) * H + j] = static_cast<F>(f);
      cell += f * child_cell(cs, kpos, M, k, j, H);                     // (7)
    }
    g[j] = static_cast<F>(i);
    g[H + j] = static_cast<F>(fx);
    g[2 * H + j] = static_cast<F>(u);
    g[3 * H + j] = static_cast<F>(o);
    c[j] = static_cast<F>(cell);
    h[j] = static_cast<F>(o * std::tanh(cell));                         // (8)
  }
}

template <typename F>
void child_sum_backward(F* g, F* fk, const F* cs, const int32_t* kpos, int M, const F* c, const F* dh, const F* dc,
                        F* dcs, int H) {
  for (int j = 0; j < H; ++j) {
    const double i = g[j], u = g[2 * H + j], o = g[3 * H + j];
    const double tc = std::tanh(double(c[j]));
    const double dct = dc[j] + dh[j] * o * (1 - tc * tc);
    double dfsum = 0;
    for (int k = 0; k < M; ++k) {
      const size_t fi = static_cast<size_t>(k) * H + j;
      const double f = fk[fi];
      const double df = dct * child_cell(cs, kpos, M, k, j, H) * f * (1 - f);
      fk[fi] = static_cast<F>(df);
      dfsum += df;
      if (kpos[k] >= 0) {
        F& d = dcs[static_cast<size_t>(kpos[k]) * H + j];
        d = static_cast<F>(double(d) + dct * f);
      }
    }
    g[j] = static_cast<F>(dct * u * i * (1 - i));
    g[H + j] = static_cast<F>(dfsum);
    g[2 * H + j] = static_cast<F>(dct * i * (1 - u * u));
    g[3 * H + j] = static_cast<F>(dh[j] * tc * o * (1 - o));
  }
}

}  // namespace reference
}  // namespace rnn
