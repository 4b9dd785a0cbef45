// clipGradNorm / clipGradValue over a JS array of Float32Array gradients.
#include <mutex>
#include <vector>

#include "registry.h"
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

// (grads, normType (Infinity for the max norm)) -> the norm of all gradients as one vector
Napi::Value GradNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GradList list = grad_list(env, info[0]);
  const double p = number_arg(env, info[1], "normType");
  if (!(p > 0)) throw_range(env, "normType must be positive");
  return Napi::Number::New(env, rnn::total_norm(list.bufs.data(), list.sizes.data(), list.bufs.size(), p));
}

// (grads, factor): multiplies every gradient element by factor
Napi::Value ScaleGrads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GradList list = grad_list(env, info[0]);
  const float factor = static_cast<float>(number_arg(env, info[1], "factor"));
  rnn::scale_all(list.bufs.data(), list.sizes.data(), list.bufs.size(), factor);
  return env.Undefined();
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
  exports.Set("gradNorm", Napi::Function::New(env, GradNorm, "gradNorm"));
  exports.Set("scaleGrads", Napi::Function::New(env, ScaleGrads, "scaleGrads"));
  exports.Set("clipGradValue", Napi::Function::New(env, ClipGradValue, "clipGradValue"));
}

}  // namespace binding
