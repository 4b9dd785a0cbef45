// The math of one tree node, for the tree layers (tree_layer.cc): `<cell>_forward` turns a
// node's gate pre-activations into activated gates and its new state, `<cell>_backward`
// turns the node's state gradients into gate pre-activation gradients and the gradients of
// its children's cells. tree_cells_reference.h holds a plain twin the tests compare with.
//
// Conventions: H hidden units; a node's gates are blocks of H values. Children are given as
// positions into a (rows, H) buffer of cells (`cs`, `dcs`): kpos[k] for the node's k-th slot
// (-1: an empty position, whose state counts as zeros), M slots in all. `b` is the combined
// bias (b_ih mapped onto the gate blocks, plus b_hh), or nullptr.
//
// Tai, Sheng & Manning (2015), "Improved Semantic Representations From Tree-Structured Long
// Short-Term Memory Networks": child-sum equations (2)–(8), N-ary equations (9)–(14).
#pragma once
#include <cstdint>

namespace rnn {

// TreeRNN: g (H) holds W x + Σ_k U_k h_k in, h = act(g + b) out (and g = h); h (H) receives it.
template <typename F>
void tree_rnn_forward(bool relu, F* g, const F* b, F* h, int H);
// g: the activated node (= h) in, d pre-activation out; dh (H): dL/dh of the node.
template <typename F>
void tree_rnn_backward(bool relu, F* g, const F* dh, int H);

// N-ary TreeLSTM, K child positions. g ((3+K)·H): blocks i, f_0 … f_{K-1}, u, o; on entry
// Σ_l U_l h_l (the recurrent pre-activations), on exit the activated gates (eqs. 9–12).
// xg (4H): W x in blocks i, f, u, o (one input projection for all forget gates, eq. 10).
// c, h (H) out: c = i ⊙ u + Σ_k f_k ⊙ c_k (13), h = o ⊙ tanh(c) (14). M ≤ K slots in kpos.
template <typename F>
void nary_lstm_forward(F* g, const F* xg, const F* b, const F* cs, const int32_t* kpos, int M, F* c, F* h, int H,
                       int K);
// g: activated gates in, their pre-activation gradients out; dxg (4H) out: the input
// projection's gradient [di, Σ_k df_k, du, do]; tc (H): tanh(c) of the node in, scratch out;
// dh, dc (H): the node's gradients; dcs: the children's cell gradients, ADDED to at kpos
// (dc_k += dc_t ⊙ f_k, dc_t the total gradient of the node's cell).
template <typename F>
void nary_lstm_backward(F* g, F* dxg, const F* cs, const int32_t* kpos, int M, F* tc, const F* dh,
                        const F* dc, F* dcs, int H, int K);

// Child-sum TreeLSTM. g (4H): blocks i, f, u, o; on entry i, u, o hold W x + U h̃ (h̃ = Σ_k h_k,
// eq. 2) and f holds W_f x (no bias); on exit i, u, o are activated (eqs. 3, 5, 6) and f
// holds W_f x + b_f. fk (M·H): U_f h_k per child slot in, f_k = σ(W_f x + U_f h_k + b_f) out (eq. 4).
// c = i ⊙ u + Σ_k f_k ⊙ c_k (7), h = o ⊙ tanh(c) (8).
template <typename F>
void child_sum_forward(F* g, const F* b, F* fk, const F* cs, const int32_t* kpos, int M, F* c, F* h, int H);
// g: activated gates in, gradients out [di, Σ_k df_k, du, do]; fk: f_k in, df_k out; others
// as for the N-ary cell.
template <typename F>
void child_sum_backward(F* g, F* fk, const F* cs, const int32_t* kpos, int M, F* tc, const F* dh, const F* dc,
                        F* dcs, int H);

}  // namespace rnn
