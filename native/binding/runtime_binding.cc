// setNumThreads / getNumThreads / version facts.
#include <mutex>
#include <string>
#include <thread>

#include "registry.h"
#include "args.h"
#include "kernels/blas.h"
#include "kernels/compute_budget.h"
#include "kernels/thread_pool.h"
#include "kernels/vec_math.h"

namespace binding {
namespace {

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  const int n = int_arg(info.Env(), info[0], "n", 1, 1024);
  rnn::ExclusiveComputeScope all;  // never change it under a running kernel
  rnn::ThreadPool::instance().set_threads(n);
  rnn::ComputeBudget::instance().resize_held(n);  // as many cores to share as threads allowed
  return info.Env().Undefined();
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), rnn::ThreadPool::instance().threads());
}

Napi::Value OpenblasConfig(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), rnn::blas_config());
}

Napi::Value HardwareConcurrency(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), std::thread::hardware_concurrency());
}

// alignmentSkip(buffer): bytes from the start of an ArrayBuffer's data to the next 64-byte
// boundary (a cache line and one AVX-512 vector). lib/core/aligned.ts places parameter arrays
// there: malloc gives Node's backing stores 16-byte alignment, and weights whose rows start
// mid-line stream ~20 % slower in one-step inference (bench/NOTES.md §8).
Napi::Value AlignmentSkip(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) throw_type(env, "buffer must be an ArrayBuffer");
  const auto address = reinterpret_cast<uintptr_t>(info[0].As<Napi::ArrayBuffer>().Data());
  return Napi::Number::New(env, static_cast<double>((64 - (address & 63)) & 63));
}

Napi::Value VecMathIsa(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), rnn::vec_math_isa());
}

// Test hook: applyActivation('sigmoid' | 'tanh', x, isa) applies the kernel of that ISA in
// place; returns false (x untouched) when this CPU lacks it. Holds the whole compute budget,
// so no kernel runs while the dispatcher is switched.
Napi::Value ApplyActivation(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[2].IsString()) throw_type(env, "kind and isa must be strings");
  const std::string kind = info[0].As<Napi::String>();
  const std::string isa = info[2].As<Napi::String>();
  if (kind != "sigmoid" && kind != "tanh") throw_range(env, "kind must be 'sigmoid' or 'tanh'");
  if (!info[1].IsTypedArray()) throw_type(env, "x must be a Float32Array");
  const size_t n = checked_size(env, {info[1].As<Napi::TypedArray>().ElementLength()}, "x");  // the kernels count in int
  float* x = typed_data<float>(env, info[1], n, "x");
  rnn::ExclusiveComputeScope all;
  const std::string previous = rnn::vec_math_isa();
  if (!rnn::vec_math_force(isa.c_str())) return Napi::Boolean::New(env, false);
  if (kind == "sigmoid") rnn::sigmoid_inplace(x, static_cast<int>(n));
  else rnn::tanh_inplace(x, static_cast<int>(n));
  rnn::vec_math_force(previous.c_str());
  return Napi::Boolean::New(env, true);
}

// computeBudget(reset?) → { tokens, held, maxHeld, running, maxRunning, calls, waited }: the
// budget's size, the tokens held now and the most held at once, the calls computing now and
// the most at once, and the calls (and how many had to wait) since the last reset; reset =
// true starts a new count after reading.
Napi::Value ComputeBudgetInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool reset = info.Length() > 0 && !info[0].IsUndefined() && bool_arg(env, info[0], "reset");
  const auto s = rnn::ComputeBudget::instance().stats();
  if (reset) rnn::ComputeBudget::instance().reset_stats();
  Napi::Object o = Napi::Object::New(env);
  o.Set("tokens", s.tokens);
  o.Set("held", s.held);
  o.Set("maxHeld", s.max_held);
  o.Set("running", s.running);
  o.Set("maxRunning", s.max_running);
  o.Set("calls", static_cast<double>(s.calls));
  o.Set("waited", static_cast<double>(s.waited));
  return o;
}

// setComputeExclusive(on): every call takes the whole budget (one call at a time, as under one
// process-wide lock): the baseline of the concurrency benchmark and tests.
Napi::Value SetComputeExclusive(const Napi::CallbackInfo& info) {
  const bool on = bool_arg(info.Env(), info[0], "on");
  rnn::ComputeBudget::instance().set_exclusive(on);
  return info.Env().Undefined();
}

}  // namespace

void register_runtime(Napi::Env env, Napi::Object exports) {
  // The threading policy (docs/threading.md): OpenBLAS single-threaded, parallelism ours.
  {
    rnn::ExclusiveComputeScope all;
    rnn::blas_set_num_threads(1);
  }
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads, "getNumThreads"));
  exports.Set("openblasConfig", Napi::Function::New(env, OpenblasConfig, "openblasConfig"));
  exports.Set("hardwareConcurrency", Napi::Function::New(env, HardwareConcurrency, "hardwareConcurrency"));
  exports.Set("alignmentSkip", Napi::Function::New(env, AlignmentSkip, "alignmentSkip"));
  exports.Set("vecMathIsa", Napi::Function::New(env, VecMathIsa, "vecMathIsa"));
  exports.Set("applyActivation", Napi::Function::New(env, ApplyActivation, "applyActivation"));
  exports.Set("computeBudget", Napi::Function::New(env, ComputeBudgetInfo, "computeBudget"));
  exports.Set("setComputeExclusive", Napi::Function::New(env, SetComputeExclusive, "setComputeExclusive"));
  exports.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
}

}  // namespace binding
