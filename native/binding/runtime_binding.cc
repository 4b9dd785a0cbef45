// setNumThreads / getNumThreads / version facts.
#include <mutex>
#include <thread>

#include "addon_data.h"
#include "args.h"
#include "kernels/blas.h"

namespace binding {
namespace {

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  const int n = int_arg(info.Env(), info[0], "n", 1, 1024);
  std::lock_guard<std::mutex> lock(rnn::blas_mutex());  // never change it under a running GEMM
  rnn::blas_set_num_threads(n);
  return info.Env().Undefined();
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), rnn::blas_get_num_threads());
}

Napi::Value OpenblasConfig(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), rnn::blas_config());
}

Napi::Value HardwareConcurrency(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), std::thread::hardware_concurrency());
}

}  // namespace

void register_runtime(Napi::Env env, Napi::Object exports) {
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads, "getNumThreads"));
  exports.Set("openblasConfig", Napi::Function::New(env, OpenblasConfig, "openblasConfig"));
  exports.Set("hardwareConcurrency", Napi::Function::New(env, HardwareConcurrency, "hardwareConcurrency"));
  exports.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
}

}  // namespace binding
