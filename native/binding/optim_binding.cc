// Optimizer updates: one call per parameter per step, over its contiguous buffers.
// Hyper-parameters arrive as a plain object read once per call.
#include <algorithm>
#include <mutex>
#include <string>

#include "registry.h"
#include "args.h"
#include "kernels/blas.h"
#include "kernels/compute_budget.h"
#include "kernels/optim.h"
#include "kernels/thread_pool.h"

namespace binding {
namespace {

double num(Napi::Env env, const Napi::Object& o, const char* key) {
  return number_arg(env, o.Get(key), ArgName("hyper.", key));
}
bool flag(Napi::Env env, const Napi::Object& o, const char* key) {
  return bool_arg(env, o.Get(key), ArgName("hyper.", key));
}
Napi::Object hyper_arg(Napi::Env env, const Napi::Value& v) {
  if (!v.IsObject()) throw_type(env, "hyper must be an object");
  return v.As<Napi::Object>();
}
// Runs an elementwise update over [0, n) in chunks on the kernel threads (under the compute
// lock, which every user of the pool holds). Chunks are 64-element aligned. parallel_ranges
// counts in int and rounds its total up to the alignment, so it gets pieces of 2^30 at most.
template <typename Fn>
void over_elements(size_t n, Fn&& fn) {
  rnn::ComputeScope scope;
  constexpr size_t kPiece = size_t{1} << 30;
  for (size_t at = 0; at < n; at += kPiece) {
    const int len = static_cast<int>(std::min(kPiece, n - at));
    rnn::parallel_ranges(len, 64, 1 << 16, [&](int b, int e) { fn(at + static_cast<size_t>(b), static_cast<size_t>(e - b)); });
  }
}

// param's length, at most kMaxElements (args.h).
size_t length_of(Napi::Env env, const Napi::Value& v) {
  if (!v.IsTypedArray()) throw_type(env, "param must be a Float32Array");
  return checked_size(env, {v.As<Napi::TypedArray>().ElementLength()}, "param");
}

// sgdStep(param, grad, momentumBuf|null, hyper)
Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const size_t n = length_of(env, info[0]);
  float* p = typed_data<float>(env, info[0], n, "param");
  const float* g = typed_data<float>(env, info[1], n, "grad");
  Napi::Object o = hyper_arg(env, info[3]);
  rnn::SgdHyper h{num(env, o, "lr"), num(env, o, "momentum"), num(env, o, "dampening"),
                  num(env, o, "weightDecay"), flag(env, o, "nesterov"), flag(env, o, "maximize"),
                  flag(env, o, "firstStep")};
  float* buf = h.momentum != 0 ? typed_data<float>(env, info[2], n, "momentumBuffer") : nullptr;
  over_elements(n, [&](size_t b, size_t len) { rnn::sgd_step(p + b, g + b, buf ? buf + b : nullptr, len, h); });
  return env.Undefined();
}

// adamStep(param, grad, expAvg, expAvgSq, maxExpAvgSq|null, hyper)
Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const size_t n = length_of(env, info[0]);
  float* p = typed_data<float>(env, info[0], n, "param");
  const float* g = typed_data<float>(env, info[1], n, "grad");
  float* m = typed_data<float>(env, info[2], n, "expAvg");
  float* v = typed_data<float>(env, info[3], n, "expAvgSq");
  Napi::Object o = hyper_arg(env, info[5]);
  rnn::AdamHyper h{num(env, o, "lr"), num(env, o, "beta1"), num(env, o, "beta2"), num(env, o, "eps"),
                   num(env, o, "weightDecay"), flag(env, o, "amsgrad"), flag(env, o, "maximize"),
                   flag(env, o, "decoupled"), static_cast<long>(num(env, o, "step"))};
  if (h.step < 1) throw_range(env, "hyper.step must be >= 1");
  float* vmax = h.amsgrad ? typed_data<float>(env, info[4], n, "maxExpAvgSq") : nullptr;
  over_elements(n, [&](size_t b, size_t len) {
    rnn::adam_step(p + b, g + b, m + b, v + b, vmax ? vmax + b : nullptr, len, h);
  });
  return env.Undefined();
}

// rmspropStep(param, grad, squareAvg, momentumBuf|null, gradAvg|null, hyper)
Napi::Value RmspropStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const size_t n = length_of(env, info[0]);
  float* p = typed_data<float>(env, info[0], n, "param");
  const float* g = typed_data<float>(env, info[1], n, "grad");
  float* sq = typed_data<float>(env, info[2], n, "squareAvg");
  Napi::Object o = hyper_arg(env, info[5]);
  rnn::RmspropHyper h{num(env, o, "lr"), num(env, o, "alpha"), num(env, o, "eps"), num(env, o, "weightDecay"),
                      num(env, o, "momentum"), flag(env, o, "centered"), flag(env, o, "maximize")};
  float* buf = h.momentum > 0 ? typed_data<float>(env, info[3], n, "momentumBuffer") : nullptr;
  float* gavg = h.centered ? typed_data<float>(env, info[4], n, "gradAvg") : nullptr;
  over_elements(n, [&](size_t b, size_t len) {
    rnn::rmsprop_step(p + b, g + b, sq + b, buf ? buf + b : nullptr, gavg ? gavg + b : nullptr, len, h);
  });
  return env.Undefined();
}

// adagradStep(param, grad, stateSum, hyper)
Napi::Value AdagradStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const size_t n = length_of(env, info[0]);
  float* p = typed_data<float>(env, info[0], n, "param");
  const float* g = typed_data<float>(env, info[1], n, "grad");
  float* sum = typed_data<float>(env, info[2], n, "stateSum");
  Napi::Object o = hyper_arg(env, info[3]);
  rnn::AdagradHyper h{num(env, o, "lr"), num(env, o, "lrDecay"), num(env, o, "eps"), num(env, o, "weightDecay"),
                      flag(env, o, "maximize"), static_cast<long>(num(env, o, "step"))};
  if (h.step < 1) throw_range(env, "hyper.step must be >= 1");
  over_elements(n, [&](size_t b, size_t len) { rnn::adagrad_step(p + b, g + b, sum + b, len, h); });
  return env.Undefined();
}

// maxNormRows(param, rows, cols, maxNorm)
Napi::Value MaxNormRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int rows = int_arg(env, info[1], "rows", 0, INT32_MAX), cols = int_arg(env, info[2], "cols", 0, INT32_MAX);
  float* p = typed_data<float>(env, info[0], checked_size(env, {static_cast<size_t>(rows), static_cast<size_t>(cols)}, "param"), "param");
  rnn::max_norm_rows(p, rows, cols, number_arg(env, info[3], "maxNorm"));
  return env.Undefined();
}

}  // namespace

void register_optim(Napi::Env env, Napi::Object exports) {
  exports.Set("sgdStep", Napi::Function::New(env, SgdStep, "sgdStep"));
  exports.Set("adamStep", Napi::Function::New(env, AdamStep, "adamStep"));
  exports.Set("rmspropStep", Napi::Function::New(env, RmspropStep, "rmspropStep"));
  exports.Set("adagradStep", Napi::Function::New(env, AdagradStep, "adagradStep"));
  exports.Set("maxNormRows", Napi::Function::New(env, MaxNormRows, "maxNormRows"));
}

}  // namespace binding
