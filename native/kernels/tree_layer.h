// The tree layers: one network applied at every node of a batch of trees, bottom-up, level by
// level (tree_plan.h). Letters: N nodes, E child slots, L levels, I input size, H hidden size,
// K child positions (TreeRNN and the N-ary TreeLSTM; the child-sum cell takes any number).
//
// The speed recipe, as for the recurrent layers: the input projection of all N nodes is one
// GEMM; per level, one gather of the children's h, one GEMM against the stacked recurrent
// weights (the child-sum cell: one for h̃ = Σ h_k and one for the per-child forget gates) and
// one fused elementwise pass (tree_cells.h) over the level's nodes; backward runs the levels
// in reverse for the gate gradients and the children's h and c gradients only, then every
// weight gradient is one GEMM over all nodes (or all child slots) of the batch.
//
// Parameters (row blocks of H, PyTorch's gate order where PyTorch has one):
//   TreeRNN          weight_ih (H, I)          weight_hh (H, K·H)            biases (H)
//   child-sum LSTM   weight_ih (4H, I) i,f,g,o weight_hh (4H, H) i,f,g,o     biases (4H)
//   N-ary LSTM       weight_ih (4H, I) i,f,g,o weight_hh ((3+K)H, K·H)       bias_ih (4H),
//                                              i, f_0 … f_{K-1}, g, o        bias_hh ((3+K)H)
// Column block k of a weight_hh with K·H columns is U_k, the matrix for child position k.
// (g is the LSTM's candidate, Tai et al.'s u.)
//
// Threads: the fused passes, gathers and scatters of a level are split by nodes across the
// kernel thread pool (a node's children are nobody else's, so the scatters never collide);
// GEMMs go through par_gemm. Callers hold a compute-budget token (compute_budget.h).
#pragma once
#include <cstddef>

#include "recurrent_layer.h"
#include "tree_plan.h"

namespace rnn {

enum class TreeCell : int { RnnTanh = 0, RnnRelu = 1, ChildSumLstm = 2, NaryLstm = 3 };
constexpr int kTreeCellCount = 4;

struct TreeDims {
  TreeCell cell;
  int I, H;
  int K;  // child positions: TreeRNN and N-ary (>= 1); 0 for child-sum
};

inline bool tree_is_lstm(TreeCell c) { return c == TreeCell::ChildSumLstm || c == TreeCell::NaryLstm; }
// Blocks of H rows in weight_ih and bias_ih.
inline int tree_gates_ih(TreeCell c) { return tree_is_lstm(c) ? 4 : 1; }
// Blocks of H rows in weight_hh and bias_hh (and in a node's gate row).
inline int tree_gates_hh(const TreeDims& d) {
  return d.cell == TreeCell::NaryLstm ? 3 + d.K : tree_gates_ih(d.cell);
}
// Blocks of H columns in weight_hh.
inline int tree_hh_inputs(const TreeDims& d) { return d.cell == TreeCell::ChildSumLstm ? 1 : d.K; }

// Elements of what a forward keeps for its backward (all of it position-ordered, see
// tree_plan.h): x (N, I) — the kernels' private copy —, the gates (N, G·H), and per cell the
// gathered children's h (N, K·H) (TreeRNN, N-ary), the input projection (N, 4H) (N-ary), h̃
// (N, H) and each child slot's h and forget gate (E, H) each (child-sum), the cells (N, H)
// (LSTMs).
size_t tree_saved_size(const TreeDims& d, size_t N, size_t E);

// x (N, I) by node id; leaf_h, leaf_c (N, H) or nullptr: with leaf_h, the nodes without
// children (level 0) take their state from these rows instead of computing it (leaf_c nullptr:
// zeros), and their x rows are unused. h, c (N, H) out by node id (c LSTMs only). saved:
// tree_saved_size elements.
template <typename F>
void tree_forward(const TreeDims& d, const TreePlanView& p, const LayerWeights<F>& w, const F* x, const F* leaf_h,
                  const F* leaf_c, F* h, F* c, F* saved);

// From dh, dc (N, H) by node id (either may be nullptr for zero): writes dx (N, I) and, when
// the forward took leaf states (`leaf`), dleaf_h, dleaf_c (N, H) (zero on the rows of nodes
// with children), each when set; ADDS the parameter gradients (null members skipped).
// Consumes saved.
template <typename F>
void tree_backward(const TreeDims& d, const TreePlanView& p, const LayerWeights<F>& w, const LayerGrads<F>& g, bool leaf,
                   F* saved, const F* dh, const F* dc, F* dx, F* dleaf_h, F* dleaf_c);

}  // namespace rnn
