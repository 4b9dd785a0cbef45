// Array activations used by the fused cell passes: AVX-512 and AVX2/FMA kernels chosen at
// run time, a scalar fallback elsewhere. All three use the same polynomials (Cephes expf,
// tanhf), accurate to a few ulp; test/14.activations.test.ts checks them against float64.
#pragma once

namespace rnn {

void sigmoid_inplace(float* x, int n);            // x = 1 / (1 + e^-x)
void exp_inplace(float* x, int n);                // x = e^x (x ≤ 88.3; larger saturates at 2^127·…)
void tanh_inplace(float* x, int n);               // x = tanh x
void tanh_to(float* out, const float* x, int n);  // out = tanh x
// The LSTM cell's forward pass over n units (cells.h's lstm_forward of an active row) in one
// sweep: gi, gf, gg, go (n each) pre-activations in, activated gates out; c_out = f·c_in +
// i·g; h_out = y = o·tanh(c_out). Bit for bit the separate passes. Returns false, doing
// nothing, where the picked kernel has no fused version (AVX2, scalar).
bool lstm_cell_forward_fused(float* gi, float* gf, float* gg, float* go, const float* c_in, float* c_out, float* h_out,
                             float* y, int n);
// The LSTM cell's backward step over n units (cells.h's lstm_backward_step) in one sweep, bit
// for bit the separate passes; false, doing nothing, without a fused kernel.
bool lstm_cell_backward_fused(float* g, int H, const float* dh, const float* dc, const float* c_in, const float* c_t,
                              float* dh_prev, float* dc_prev, float* db, int n);
// Which kernel the dispatcher picked: "avx512f", "avx2" or "scalar".
const char* vec_math_isa();
// Test hook: force a kernel ("avx512f", "avx2", "scalar"); returns false if unsupported here.
bool vec_math_force(const char* isa);

}  // namespace rnn
