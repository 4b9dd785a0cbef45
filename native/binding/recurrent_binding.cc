// RecurrentStack (float32) and RecurrentStack64 (float64, for gradient checks): the N-API
// face of rnn::RecurrentStack. Weights and gradients stay in JS-owned typed arrays and are
// passed on every call in PyTorch's parameter order: per layer, per direction,
// weight_ih, weight_hh[, bias_ih, bias_hh].
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "addon_data.h"
#include "args.h"
#include "async_compute.h"
#include "linear_call.h"
#include "kernels/blas.h"
#include "kernels/recurrent_stack.h"

namespace binding {
namespace {

template <typename F>
class RecurrentStackWrap : public Napi::ObjectWrap<RecurrentStackWrap<F>> {
 public:
  static Napi::Function Define(Napi::Env env, const char* name) {
    return Napi::ObjectWrap<RecurrentStackWrap<F>>::DefineClass(
        env, name,
        {
            Napi::InstanceWrap<RecurrentStackWrap<F>>::InstanceMethod("forward", &RecurrentStackWrap::Forward),
            Napi::InstanceWrap<RecurrentStackWrap<F>>::InstanceMethod("forwardAsync", &RecurrentStackWrap::ForwardAsync),
            Napi::InstanceWrap<RecurrentStackWrap<F>>::InstanceMethod("forwardTokens", &RecurrentStackWrap::ForwardTokens),
            Napi::InstanceWrap<RecurrentStackWrap<F>>::InstanceMethod("forwardTokensAsync", &RecurrentStackWrap::ForwardTokensAsync),
            Napi::InstanceWrap<RecurrentStackWrap<F>>::InstanceMethod("backwardTokens", &RecurrentStackWrap::BackwardTokens),
            Napi::InstanceWrap<RecurrentStackWrap<F>>::InstanceMethod("backward", &RecurrentStackWrap::Backward),
            Napi::InstanceWrap<RecurrentStackWrap<F>>::InstanceMethod("savedShape", &RecurrentStackWrap::SavedShape),
        });
  }

