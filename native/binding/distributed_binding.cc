// The process group (native/distributed) for JavaScript. Asynchronous calls run on a libuv
// worker thread (the TypeScript layer queues them, so at most one waits there at a time) and
// work in place on the array they are given, held by a reference until the promise settles:
// the TypeScript layer passes a private copy taken as the user's call returns (the user may
// change or transfer their array meanwhile) and copies the result back. The *Sync calls are
// for the training loop, which runs on a thread of its own (fit's worker) and owns its
// buffers: they block that thread.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "registry.h"
#include "args.h"
#include "distributed/current.h"
#include "distributed/process_group.h"

namespace binding {
namespace {

using rnn::dist::Millis;
using rnn::dist::ProcessGroup;

constexpr int32_t kMaxTimeoutMs = INT32_MAX;

std::shared_ptr<ProcessGroup> group_or_throw(Napi::Env env, const char* who) {
  auto g = rnn::dist::current_group();
  if (!g) throw Napi::Error::New(env, std::string(who) + ": no process group: call initProcessGroup() first");
  return g;
}

rnn::dist::ReduceOp op_arg(Napi::Env env, const Napi::Value& v) {
  return static_cast<rnn::dist::ReduceOp>(int_arg(env, v, "op", 0, 3));
}

Millis timeout_arg(Napi::Env env, const Napi::Value& v) { return Millis(int_arg(env, v, "timeoutMs", 1, kMaxTimeoutMs)); }

// Runs `job` on a libuv worker thread; the promise resolves when it returns or rejects with
// its exception's message. `keep` (the array the job works in) stays referenced until then.
class DistWorker : public Napi::AsyncWorker {
 public:
  static Napi::Promise Start(Napi::Env env, std::function<void()> job, Napi::Value keep = Napi::Value()) {
    auto* w = new DistWorker(env, std::move(job), keep);  // freed by node-addon-api after OnOK/OnError
    Napi::Promise p = w->deferred_.Promise();
    w->Queue();
    return p;
  }

