#include "decode_step.h"

#include "cells.h"
#include "thread_pool.h"

namespace rnn {
namespace {

constexpr int kUnitBlock = 16;

// Blocks of 16 units [tid/n, (tid+1)/n) of the whole, as in the recurrent layers.
void unit_span(int H, int tid, int n, int& j0, int& j1) {
  const int blocks = (H + kUnitBlock - 1) / kUnitBlock;
  const int b0 = static_cast<int>(static_cast<long>(blocks) * tid / n);
  const int b1 = static_cast<int>(static_cast<long>(blocks) * (tid + 1) / n);
  j0 = b0 * kUnitBlock;
  j1 = b1 * kUnitBlock < H ? b1 * kUnitBlock : H;
}

// Head rows [v0, v1) of thread tid: blocks of 4 (row_dot's register block).
void head_span(int V, int tid, int n, int& v0, int& v1) {
  const int blocks = (V + 3) / 4;
  v0 = static_cast<int>(static_cast<long>(blocks) * tid / n) * 4;
  const int e = static_cast<int>(static_cast<long>(blocks) * (tid + 1) / n) * 4;
  v1 = e < V ? e : V;
}

DotSegment segment(const float* const* rows, const DecodeMatrix& m, int K, WeightFormat f) {
  return DotSegment{rows, m.w, static_cast<size_t>(K), K, f, m.scale, m.sum};
}

}  // namespace

int decode_workers(const DecodeNet& net) {
  // A barrier per layer costs about a microsecond: a layer whose one-row step is under
  // ~0.2 MFLOP runs on one thread. (Never a function of B: see decode_step.h.)
  const int G = gate_count(net.cell);
  const double flops = 2.0 * G * net.H * (static_cast<double>(net.E) + 2.0 * net.H);
  if (flops < 2e5) return 1;
  const int blocks = (net.H + kUnitBlock - 1) / kUnitBlock;
  const int n = ThreadPool::instance().threads();
  return n < blocks ? n : blocks;
}

void decode_step(const DecodeNet& net, int B, const int32_t* tokens, const float* h_in, const float* c_in,
                 float* h_out, float* c_out, float* logits, DecodeWorkspace& ws) {
  const int L = net.L, H = net.H, E = net.E, V = net.V;
  const int G = gate_count(net.cell);
  const int GH = G * H;
  const size_t LH = static_cast<size_t>(L) * H;
  const bool lstm = net.cell == CellType::Lstm, gru = net.cell == CellType::Gru;
  const bool relu = net.cell == CellType::RnnRelu;

  ws.gates.resize(static_cast<size_t>(B) * GH);
  if (gru) {
    ws.gh.resize(static_cast<size_t>(B) * GH);
    ws.ghn.resize(static_cast<size_t>(B) * H);
  }
  ws.y.resize(static_cast<size_t>(B) * H);
  ws.bias.resize(static_cast<size_t>(L) * GH);
  ws.rows.resize(static_cast<size_t>(2 * L + 1) * B);

  // Summed biases: b_ih + b_hh, except GRU's n gate, whose b_hn sits inside r ⊙ (W_hn h + b_hn).
  for (int l = 0; l < L; ++l) {
    const DecodeLayer& w = net.layers[l];
    if (!w.b_ih) continue;
    float* b = ws.bias.data() + static_cast<size_t>(l) * GH;
    for (int n = 0; n < GH; ++n) b[n] = w.b_ih[n] + ((gru && n >= 2 * H) ? 0.0f : w.b_hh[n]);
  }
  // Row pointers: layer l reads its input x (the embedding row, or layer l-1's new h) and its h.
  for (int r = 0; r < B; ++r) {
    const size_t s = static_cast<size_t>(r) * LH;
    for (int l = 0; l < L; ++l) {
      ws.rows[static_cast<size_t>(2 * l) * B + r] =
          l == 0 ? net.table + static_cast<size_t>(tokens[r]) * E : h_out + s + static_cast<size_t>(l - 1) * H;
      ws.rows[static_cast<size_t>(2 * l + 1) * B + r] = h_in + s + static_cast<size_t>(l) * H;
    }
    ws.rows[static_cast<size_t>(2 * L) * B + r] = h_out + s + static_cast<size_t>(L - 1) * H;
  }

  ThreadPool::instance().run(
      [&](int tid, int n) {
        int j0, j1;
        unit_span(H, tid, n, j0, j1);
        const int nu = j1 - j0;
        for (int l = 0; l < L; ++l) {
          const DecodeLayer& w = net.layers[l];
          const int in = l == 0 ? E : H;
          const float* const* xr = ws.rows.data() + static_cast<size_t>(2 * l) * B;
          const float* const* hr = ws.rows.data() + static_cast<size_t>(2 * l + 1) * B;
          const float* bias = w.b_ih ? ws.bias.data() + static_cast<size_t>(l) * GH : nullptr;
          if (nu > 0) {
            const DotSegment both[2] = {segment(xr, w.w_ih, in, net.format), segment(hr, w.w_hh, H, net.format)};
            for (int q = 0; q < G; ++q) {
              if (gru) {  // gx = x·W_ihᵀ + biases, gh = h·W_hhᵀ apart (the n gate needs W_hn h alone)
                row_dot(B, &both[0], 1, q * H + j0, q * H + j1, bias, ws.gates.data(), GH);
                row_dot(B, &both[1], 1, q * H + j0, q * H + j1, nullptr, ws.gh.data(), GH);
              } else {
                row_dot(B, both, 2, q * H + j0, q * H + j1, bias, ws.gates.data(), GH);
              }
            }
            for (int r = 0; r < B; ++r) {
              const size_t s = static_cast<size_t>(r) * LH + static_cast<size_t>(l) * H;
              float* g = ws.gates.data() + static_cast<size_t>(r) * GH;
              float* y = ws.y.data() + static_cast<size_t>(r) * H;
              if (lstm)
                lstm_forward(g, h_in + s, c_in + s, h_out + s, c_out + s, y, H, j0, nu, true);
              else if (gru)
                gru_forward(g, ws.gh.data() + static_cast<size_t>(r) * GH, w.b_hh ? w.b_hh + 2 * H : nullptr, h_in + s,
                            h_out + s, y, ws.ghn.data() + static_cast<size_t>(r) * H, H, j0, nu, true);
              else
                rnn_forward(relu, g, h_in + s, h_out + s, y, j0, nu, true);
            }
          }
          ThreadPool::instance().barrier();  // the next layer (or the head) reads all of this layer's h
        }
        int v0, v1;
        head_span(V, tid, n, v0, v1);
        const DotSegment head = segment(ws.rows.data() + static_cast<size_t>(2 * L) * B, net.head_w, H, net.format);
        row_dot(B, &head, 1, v0, v1, net.head_b, logits, V);
      },
      decode_workers(net));
}

}  // namespace rnn
