// Only registration lives here.
#include "registry.h"

namespace binding {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  register_runtime(env, exports);
  register_recurrent(env, exports);
  register_clip(env, exports);
  register_dense(env, exports);
  register_optim(env, exports);
  register_ops(env, exports);
  register_trees(env, exports);
  register_decode(env, exports);
  register_precision(env, exports);
  register_distributed(env, exports);
  return exports;
}

}  // namespace binding

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return binding::Init(env, exports); }

NODE_API_MODULE(rnn_native, InitAddon)
