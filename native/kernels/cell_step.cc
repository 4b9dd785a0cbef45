#include "cell_step.h"

#include <cstring>

#include "blas.h"
#include "cells.h"

namespace rnn {
namespace {

// db (n) += column sums of d (B, ld) columns [0, n).
template <typename F>
void add_column_sums(F* db, const F* d, int B, int ld, int n) {
  for (int b = 0; b < B; ++b) add_span(db, d + static_cast<size_t>(b) * ld, n);
}

}  // namespace

template <typename F>
void cell_forward(CellType cell, int B, int I, int H, const F* x, const F* h, const F* c, const LayerWeights<F>& w,
                  F* h_out, F* c_out, F* saved, F* scratch) {
  const int G = gate_count(cell), GH = G * H;
  const bool gru = cell == CellType::Gru;
  F* gates = saved;                                     // (B, GH)
  F* extra = saved + static_cast<size_t>(B) * GH;       // (B, H)
  F* y_rows = scratch + static_cast<size_t>(B) * GH;    // (B, H): the kernels' y output, unused here
  gemm(false, true, B, GH, I, F(1), x, I, w.w_ih, I, F(0), gates, GH);
  if (gru) gemm(false, true, B, GH, H, F(1), h, H, w.w_hh, H, F(0), scratch, GH);  // r, z, n parts of W_hh h
  else gemm(false, true, B, GH, H, F(1), h, H, w.w_hh, H, F(1), gates, GH);
  for (int b = 0; b < B; ++b) {
    F* g = gates + static_cast<size_t>(b) * GH;
    if (w.b_ih) {
      add_span(g, w.b_ih, GH);
      add_span(g, w.b_hh, gru ? 2 * H : GH);  // GRU's b_hn sits inside r * (W_hn h + b_hn)
    }
    const size_t o = static_cast<size_t>(b) * H;
    switch (cell) {
      case CellType::Lstm:
        lstm_forward(g, h + o, c + o, h_out + o, c_out + o, y_rows + o, H, 0, H, true);
        std::memcpy(extra + o, c_out + o, sizeof(F) * H);  // c_t, for tanh(c_t) in backward
        break;
      case CellType::Gru:
        gru_forward(g, scratch + static_cast<size_t>(b) * GH, w.b_hh ? w.b_hh + 2 * H : nullptr, h + o, h_out + o,
                    y_rows + o, extra + o, H, 0, H, true);
        break;
      default:
        rnn_forward(cell == CellType::RnnRelu, g, h + o, h_out + o, extra + o, 0, H, true);  // y = extra: h_t
        break;
    }
  }
}

template <typename F>
void cell_backward(CellType cell, int B, int I, int H, const F* x, const F* h, const F* c, const LayerWeights<F>& w,
                   const LayerGrads<F>& g, F* saved, const F* dh_out, const F* dc_out, F* dx, F* dh, F* dc,
                   F* scratch) {
  const int G = gate_count(cell), GH = G * H;
  const size_t BH = static_cast<size_t>(B) * H;
  const bool gru = cell == CellType::Gru, lstm = cell == CellType::Lstm;
  F* dgates = saved;                                // (B, GH): activated gates in, their gradients out
  F* extra = saved + static_cast<size_t>(B) * GH;  // (B, H): see cell_saved_size; GRU: dn * r out
  // scratch (4, B, H): [0] h_t apart from the gates (RNN), [1] the carry when dh is not
  // wanted, [2] dc_{t-1} when dc is not wanted, [3] zeros for a missing output gradient.
  F* carry = dh ? dh : scratch + BH;  // the part of dL/dh_{t-1} not through W_hh
  F* dc_prev = lstm ? (dc ? dc : scratch + 2 * BH) : nullptr;
  F* zeros = scratch + 3 * BH;
  if (!dh_out || (lstm && !dc_out)) std::memset(zeros, 0, sizeof(F) * BH);
  const F* dh_in = dh_out ? dh_out : zeros;
  const F* dc_in = lstm ? (dc_out ? dc_out : zeros) : nullptr;
  for (int b = 0; b < B; ++b) {
    const size_t o = static_cast<size_t>(b) * H;
    F* gb = dgates + static_cast<size_t>(b) * GH;
    switch (cell) {
      case CellType::Lstm:
        // tanh(c_t) from the saved c_t; the LSTM's direct dh_prev part is 0
        lstm_backward_step(gb, H, dh_in + o, dc_in + o, c + o, extra + o, carry + o, dc_prev + o,
                           static_cast<F*>(nullptr), H);
        break;
      case CellType::Gru:
        gru_backward(gb, H, dh_in + o, extra + o, h + o, carry + o, H);
        break;
      default:
        std::memcpy(scratch + o, extra + o, sizeof(F) * H);  // h_t, apart from the gates it aliases
        rnn_backward(cell == CellType::RnnRelu, gb, dh_in + o, scratch + o, carry + o, H);
        break;
    }
  }
  // dh_{t-1} += dgates · W_hh (GRU: the n rows take dn * r instead of dn).
  if (dh) {
    if (gru) {
      gemm(false, false, B, H, 2 * H, F(1), dgates, GH, w.w_hh, H, F(1), dh, H);
      gemm(false, false, B, H, H, F(1), extra, H, w.w_hh + static_cast<size_t>(2) * H * H, H, F(1), dh, H);
    } else {
      gemm(false, false, B, H, GH, F(1), dgates, GH, w.w_hh, H, F(1), dh, H);
    }
  }
  if (dx) gemm(false, false, B, I, GH, F(1), dgates, GH, w.w_ih, I, F(0), dx, I);
  if (g.dw_ih) gemm(true, false, GH, I, B, F(1), dgates, GH, x, I, F(1), g.dw_ih, I);
  const int hh_rows = gru ? 2 * H : GH;
  if (g.dw_hh) {
    gemm(true, false, hh_rows, H, B, F(1), dgates, GH, h, H, F(1), g.dw_hh, H);
    if (gru) gemm(true, false, H, H, B, F(1), extra, H, h, H, F(1), g.dw_hh + static_cast<size_t>(2) * H * H, H);
  }
  if (g.db_ih) add_column_sums(g.db_ih, dgates, B, GH, GH);
  if (g.db_hh) {
    add_column_sums(g.db_hh, dgates, B, GH, hh_rows);
    if (gru) add_column_sums(g.db_hh + 2 * H, extra, B, H, H);
  }
}

template void cell_forward<float>(CellType, int, int, int, const float*, const float*, const float*,
                                  const LayerWeights<float>&, float*, float*, float*, float*);
template void cell_forward<double>(CellType, int, int, int, const double*, const double*, const double*,
                                   const LayerWeights<double>&, double*, double*, double*, double*);
template void cell_backward<float>(CellType, int, int, int, const float*, const float*, const float*,
                                   const LayerWeights<float>&, const LayerGrads<float>&, float*, const float*,
                                   const float*, float*, float*, float*, float*);
template void cell_backward<double>(CellType, int, int, int, const double*, const double*, const double*,
                                    const LayerWeights<double>&, const LayerGrads<double>&, double*, const double*,
                                    const double*, double*, double*, double*, double*);

}  // namespace rnn
