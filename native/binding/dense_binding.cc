// Embedding, Linear and cross-entropy entry points. Shapes arrive as numbers; every array
// is checked against them before a kernel sees a pointer.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "registry.h"
#include "args.h"
#include "async_compute.h"
#include "linear_call.h"
#include "kernels/blas.h"
#include "kernels/compute_budget.h"
#include "kernels/dense.h"

namespace binding {
namespace {

// Token ids: an Int32Array of any length N, every id in [0, V), checked and used as a copy
// (int32_copy says why).
struct Ids {
  std::vector<int32_t> values;
  const int32_t* data;
  size_t N;
};
Ids checked_ids(Napi::Env env, const Napi::Value& v, int32_t V, const char* what) {
  const size_t N = v.IsTypedArray() ? v.As<Napi::TypedArray>().ElementLength() : 0;
  Ids ids{int32_copy(env, v, N, what), nullptr, N};
  ids.data = ids.values.data();
  for (size_t n = 0; n < N; ++n)
    if (ids.data[n] < 0 || ids.data[n] >= V)
      throw_range(env, std::string(what) + "[" + std::to_string(n) + "] must be in [0, " +
                           std::to_string(V) + "), received " + std::to_string(ids.data[n]));
  return ids;
}

// embeddingForward(out, weight, V, E, ids)
template <typename F>
struct EmbeddingForwardImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const int V = int_arg(env, info[2], "V", 1, INT32_MAX), E = int_arg(env, info[3], "E", 1, INT32_MAX);
    const Ids ids = checked_ids(env, info[4], V, "indices");
    F* out = typed_data<F>(env, info[0], checked_size(env, {ids.N, size_t(E)}, "out"), "out");
    const F* w = typed_data<F>(env, info[1], checked_size(env, {size_t(V), size_t(E)}, "weight"), "weight");
    rnn::embedding_forward(out, w, ids.data, ids.N, E);
    return env.Undefined();
  }
};
RNN_DTYPE_ENTRY(EmbeddingForward, 0, "out")

// embeddingBackward(dweight, V, E, ids, dout, paddingIdx)
template <typename F>
struct EmbeddingBackwardImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const int V = int_arg(env, info[1], "V", 1, INT32_MAX), E = int_arg(env, info[2], "E", 1, INT32_MAX);
    const Ids ids = checked_ids(env, info[3], V, "indices");
    F* dw = typed_data<F>(env, info[0], checked_size(env, {size_t(V), size_t(E)}, "gradWeight"), "gradWeight");
    const F* dout = typed_data<F>(env, info[4], checked_size(env, {ids.N, size_t(E)}, "gradOutput"), "gradOutput");
    const int32_t pad = int_arg(env, info[5], "paddingIdx", -1, INT32_MAX);
    rnn::embedding_backward(dw, dout, ids.data, ids.N, E, pad);
    return env.Undefined();
  }
};
RNN_DTYPE_ENTRY(EmbeddingBackward, 0, "gradWeight")

// linearForward(y, x, W, b|null, N, in, out); linearForwardAsync: the same, on a libuv
// worker thread, returning a promise.
LinearForwardCall parse_linear_forward(const Napi::CallbackInfo& info) {
  const Napi::Value v[7] = {info[0], info[1], info[2], info[3], info[4], info[5], info[6]};
  return binding::parse_linear_forward(info.Env(), v);
}
// The synchronous forward takes either dtype (float64 for the gradient checks).
template <typename F>
struct LinearForwardImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const int N = int_arg(env, info[4], "N", 0, INT32_MAX), in = int_arg(env, info[5], "in", 1, INT32_MAX),
              out = int_arg(env, info[6], "out", 1, INT32_MAX);
    F* y = typed_data<F>(env, info[0], checked_size(env, {size_t(N), size_t(out)}, "y"), "y");
    const F* x = typed_data<F>(env, info[1], checked_size(env, {size_t(N), size_t(in)}, "x"), "x");
    const F* W = typed_data<F>(env, info[2], checked_size(env, {size_t(out), size_t(in)}, "weight"), "weight");
    const F* b = optional_typed_data<F>(env, info[3], out, "bias");
    if (N == 0) return env.Undefined();
    rnn::ComputeScope scope;
    rnn::linear_forward(y, x, W, b, N, in, out);
    return env.Undefined();
  }
};
RNN_DTYPE_ENTRY(LinearForward, 0, "y")
Napi::Value LinearForwardAsync(const Napi::CallbackInfo& info) {
  LinearForwardCall c = parse_linear_forward(info);
  // x is the caller's: a copy, so that detaching its buffer meanwhile cannot pull it away.
  auto x = std::make_shared<std::vector<float>>(c.x, c.x + static_cast<size_t>(c.N) * c.in);
  c.x = x->data();
  return ComputeWorker::Start(info.Env(), [c, x]() { c.run(); }, keep_arguments(info));
}

