// One Linear forward, y (N, out) = x (N, in) · W (out, in)^T + b, checked and ready to run on
// any thread: linearForward / linearForwardAsync run it alone, and a recurrent layer's
// forwardAsync can run it right after the layer in the same worker job (one thread hand-off
// per generated token instead of two).
#pragma once
#include <napi.h>

#include "args.h"
#include "kernels/dense.h"

namespace binding {

struct LinearForwardCall {
  float* y;        // (N, out)
  const float* x;  // (N, in)
  const float* W;  // (out, in)
  const float* b;  // (out) or nullptr
  int N, in, out;
  void run() const {
    if (N > 0) rnn::linear_forward(y, x, W, b, N, in, out);
  }
};

// From the values (y, x, W, b|null, N, in, out).
inline LinearForwardCall parse_linear_forward(Napi::Env env, const Napi::Value* v) {
  LinearForwardCall c;
  c.N = int_arg(env, v[4], "N", 0, INT32_MAX);
  c.in = int_arg(env, v[5], "in", 1, INT32_MAX);
  c.out = int_arg(env, v[6], "out", 1, INT32_MAX);
  c.y = typed_data<float>(env, v[0], checked_size(env, {size_t(c.N), size_t(c.out)}, "y"), "y");
  c.x = typed_data<float>(env, v[1], checked_size(env, {size_t(c.N), size_t(c.in)}, "x"), "x");
  c.W = typed_data<float>(env, v[2], checked_size(env, {size_t(c.out), size_t(c.in)}, "weight"), "weight");
  c.b = optional_typed_data<float>(env, v[3], c.out, "bias");
  return c;
}

}  // namespace binding
