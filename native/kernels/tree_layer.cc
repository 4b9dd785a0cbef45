#include "tree_layer.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "blas.h"
#include "cells.h"
#include "thread_pool.h"
#include "tree_cells.h"

namespace rnn {
namespace {

// Pointers into the saved buffer (see tree_saved_size); unused ones stay null.
template <typename F>
struct TreeSaved {
  F* xp = nullptr;     // (N, I) x by position
  F* gates = nullptr;  // (N, G·H) activated gates; their pre-activation gradients after backward
  F* xg = nullptr;     // (N, 4H) N-ary: W x; its gradient after backward
  F* kids = nullptr;   // (N, K·H) TreeRNN, N-ary: the children's h, zeros for empty slots
  F* hs = nullptr;     // (N, H) child-sum: h̃ = Σ_k h_k
  F* eh = nullptr;     // (E, H) child-sum: each slot's child h
  F* ef = nullptr;     // (E, H) child-sum: each slot's forget gate; its gradient after backward
  F* cs = nullptr;     // (N, H) LSTMs: c
};

template <typename F>
TreeSaved<F> layout(const TreeDims& d, size_t N, size_t E, F* base, size_t* total) {
  const size_t H = d.H, I = d.I, K = d.K;
  size_t at = 0;
  const auto take = [&](size_t n) -> F* {
    F* q = base ? base + at : nullptr;
    at += n;
    return q;
  };
  TreeSaved<F> s;
  s.xp = take(N * I);
  s.gates = take(N * tree_gates_hh(d) * H);
  switch (d.cell) {
    case TreeCell::NaryLstm:
      s.xg = take(N * 4 * H);
      s.kids = take(N * K * H);
      s.cs = take(N * H);
      break;
    case TreeCell::ChildSumLstm:
      s.hs = take(N * H);
      s.eh = take(E * H);
      s.ef = take(E * H);
      s.cs = take(N * H);
      break;
    default:
      s.kids = take(N * K * H);
      break;
  }
  if (total) *total = at;
  return s;
}

// Rows per thread below which a pass runs inline: about 32k elements of work.
int min_rows(size_t work_per_row) { return static_cast<int>(std::max<size_t>(2, 32768 / std::max<size_t>(work_per_row, 1))); }

// db (n) += column sums of rows [r0, r1) of d (ld apart).
template <typename F>
void add_column_sums(F* db, const F* d, int r0, int r1, int ld, int n) {
  for (int r = r0; r < r1; ++r) add_span(db, d + static_cast<size_t>(r) * ld, n);
}

}  // namespace

size_t tree_saved_size(const TreeDims& d, size_t N, size_t E) {
  size_t total = 0;
  layout<float>(d, N, E, nullptr, &total);
  return total;
}

template <typename F>
void tree_forward(const TreeDims& d, const TreePlanView& p, const LayerWeights<F>& w, const F* x, const F* leaf_h,
                  const F* leaf_c, F* h, F* c, F* saved) {
  const TreeSaved<F> s = layout(d, p.N, p.E, saved, nullptr);
  const int N = p.N, H = d.H, I = d.I, K = d.K;
  const bool nary = d.cell == TreeCell::NaryLstm, csum = d.cell == TreeCell::ChildSumLstm;
  const bool lstm = nary || csum, relu = d.cell == TreeCell::RnnRelu;
  const int GH = tree_gates_hh(d) * H, KH = K * H, GIH = tree_gates_ih(d.cell) * H;
  const size_t h_bytes = sizeof(F) * H;
  const bool leaf = leaf_h != nullptr;
  const int r0 = leaf ? p.leaf_end() : 0;
  const int32_t* order = p.order;
  const int32_t* edge_start = p.edge_start;
  const int32_t* edge_child = p.edge_child;
  const int32_t* edge_pos = p.edge_pos;

  // x in position order (the copy backward reads), then the input projection of every node
  // that is computed: one GEMM.
  for (int q = r0; q < N; ++q)
    std::memcpy(s.xp + static_cast<size_t>(q) * I, x + static_cast<size_t>(order[q]) * I, sizeof(F) * I);
  F* proj = nary ? s.xg : s.gates;
  const int ld_proj = nary ? 4 * H : GH;
  if (N > r0)
    par_gemm(false, true, N - r0, GIH, I, F(1), s.xp + static_cast<size_t>(r0) * I, I, w.w_ih, I, F(0),
             proj + static_cast<size_t>(r0) * ld_proj, ld_proj);

  // One bias per gate block: b_ih (mapped onto the blocks: the N-ary cell's shared forget
  // projection onto every f_k) plus b_hh.
  std::vector<F> bias;
  if (w.b_ih) {
    bias.assign(GH, F(0));
    if (nary) {
      for (int j = 0; j < H; ++j) {
        bias[j] = w.b_ih[j];
        for (int k = 0; k < K; ++k) bias[static_cast<size_t>(1 + k) * H + j] = w.b_ih[H + j];
        bias[static_cast<size_t>(1 + K) * H + j] = w.b_ih[2 * H + j];
        bias[static_cast<size_t>(2 + K) * H + j] = w.b_ih[3 * H + j];
      }
    } else {
      std::copy(w.b_ih, w.b_ih + GH, bias.begin());
    }
    add_span(bias.data(), w.b_hh, GH);
  }
  const F* b = w.b_ih ? bias.data() : nullptr;

  for (int l = 0; l < p.L; ++l) {
    const int s0 = p.level_start[l], s1 = p.level_start[l + 1], n = s1 - s0;
    if (l == 0 && leaf) {  // given states
      for (int q = s0; q < s1; ++q) {
        const size_t node = static_cast<size_t>(order[q]) * H;
        std::memcpy(h + node, leaf_h + node, h_bytes);
        if (!lstm) continue;
        F* cq = s.cs + static_cast<size_t>(q) * H;
        if (leaf_c) std::memcpy(cq, leaf_c + node, h_bytes);
        else std::memset(cq, 0, h_bytes);
        std::memcpy(c + node, cq, h_bytes);
      }
      continue;
    }
    const int e0 = edge_start[s0], e1 = edge_start[s1];
    if (l > 0) {
      // Gather the children's h (zeros for empty slots): level 0 has no children.
      parallel_ranges(n, 1, min_rows(csum ? static_cast<size_t>(e1 - e0) * H / n : KH), [&](int a, int z) {
        for (int q = s0 + a; q < s0 + z; ++q) {
          const int ea = edge_start[q], m = edge_start[q + 1] - ea;
          if (!csum) {
            F* row = s.kids + static_cast<size_t>(q) * KH;
            for (int k = 0; k < K; ++k) {
              const int child = k < m ? edge_child[ea + k] : -1;
              if (child >= 0) std::memcpy(row + static_cast<size_t>(k) * H, h + static_cast<size_t>(child) * H, h_bytes);
              else std::memset(row + static_cast<size_t>(k) * H, 0, h_bytes);
            }
          } else {
            F* sum = s.hs + static_cast<size_t>(q) * H;
            std::memset(sum, 0, h_bytes);
            for (int k = 0; k < m; ++k) {
              F* er = s.eh + static_cast<size_t>(ea + k) * H;
              const int child = edge_child[ea + k];
              if (child < 0) {
                std::memset(er, 0, h_bytes);
                continue;
              }
              std::memcpy(er, h + static_cast<size_t>(child) * H, h_bytes);
              add_span(sum, er, H);
            }
          }
        }
      });
      // The level's recurrent pre-activations: one GEMM against the stacked U matrices.
      if (!csum) {
        par_gemm(false, true, n, GH, KH, F(1), s.kids + static_cast<size_t>(s0) * KH, KH, w.w_hh, KH, nary ? F(0) : F(1),
                 s.gates + static_cast<size_t>(s0) * GH, GH);
      } else {
        const F* hs = s.hs + static_cast<size_t>(s0) * H;
        F* g = s.gates + static_cast<size_t>(s0) * GH;
        par_gemm(false, true, n, H, H, F(1), hs, H, w.w_hh, H, F(1), g, GH);  // i
        par_gemm(false, true, n, 2 * H, H, F(1), hs, H, w.w_hh + static_cast<size_t>(2) * H * H, H, F(1), g + 2 * H,
                 GH);  // g (u), o
        if (e1 > e0)
          par_gemm(false, true, e1 - e0, H, H, F(1), s.eh + static_cast<size_t>(e0) * H, H,
                   w.w_hh + static_cast<size_t>(H) * H, H, F(0), s.ef + static_cast<size_t>(e0) * H, H);  // U_f h_k
      }
    } else if (nary) {
      std::memset(s.gates + static_cast<size_t>(s0) * GH, 0, sizeof(F) * n * GH);
    } else if (csum && e1 > e0) {
      std::memset(s.ef + static_cast<size_t>(e0) * H, 0, sizeof(F) * (e1 - e0) * H);  // empty slots of leaves
    }
    // The fused elementwise pass over the level's nodes.
    parallel_ranges(n, 1, min_rows(static_cast<size_t>(GH) * 4), [&](int a, int z) {
      for (int q = s0 + a; q < s0 + z; ++q) {
        const size_t node = static_cast<size_t>(order[q]) * H;
        const int ea = edge_start[q], m = edge_start[q + 1] - ea;
        F* g = s.gates + static_cast<size_t>(q) * GH;
        F* cq = lstm ? s.cs + static_cast<size_t>(q) * H : nullptr;
        switch (d.cell) {
          case TreeCell::NaryLstm:
            nary_lstm_forward(g, s.xg + static_cast<size_t>(q) * 4 * H, b, s.cs, edge_pos + ea, m, cq, h + node, H, K);
            break;
          case TreeCell::ChildSumLstm:
            child_sum_forward(g, b, s.ef + static_cast<size_t>(ea) * H, s.cs, edge_pos + ea, m, cq, h + node, H);
            break;
          default:
            tree_rnn_forward(relu, g, b, h + node, H);
            break;
        }
        if (lstm) std::memcpy(c + node, cq, h_bytes);
      }
    });
  }
}

template <typename F>
void tree_backward(const TreeDims& d, const TreePlanView& p, const LayerWeights<F>& w, const LayerGrads<F>& g, bool leaf,
                   F* saved, const F* dh_out, const F* dc_out, F* dx, F* dleaf_h, F* dleaf_c) {
  const TreeSaved<F> s = layout(d, p.N, p.E, saved, nullptr);
  const int N = p.N, E = p.E, H = d.H, I = d.I, K = d.K;
  const bool nary = d.cell == TreeCell::NaryLstm, csum = d.cell == TreeCell::ChildSumLstm;
  const bool lstm = nary || csum, relu = d.cell == TreeCell::RnnRelu;
  const int GH = tree_gates_hh(d) * H, KH = K * H, GIH = tree_gates_ih(d.cell) * H;
  const size_t h_bytes = sizeof(F) * H;
  const int32_t* order = p.order;
  const int32_t* edge_start = p.edge_start;
  const int32_t* edge_pos = p.edge_pos;
  const int leaf_end = p.leaf_end();

  // The gradients of every node's h and c by position: the outputs' first, the parents' added
  // level by level (a node's parent is in a higher level, so it is complete when its level runs).
  std::vector<F> dh(static_cast<size_t>(N) * H, F(0)), dc(lstm ? static_cast<size_t>(N) * H : 0, F(0));
  for (int q = 0; q < N; ++q) {
    const size_t node = static_cast<size_t>(order[q]) * H, at = static_cast<size_t>(q) * H;
    if (dh_out) std::memcpy(dh.data() + at, dh_out + node, h_bytes);
    if (lstm && dc_out) std::memcpy(dc.data() + at, dc_out + node, h_bytes);
  }
  int widest = 0, widest_edges = 0;
  for (int l = 0; l < p.L; ++l) {
    widest = std::max(widest, p.level_start[l + 1] - p.level_start[l]);
    widest_edges = std::max(widest_edges, edge_start[p.level_start[l + 1]] - edge_start[p.level_start[l]]);
  }
  std::vector<F> tcs(lstm ? static_cast<size_t>(widest) * H : 0);  // tanh(c), then dc_t, per row
  // dk (rows, K·H): the level's children's h gradients; child-sum: dh̃ (rows, H), then per slot (edges, H).
  std::vector<F> dk(csum ? static_cast<size_t>(widest) * H + static_cast<size_t>(widest_edges) * H
                         : static_cast<size_t>(widest) * KH);

  for (int l = p.L - 1; l >= (leaf ? 1 : 0); --l) {
    const int s0 = p.level_start[l], s1 = p.level_start[l + 1], n = s1 - s0;
    const int e0 = edge_start[s0], e1 = edge_start[s1];
    parallel_ranges(n, 1, min_rows(static_cast<size_t>(GH) * 2), [&](int a, int z) {
      for (int q = s0 + a; q < s0 + z; ++q) {
        const size_t at = static_cast<size_t>(q) * H;
        const int ea = edge_start[q], m = edge_start[q + 1] - ea;
        F* gq = s.gates + static_cast<size_t>(q) * GH;
        F* tc = lstm ? tcs.data() + static_cast<size_t>(q - s0) * H : nullptr;
        if (lstm) tanh_copy(tc, s.cs + at, H);
        switch (d.cell) {
          case TreeCell::NaryLstm:
            nary_lstm_backward(gq, s.xg + static_cast<size_t>(q) * 4 * H, s.cs, edge_pos + ea, m, tc, dh.data() + at,
                               dc.data() + at, dc.data(), H, K);
            break;
          case TreeCell::ChildSumLstm:
            child_sum_backward(gq, s.ef + static_cast<size_t>(ea) * H, s.cs, edge_pos + ea, m, tc, dh.data() + at,
                               dc.data() + at, dc.data(), H);
            break;
          default:
            tree_rnn_backward(relu, gq, dh.data() + at, H);
            break;
        }
      }
    });
    if (l == 0) break;  // leaves pass nothing down
    const F* gl = s.gates + static_cast<size_t>(s0) * GH;
    if (!csum) {
      // The children's h gradients: one GEMM against the stacked U matrices, then a scatter.
      par_gemm(false, false, n, KH, GH, F(1), gl, GH, w.w_hh, KH, F(0), dk.data(), KH);
      parallel_ranges(n, 1, min_rows(KH), [&](int a, int z) {
        for (int q = s0 + a; q < s0 + z; ++q) {
          const int ea = edge_start[q], m = std::min(edge_start[q + 1] - ea, K);
          for (int k = 0; k < m; ++k) {
            const int cp = edge_pos[ea + k];
            if (cp >= 0)
              add_span(dh.data() + static_cast<size_t>(cp) * H, dk.data() + static_cast<size_t>(q - s0) * KH + k * H, H);
          }
        }
      });
    } else {
      F* dhs = dk.data();                                  // (n, H): dL/dh̃
      F* dek = dk.data() + static_cast<size_t>(widest) * H;  // (e1 - e0, H): through each U_f h_k
      par_gemm(false, false, n, H, H, F(1), gl, GH, w.w_hh, H, F(0), dhs, H);
      par_gemm(false, false, n, H, 2 * H, F(1), gl + 2 * H, GH, w.w_hh + static_cast<size_t>(2) * H * H, H, F(1), dhs, H);
      if (e1 > e0)
        par_gemm(false, false, e1 - e0, H, H, F(1), s.ef + static_cast<size_t>(e0) * H, H,
                 w.w_hh + static_cast<size_t>(H) * H, H, F(0), dek, H);
      parallel_ranges(n, 1, min_rows(static_cast<size_t>(e1 - e0) * 2 * H / n), [&](int a, int z) {
        for (int q = s0 + a; q < s0 + z; ++q)
          for (int e = edge_start[q]; e < edge_start[q + 1]; ++e) {
            const int cp = edge_pos[e];
            if (cp < 0) continue;
            F* dst = dh.data() + static_cast<size_t>(cp) * H;
            add_span(dst, dhs + static_cast<size_t>(q - s0) * H, H);
            add_span(dst, dek + static_cast<size_t>(e - e0) * H, H);
          }
      });
    }
  }

  if (leaf) {
    if (dleaf_h) std::memset(dleaf_h, 0, sizeof(F) * N * H);
    if (dleaf_c) std::memset(dleaf_c, 0, sizeof(F) * N * H);
    for (int q = 0; q < leaf_end; ++q) {
      const size_t node = static_cast<size_t>(order[q]) * H, at = static_cast<size_t>(q) * H;
      if (dleaf_h) std::memcpy(dleaf_h + node, dh.data() + at, h_bytes);
      if (dleaf_c && lstm) std::memcpy(dleaf_c + node, dc.data() + at, h_bytes);
    }
  }

  // Weight gradients: one GEMM each over every computed node (r0..N), or every node with
  // children (leaf_end..N) for the recurrent ones.
  const int r0 = leaf ? leaf_end : 0;
  const F* dgin = nary ? s.xg : s.gates;
  const int ld_in = nary ? 4 * H : GH;
  if (N > r0) {
    if (g.dw_ih)
      par_gemm(true, false, GIH, I, N - r0, F(1), dgin + static_cast<size_t>(r0) * ld_in, ld_in,
               s.xp + static_cast<size_t>(r0) * I, I, F(1), g.dw_ih, I);
    if (g.db_ih) add_column_sums(g.db_ih, dgin, r0, N, ld_in, GIH);
    if (g.db_hh) add_column_sums(g.db_hh, s.gates, r0, N, GH, GH);
  }
  const int rc = leaf_end, RC = N - leaf_end;
  if (RC > 0 && g.dw_hh) {
    const F* gc = s.gates + static_cast<size_t>(rc) * GH;
    if (!csum) {
      par_gemm(true, false, GH, KH, RC, F(1), gc, GH, s.kids + static_cast<size_t>(rc) * KH, KH, F(1), g.dw_hh, KH);
    } else {
      const F* hs = s.hs + static_cast<size_t>(rc) * H;
      par_gemm(true, false, H, H, RC, F(1), gc, GH, hs, H, F(1), g.dw_hh, H);  // i
      par_gemm(true, false, 2 * H, H, RC, F(1), gc + 2 * H, GH, hs, H, F(1), g.dw_hh + static_cast<size_t>(2) * H * H,
               H);  // g (u), o
      const int ec = edge_start[rc];
      if (E > ec)
        par_gemm(true, false, H, H, E - ec, F(1), s.ef + static_cast<size_t>(ec) * H, H, s.eh + static_cast<size_t>(ec) * H,
                 H, F(1), g.dw_hh + static_cast<size_t>(H) * H, H);  // f, over every child slot
    }
  }
  if (dx) {
    std::memset(dx, 0, sizeof(F) * N * I);
    if (N > r0) {
      // dx by position into the x copy (no longer needed), then back to node order.
      F* dxp = s.xp + static_cast<size_t>(r0) * I;
      par_gemm(false, false, N - r0, I, GIH, F(1), dgin + static_cast<size_t>(r0) * ld_in, ld_in, w.w_ih, I, F(0), dxp, I);
      for (int q = r0; q < N; ++q)
        std::memcpy(dx + static_cast<size_t>(order[q]) * I, s.xp + static_cast<size_t>(q) * I, sizeof(F) * I);
    }
  }
}

template void tree_forward<float>(const TreeDims&, const TreePlanView&, const LayerWeights<float>&, const float*,
                                  const float*, const float*, float*, float*, float*);
template void tree_forward<double>(const TreeDims&, const TreePlanView&, const LayerWeights<double>&, const double*,
                                   const double*, const double*, double*, double*, double*);
template void tree_backward<float>(const TreeDims&, const TreePlanView&, const LayerWeights<float>&,
                                   const LayerGrads<float>&, bool, float*, const float*, const float*, float*, float*,
                                   float*);
template void tree_backward<double>(const TreeDims&, const TreePlanView&, const LayerWeights<double>&,
                                    const LayerGrads<double>&, bool, double*, const double*, const double*, double*,
                                    double*, double*);

}  // namespace rnn
