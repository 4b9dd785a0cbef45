#include "recurrent_layer.h"

#include <cstring>

#include "activations.h"
#include "blas.h"
#include "vec_math.h"

namespace rnn {
namespace {

inline bool is_active(const int32_t* lengths, int b, int t) { return !lengths || t < lengths[b]; }

// Row pointer into a (rows, B, H) history buffer; eval keeps only two rows.
template <typename F>
inline F* hist_row(F* hist, int k, int B, int H, bool full) {
  return hist + static_cast<size_t>(full ? k : (k & 1)) * B * H;
}

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
void tanh_copy(F* out, const F* x, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = tanh_(x[i]);
}
template <>
void tanh_copy<float>(float* out, const float* x, size_t n) {
  tanh_to(out, x, static_cast<int>(n));
}

// ---- fused per-step elementwise passes ------------------------------------------------
// Each handles one batch row: g is that row's (G*H) gate pre-activations on entry and the
// activated gates on exit. An inactive row (past its length) keeps its state and outputs 0.

template <typename F>
void rnn_row(bool relu, F* __restrict g, const F* __restrict h_in, F* __restrict h_out,
             F* __restrict y, int H, bool active) {
  if (!active) {
    std::memcpy(h_out, h_in, sizeof(F) * H);
    std::memset(y, 0, sizeof(F) * H);
    std::memset(g, 0, sizeof(F) * H);
    return;
  }
  if (relu)
    for (int j = 0; j < H; ++j) g[j] = g[j] > F(0) ? g[j] : F(0);
  else
    tanh_span(g, H);
  std::memcpy(h_out, g, sizeof(F) * H);
  std::memcpy(y, g, sizeof(F) * H);
}

template <typename F>
void lstm_row(F* __restrict g, const F* __restrict h_in, const F* __restrict c_in,
              F* __restrict h_out, F* __restrict c_out, F* __restrict y, int H, bool active) {
  if (!active) {
    std::memcpy(h_out, h_in, sizeof(F) * H);
    std::memcpy(c_out, c_in, sizeof(F) * H);
    std::memset(y, 0, sizeof(F) * H);
    std::memset(g, 0, sizeof(F) * 4 * H);
    return;
  }
  const F* __restrict gi = g;
  const F* __restrict gf = g + H;
  const F* __restrict gg = g + 2 * H;
  const F* __restrict go = g + 3 * H;
  sigmoid_span(g, 2 * H);      // i, f
  tanh_span(g + 2 * H, H);     // g
  sigmoid_span(g + 3 * H, H);  // o
  for (int j = 0; j < H; ++j) c_out[j] = gf[j] * c_in[j] + gi[j] * gg[j];
  tanh_copy(h_out, c_out, H);
  for (int j = 0; j < H; ++j) {
    const F h = go[j] * h_out[j];
    h_out[j] = h;
    y[j] = h;
  }
}

// gx: (3H) input projection incl. b_ih and b_hr, b_hz; gh: (3H) W_hh h (no bias);
// b_hn: (H) or nullptr; ghn_save: (H) receives W_hn h + b_hn.
template <typename F>
void gru_row(F* __restrict gx, const F* __restrict gh, const F* __restrict b_hn,
             const F* __restrict h_in, F* __restrict h_out, F* __restrict y,
             F* __restrict ghn_save, int H, bool active) {
  if (!active) {
    std::memcpy(h_out, h_in, sizeof(F) * H);
    std::memset(y, 0, sizeof(F) * H);
    std::memset(gx, 0, sizeof(F) * 3 * H);
    std::memset(ghn_save, 0, sizeof(F) * H);
    return;
  }
  for (int j = 0; j < 2 * H; ++j) gx[j] += gh[j];
  sigmoid_span(gx, 2 * H);  // r, z
  F* __restrict n = gx + 2 * H;
  for (int j = 0; j < H; ++j) {
    const F hn = gh[2 * H + j] + (b_hn ? b_hn[j] : F(0));
    ghn_save[j] = hn;
    n[j] += gx[j] * hn;
  }
  tanh_span(n, H);
  for (int j = 0; j < H; ++j) {
    const F z = gx[H + j];
    const F h = (F(1) - z) * n[j] + z * h_in[j];
    h_out[j] = h;
    y[j] = h;
  }
}

}  // namespace

template <typename F>
void layer_forward(const LayerDims& d, const LayerWeights<F>& w, const F* x, const int32_t* lengths,
                   const F* h0, const F* c0, F* y, int ldy, F* hN, F* cN,
                   DirectionBuffers<F>& buf, F* scratch) {
  const int T = d.T, B = d.B, I = d.I, H = d.H;
  const int G = gate_count(d.cell);
  const int GH = G * H;
  const size_t BH = static_cast<size_t>(B) * H;
  const bool lstm = d.cell == CellType::Lstm;
  const bool gru = d.cell == CellType::Gru;

  // 1. Input projection of all steps at once: gates (T*B, GH) = x (T*B, I) * W_ih^T.
  gemm(false, true, T * B, GH, I, F(1), x, I, w.w_ih, I, F(0), buf.gates, GH);
  // Fold the biases that are plain sums into it: all of b_ih, and b_hh except GRU's b_hn
  // (which sits inside r * (W_hn h + b_hn)).
  if (w.b_ih) {
    const int folded_hh = gru ? 2 * H : GH;
    for (size_t row = 0; row < static_cast<size_t>(T) * B; ++row) {
      F* g = buf.gates + row * GH;
      for (int j = 0; j < GH; ++j) g[j] += w.b_ih[j];
      for (int j = 0; j < folded_hh; ++j) g[j] += w.b_hh[j];
    }
  }

  // 2. The initial state goes into the history row the first step reads.
  const int start = d.reverse ? T : 0;
  F* h_start = hist_row(buf.hist_h, start, B, H, buf.full_history);
  if (h0) std::memcpy(h_start, h0, sizeof(F) * BH); else std::memset(h_start, 0, sizeof(F) * BH);
  if (lstm) {
    F* c_start = hist_row(buf.hist_c, start, B, H, buf.full_history);
    if (c0) std::memcpy(c_start, c0, sizeof(F) * BH); else std::memset(c_start, 0, sizeof(F) * BH);
  }
  const F* b_hn = (gru && w.b_hh) ? w.b_hh + 2 * H : nullptr;

  // 3. The time loop.
  for (int s = 0; s < T; ++s) {
    const int t = d.reverse ? T - 1 - s : s;
    const int k_in = d.reverse ? t + 1 : t;
    const int k_out = d.reverse ? t : t + 1;
    F* h_in = hist_row(buf.hist_h, k_in, B, H, buf.full_history);
    F* h_out = hist_row(buf.hist_h, k_out, B, H, buf.full_history);
    F* g_t = buf.gates + static_cast<size_t>(t) * B * GH;  // (B, GH)
    F* y_t = y + static_cast<size_t>(t) * B * ldy;          // (B, ldy)
    if (gru) {
      gemm(false, true, B, GH, H, F(1), h_in, H, w.w_hh, H, F(0), scratch, GH);
      F* ghn_t = buf.ghn + static_cast<size_t>(t) * BH;
      for (int b = 0; b < B; ++b)
        gru_row(g_t + static_cast<size_t>(b) * GH, scratch + static_cast<size_t>(b) * GH, b_hn,
                h_in + static_cast<size_t>(b) * H, h_out + static_cast<size_t>(b) * H,
                y_t + static_cast<size_t>(b) * ldy, ghn_t + static_cast<size_t>(b) * H, H,
                is_active(lengths, b, t));
    } else {
      gemm(false, true, B, GH, H, F(1), h_in, H, w.w_hh, H, F(1), g_t, GH);
      if (lstm) {
        F* c_in = hist_row(buf.hist_c, k_in, B, H, buf.full_history);
        F* c_out = hist_row(buf.hist_c, k_out, B, H, buf.full_history);
        for (int b = 0; b < B; ++b) {
          const size_t o = static_cast<size_t>(b) * H;
          lstm_row(g_t + o * 4, h_in + o, c_in + o, h_out + o, c_out + o,
                   y_t + static_cast<size_t>(b) * ldy, H, is_active(lengths, b, t));
        }
      } else {
        const bool relu = d.cell == CellType::RnnRelu;
        for (int b = 0; b < B; ++b) {
          const size_t o = static_cast<size_t>(b) * H;
          rnn_row(relu, g_t + o, h_in + o, h_out + o, y_t + static_cast<size_t>(b) * ldy, H,
                  is_active(lengths, b, t));
        }
      }
    }
  }

  // 4. Final states: each row's state after its last valid step.
  const int end = d.reverse ? 0 : T;
  std::memcpy(hN, hist_row(buf.hist_h, end, B, H, buf.full_history), sizeof(F) * BH);
  if (lstm) std::memcpy(cN, hist_row(buf.hist_c, end, B, H, buf.full_history), sizeof(F) * BH);
}

template <typename F>
void layer_backward(const LayerDims& d, const LayerWeights<F>& w, const LayerGrads<F>& g,
                    const F* x, const int32_t* lengths, const F* dy, int ldy, const F* dhN,
                    const F* dcN, F* dx, F* dh0, F* dc0, const DirectionBuffers<F>& buf,
                    F* dgates, F* dgates_hh, F* dh, F* dc) {
  const int T = d.T, B = d.B, I = d.I, H = d.H;
  const int G = gate_count(d.cell);
  const int GH = G * H;
  const size_t BH = static_cast<size_t>(B) * H;
  const bool lstm = d.cell == CellType::Lstm;
  const bool gru = d.cell == CellType::Gru;
  F* dgh = gru ? dgates_hh : dgates;  // gradient of the recurrent pre-activations (T, B, GH)

  // dh/dc hold two (B, H) rows: the carry into this step and the carry out of it.
  F* dh_cur = dh;
  F* dh_next = dh + BH;
  F* dc_cur = dc;
  F* dc_next = dc + BH;
  if (dhN) std::memcpy(dh_cur, dhN, sizeof(F) * BH); else std::memset(dh_cur, 0, sizeof(F) * BH);
  if (lstm) {
    if (dcN) std::memcpy(dc_cur, dcN, sizeof(F) * BH); else std::memset(dc_cur, 0, sizeof(F) * BH);
  }

  for (int s = T - 1; s >= 0; --s) {
    const int t = d.reverse ? T - 1 - s : s;
    const int k_in = d.reverse ? t + 1 : t;
    const int k_out = d.reverse ? t : t + 1;
    const F* g_t = buf.gates + static_cast<size_t>(t) * B * GH;
    F* dg_t = dgates + static_cast<size_t>(t) * B * GH;
    F* dgh_t = dgh + static_cast<size_t>(t) * B * GH;
    const F* h_in = buf.hist_h + static_cast<size_t>(k_in) * BH;
    const F* h_out = buf.hist_h + static_cast<size_t>(k_out) * BH;
    // LSTM: tanh(c_t) of the whole step at once (vectorised), parked in dh_next, whose rows
    // are overwritten below only after being read.
    if (lstm) tanh_copy(dh_next, buf.hist_c + static_cast<size_t>(k_out) * BH, BH);

    for (int b = 0; b < B; ++b) {
      const size_t o = static_cast<size_t>(b) * H;
      F* dhb = dh_cur + o;
      F* dhn = dh_next + o;  // the part of dh_{prev} not coming through W_hh
      F* dgb = dg_t + static_cast<size_t>(b) * GH;
      F* dghb = dgh_t + static_cast<size_t>(b) * GH;
      if (!is_active(lengths, b, t)) {
        // The state passed through unchanged: so does its gradient. dy here is ignored,
        // the output was the constant 0.
        std::memcpy(dhn, dhb, sizeof(F) * H);
        if (lstm) std::memcpy(dc_next + o, dc_cur + o, sizeof(F) * H);
        std::memset(dgb, 0, sizeof(F) * GH);
        if (gru) std::memset(dghb, 0, sizeof(F) * GH);
        continue;
      }
      if (dy) {
        const F* dyb = dy + static_cast<size_t>(t) * B * ldy + static_cast<size_t>(b) * ldy;
        for (int j = 0; j < H; ++j) dhb[j] += dyb[j];
      }
      const F* gb = g_t + static_cast<size_t>(b) * GH;
      if (lstm) {
        const F* c_in = buf.hist_c + static_cast<size_t>(k_in) * BH + o;
        const F* dcb = dc_cur + o;
        F* dcn = dc_next + o;
        for (int j = 0; j < H; ++j) {
          const F i = gb[j], f = gb[H + j], c_hat = gb[2 * H + j], og = gb[3 * H + j];
          const F tc = dhn[j];  // tanh(c_t), see above
          const F dct = dcb[j] + dhb[j] * og * (F(1) - tc * tc);
          dgb[j] = dct * c_hat * i * (F(1) - i);
          dgb[H + j] = dct * c_in[j] * f * (F(1) - f);
          dgb[2 * H + j] = dct * i * (F(1) - c_hat * c_hat);
          dgb[3 * H + j] = dhb[j] * tc * og * (F(1) - og);
          dcn[j] = dct * f;
          dhn[j] = F(0);
        }
      } else if (gru) {
        const F* ghn = buf.ghn + static_cast<size_t>(t) * BH + o;
        const F* hp = h_in + o;
        for (int j = 0; j < H; ++j) {
          const F r = gb[j], z = gb[H + j], n = gb[2 * H + j];
          const F dn_pre = dhb[j] * (F(1) - z) * (F(1) - n * n);
          const F dz_pre = dhb[j] * (hp[j] - n) * z * (F(1) - z);
          const F dr_pre = dn_pre * ghn[j] * r * (F(1) - r);
          dgb[j] = dr_pre;
          dgb[H + j] = dz_pre;
          dgb[2 * H + j] = dn_pre;
          dghb[j] = dr_pre;
          dghb[H + j] = dz_pre;
          dghb[2 * H + j] = dn_pre * r;
          dhn[j] = dhb[j] * z;
        }
      } else {
        const bool relu = d.cell == CellType::RnnRelu;
        const F* hb = h_out + o;
        for (int j = 0; j < H; ++j) {
          const F v = hb[j];
          dgb[j] = relu ? (v > F(0) ? dhb[j] : F(0)) : dhb[j] * (F(1) - v * v);
          dhn[j] = F(0);
        }
      }
    }
    // dh_{prev} += dgates_hh (B, GH) * W_hh (GH, H)
    gemm(false, false, B, H, GH, F(1), dgh_t, GH, w.w_hh, H, F(1), dh_next, H);
    std::swap(dh_cur, dh_next);
    if (lstm) std::swap(dc_cur, dc_next);
  }
  std::memcpy(dh0, dh_cur, sizeof(F) * BH);
  if (lstm) std::memcpy(dc0, dc_cur, sizeof(F) * BH);

  // Weight gradients as single GEMMs over all T*B rows.
  const int TB = T * B;
  const F* h_prev_all = buf.hist_h + (d.reverse ? BH : 0);  // (T, B, H): the h each step read
  gemm(true, false, GH, I, TB, F(1), dgates, GH, x, I, F(1), g.dw_ih, I);
  gemm(true, false, GH, H, TB, F(1), dgh, GH, h_prev_all, H, F(1), g.dw_hh, H);
  if (g.db_ih) {
    for (int row = 0; row < TB; ++row) {
      const F* a = dgates + static_cast<size_t>(row) * GH;
      const F* c = dgh + static_cast<size_t>(row) * GH;
      for (int j = 0; j < GH; ++j) g.db_ih[j] += a[j];
      for (int j = 0; j < GH; ++j) g.db_hh[j] += c[j];
    }
  }
  // dx (T*B, I) += dgates (T*B, GH) * W_ih (GH, I)
  gemm(false, false, TB, I, GH, F(1), dgates, GH, w.w_ih, I, F(1), dx, I);
}

template void layer_forward<float>(const LayerDims&, const LayerWeights<float>&, const float*,
                                   const int32_t*, const float*, const float*, float*, int, float*,
                                   float*, DirectionBuffers<float>&, float*);
template void layer_forward<double>(const LayerDims&, const LayerWeights<double>&, const double*,
                                    const int32_t*, const double*, const double*, double*, int,
                                    double*, double*, DirectionBuffers<double>&, double*);
template void layer_backward<float>(const LayerDims&, const LayerWeights<float>&,
                                    const LayerGrads<float>&, const float*, const int32_t*,
                                    const float*, int, const float*, const float*, float*, float*,
                                    float*, const DirectionBuffers<float>&, float*, float*, float*,
                                    float*);
template void layer_backward<double>(const LayerDims&, const LayerWeights<double>&,
                                     const LayerGrads<double>&, const double*, const int32_t*,
                                     const double*, int, const double*, const double*, double*,
                                     double*, double*, const DirectionBuffers<double>&, double*,
                                     double*, double*, double*);

}  // namespace rnn
