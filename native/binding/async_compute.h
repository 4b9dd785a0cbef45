// Runs a kernel call on a libuv worker thread and settles a promise with it: inference that
// leaves the event loop free. The caller parses and checks every argument on the main thread
// first (errors throw there); only the computation moves. The JS values it reads or writes —
// typed arrays and the wrapper object that owns the kernel's workspace — are held by a
// persistent reference until the promise settles, so the garbage collector cannot free them
// under the kernel (callers copy the small inputs a user might detach meanwhile; parameters
// must simply be left alone). The computation holds the object's own mutex when it has one
// (a stack's or a decode step's scratch is not shared), then a compute-budget token, as a
// synchronous call does (kernels/compute_budget.h).
#pragma once
#include <napi.h>

#include <exception>
#include <functional>
#include <mutex>
#include <utility>

#include "kernels/compute_budget.h"

namespace binding {

class ComputeWorker : public Napi::AsyncWorker {
 public:
  // Queues `compute`; the returned promise resolves to undefined (or rejects with an Error).
  // `settled` (optional) runs on the main thread just before the promise settles;
  // `object_lock` (optional) is held while `compute` runs (it must outlive the call: keep its
  // owner in keep_alive).
  static Napi::Promise Start(Napi::Env env, std::function<void()> compute, Napi::Object keep_alive,
                             std::function<void()> settled = nullptr, std::mutex* object_lock = nullptr) {
    auto* worker = new ComputeWorker(env, std::move(compute), keep_alive, std::move(settled), object_lock);  // deleted by node-addon-api after OnOK/OnError
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Queue();
    return promise;
  }

 private:
  ComputeWorker(Napi::Env env, std::function<void()> compute, Napi::Object keep_alive,
                std::function<void()> settled, std::mutex* object_lock)
      : Napi::AsyncWorker(env, "rnn-native:compute"),
        deferred_(Napi::Promise::Deferred::New(env)),
        compute_(std::move(compute)),
        settled_(std::move(settled)),
        object_lock_(object_lock),
        keep_alive_(Napi::Persistent(keep_alive)) {}

  void Execute() override {
    try {
      std::unique_lock<std::mutex> own;
      if (object_lock_) own = std::unique_lock<std::mutex>(*object_lock_);
      rnn::ComputeScope scope;
      compute_();
    } catch (const std::exception& e) {
      SetError(e.what());
    } catch (...) {
      SetError("rnn-native: unknown error in an async kernel call");
    }
  }
  void OnOK() override {
    if (settled_) settled_();
    deferred_.Resolve(Env().Undefined());
  }
  void OnError(const Napi::Error& e) override {
    if (settled_) settled_();
    deferred_.Reject(e.Value());
  }

  Napi::Promise::Deferred deferred_;
  std::function<void()> compute_;
  std::function<void()> settled_;
  std::mutex* object_lock_;
  Napi::ObjectReference keep_alive_;
};

// The call's arguments and its receiver in one array, to hand to ComputeWorker::Start.
inline Napi::Object keep_arguments(const Napi::CallbackInfo& info) {
  Napi::Array all = Napi::Array::New(info.Env(), info.Length() + 1);
  for (size_t i = 0; i < info.Length(); ++i) all.Set(static_cast<uint32_t>(i), info[i]);
  all.Set(static_cast<uint32_t>(info.Length()), info.This());
  return all;
}

}  // namespace binding