 private:
  DistWorker(Napi::Env env, std::function<void()> job, Napi::Value keep)
      : Napi::AsyncWorker(env, "rnn-native:distributed"), deferred_(Napi::Promise::Deferred::New(env)), job_(std::move(job)) {
    if (!keep.IsEmpty() && keep.IsObject()) keep_ = Napi::Persistent(keep.As<Napi::Object>());
  }
  void Execute() override {
    try {
      job_();
    } catch (const std::exception& e) {
      SetError(e.what());
    } catch (...) {
      SetError("rnn-native: unknown error in a collective");
    }
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

  Napi::Promise::Deferred deferred_;
  std::function<void()> job_;
  Napi::ObjectReference keep_;
};

// A Float32Array's elements (any length up to kMaxElements) and their count.
std::pair<float*, size_t> float_array(Napi::Env env, const Napi::Value& v, const char* name) {
  const size_t n = checked_size(env, {typed_length<float>(env, v, name)}, name);
  return {typed_data<float>(env, v, n, name), n};
}

// distInit(rank, worldSize, store ('tcp' | 'file'), where (host or directory), port, iface, timeoutMs)
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  rnn::dist::InitOptions o;
  o.world_size = int_arg(env, info[1], "worldSize", 1, 1 << 20);
  o.rank = int_arg(env, info[0], "rank", 0, o.world_size - 1);
  if (!info[2].IsString() || !info[3].IsString() || !info[5].IsString()) throw_type(env, "store, where and iface must be strings");
  const std::string store = info[2].As<Napi::String>();
  if (store != "tcp" && store != "file") throw_range(env, "store must be 'tcp' or 'file'");
  o.store = store == "tcp" ? rnn::dist::StoreKind::kTcp : rnn::dist::StoreKind::kFile;
  (store == "tcp" ? o.master_addr : o.file_path) = info[3].As<Napi::String>().Utf8Value();
  o.master_port = int_arg(env, info[4], "port", 0, 65535);
  o.iface = info[5].As<Napi::String>().Utf8Value();
  o.timeout = timeout_arg(env, info[6]);
  if (!rnn::dist::available()) throw Napi::Error::New(env, "initProcessGroup: " + rnn::dist::backend_description());
  if (!rnn::dist::begin_init())
    throw Napi::Error::New(env, "initProcessGroup: a process group is already initialised (or being initialised) in this process; "
                                "call destroyProcessGroup() first");
  return DistWorker::Start(env, [o] {
    try {
      rnn::dist::end_init(ProcessGroup::create(o));
    } catch (const std::exception& e) {
      rnn::dist::end_init(nullptr);
      throw std::runtime_error(std::string("initProcessGroup (rank ") + std::to_string(o.rank) + " of " +
                               std::to_string(o.world_size) + "): " + e.what());
    }
  });
}

// distDestroy() -> Promise<boolean>: false when there was no group.
Napi::Value Destroy(const Napi::CallbackInfo& info) {
  auto g = rnn::dist::take_group();
  if (!g) {
    auto d = Napi::Promise::Deferred::New(info.Env());
    d.Resolve(Napi::Boolean::New(info.Env(), false));
    return d.Promise();
  }
  // Other holders (a collective in flight) keep the object, but its connections close here,
  // once that collective has finished.
  return DistWorker::Start(info.Env(), [g] { g->shutdown(); });
}

// distInfo() -> [rank, worldSize, timeoutMs] | null
Napi::Value Info(const Napi::CallbackInfo& info) {
  auto g = rnn::dist::current_group();
  if (!g) return info.Env().Null();
  Napi::Array a = Napi::Array::New(info.Env(), 3);
  a.Set(0u, Napi::Number::New(info.Env(), g->rank()));
  a.Set(1u, Napi::Number::New(info.Env(), g->size()));
  a.Set(2u, Napi::Number::New(info.Env(), static_cast<double>(g->timeout().count())));
  return a;
}

// distAllReduce(data, op, timeoutMs) -> Promise: in place on data (a private copy, see top)
Napi::Value AllReduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto g = group_or_throw(env, "allReduce");
  const auto arr = float_array(env, info[0], "data");
  float* const data = arr.first;
  const size_t n = arr.second;
  const auto op = op_arg(env, info[1]);
  const Millis timeout = timeout_arg(env, info[2]);
  return DistWorker::Start(env, [g, data, n, op, timeout] { g->allreduce(data, n, op, timeout, "allReduce"); }, info[0]);
}

// distBroadcast(data, src, timeoutMs) -> Promise: in place on data (a private copy, see top)
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto g = group_or_throw(env, "broadcast");
  const auto arr = float_array(env, info[0], "data");
  float* const data = arr.first;
  const size_t n = arr.second;
  const int src = int_arg(env, info[1], "src", 0, g->size() - 1);
  const Millis timeout = timeout_arg(env, info[2]);
  return DistWorker::Start(env, [g, data, n, src, timeout] { g->broadcast(data, n, src, timeout, "broadcast"); }, info[0]);
}

// distBarrier(timeoutMs) -> Promise
Napi::Value Barrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto g = group_or_throw(env, "barrier");
  const Millis timeout = timeout_arg(env, info[0]);
  return DistWorker::Start(env, [g, timeout] { g->barrier(timeout, "barrier"); });
}

// A C++ failure of a synchronous collective as a JS Error (not a crash).
template <typename Fn>
void sync_call(Napi::Env env, Fn&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

// distAllReduceSync(data, op, timeoutMs, tag, who): in place, blocking this thread.
Napi::Value AllReduceSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto g = group_or_throw(env, "allReduce");
  const auto arr = float_array(env, info[0], "data");
  float* const data = arr.first;
  const size_t n = arr.second;
  const auto op = op_arg(env, info[1]);
  const Millis timeout = timeout_arg(env, info[2]);
  const int32_t tag = int_arg(env, info[3], "tag", 0, INT32_MAX);
  if (!info[4].IsString()) throw_type(env, "who must be a string");
  const std::string who = info[4].As<Napi::String>();
  sync_call(env, [&] { g->allreduce(data, n, op, timeout, who.c_str(), tag); });
  return env.Undefined();
}

