// setNumThreads / getNumThreads / version facts.
#include <mutex>
#include <string>
#include <thread>

#include "registry.h"
#include "args.h"
#include "kernels/blas.h"
#include "kernels/thread_pool.h"
#include "kernels/vec_math.h"

namespace binding {
namespace {

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  const int n = int_arg(info.Env(), info[0], "n", 1, 1024);
  std::lock_guard<std::mutex> lock(rnn::blas_mutex());  // never change it under a running kernel
  rnn::ThreadPool::instance().set_threads(n);
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
// place; returns false (x untouched) when this CPU lacks it. Holds the compute lock, so no
// kernel runs while the dispatcher is switched.
Napi::Value ApplyActivation(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[2].IsString()) throw_type(env, "kind and isa must be strings");
  const std::string kind = info[0].As<Napi::String>();
  const std::string isa = info[2].As<Napi::String>();
  if (kind != "sigmoid" && kind != "tanh") throw_range(env, "kind must be 'sigmoid' or 'tanh'");
  if (!info[1].IsTypedArray()) throw_type(env, "x must be a Float32Array");
  const size_t n = checked_size(env, {info[1].As<Napi::TypedArray>().ElementLength()}, "x");  // the kernels count in int
  float* x = typed_data<float>(env, info[1], n, "x");
  std::lock_guard<std::mutex> lock(rnn::blas_mutex());
  const std::string previous = rnn::vec_math_isa();
  if (!rnn::vec_math_force(isa.c_str())) return Napi::Boolean::New(env, false);
  if (kind == "sigmoid") rnn::sigmoid_inplace(x, static_cast<int>(n));
  else rnn::tanh_inplace(x, static_cast<int>(n));
  rnn::vec_math_force(previous.c_str());
  return Napi::Boolean::New(env, true);
}

}  // namespace

void register_runtime(Napi::Env env, Napi::Object exports) {
  // The threading policy (docs/threading.md): OpenBLAS single-threaded, parallelism ours.
  {
    std::lock_guard<std::mutex> lock(rnn::blas_mutex());
    rnn::blas_set_num_threads(1);
  }
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads, "getNumThreads"));
  exports.Set("openblasConfig", Napi::Function::New(env, OpenblasConfig, "openblasConfig"));
  exports.Set("hardwareConcurrency", Napi::Function::New(env, HardwareConcurrency, "hardwareConcurrency"));
  exports.Set("alignmentSkip", Napi::Function::New(env, AlignmentSkip, "alignmentSkip"));
  exports.Set("vecMathIsa", Napi::Function::New(env, VecMathIsa, "vecMathIsa"));
  exports.Set("applyActivation", Napi::Function::New(env, ApplyActivation, "applyActivation"));
  exports.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
}

}  // namespace binding
