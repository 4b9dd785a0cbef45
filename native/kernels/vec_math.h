// Array activations used by the fused cell passes: AVX-512 and AVX2/FMA kernels chosen at
// run time, a scalar fallback elsewhere. All three use the same polynomials (Cephes expf,
// tanhf), accurate to a few ulp; test/14.activations.test.ts checks them against float64.
#pragma once

namespace rnn {

void sigmoid_inplace(float* x, int n);            // x = 1 / (1 + e^-x)
void exp_inplace(float* x, int n);                // x = e^x (x ≤ 88.3; larger saturates at 2^127·…)
void tanh_inplace(float* x, int n);               // x = tanh x
void tanh_to(float* out, const float* x, int n);  // out = tanh x
// Which kernel the dispatcher picked: "avx512f", "avx2" or "scalar".
const char* vec_math_isa();
// Test hook: force a kernel ("avx512f", "avx2", "scalar"); returns false if unsupported here.
bool vec_math_force(const char* isa);

}  // namespace rnn
