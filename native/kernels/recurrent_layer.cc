#include "recurrent_layer.h"

#include <cstring>
#include <type_traits>
#include <vector>

#include "cells.h"
#include "blas.h"
#include "clones.h"
#include "step_gemm.h"
#include "thread_pool.h"
#include "vec_math.h"

namespace rnn {
namespace {

inline bool is_active(const int32_t* lengths, int b, int t) { return !lengths || t < lengths[b]; }

// Row pointer into a (rows, B, H) history buffer; eval keeps only two rows.
template <typename F>
inline F* hist_row(F* hist, int k, int B, int H, bool full) {
  return hist + static_cast<size_t>(full ? k : (k & 1)) * B * H;
}


// ---- work split ----------------------------------------------------------------------
// Two ways to share a time loop between threads:
// - by hidden units, in blocks of 16 (one AVX-512 panel): each thread computes its units'
//   gate columns for every batch row, so step t+1 needs every thread's part of h_t — one
//   barrier per step — but each thread reads only its rows of W_hh (they stay in its L2);
// - by batch rows: each thread runs the whole recurrence for its rows, which depend on no
//   other row, so the loop has no barrier at all; each thread reads all of W_hh every step.
// Rows win once each thread has a full microkernel block of them (bench/NOTES.md §17): the
// barrier waits for the slower core every step, and on a shared VM that is often.
// Small layers run on one thread: a per-step barrier costs about a microsecond.
constexpr int kUnitBlock = 16;
constexpr int kMinRowsPerThread = 8;

int workers_for(int B, int G, int H) {
  const int blocks = (H + kUnitBlock - 1) / kUnitBlock;
  const double step_flops = 2.0 * B * G * H * H;
  if (step_flops < 2e5) return 1;
  const int n = ThreadPool::instance().threads();
  return n < blocks ? n : blocks;
}

// Valid units in block u (the last block of a ragged H is narrower).
inline int block_width(int H, int u) { return H - u * kUnitBlock < kUnitBlock ? H - u * kUnitBlock : kUnitBlock; }

struct UnitRange {
  int j0, j1, blk0, blk1;
};
UnitRange unit_range(int H, int tid, int n) {
  const int blocks = (H + kUnitBlock - 1) / kUnitBlock;
  const int b0 = static_cast<int>(static_cast<long>(blocks) * tid / n);
  const int b1 = static_cast<int>(static_cast<long>(blocks) * (tid + 1) / n);
  return {b0 * kUnitBlock, b1 * kUnitBlock < H ? b1 * kUnitBlock : H, b0, b1};
}

// One thread's share of a time loop: batch rows [r0, r1) × hidden units u.
struct Part {
  int r0, r1;
  UnitRange u;
};
bool split_rows(int B, int workers) { return workers > 1 && B >= kMinRowsPerThread * workers; }
Part part_of(bool by_rows, int B, int H, int tid, int n) {
  if (!by_rows) return {0, B, unit_range(H, tid, n)};
  return {static_cast<int>(static_cast<long>(B) * tid / n), static_cast<int>(static_cast<long>(B) * (tid + 1) / n),
          unit_range(H, 0, 1)};
}

// The recurrent product of one step for units [j0, j1) of every gate and M batch rows:
// out[:, q*H + j] (+)= h (M, H) · W_hh[q*H + j, :] for each gate q.
// float with AVX-512: the microkernel over packed panels (panel u*G + q = gate q, unit
// block u); otherwise one BLAS call per gate.
template <typename F>
struct ForwardProduct {
  const F* w_hh;
  int G, H;
  const Panels* panels;  // float + AVX-512 only, else nullptr
  void operator()(const F* h, int M, F* out, size_t ldo, const UnitRange& u, bool accumulate) const {
    if (u.j0 >= u.j1 || M <= 0) return;
    blas_product(h, M, out, ldo, u, accumulate);
  }
  // One BLAS call per gate: GEMV for a single row (batch-1 inference: each thread's rows of
  // W_hh stay in its core's L2 from step to step), GEMM otherwise.
  void blas_product(const F* h, int M, F* out, size_t ldo, const UnitRange& u, bool accumulate) const {
    const int nu = u.j1 - u.j0;
    for (int q = 0; q < G; ++q) {
      const F* w = w_hh + static_cast<size_t>(q * H + u.j0) * H;
      if (M == 1)
        gemv(false, nu, H, F(1), w, H, h, accumulate ? F(1) : F(0), out + q * H + u.j0);
      else
        gemm(false, true, M, nu, H, F(1), h, H, w, H, accumulate ? F(1) : F(0), out + q * H + u.j0,
             static_cast<int>(ldo));
    }
  }
};
template <>
void ForwardProduct<float>::operator()(const float* h, int M, float* out, size_t ldo, const UnitRange& u,
                                       bool accumulate) const {
  if (u.j0 >= u.j1 || M <= 0) return;
  if (panels) {
    step_gemm(M, H, h, H, *panels, u.blk0 * G, u.blk1 * G, out, ldo, accumulate);
    return;
  }
  if (M == 1 && step_gemm_available()) {
    for (int q = 0; q < G; ++q)
      gemv_rows(w_hh + static_cast<size_t>(q * H + u.j0) * H, H, h, H, out + q * H + u.j0, u.j1 - u.j0, accumulate);
    return;
  }
  blas_product(h, M, out, ldo, u, accumulate);
}

// dh (M, H) columns [j0, j1) += A (M, K) · W_hh[k0 : k0 + K, j0 : j1]. `view` (float +
// AVX-512) holds W_hh (G*H, H) as packed panels of 16 columns; else one BLAS call.
template <typename F>
void backward_product(const F* A, int lda, int k0, int K, const F* w_hh, F* dh, int M, int H,
                      const UnitRange& u, const Panels* view) {
  if (u.j0 >= u.j1) return;
  if (view) {
    Panels rows = *view;
    rows.data += static_cast<size_t>(k0) * rows.k_stride;  // start at row k0 of every panel
    step_gemm(M, K, reinterpret_cast<const float*>(A), lda, rows, u.blk0, u.blk1, reinterpret_cast<float*>(dh), H, true);
    return;
  }
  gemm(false, false, M, u.j1 - u.j0, K, F(1), A, lda, w_hh + static_cast<size_t>(k0) * H + u.j0, H, F(1), dh + u.j0, H);
}

// out (rows, ldo) columns [0, n) = x (rows, I) · W (n, I)^T: a slice of the input
// projection; rows of x one at a time through the AVX-512 dot kernel when available.
template <typename F>
void project_rows(const F* x, int rows, int I, const F* W, int n, F* out, int ldo) {
  gemm(false, true, rows, n, I, F(1), x, I, W, I, F(0), out, ldo);
}
template <>
void project_rows<float>(const float* x, int rows, int I, const float* W, int n, float* out, int ldo) {
  if (!step_gemm_available()) {
    gemm(false, true, rows, n, I, 1.0f, x, I, W, I, 0.0f, out, ldo);
    return;
  }
  for (int r = 0; r < rows; ++r)
    gemv_rows(W, I, x + static_cast<size_t>(r) * I, I, out + static_cast<size_t>(r) * ldo, n, false);
}

// The layer-0 input gradients when the input was token ids into table (V, I): with
// S (V, GH) the per-token sums of the gate gradients (S[v] = sum of dgates rows r with
// ids[r] = v), dW_ih (GH, I) += S^T · table and dtable (V, I) += S · W_ih — the same sums as
// dgates^T · x and a scatter of dx = dgates · W_ih, in fewer operations when V < T*B.
template <typename F>
void token_input_gradients(const TokenInput<F>& tokens, const F* dgates, int TB, int GH, int I, const F* w_ih,
                           F* dw_ih, F* dtable, int pad) {
  F* S = tokens.work;
  // By column ranges: each thread owns its columns of S, so no two threads add to one element.
  parallel_ranges(GH, kUnitBlock, 256, [&](int c0, int c1) {
    for (int v = 0; v < tokens.V; ++v) std::memset(S + static_cast<size_t>(v) * GH + c0, 0, sizeof(F) * (c1 - c0));
    for (int r = 0; r < TB; ++r)
      add_span(S + static_cast<size_t>(tokens.ids[r]) * GH + c0, dgates + static_cast<size_t>(r) * GH + c0, c1 - c0);
  });
  if (dw_ih) par_gemm(true, false, GH, I, tokens.V, F(1), S, GH, tokens.table, I, F(1), dw_ih, I);
  if (!dtable) return;
  if (pad >= 0 && pad < tokens.V) std::memset(S + static_cast<size_t>(pad) * GH, 0, sizeof(F) * GH);
  par_gemm(false, false, tokens.V, I, GH, F(1), S, GH, w_ih, I, F(1), dtable, I);
}

}  // namespace

template <typename F>
void layer_forward(const LayerDims& d, const LayerWeights<F>& w, const F* x, const TokenInput<F>* tokens,
                   const int32_t* lengths, const F* h0, const F* c0, F* y, int ldy, F* hN, F* cN,
                   DirectionBuffers<F>& buf, F* scratch) {
  const int T = d.T, B = d.B, I = d.I, H = d.H;
  const int G = gate_count(d.cell);
  const int GH = G * H;
  const size_t BH = static_cast<size_t>(B) * H;
  const bool lstm = d.cell == CellType::Lstm;
  const bool gru = d.cell == CellType::Gru;

  // 1. Input projection of all steps at once: gates (T*B, GH) = x (T*B, I) * W_ih^T. The
  // biases that are plain sums (all of b_ih, and b_hh except GRU's b_hn, which sits inside
  // r * (W_hn h + b_hn)) are added step by step in the time loop, while that step's gates
  // are in cache anyway (a separate pass over the (T, B, G*H) buffer cost ~8 % of a char-LM
  // forward). For a few rows (streaming inference) each thread projects its own units
  // inside the time loop's region instead, so its rows of W_ih stay in its core's L2 from
  // call to call like its rows of W_hh.
  const size_t TB = static_cast<size_t>(T) * B;
  const bool project_per_thread = !tokens && TB <= 16;
  F* const bias_sum = w.b_ih ? buf.bias_sum : nullptr;
  const auto sum_biases = [&](int j0, int j1) {  // units [j0, j1) of bias_sum
    for (int q = 0; q < G; ++q) {
      const bool fold_hh = !(gru && q == 2);
      for (int j = j0; j < j1; ++j) bias_sum[q * H + j] = w.b_ih[q * H + j] + (fold_hh ? w.b_hh[q * H + j] : F(0));
    }
  };
  if (tokens) {
    if (bias_sum) sum_biases(0, H);
    // gates row r = (table · W_ih^T + biases)[ids[r]]: the table's V rows projected once (the
    // biases added there, in the order the time loop would add them), then gathered by the
    // time loop, step by step, into rows its product is about to read (gathering all T*B rows
    // up front wrote all of them out to memory for the loop to read them back; bench/NOTES.md §19).
    par_gemm(false, true, tokens->V, GH, I, F(1), tokens->table, I, w.w_ih, I, F(0), tokens->work, GH);
    if (bias_sum)
      for (int v = 0; v < tokens->V; ++v) add_span(tokens->work + static_cast<size_t>(v) * GH, bias_sum, GH);
  } else if (!project_per_thread) {
    par_gemm(false, true, static_cast<int>(TB), GH, I, F(1), x, I, w.w_ih, I, F(0), buf.gates, GH);
  }
  const bool add_bias_per_step = bias_sum && !tokens;

  // 2. The initial state goes into the history row the first step reads.
  const int start = d.reverse ? T : 0;
  F* h_start = hist_row(buf.hist_h, start, B, H, buf.full_history);
  if (h0) std::memcpy(h_start, h0, sizeof(F) * BH); else std::memset(h_start, 0, sizeof(F) * BH);
  if (lstm) {
    F* c_start = hist_row(buf.hist_c, start, B, H, buf.full_history);
    if (c0) std::memcpy(c_start, c0, sizeof(F) * BH); else std::memset(c_start, 0, sizeof(F) * BH);
  }
  const F* b_hn = (gru && w.b_hh) ? w.b_hh + 2 * H : nullptr;

  // The recurrent weights, packed once per call for the microkernel (float, AVX-512).
  const int workers = workers_for(B, G, H);
  ForwardProduct<F> product{w.w_hh, G, H, nullptr};
  Panels panels{};
  std::vector<int> dest, width;  // per panel: first output column (= first row of W_hh), valid columns
  // Packing moves G*H*H floats once; it pays off over many rows and steps, not for the
  // one-step, one-row calls of streaming inference (those take the GEMV path), nor for a
  // single step of any batch (a decoder run one step per call: the copy would cost as much
  // as the step's product).
  const bool pack = B >= 2 && T >= 2 && static_cast<long>(T) * B >= 64;
  if (std::is_same<F, float>::value && step_gemm_available() && buf.packed && pack) {
    const int blocks = (H + kUnitBlock - 1) / kUnitBlock;
    for (int u = 0; u < blocks; ++u)
      for (int q = 0; q < G; ++q) {
        dest.push_back(q * H + u * kUnitBlock);
        width.push_back(block_width(H, u));
      }
    pack_transposed_panels(reinterpret_cast<float*>(buf.packed), reinterpret_cast<const float*>(w.w_hh), H, H,
                           dest.data(), width.data(), blocks * G);
    panels = Panels{reinterpret_cast<const float*>(buf.packed), static_cast<size_t>(H) * kUnitBlock, kUnitBlock,
                    dest.data(), width.data()};
    product.panels = &panels;
  }

  // 3. The time loop. Each thread owns a Part: a range of hidden units of every row (one
  // barrier per step) or a range of rows with all their units (no barrier; see split_rows).
  // project_per_thread splits units: its few rows are the point of keeping W_ih in L2.
  const bool by_rows = !project_per_thread && split_rows(B, workers);
  if (by_rows && add_bias_per_step) sum_biases(0, H);  // every thread reads all of it
  ThreadPool::instance().run(
      [&](int tid, int n) {
        const Part p = part_of(by_rows, B, H, tid, n);
        const UnitRange& u = p.u;
        const int nu = u.j1 - u.j0, rows = p.r1 - p.r0;
        if (project_per_thread && nu > 0)
          for (int q = 0; q < G; ++q)
            project_rows(x, static_cast<int>(TB), I, w.w_ih + static_cast<size_t>(q * H + u.j0) * I, nu,
                         buf.gates + q * H + u.j0, GH);
        if (add_bias_per_step && !by_rows) sum_biases(u.j0, u.j1);  // this thread's units: only it reads them
        for (int s = 0; s < T; ++s) {
          const int t = d.reverse ? T - 1 - s : s;
          const int k_in = d.reverse ? t + 1 : t;
          const int k_out = d.reverse ? t : t + 1;
          F* h_in = hist_row(buf.hist_h, k_in, B, H, buf.full_history);
          F* h_out = hist_row(buf.hist_h, k_out, B, H, buf.full_history);
          F* g_t = buf.gates + static_cast<size_t>(t) * B * GH;  // (B, GH)
          F* y_t = y + static_cast<size_t>(t) * B * ldy;          // (B, ldy)
          const F* h_rows = h_in + static_cast<size_t>(p.r0) * H;  // (rows, H): this part's rows of h_{t-1}
          if (nu > 0 && rows > 0) {
            if (tokens)  // this part's gate columns of its rows from the projected table
              for (int b = p.r0; b < p.r1; ++b) {
                const F* src = tokens->work + static_cast<size_t>(tokens->ids[static_cast<size_t>(t) * B + b]) * GH;
                F* dst = g_t + static_cast<size_t>(b) * GH;
                if (nu == H)
                  std::memcpy(dst, src, sizeof(F) * GH);
                else
                  for (int q = 0; q < G; ++q) std::memcpy(dst + q * H + u.j0, src + q * H + u.j0, sizeof(F) * nu);
              }
            if (add_bias_per_step)
              for (int b = p.r0; b < p.r1; ++b)
                for (int q = 0; q < G; ++q)
                  add_span(g_t + static_cast<size_t>(b) * GH + q * H + u.j0, bias_sum + q * H + u.j0, nu);
            if (gru) {
              product(h_rows, rows, scratch + static_cast<size_t>(p.r0) * GH, GH, u, false);
              F* ghn_t = buf.ghn + static_cast<size_t>(t) * BH;
              for (int b = p.r0; b < p.r1; ++b)
                gru_forward(g_t + static_cast<size_t>(b) * GH, scratch + static_cast<size_t>(b) * GH, b_hn,
                          h_in + static_cast<size_t>(b) * H, h_out + static_cast<size_t>(b) * H,
                          y_t + static_cast<size_t>(b) * ldy, ghn_t + static_cast<size_t>(b) * H, H, u.j0, nu,
                          is_active(lengths, b, t));
            } else {
              product(h_rows, rows, g_t + static_cast<size_t>(p.r0) * GH, GH, u, true);
              if (lstm) {
                F* c_in = hist_row(buf.hist_c, k_in, B, H, buf.full_history);
                F* c_out = hist_row(buf.hist_c, k_out, B, H, buf.full_history);
                for (int b = p.r0; b < p.r1; ++b) {
                  const size_t o = static_cast<size_t>(b) * H;
                  lstm_forward(g_t + o * 4, h_in + o, c_in + o, h_out + o, c_out + o, y_t + static_cast<size_t>(b) * ldy,
                             H, u.j0, nu, is_active(lengths, b, t));
                }
              } else {
                const bool relu = d.cell == CellType::RnnRelu;
                for (int b = p.r0; b < p.r1; ++b) {
                  const size_t o = static_cast<size_t>(b) * H;
                  rnn_forward(relu, g_t + o, h_in + o, h_out + o, y_t + static_cast<size_t>(b) * ldy, u.j0, nu,
                            is_active(lengths, b, t));
                }
              }
            }
          }
          if (!by_rows) ThreadPool::instance().barrier();  // step t+1 reads all of h_t
        }
      },
      workers);

  // 4. Final states: each row's state after its last valid step.
  const int end = d.reverse ? 0 : T;
  std::memcpy(hN, hist_row(buf.hist_h, end, B, H, buf.full_history), sizeof(F) * BH);
  if (lstm) std::memcpy(cN, hist_row(buf.hist_c, end, B, H, buf.full_history), sizeof(F) * BH);
}

template <typename F>
void layer_backward(const LayerDims& d, const LayerWeights<F>& w, const LayerGrads<F>& g,
                    const F* x, const TokenInput<F>* tokens, const int32_t* lengths, const F* dy, int ldy,
                    const F* dhN, const F* dcN, F* dx, F* dtable, int pad, F* dh0, F* dc0,
                    const DirectionBuffers<F>& buf, F* dgates, F* dgates_hh, F* dh, F* dc) {
  const int T = d.T, B = d.B, I = d.I, H = d.H;
  const int G = gate_count(d.cell);
  const int GH = G * H;
  const size_t BH = static_cast<size_t>(B) * H;
  const bool lstm = d.cell == CellType::Lstm;
  const bool gru = d.cell == CellType::Gru;
  // GRU: the recurrent pre-activation gradient equals dgates for r and z; only its n part,
  // dn * r, differs: dgn (T, B, H), best buf.ghn itself (it replaces W_hn h + b_hn in place).
  F* dgn = gru ? dgates_hh : nullptr;
  if (gru && dgn != buf.ghn) std::memcpy(dgn, buf.ghn, sizeof(F) * T * BH);
  // The elementwise passes read each gate from dgates and overwrite it with its gradient.
  if (dgates != buf.gates) std::memcpy(dgates, buf.gates, sizeof(F) * T * BH * G);

  // W_hh as 16-column panels for the microkernel (float, AVX-512).
  const int blocks = (H + kUnitBlock - 1) / kUnitBlock;
  std::vector<int> view_dest, view_width;
  Panels view{};
  // (Not for a single step: packing would cost as much as the step's product; see forward.)
  const bool use_view = std::is_same<F, float>::value && step_gemm_available() && buf.packed && T >= 2;
  if (use_view) {
    for (int blk = 0; blk < blocks; ++blk) {
      view_dest.push_back(blk * kUnitBlock);
      view_width.push_back(block_width(H, blk));
    }
    // Packed once per call: contiguous panels stream better than W_hh's strided columns.
    pack_column_panels(reinterpret_cast<float*>(buf.packed), reinterpret_cast<const float*>(w.w_hh), H, GH,
                       view_dest.data(), view_width.data(), blocks);
    view = Panels{reinterpret_cast<const float*>(buf.packed), static_cast<size_t>(GH) * kUnitBlock, kUnitBlock,
                  view_dest.data(), view_width.data()};
  }

  // dh/dc hold two (B, H) rows: the carry into this step and the carry out of it.
  if (dhN) std::memcpy(dh, dhN, sizeof(F) * BH); else std::memset(dh, 0, sizeof(F) * BH);
  if (lstm) {
    if (dcN) std::memcpy(dc, dcN, sizeof(F) * BH); else std::memset(dc, 0, sizeof(F) * BH);
  }

  // The time loop for dgates and dh, split like forward's (Part). Split by units, the barrier
  // sits between the elementwise pass (unit-local) and the product with W_hh (reads every
  // unit's dgates); the product writes only the thread's own units of dh, which only it
  // reads at the next step. Split by rows, a thread's product reads only its own rows: no
  // barrier. The bias gradients are summed on the way, while each row's gate gradients are
  // in L1: db_sum (GH) sums dgates, db_sum + GH (H) GRU's dn * r — split by rows, each
  // thread sums into its own copy (db_parts, (n-1, (G+1)*H): threads 1..n-1), added up after.
  F* const db_sum = (g.db_ih || g.db_hh) ? buf.bias_sum : nullptr;
  const int workers = workers_for(B, G, H);
  const bool by_rows = split_rows(B, workers);
  const size_t db_len = static_cast<size_t>(G + 1) * H;
  std::vector<F> db_parts(by_rows && db_sum ? (workers - 1) * db_len : 0);
  // One part's loop: part `k` of `parts` (the rows, or the units, it owns).
  const auto backward_part = [&](int k, int parts) {
    const Part p = part_of(by_rows, B, H, k, parts);
    const UnitRange& u = p.u;
    const int nu = u.j1 - u.j0, rows = p.r1 - p.r0;
    F* const db = !db_sum ? nullptr : by_rows && k > 0 ? db_parts.data() + (k - 1) * db_len : db_sum;
    if (db && nu > 0)
      for (int q = 0; q < G + (gru ? 1 : 0); ++q) std::memset(db + q * H + u.j0, 0, sizeof(F) * nu);
    F* dh_cur = dh;  // each thread swaps its own copies of the two pointers
    F* dh_next = dh + BH;
    F* dc_cur = dc;
    F* dc_next = dc ? dc + BH : nullptr;
    for (int s = T - 1; s >= 0; --s) {
      const int t = d.reverse ? T - 1 - s : s;
      const int k_in = d.reverse ? t + 1 : t;
      const int k_out = d.reverse ? t : t + 1;
      F* dg_t = dgates + static_cast<size_t>(t) * B * GH;
      F* dgn_t = gru ? dgn + static_cast<size_t>(t) * BH : nullptr;
      const F* h_in = buf.hist_h + static_cast<size_t>(k_in) * BH;
      const F* h_out = buf.hist_h + static_cast<size_t>(k_out) * BH;
      for (int b = p.r0; b < p.r1 && nu > 0; ++b) {
        const size_t o = static_cast<size_t>(b) * H + u.j0;
        F* __restrict dhb = dh_cur + o;
        F* __restrict dhn = dh_next + o;  // the part of dh_{prev} not coming through W_hh
        // in: this row's activated gates (when dgates is buf.gates); out: their gradients
        F* dgb = dg_t + static_cast<size_t>(b) * GH + u.j0;
        F* __restrict dgnb = gru ? dgn_t + o : nullptr;
        if (!is_active(lengths, b, t)) {
          // The state passed through unchanged: so does its gradient. dy here is ignored,
          // the output was the constant 0.
          std::memcpy(dhn, dhb, sizeof(F) * nu);
          if (lstm) std::memcpy(dc_next + o, dc_cur + o, sizeof(F) * nu);
          for (int q = 0; q < G; ++q) std::memset(dgb + q * H, 0, sizeof(F) * nu);
          if (gru) std::memset(dgnb, 0, sizeof(F) * nu);
          continue;
        }
        if (dy) {
          const F* dyb = dy + static_cast<size_t>(t) * B * ldy + static_cast<size_t>(b) * ldy + u.j0;
          for (int j = 0; j < nu; ++j) dhb[j] += dyb[j];
        }
        if (lstm) {  // the bias gradients' sums included
          lstm_backward_step(dgb, H, dhb, dc_cur + o, buf.hist_c + static_cast<size_t>(k_in) * BH + o,
                             buf.hist_c + static_cast<size_t>(k_out) * BH + o, dhn, dc_next + o,
                             db ? db + u.j0 : nullptr, nu);
          continue;
        }
        if (gru)
          gru_backward(dgb, H, dhb, dgnb, h_in + o, dhn, nu);
        else
          rnn_backward(d.cell == CellType::RnnRelu, dgb, dhb, h_out + o, dhn, nu);
        if (db) {
          for (int q = 0; q < G; ++q) add_span(db + q * H + u.j0, dgb + q * H, nu);
          if (gru) add_span(db + GH + u.j0, dgnb, nu);
        }
      }
      if (!by_rows) ThreadPool::instance().barrier();  // the product reads every unit's dgates
      const Panels* v = use_view ? &view : nullptr;
      // this part's rows: dgates (rows, GH), GRU's dn * r (rows, H), dh (rows, H)
      F* dg_rows = dg_t + static_cast<size_t>(p.r0) * GH;
      F* dh_rows = dh_next + static_cast<size_t>(p.r0) * H;
      if (rows > 0) {
        if (gru) {
          backward_product(dg_rows, GH, 0, 2 * H, w.w_hh, dh_rows, rows, H, u, v);
          backward_product(dgn_t + static_cast<size_t>(p.r0) * H, H, 2 * H, H, w.w_hh, dh_rows, rows, H, u, v);
        } else {
          backward_product(dg_rows, GH, 0, GH, w.w_hh, dh_rows, rows, H, u, v);
        }
      }
      std::swap(dh_cur, dh_next);
      if (lstm) std::swap(dc_cur, dc_next);
    }
  };
  // Split by rows, the parts are always `workers` row ranges, whatever team the compute budget
  // grants (a thread runs parts tid, tid + n, …; rows need no barrier), so each bias-gradient
  // partial sum covers the same rows and the result does not depend on the team's size.
  ThreadPool::instance().run(
      [&](int tid, int n) {
        if (!by_rows) return backward_part(tid, n);
        for (int k = tid; k < workers; k += n) backward_part(k, workers);
      },
      workers);
  for (int k = 0; k + 1 < workers && !db_parts.empty(); ++k)  // split by rows: the other threads' bias sums
    add_span(db_sum, db_parts.data() + k * db_len, static_cast<int>(db_len - (gru ? 0 : H)));
  // After T swaps the carry sits in dh (T even) or dh + BH (T odd); copied only now that
  // every thread has finished its last product.
  const size_t last = T % 2 == 0 ? 0 : BH;
  if (dh0) std::memcpy(dh0, dh + last, sizeof(F) * BH);
  if (lstm && dc0) std::memcpy(dc0, dc + last, sizeof(F) * BH);

  // Weight gradients as single GEMMs over all T*B rows.
  const int TB = T * B;
  const F* h_prev_all = buf.hist_h + (d.reverse ? BH : 0);  // (T, B, H): the h each step read
  // A null gradient pointer is a parameter nobody differentiates (requiresGrad off): skipped.
  if (!tokens && g.dw_ih) par_gemm(true, false, GH, I, TB, F(1), dgates, GH, x, I, F(1), g.dw_ih, I);
  const int hh_rows = gru ? 2 * H : GH;  // rows of W_hh whose gradient comes from dgates
  if (g.dw_hh) {
    par_gemm(true, false, hh_rows, H, TB, F(1), dgates, GH, h_prev_all, H, F(1), g.dw_hh, H);
    if (gru) par_gemm(true, false, H, H, TB, F(1), dgn, H, h_prev_all, H, F(1), g.dw_hh + static_cast<size_t>(2) * H * H, H);
  }
  if (g.db_ih) add_span(g.db_ih, db_sum, GH);
  if (g.db_hh) {
    add_span(g.db_hh, db_sum, hh_rows);
    if (gru) add_span(g.db_hh + 2 * H, db_sum + GH, H);  // b_hn: the sum of dn * r
  }
  if (tokens) {
    if (g.dw_ih || dtable) token_input_gradients(*tokens, dgates, TB, GH, I, w.w_ih, g.dw_ih, dtable, pad);
    return;
  }
  // dx (T*B, I) += dgates (T*B, GH) * W_ih (GH, I); nullptr when nobody needs the input's gradient
  if (dx) par_gemm(false, false, TB, I, GH, F(1), dgates, GH, w.w_ih, I, F(1), dx, I);
}

template void layer_forward<float>(const LayerDims&, const LayerWeights<float>&, const float*,
                                   const TokenInput<float>*, const int32_t*, const float*, const float*,
                                   float*, int, float*, float*, DirectionBuffers<float>&, float*);
template void layer_forward<double>(const LayerDims&, const LayerWeights<double>&, const double*,
                                    const TokenInput<double>*, const int32_t*, const double*,
                                    const double*, double*, int, double*, double*,
                                    DirectionBuffers<double>&, double*);
template void layer_backward<float>(const LayerDims&, const LayerWeights<float>&, const LayerGrads<float>&,
                                    const float*, const TokenInput<float>*, const int32_t*, const float*,
                                    int, const float*, const float*, float*, float*, int, float*, float*,
                                    const DirectionBuffers<float>&, float*, float*, float*, float*);
template void layer_backward<double>(const LayerDims&, const LayerWeights<double>&,
                                     const LayerGrads<double>&, const double*, const TokenInput<double>*,
                                     const int32_t*, const double*, int, const double*, const double*,
                                     double*, double*, int, double*, double*,
                                     const DirectionBuffers<double>&, double*, double*, double*, double*);

}  // namespace rnn