  // new RecurrentStack(cell, inputSize, hiddenSize, numLayers, bidirectional, bias, batchFirst, dropout)
  explicit RecurrentStackWrap(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<RecurrentStackWrap<F>>(info) {
    Napi::Env env = info.Env();
    rnn::StackConfig cfg;
    cfg.cell = static_cast<rnn::CellType>(int_arg(env, info[0], "cell", 0, 3));
    cfg.I = int_arg(env, info[1], "inputSize", 1, INT32_MAX);
    cfg.H = int_arg(env, info[2], "hiddenSize", 1, INT32_MAX);
    cfg.L = int_arg(env, info[3], "numLayers", 1, 1 << 20);
    cfg.bidirectional = bool_arg(env, info[4], "bidirectional");
    cfg.bias = bool_arg(env, info[5], "bias");
    cfg.batch_first = bool_arg(env, info[6], "batchFirst");
    cfg.dropout = number_arg(env, info[7], "dropout");
    if (!(cfg.dropout >= 0 && cfg.dropout <= 1)) throw_range(env, "dropout must be in [0, 1]");
    stack_ = std::make_unique<rnn::RecurrentStack<F>>(cfg);
  }

 private:
  size_t slots() const { return static_cast<size_t>(stack_->config().L) * stack_->directions(); }
  size_t arrays_per_slot() const { return stack_->config().bias ? 4 : 2; }

  // Reads the parameter arrays (data or gradients) into per-slot pointer structs.
  template <typename Out, typename Ptr>
  std::vector<Out> read_params(Napi::Env env, const Napi::Value& v, const char* what) {
    const auto& cfg = stack_->config();
    const size_t per = arrays_per_slot();
    Napi::Array arr = array_arg(env, v, slots() * per, what);
    const size_t GH = static_cast<size_t>(stack_->gates()) * cfg.H;
    std::vector<Out> out(slots());
    for (size_t s = 0; s < slots(); ++s) {
      const int layer = static_cast<int>(s / stack_->directions());
      const size_t in = stack_->layer_input_size(layer);
      Ptr p[4] = {nullptr, nullptr, nullptr, nullptr};
      p[0] = typed_data<F>(env, arr.Get(s * per), GH * in, ArgName(what, s * per));
      p[1] = typed_data<F>(env, arr.Get(s * per + 1), GH * cfg.H, ArgName(what, s * per + 1));
      if (per == 4) {
        p[2] = typed_data<F>(env, arr.Get(s * per + 2), GH, ArgName(what, s * per + 2));
        p[3] = typed_data<F>(env, arr.Get(s * per + 3), GH, ArgName(what, s * per + 3));
      }
      out[s] = Out{p[0], p[1], p[2], p[3]};
    }
    return out;
  }

  // The checked arguments of forward and forwardAsync:
  // (T, B, input, h0, c0, lengths, weights, training, seedLo, seedHi, output, hN, cN),
  // and of forwardTokens: the same with token ids (T, B) (or (B, T)) in place of input,
  // then V and the embedding table (V, I).
  struct ForwardCall {
    int T, B;
    const F* input;         // (T, B, I) or (B, T, I); nullptr with tokens
    const int32_t* ids;     // tokens: (T, B) or (B, T), each in [0, V); else nullptr
    int V;
    const F* table;         // tokens: (V, I)
    const F *h0, *c0;       // (L*D, B, H) or nullptr
    const int32_t* lengths;  // (B) or nullptr
    std::vector<rnn::LayerWeights<F>> weights;
    bool training;
    uint64_t seed;
    F *output, *hN, *cN;    // (T, B, D*H) or (B, T, D*H); (L*D, B, H); cN LSTM only
    // Async calls own copies of the caller's inputs: a pending promise keeps the arrays from
    // being collected, but not from being detached (transferred to a worker) under the kernel.
    std::vector<F> input_copy, h0_copy, c0_copy;
    std::vector<int32_t> ids_copy, lengths_copy;
    // (ids and lengths are copies from the start: see parse_forward.)
    void own_inputs(size_t input_len, size_t state_len) {
      const auto copy = [](const F*& p, std::vector<F>& v, size_t n) {
        if (!p) return;
        v.assign(p, p + n);
        p = v.data();
      };
      copy(input, input_copy, input_len);
      copy(h0, h0_copy, state_len);
      copy(c0, c0_copy, state_len);
    }
    void run(rnn::RecurrentStack<F>& stack) const {
      if (ids)
        stack.forward_tokens(T, B, ids, V, table, h0, c0, lengths, weights.data(), training, seed, output, hN, cN);
      else
        stack.forward(T, B, input, h0, c0, lengths, weights.data(), training, seed, output, hN, cN);
    }
  };

  ForwardCall parse_forward(const Napi::CallbackInfo& info, bool tokens = false) {
    Napi::Env env = info.Env();
    const auto& cfg = stack_->config();
    ForwardCall c;
    c.T = int_arg(env, info[0], "T", 1, INT32_MAX);
    c.B = int_arg(env, info[1], "B", 1, INT32_MAX);
    const int T = c.T, B = c.B;
    const size_t TB = static_cast<size_t>(T) * B;
    const size_t DH = static_cast<size_t>(stack_->directions()) * cfg.H;
    const size_t state = slots() * B * cfg.H;
    const bool lstm = cfg.cell == rnn::CellType::Lstm;
    c.input = nullptr;
    c.ids = nullptr;
    c.V = 0;
    c.table = nullptr;
    if (tokens) {
      c.V = int_arg(env, info[13], "V", 1, INT32_MAX);
      c.table = typed_data<F>(env, info[14], static_cast<size_t>(c.V) * cfg.I, "table");
      c.ids_copy = int32_copy(env, info[2], TB, "ids");  // checked and read as a copy (args.h)
      c.ids = c.ids_copy.data();
      for (size_t k = 0; k < TB; ++k)
        if (c.ids[k] < 0 || c.ids[k] >= c.V)
          throw_range(env, "ids[" + std::to_string(k) + "] must be in [0, " + std::to_string(c.V) + "), received " +
                               std::to_string(c.ids[k]));
    } else {
      c.input = typed_data<F>(env, info[2], TB * cfg.I, "input");
    }
    c.h0 = optional_typed_data<F>(env, info[3], state, "h0");
    c.c0 = lstm ? optional_typed_data<F>(env, info[4], state, "c0") : nullptr;
    c.lengths = nullptr;
    if (!info[5].IsNull() && !info[5].IsUndefined()) {
      c.lengths_copy = int32_copy(env, info[5], static_cast<size_t>(B), "lengths");  // checked and read as a copy
      c.lengths = c.lengths_copy.data();
    }
    if (c.lengths)
      for (int b = 0; b < B; ++b)
        if (c.lengths[b] < 1 || c.lengths[b] > T)
          throw_range(env, "lengths[" + std::to_string(b) + "] must be in [1, " + std::to_string(T) +
                               "], received " + std::to_string(c.lengths[b]));
    c.weights = read_params<rnn::LayerWeights<F>, const F*>(env, info[6], "weights");
    c.training = bool_arg(env, info[7], "training");
    const double lo = number_arg(env, info[8], "seedLo"), hi = number_arg(env, info[9], "seedHi");
    c.seed = (static_cast<uint64_t>(static_cast<uint32_t>(hi)) << 32) | static_cast<uint32_t>(lo);
    c.output = typed_data<F>(env, info[10], TB * DH, "output");
    c.hN = typed_data<F>(env, info[11], state, "hN");
    c.cN = lstm ? typed_data<F>(env, info[12], state, "cN") : nullptr;
    return c;
  }

  // A sync training forward or a backward while an async forward of this object is queued
  // would race with it for the saved state and the workspaces (the JS layer refuses first).
  void refuse_while_async(Napi::Env env, const char* what) const {
    if (pending_async_ > 0)
      throw_range(env, std::string(what) + ": a forwardAsync on this layer has not settled yet");
  }

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    const ForwardCall c = parse_forward(info);
    if (c.training) refuse_while_async(info.Env(), "forward (training)");
    {
      std::lock_guard<std::mutex> lock(rnn::blas_mutex());
      c.run(*stack_);
    }
    // Backward reads a time-major input in place: keep the array alive until then.
    if (c.training) input_ref_ = Napi::Persistent(info[2]);
    else input_ref_.Reset();
    return info.Env().Undefined();
  }