// linearBackward(dx|null, dW|null, db|null, dy, x, W, N, in, out)
template <typename F>
struct LinearBackwardImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const int N = int_arg(env, info[6], "N", 0, INT32_MAX), in = int_arg(env, info[7], "in", 1, INT32_MAX),
              out = int_arg(env, info[8], "out", 1, INT32_MAX);
    const size_t Nin = checked_size(env, {size_t(N), size_t(in)}, "x");
    const size_t Nout = checked_size(env, {size_t(N), size_t(out)}, "gradOutput");
    const size_t W_size = checked_size(env, {size_t(out), size_t(in)}, "weight");
    F* dx = optional_typed_data<F>(env, info[0], Nin, "gradInput");
    F* dW = optional_typed_data<F>(env, info[1], W_size, "gradWeight");
    F* db = optional_typed_data<F>(env, info[2], out, "gradBias");
    const F* dy = typed_data<F>(env, info[3], Nout, "gradOutput");
    const F* x = typed_data<F>(env, info[4], Nin, "x");
    const F* W = typed_data<F>(env, info[5], W_size, "weight");
    if (N == 0) return env.Undefined();
    rnn::ComputeScope scope;
    rnn::linear_backward(dx, dW, db, dy, x, W, N, in, out);
    return env.Undefined();
  }
};
RNN_DTYPE_ENTRY(LinearBackward, 3, "gradOutput")

// crossEntropy(grad, logits, targets, N, C, ignoreIndex, labelSmoothing) -> loss
template <typename F>
struct CrossEntropyImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const int N = int_arg(env, info[3], "N", 0, INT32_MAX), C = int_arg(env, info[4], "C", 1, INT32_MAX);
    const size_t NC = checked_size(env, {size_t(N), size_t(C)}, "logits");
    F* grad = typed_data<F>(env, info[0], NC, "grad");
    const F* logits = typed_data<F>(env, info[1], NC, "logits");
    const std::vector<int32_t> target_copy = int32_copy(env, info[2], N, "targets");  // checked and read as a copy
    const int32_t* targets = target_copy.data();
    const int32_t ignore = int_arg(env, info[5], "ignoreIndex", INT32_MIN, INT32_MAX);
    for (int n = 0; n < N; ++n)
      if (targets[n] != ignore && (targets[n] < 0 || targets[n] >= C))
        throw_range(env, "targets[" + std::to_string(n) + "] must be in [0, " + std::to_string(C) +
                             ") or the ignore index, received " + std::to_string(targets[n]));
    const double eps = number_arg(env, info[6], "labelSmoothing");
    if (!(eps >= 0 && eps <= 1)) throw_range(env, "labelSmoothing must be in [0, 1]");
    int valid = 0;
    rnn::ComputeScope scope;  // the kernel threads are shared
    return Napi::Number::New(env, rnn::cross_entropy(grad, logits, targets, N, C, ignore, eps, &valid));
  }
};
RNN_DTYPE_ENTRY(CrossEntropy, 0, "grad")

}  // namespace

void register_dense(Napi::Env env, Napi::Object exports) {
  exports.Set("embeddingForward", Napi::Function::New(env, EmbeddingForward, "embeddingForward"));
  exports.Set("embeddingBackward", Napi::Function::New(env, EmbeddingBackward, "embeddingBackward"));
  exports.Set("linearForward", Napi::Function::New(env, LinearForward, "linearForward"));
  exports.Set("linearForwardAsync", Napi::Function::New(env, LinearForwardAsync, "linearForwardAsync"));
  exports.Set("linearBackward", Napi::Function::New(env, LinearBackward, "linearBackward"));
  exports.Set("crossEntropy", Napi::Function::New(env, CrossEntropy, "crossEntropy"));
}

}  // namespace binding
