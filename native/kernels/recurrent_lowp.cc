#include "recurrent_lowp.h"

#include <cstring>
#include <vector>

#include "cells.h"
#include "thread_pool.h"

namespace rnn {
namespace {

constexpr int kUnitBlock = 16;

inline bool is_active(const int32_t* lengths, int b, int t) { return !lengths || t < lengths[b]; }

// Eval history: two (B, H) rows used alternately.
inline float* hist_row(float* hist, int k, int B, int H) { return hist + static_cast<size_t>(k & 1) * B * H; }

}  // namespace

void layer_forward_lowp(const LayerDims& d, WeightFormat format, const LowpLayerWeights& w, const float* x,
                        const int32_t* lengths, const float* h0, const float* c0, float* y, int ldy, float* hN,
                        float* cN, DirectionBuffers<float>& buf, float* scratch) {
  const int T = d.T, B = d.B, I = d.I, H = d.H;
  const int G = gate_count(d.cell), GH = G * H;
  const size_t BH = static_cast<size_t>(B) * H;
  const bool lstm = d.cell == CellType::Lstm, gru = d.cell == CellType::Gru, relu = d.cell == CellType::RnnRelu;

  // Summed biases: b_ih + b_hh, except GRU's n gate (b_hn sits inside r ⊙ (W_hn h + b_hn)).
  float* bias = w.b_ih ? buf.bias_sum : nullptr;
  if (bias)
    for (int n = 0; n < GH; ++n) bias[n] = w.b_ih[n] + ((gru && n >= 2 * H) ? 0.0f : w.b_hh[n]);
  const float* b_hn = gru && w.b_hh ? w.b_hh + 2 * H : nullptr;

  const int start = d.reverse ? T : 0;
  float* h_start = hist_row(buf.hist_h, start, B, H);
  if (h0) std::memcpy(h_start, h0, sizeof(float) * BH); else std::memset(h_start, 0, sizeof(float) * BH);
  if (lstm) {
    float* c_start = hist_row(buf.hist_c, start, B, H);
    if (c0) std::memcpy(c_start, c0, sizeof(float) * BH); else std::memset(c_start, 0, sizeof(float) * BH);
  }

  // Small layers on one thread (a barrier per step costs about a microsecond).
  const int blocks = (H + kUnitBlock - 1) / kUnitBlock;
  const double step_flops = 2.0 * G * H * (static_cast<double>(I) + H);
  const int threads = ThreadPool::instance().threads();
  const int workers = step_flops < 2e5 ? 1 : (threads < blocks ? threads : blocks);

  ThreadPool::instance().run(
      [&](int tid, int n) {
        const int b0 = static_cast<int>(static_cast<long>(blocks) * tid / n);
        const int b1 = static_cast<int>(static_cast<long>(blocks) * (tid + 1) / n);
        const int j0 = b0 * kUnitBlock, j1 = b1 * kUnitBlock < H ? b1 * kUnitBlock : H, nu = j1 - j0;
        std::vector<const float*> xr(B), hr(B);
        for (int s = 0; s < T; ++s) {
          const int t = d.reverse ? T - 1 - s : s;
          const int k_in = d.reverse ? t + 1 : t, k_out = d.reverse ? t : t + 1;
          float* h_in = hist_row(buf.hist_h, k_in, B, H);
          float* h_out = hist_row(buf.hist_h, k_out, B, H);
          float* g_t = buf.gates + static_cast<size_t>(t) * B * GH;  // (B, GH)
          float* y_t = y + static_cast<size_t>(t) * B * ldy;
          if (nu > 0) {
            for (int b = 0; b < B; ++b) {
              xr[b] = x + (static_cast<size_t>(t) * B + b) * I;
              hr[b] = h_in + static_cast<size_t>(b) * H;
            }
            const DotSegment both[2] = {{xr.data(), w.w_ih.w, static_cast<size_t>(I), I, format, w.w_ih.scale, w.w_ih.sum},
                                        {hr.data(), w.w_hh.w, static_cast<size_t>(H), H, format, w.w_hh.scale, w.w_hh.sum}};
            for (int q = 0; q < G; ++q) {
              if (gru) {
                row_dot(B, &both[0], 1, q * H + j0, q * H + j1, bias, g_t, GH);
                row_dot(B, &both[1], 1, q * H + j0, q * H + j1, nullptr, scratch, GH);
              } else {
                row_dot(B, both, 2, q * H + j0, q * H + j1, bias, g_t, GH);
              }
            }
            for (int b = 0; b < B; ++b) {
              const size_t o = static_cast<size_t>(b) * H;
              float* g = g_t + static_cast<size_t>(b) * GH;
              float* yb = y_t + static_cast<size_t>(b) * ldy;
              const bool active = is_active(lengths, b, t);
              if (lstm) {
                lstm_forward(g, h_in + o, hist_row(buf.hist_c, k_in, B, H) + o, h_out + o, hist_row(buf.hist_c, k_out, B, H) + o,
                             yb, H, j0, nu, active);
              } else if (gru) {
                gru_forward(g, scratch + static_cast<size_t>(b) * GH, b_hn, h_in + o, h_out + o, yb,
                            buf.ghn + static_cast<size_t>(t) * BH + o, H, j0, nu, active);
              } else {
                rnn_forward(relu, g, h_in + o, h_out + o, yb, j0, nu, active);
              }
            }
          }
          ThreadPool::instance().barrier();  // the next step reads all of h_t
        }
      },
      workers);

  const int end = d.reverse ? 0 : T;
  std::memcpy(hN, hist_row(buf.hist_h, end, B, H), sizeof(float) * BH);
  if (lstm) std::memcpy(cN, hist_row(buf.hist_c, end, B, H), sizeof(float) * BH);
}

}  // namespace rnn