  // forwardTokens(T, B, ids, h0, c0, lengths, weights, training, seedLo, seedHi, output, hN, cN, V, table):
  // forward with layer 0 reading rows table[ids] (an embedding), without materialising them.
  Napi::Value ForwardTokens(const Napi::CallbackInfo& info) {
    const ForwardCall c = parse_forward(info, true);
    if (c.training) refuse_while_async(info.Env(), "forwardTokens (training)");
    {
      std::lock_guard<std::mutex> lock(rnn::blas_mutex());
      c.run(*stack_);
    }
    // Backward reads the table again: keep the array alive until then.
    if (c.training) input_ref_ = Napi::Persistent(info[14]);
    else input_ref_.Reset();
    return info.Env().Undefined();
  }

  // Like forward, on a libuv worker thread; returns a promise. Inference only (training must
  // be false): it saves nothing for backward and replaces what a training forward saved.
  // An optional 14th argument, [y, W, b|null, N, in, out], is a Linear forward to run on the
  // layer's output right after it, in the same job (its x is this call's output array).
  // forwardTokensAsync: the same for forwardTokens' arguments, the head as the 16th.
  Napi::Value ForwardAsync(const Napi::CallbackInfo& info) { return start_async(info, false); }
  Napi::Value ForwardTokensAsync(const Napi::CallbackInfo& info) { return start_async(info, true); }

  Napi::Value start_async(const Napi::CallbackInfo& info, bool tokens) {
    Napi::Env env = info.Env();
    ForwardCall c = parse_forward(info, tokens);
    if (c.training) throw_range(env, "forwardAsync is inference only: training must be false");
    const auto& cfg = stack_->config();
    c.own_inputs(static_cast<size_t>(c.T) * c.B * cfg.I, slots() * c.B * cfg.H);
    const size_t head_at = tokens ? 15 : 13;
    bool has_head = false;
    LinearForwardCall head{};
    if (info.Length() > head_at && !info[head_at].IsUndefined() && !info[head_at].IsNull()) {
      Napi::Array a = array_arg(env, info[head_at], 6, "head");
      const Napi::Value v[7] = {a.Get(0u), info[10], a.Get(1u), a.Get(2u), a.Get(3u), a.Get(4u), a.Get(5u)};
      head = parse_linear_forward(env, v);  // x is the output array (info[10]), checked against N·in
      has_head = true;
    }
    input_ref_.Reset();
    rnn::RecurrentStack<F>* stack = stack_.get();  // kept alive: the wrapper is in keep_arguments
    // Held by a shared_ptr: its pointers point into its own vectors, so it must never be copied.
    auto call = std::make_shared<const ForwardCall>(std::move(c));
    Napi::Promise promise = ComputeWorker::Start(
        env,
        [stack, call, head, has_head]() {
          call->run(*stack);
          if (has_head) head.run();
        },
        keep_arguments(info), [this]() { --pending_async_; });
    ++pending_async_;  // only once the job exists: its settling brings the count down
    return promise;
  }

