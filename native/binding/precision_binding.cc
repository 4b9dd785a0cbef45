// Weight conversions for lower-precision inference (rnn::row_dot's formats):
//   convertBf16(src Float32Array (n), out Uint16Array (n))
//   quantizeInt8(src Float32Array (N, K), N, K, q Int8Array (N, K), scale Float32Array (N), sum Int32Array (N))
//   rowDotIsa(format) → the kernel a format runs on here: "avx512f", "avx512bf16", "avx512vnni" or "portable"
//   rowDotForcePortable(on) → test hook: the portable kernels for every format (process-wide)
#include <string>

#include "registry.h"
#include "args.h"
#include "kernels/compute_budget.h"
#include "kernels/row_dot.h"

namespace binding {
namespace {

Napi::Value ConvertBf16(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const size_t n = typed_length<float>(env, info[0], "src");
  const float* src = typed_data<float>(env, info[0], n, "src");
  uint16_t* out = typed_data<uint16_t>(env, info[1], n, "out");
  rnn::convert_bf16(src, n, out);
  return env.Undefined();
}

Napi::Value QuantizeInt8(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int N = int_arg(env, info[1], "N", 1, INT32_MAX), K = int_arg(env, info[2], "K", 1, rnn::kInt8MaxK);
  const size_t NK = checked_size(env, {size_t(N), size_t(K)}, "src");
  const float* src = typed_data<float>(env, info[0], NK, "src");
  int8_t* q = typed_data<int8_t>(env, info[3], NK, "q");
  float* scale = typed_data<float>(env, info[4], size_t(N), "scale");
  int32_t* sum = typed_data<int32_t>(env, info[5], size_t(N), "sum");
  rnn::quantize_rows_int8(src, N, K, q, scale, sum);
  return env.Undefined();
}

Napi::Value RowDotIsa(const Napi::CallbackInfo& info) {
  const int f = int_arg(info.Env(), info[0], "format", 0, 2);
  return Napi::String::New(info.Env(), rnn::row_dot_isa(static_cast<rnn::WeightFormat>(f)));
}

Napi::Value RowDotForcePortable(const Napi::CallbackInfo& info) {
  const bool on = bool_arg(info.Env(), info[0], "on");
  rnn::ExclusiveComputeScope all;  // never switch kernels under a running call
  rnn::row_dot_force_portable(on);
  return info.Env().Undefined();
}

}  // namespace

void register_precision(Napi::Env env, Napi::Object exports) {
  exports.Set("convertBf16", Napi::Function::New(env, ConvertBf16, "convertBf16"));
  exports.Set("quantizeInt8", Napi::Function::New(env, QuantizeInt8, "quantizeInt8"));
  exports.Set("rowDotIsa", Napi::Function::New(env, RowDotIsa, "rowDotIsa"));
  exports.Set("rowDotForcePortable", Napi::Function::New(env, RowDotForcePortable, "rowDotForcePortable"));
}

}  // namespace binding