// distBroadcastSync(data, src, timeoutMs, tag, who): in place, blocking this thread.
Napi::Value BroadcastSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto g = group_or_throw(env, "broadcast");
  const auto arr = float_array(env, info[0], "data");
  float* const data = arr.first;
  const size_t n = arr.second;
  const int src = int_arg(env, info[1], "src", 0, g->size() - 1);
  const Millis timeout = timeout_arg(env, info[2]);
  const int32_t tag = int_arg(env, info[3], "tag", 0, INT32_MAX);
  if (!info[4].IsString()) throw_type(env, "who must be a string");
  const std::string who = info[4].As<Napi::String>();
  sync_call(env, [&] { g->broadcast(data, n, src, timeout, who.c_str(), tag); });
  return env.Undefined();
}

// distAgreeSync(value (an integer, |value| < 2^53), what, timeoutMs, who): throws on every
// rank unless all passed the same value.
Napi::Value AgreeSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto g = group_or_throw(env, "agree");
  const double value = number_arg(env, info[0], "value");
  if (!(value == static_cast<double>(static_cast<int64_t>(value))) || !(std::abs(value) < 9007199254740992.0))
    throw_range(env, "value must be a safe integer");
  if (!info[1].IsString() || !info[3].IsString()) throw_type(env, "what and who must be strings");
  const std::string what = info[1].As<Napi::String>();
  const std::string who = info[3].As<Napi::String>();
  const Millis timeout = timeout_arg(env, info[2]);
  sync_call(env, [&] { g->agree(static_cast<int64_t>(value), what.c_str(), timeout, who.c_str()); });
  return env.Undefined();
}

// distChecksum(arrays: Float32Array[]) -> uint32: the hash of all their bits, in order.
Napi::Value Checksum(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) throw_type(env, "arrays must be an array of Float32Array");
  auto arr = info[0].As<Napi::Array>();
  uint32_t h = 0;
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    const ArgName name("arrays", i);
    Napi::Value e = arr.Get(i);
    const size_t n = typed_length<float>(env, e, name);
    h = rnn::dist::checksum(typed_data<float>(env, e, n, name), n, h);
  }
  return Napi::Number::New(env, h);
}

}  // namespace

void register_distributed(Napi::Env env, Napi::Object exports) {
  exports.Set("distAvailable", Napi::Boolean::New(env, rnn::dist::available()));
  exports.Set("distBackend", Napi::String::New(env, rnn::dist::backend_description()));
  exports.Set("distInit", Napi::Function::New(env, Init, "distInit"));
  exports.Set("distDestroy", Napi::Function::New(env, Destroy, "distDestroy"));
  exports.Set("distInfo", Napi::Function::New(env, Info, "distInfo"));
  exports.Set("distAllReduce", Napi::Function::New(env, AllReduce, "distAllReduce"));
  exports.Set("distBroadcast", Napi::Function::New(env, Broadcast, "distBroadcast"));
  exports.Set("distBarrier", Napi::Function::New(env, Barrier, "distBarrier"));
  exports.Set("distAllReduceSync", Napi::Function::New(env, AllReduceSync, "distAllReduceSync"));
  exports.Set("distBroadcastSync", Napi::Function::New(env, BroadcastSync, "distBroadcastSync"));
  exports.Set("distAgreeSync", Napi::Function::New(env, AgreeSync, "distAgreeSync"));
  exports.Set("distChecksum", Napi::Function::New(env, Checksum, "distChecksum"));
}

}  // namespace binding
