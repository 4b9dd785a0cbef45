// Per-environment state of the addon (one per main thread or worker_thread), freed by
// Node when that environment is torn down.
#pragma once
#include <napi.h>

namespace binding {

struct AddonData {
  Napi::FunctionReference recurrent_context_f32;  // the activations of one training forward
  Napi::FunctionReference recurrent_context_f64;
};

void register_recurrent(Napi::Env env, Napi::Object exports, AddonData* data);
void register_clip(Napi::Env env, Napi::Object exports);
void register_runtime(Napi::Env env, Napi::Object exports);
void register_dense(Napi::Env env, Napi::Object exports);
void register_optim(Napi::Env env, Napi::Object exports);
void register_ops(Napi::Env env, Napi::Object exports);
void register_trees(Napi::Env env, Napi::Object exports);

}  // namespace binding
