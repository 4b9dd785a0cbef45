// The math of one time step of each cell kind, for a span of hidden units of one batch row:
// `<cell>_forward` turns gate pre-activations into activated gates and the new state,
// `<cell>_backward` turns the state gradients into gate pre-activation gradients. The
// recurrent layers (recurrent_layer.cc, split by hidden units across threads) and the
// single-step cells (cell_step.cc) both run these; cells_reference.h holds a plain twin
// that the tests compare them with.
//
// Conventions: H hidden units per row; a row's gates are G blocks of H values in PyTorch's
// order (LSTM i, f, g, o; GRU r, z, n); [j0, j0 + n) is the span of units handled. State
// pointers are row starts. An inactive row (past its sequence length) keeps its state,
// outputs 0 and gets zero gate gradients.
#pragma once

namespace rnn {

// h_out = y = act(g) for units [j0, j0+n); g (H) holds the pre-activations, then the
// activations. act = relu or tanh.
template <typename F>
void rnn_forward(bool relu, F* g, const F* h_in, F* h_out, F* y, int j0, int n, bool active);

// g (4H): i, f, g, o pre-activations in, activated gates out; c_out = f*c_in + i*g;
// h_out = y = o * tanh(c_out).
template <typename F>
void lstm_forward(F* g, const F* h_in, const F* c_in, F* h_out, F* c_out, F* y, int H, int j0, int n, bool active);

// gx (3H): the row's input projection plus b_ih and b_hr, b_hz; gh (3H): W_hh h (no bias);
// b_hn (H) or nullptr. r, z = σ(gx + gh); ghn_save (H) = W_hn h + b_hn; n = tanh(gx_n + r *
// ghn); h_out = y = (1 - z) n + z h_in. gx holds r, z, n on exit.
template <typename F>
void gru_forward(F* gx, const F* gh, const F* b_hn, const F* h_in, F* h_out, F* y, F* ghn_save, int H, int j0,
                 int n, bool active);

// Backward of n units (pointers pre-offset to the span's first unit). g holds the activated
// gates on entry (gates H apart) and their pre-activation gradients on exit, each read
// before it is overwritten. dh: dL/dh_t (output gradient included); dh_prev receives the
// part of dL/dh_{t-1} that does not pass through W_hh.

// h: the step's output (the activated gate itself).
template <typename F>
void rnn_backward(bool relu, F* g, const F* dh, const F* h, F* dh_prev, int n);

// dc: dL/dc_t; c_in: c_{t-1}; tanh_c_then_dh_prev: tanh(c_t) in, 0 out (the LSTM's dh_prev
// has no direct part); dc_prev receives dL/dc_{t-1}.
template <typename F>
void lstm_backward(F* g, int H, const F* dh, const F* dc, const F* c_in, F* tanh_c_then_dh_prev, F* dc_prev, int n);

// The LSTM's whole backward step for n units: tanh_copy of c_t into dh_prev, lstm_backward,
// and, when db is not null, db[q*H + j] += the gradient of gate q (the bias gradients' sums,
// db pre-offset like g). One sweep for float with AVX-512, else these passes in turn.
template <typename F>
void lstm_backward_step(F* g, int H, const F* dh, const F* dc, const F* c_in, const F* c_t, F* dh_prev, F* dc_prev,
                        F* db, int n);

// ghn: in, W_hn h + b_hn saved by forward; out, dn * r (the n part of the recurrent
// pre-activation gradient), in place like the gates. h_prev: h_{t-1}.
template <typename F>
void gru_backward(F* g, int H, const F* dh, F* ghn, const F* h_prev, F* dh_prev, int n);

// g[0, n) += b[0, n).
template <typename F>
void add_span(F* g, const F* b, int n);

// Elementwise array activations: float through the vectorised kernels (vec_math.h), double
// through the C library (finite-difference checks).
template <typename F>
void sigmoid_span(F* x, int n);
template <typename F>
void tanh_span(F* x, int n);
template <typename F>
void tanh_copy(F* out, const F* x, int n);

}  // namespace rnn
