// The registration functions of the binding's files (the addon keeps no per-environment state:
// every object it hands out owns what it needs).
#pragma once
#include <napi.h>

namespace binding {

void register_recurrent(Napi::Env env, Napi::Object exports);
void register_clip(Napi::Env env, Napi::Object exports);
void register_runtime(Napi::Env env, Napi::Object exports);
void register_dense(Napi::Env env, Napi::Object exports);
void register_optim(Napi::Env env, Napi::Object exports);
void register_ops(Napi::Env env, Napi::Object exports);
void register_trees(Napi::Env env, Napi::Object exports);
void register_decode(Napi::Env env, Napi::Object exports);
void register_precision(Napi::Env env, Napi::Object exports);
void register_distributed(Napi::Env env, Napi::Object exports);

}  // namespace binding
