// clipGradNorm / clipGradValue over a JS array of Float32Array gradients.
#include <cmath>
#include <mutex>
#include <vector>

#include "addon_data.h"
#include "args.h"
#include "kernels/clip.h"

namespace binding {
namespace {

struct GradList {
  std::vector<float*> bufs;
  std::vector<size_t> sizes;
};

GradList grad_list(Napi::Env env, const Napi::Value& v) {
  if (!v.IsArray()) throw_type(env, "grads must be an array of Float32Array");
  auto arr = v.As<Napi::Array>();
  GradList list;
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value e = arr.Get(i);
    if (!e.IsTypedArray() || e.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw_type(env, "grads[" + std::to_string(i) + "] must be a Float32Array");
    auto f = e.As<Napi::Float32Array>();
    list.bufs.push_back(f.Data());
    list.sizes.push_back(f.ElementLength());
  }
  return list;
}

// (grads, maxNorm, normType (Infinity for inf), errorIfNonfinite) -> total norm
Napi::Value ClipGradNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GradList list = grad_list(env, info[0]);
  const double max_norm = number_arg(env, info[1], "maxNorm");
  const double p = number_arg(env, info[2], "normType");
  const bool error_if_nonfinite = bool_arg(env, info[3], "errorIfNonfinite");
  // torch computes the norm in the gradients' dtype: round the double accumulation to float.
  const float total = static_cast<float>(rnn::total_norm(list.bufs.data(), list.sizes.data(), list.bufs.size(), p));
  if (error_if_nonfinite && !std::isfinite(total))
    throw Napi::Error::New(env, "clipGradNorm: the total norm of order " + std::to_string(p) +
                                    " of the gradients is non-finite, so it cannot be clipped. "
                                    "To disable this error and scale the gradients by the "
                                    "non-finite norm anyway, set errorIfNonfinite: false");
  const float coef = static_cast<float>(max_norm) / (total + 1e-6f);
  if (coef < 1.0f || std::isnan(coef))
    rnn::scale_all(list.bufs.data(), list.sizes.data(), list.bufs.size(), coef);
  return Napi::Number::New(env, total);
}

Napi::Value ClipGradValue(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GradList list = grad_list(env, info[0]);
  const float clip = static_cast<float>(number_arg(env, info[1], "clipValue"));
  rnn::clamp_all(list.bufs.data(), list.sizes.data(), list.bufs.size(), clip);
  return env.Undefined();
}

}  // namespace

void register_clip(Napi::Env env, Napi::Object exports) {
  exports.Set("clipGradNorm", Napi::Function::New(env, ClipGradNorm, "clipGradNorm"));
  exports.Set("clipGradValue", Napi::Function::New(env, ClipGradValue, "clipGradValue"));
}

}  // namespace binding