  // The arguments backward and backwardTokens share, checked against the saved forward:
  // (dOutput, dhN, dcN, weights, grads) first, dh0 and dc0 at state_at and state_at + 1.
  // Callers hold the compute lock: the saved state must not change under the checks.
  struct BackwardCall {
    const F *dOutput, *dhN, *dcN;  // like output (or nullptr); (L*D, B, H) or nullptr; cN LSTM only
    std::vector<rnn::LayerWeights<F>> weights;
    std::vector<rnn::LayerGrads<F>> grads;
    F *dh0, *dc0;  // (L*D, B, H); dc0 LSTM only
  };
  BackwardCall parse_backward(const Napi::CallbackInfo& info, size_t state_at) {
    Napi::Env env = info.Env();
    const auto& cfg = stack_->config();
    const size_t T = stack_->saved_T(), B = stack_->saved_B();
    const size_t DH = static_cast<size_t>(stack_->directions()) * cfg.H;
    const size_t state = slots() * B * cfg.H;
    const bool lstm = cfg.cell == rnn::CellType::Lstm;
    BackwardCall c;
    c.dOutput = optional_typed_data<F>(env, info[0], T * B * DH, "gradOutput");
    c.dhN = optional_typed_data<F>(env, info[1], state, "gradState.h");
    c.dcN = lstm ? optional_typed_data<F>(env, info[2], state, "gradState.c") : nullptr;
    c.weights = read_params<rnn::LayerWeights<F>, const F*>(env, info[3], "weights");
    c.grads = read_params<rnn::LayerGrads<F>, F*>(env, info[4], "grads");
    c.dh0 = typed_data<F>(env, info[state_at], state, "gradH0");
    c.dc0 = lstm ? typed_data<F>(env, info[state_at + 1], state, "gradC0") : nullptr;
    return c;
  }

  // backward(dOutput, dhN, dcN, weights, grads, dInput, dh0, dc0)
  Napi::Value Backward(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    refuse_while_async(env, "backward");
    std::lock_guard<std::mutex> lock(rnn::blas_mutex());
    if (!stack_->can_backward())
      throw Napi::Error::New(env, "backward called without a preceding forward in training mode");
    if (stack_->saved_tokens())  // no input rows to differentiate: the table's gradient is backwardTokens'
      throw Napi::Error::New(env, "backward called after forwardTokens: use backwardTokens");
    const BackwardCall c = parse_backward(info, 6);
    const size_t TBI = static_cast<size_t>(stack_->saved_T()) * stack_->saved_B() * stack_->config().I;
    F* dInput = typed_data<F>(env, info[5], TBI, "gradInput");
    stack_->backward(c.dOutput, c.dhN, c.dcN, c.weights.data(), c.grads.data(), dInput, c.dh0, c.dc0);
    input_ref_.Reset();
    return env.Undefined();
  }

  // backwardTokens(dOutput, dhN, dcN, weights, grads, dTable, paddingIdx, dh0, dc0): backward
  // after a training forwardTokens; ADDS the table's gradient into dTable (V, I), except
  // row paddingIdx (-1: none).
  Napi::Value BackwardTokens(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    refuse_while_async(env, "backwardTokens");
    std::lock_guard<std::mutex> lock(rnn::blas_mutex());
    if (!stack_->saved_tokens())
      throw Napi::Error::New(env, "backwardTokens called without a preceding forwardTokens in training mode");
    const BackwardCall c = parse_backward(info, 7);
    F* dTable = typed_data<F>(env, info[5], static_cast<size_t>(stack_->token_vocab()) * stack_->config().I, "gradTable");
    const int pad = int_arg(env, info[6], "paddingIdx", -1, INT32_MAX);
    stack_->backward_tokens(c.dOutput, c.dhN, c.dcN, c.weights.data(), c.grads.data(), dTable, pad, c.dh0, c.dc0);
    input_ref_.Reset();
    return env.Undefined();
  }

  // [T, B] of what the last training forward saved, or null.
  Napi::Value SavedShape(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!stack_->can_backward()) return env.Null();
    Napi::Array a = Napi::Array::New(env, 2);
    a.Set(0u, Napi::Number::New(env, stack_->saved_T()));
    a.Set(1u, Napi::Number::New(env, stack_->saved_B()));
    return a;
  }

  std::unique_ptr<rnn::RecurrentStack<F>> stack_;
  Napi::Reference<Napi::Value> input_ref_;  // the last training forward's input, for backward
  int pending_async_ = 0;                   // forwardAsync calls not yet settled (main thread only)
};

}  // namespace

void register_recurrent(Napi::Env env, Napi::Object exports, AddonData* data) {
  Napi::Function f32 = RecurrentStackWrap<float>::Define(env, "RecurrentStack");
  Napi::Function f64 = RecurrentStackWrap<double>::Define(env, "RecurrentStack64");
  data->recurrent_stack_f32 = Napi::Persistent(f32);
  data->recurrent_stack_f64 = Napi::Persistent(f64);
  exports.Set("RecurrentStack", f32);
  exports.Set("RecurrentStack64", f64);
}

}  // namespace binding
