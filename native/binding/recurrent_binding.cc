// RecurrentStack (float32) and RecurrentStack64 (float64, for gradient checks): the N-API
// face of rnn::RecurrentStack. What a training forward keeps for its backward lives in an
// arena the caller passes in (a Float32Array the TypeScript layer pools): JS memory, freed by
// the garbage collector itself when a forward's graph is dropped (see recurrent_stack.h).
//
// Weights and gradients stay in JS-owned typed arrays and are passed on every call in
// PyTorch's parameter order: per layer, per direction, weight_ih, weight_hh[, bias_ih,
// bias_hh]. A gradient entry may be null (a frozen parameter: its gradient is skipped).
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include "registry.h"
#include "args.h"
#include "async_compute.h"
#include "linear_call.h"
#include "kernels/compute_budget.h"
#include "kernels/recurrent_stack.h"

namespace binding {
namespace {

std::atomic<uint64_t> next_stack_id{1};

template <typename F>
class RecurrentStackWrap : public Napi::ObjectWrap<RecurrentStackWrap<F>> {
 public:
  static Napi::Function Define(Napi::Env env, const char* name) {
    return Napi::ObjectWrap<RecurrentStackWrap<F>>::DefineClass(
        env, name,
        {
            Napi::InstanceWrap<RecurrentStackWrap<F>>::InstanceMethod("forward", &RecurrentStackWrap::Forward),
            Napi::InstanceWrap<RecurrentStackWrap<F>>::InstanceMethod("forwardAsync", &RecurrentStackWrap::ForwardAsync),
            Napi::InstanceWrap<RecurrentStackWrap<F>>::InstanceMethod("backward", &RecurrentStackWrap::Backward),
            Napi::InstanceWrap<RecurrentStackWrap<F>>::InstanceMethod("arenaBytes", &RecurrentStackWrap::ArenaBytes),
        });
  }

  // new RecurrentStack(cell, inputSize, hiddenSize, numLayers, bidirectional, bias, batchFirst, dropout)
  explicit RecurrentStackWrap(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<RecurrentStackWrap<F>>(info) {
    Napi::Env env = info.Env();
    rnn::StackConfig cfg;
    cfg.cell = static_cast<rnn::CellType>(int_arg(env, info[0], "cell", 0, rnn::kCellKindCount - 1));
    cfg.I = int_arg(env, info[1], "inputSize", 1, INT32_MAX);
    cfg.H = int_arg(env, info[2], "hiddenSize", 1, INT32_MAX);
    cfg.L = int_arg(env, info[3], "numLayers", 1, 1 << 20);
    cfg.bidirectional = bool_arg(env, info[4], "bidirectional");
    cfg.bias = bool_arg(env, info[5], "bias");
    cfg.batch_first = bool_arg(env, info[6], "batchFirst");
    cfg.dropout = number_arg(env, info[7], "dropout");
    if (!(cfg.dropout >= 0 && cfg.dropout <= 1)) throw_range(env, "dropout must be in [0, 1]");
    const size_t G = rnn::gate_count(cfg.cell), D = cfg.bidirectional ? 2 : 1;
    // Every weight must be addressable with 32-bit BLAS dimensions.
    checked_size(env, {G, static_cast<size_t>(cfg.H), static_cast<size_t>(cfg.I)}, "weight_ih_l0");
    checked_size(env, {G, static_cast<size_t>(cfg.H), static_cast<size_t>(cfg.H)}, "weight_hh_l0");
    checked_size(env, {G, static_cast<size_t>(cfg.H), D * cfg.H}, "weight_ih_l1");  // also bounds D * H (int in the kernels)
    stack_ = std::make_unique<rnn::RecurrentStack<F>>(cfg, next_stack_id++);
  }

 private:
  size_t slots() const { return static_cast<size_t>(stack_->config().L) * stack_->directions(); }
  size_t arrays_per_slot() const { return stack_->config().bias ? 4 : 2; }

  // Reads the parameter arrays (data, or gradients where null entries are allowed) into
  // per-slot pointer structs.
  template <typename Out, typename Ptr>
  std::vector<Out> read_params(Napi::Env env, const Napi::Value& v, const char* what, bool nullable) {
    const auto& cfg = stack_->config();
    const size_t per = arrays_per_slot();
    Napi::Array arr = array_arg(env, v, slots() * per, what);
    const size_t GH = static_cast<size_t>(stack_->gates()) * cfg.H;
    std::vector<Out> out(slots());
    for (size_t s = 0; s < slots(); ++s) {
      const int layer = static_cast<int>(s / stack_->directions());
      const size_t in = stack_->layer_input_size(layer);
      const size_t sizes[4] = {GH * in, GH * cfg.H, GH, GH};
      Ptr p[4] = {nullptr, nullptr, nullptr, nullptr};
      for (size_t k = 0; k < per; ++k) {
        const Napi::Value a = arr.Get(s * per + k);
        p[k] = nullable ? optional_typed_data<F>(env, a, sizes[k], ArgName(what, s * per + k))
                        : typed_data<F>(env, a, sizes[k], ArgName(what, s * per + k));
      }
      out[s] = Out{p[0], p[1], p[2], p[3]};
    }
    return out;
  }

  // The checked arguments of forward and forwardAsync:
  // (T, B, input|null, ids|null, V, table|null, h0, c0, lengths, weights, mode, seedLo,
  //  seedHi, output, hN, cN, arena) — exactly one of input and ids; mode 0 eval, 1 training
  //  (keeps activations, applies dropout), 2 keeps activations without dropout (eval mode under
  //  autograd); arena: for modes 1 and 2 a Float32Array of arenaBytes(...) / 4 elements, else null.
  struct ForwardCall {
    rnn::StackInput<F> in;
    const F *h0, *c0;        // (L*D, B, H) or nullptr
    const int32_t* lengths;  // (B) or nullptr
    std::vector<rnn::LayerWeights<F>> weights;
    bool training;  // keeps activations
    bool dropout;   // applies the dropout masks
    uint64_t seed;
    uint8_t* arena = nullptr;  // training: where the activations go
    F *output, *hN, *cN;     // (T, B, D*H) or (B, T, D*H); (L*D, B, H); cN LSTM only
    // Copies of the index arrays (checked on the copy: see int32_copy) and, for async calls,
    // of the caller's float inputs: a pending promise keeps the arrays from being collected,
    // not from being detached (transferred to a worker) under the kernel.
    std::vector<int32_t> ids_copy, lengths_copy;
    std::vector<F> input_copy, h0_copy, c0_copy;
    // Eval with converted weights: their format and per-slot matrices (biases from `weights`).
    bool has_lowp = false;
    rnn::LowpStackWeights lowp{};
    std::vector<rnn::LowpLayerWeights> lowp_slots;
    void own_inputs(size_t input_len, size_t state_len) {
      const auto copy = [](const F*& p, std::vector<F>& v, size_t n) {
        if (!p) return;
        v.assign(p, p + n);
        p = v.data();
      };
      copy(in.x, input_copy, input_len);
      copy(h0, h0_copy, state_len);
      copy(c0, c0_copy, state_len);
    }
  };

  ForwardCall parse_forward(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const auto& cfg = stack_->config();
    ForwardCall c;
    c.in.T = int_arg(env, info[0], "T", 1, INT32_MAX);
    c.in.B = int_arg(env, info[1], "B", 1, INT32_MAX);
    const int T = c.in.T, B = c.in.B;
    const size_t D = stack_->directions(), H = cfg.H;
    const size_t TB = checked_size(env, {static_cast<size_t>(T), static_cast<size_t>(B)}, "T * B");
    checked_size(env, {TB, static_cast<size_t>(stack_->gates()) * H}, "the gate buffer (T, B, G * H)");
    const size_t state = checked_size(env, {slots(), static_cast<size_t>(B), H}, "the state (L * D, B, H)");
    const bool lstm = cfg.cell == rnn::CellType::Lstm;
    c.in.x = nullptr;
    c.in.ids = nullptr;
    c.in.V = 0;
    c.in.table = nullptr;
    const bool tokens = !info[3].IsNull() && !info[3].IsUndefined();
    if (tokens) {
      if (!info[2].IsNull() && !info[2].IsUndefined()) throw_range(env, "forward takes an input or token ids, not both");
      c.in.V = int_arg(env, info[4], "V", 1, INT32_MAX);
      c.in.table = typed_data<F>(env, info[5], checked_size(env, {static_cast<size_t>(c.in.V), static_cast<size_t>(cfg.I)}, "table"), "table");
      c.ids_copy = int32_copy(env, info[3], TB, "ids");
      c.in.ids = c.ids_copy.data();
      for (size_t k = 0; k < TB; ++k)
        if (c.in.ids[k] < 0 || c.in.ids[k] >= c.in.V)
          throw_range(env, "ids[" + std::to_string(k) + "] must be in [0, " + std::to_string(c.in.V) + "), received " +
                               std::to_string(c.in.ids[k]));
    } else {
      c.in.x = typed_data<F>(env, info[2], checked_size(env, {TB, static_cast<size_t>(cfg.I)}, "input"), "input");
    }
    c.h0 = optional_typed_data<F>(env, info[6], state, "h0");
    c.c0 = lstm ? optional_typed_data<F>(env, info[7], state, "c0") : nullptr;
    c.lengths = nullptr;
    if (!info[8].IsNull() && !info[8].IsUndefined()) {
      c.lengths_copy = int32_copy(env, info[8], static_cast<size_t>(B), "lengths");
      c.lengths = c.lengths_copy.data();
      for (int b = 0; b < B; ++b)
        if (c.lengths[b] < 1 || c.lengths[b] > T)
          throw_range(env, "lengths[" + std::to_string(b) + "] must be in [1, " + std::to_string(T) + "], received " +
                               std::to_string(c.lengths[b]));
    }
    c.weights = read_params<rnn::LayerWeights<F>, const F*>(env, info[9], "weights", false);
    const int mode = int_arg(env, info[10], "mode", 0, 2);
    c.training = mode != 0;
    c.dropout = mode == 1;
    const double lo = number_arg(env, info[11], "seedLo"), hi = number_arg(env, info[12], "seedHi");
    c.seed = (static_cast<uint64_t>(static_cast<uint32_t>(hi)) << 32) | static_cast<uint32_t>(lo);
    c.output = typed_data<F>(env, info[13], checked_size(env, {TB, D * H}, "output"), "output");
    c.hN = typed_data<F>(env, info[14], state, "hN");
    c.cN = lstm ? typed_data<F>(env, info[15], state, "cN") : nullptr;
    if (c.training) {
      const size_t bytes = stack_->arena_bytes(T, B, true, c.dropout, tokens, c.lengths != nullptr);
      c.arena = reinterpret_cast<uint8_t*>(typed_data<float>(env, info[16], bytes / sizeof(float), "arena"));
    }
    if (info.Length() > kLowpAt && !info[kLowpAt].IsNull() && !info[kLowpAt].IsUndefined()) {
      if (c.training) throw_range(env, "converted weights are for inference: mode must be 0");
      parse_lowp(env, info[kLowpAt], c);
    }
    return c;
  }

  // The converted weights (argument 18): [format, then per slot w_ih, scale_ih, sum_ih, w_hh,
  // scale_hh, sum_hh] — matrices Uint16Array (bf16) or Int8Array (int8, with Float32Array
  // scales and Int32Array row sums; else null), float32 stacks only.
  static constexpr size_t kLowpAt = 18;
  void parse_lowp(Napi::Env env, const Napi::Value& v, ForwardCall& c) {
    if (!std::is_same<F, float>::value) throw_type(env, "converted weights are for float32 stacks");
    const size_t per = 6;
    Napi::Array a = array_arg(env, v, 1 + slots() * per, "lowp");
    const int f = int_arg(env, a.Get(0u), "lowp[0] (format)", 1, 2);
    c.lowp.format = static_cast<rnn::WeightFormat>(f);
    const auto& cfg = stack_->config();
    const size_t GH = static_cast<size_t>(stack_->gates()) * cfg.H;
    c.lowp_slots.resize(slots());
    for (size_t s = 0; s < slots(); ++s) {
      const size_t in = stack_->layer_input_size(static_cast<int>(s / stack_->directions()));
      const auto matrix = [&](uint32_t at, size_t K) {
        if (f == 2 && K > static_cast<size_t>(rnn::kInt8MaxK)) throw_range(env, "int8 weights need rows of at most 65536 values");
        const size_t n = checked_size(env, {GH, K}, ArgName("lowp", at));
        rnn::LowpMatrix m{};
        if (f == 1) {
          m.w = typed_data<uint16_t>(env, a.Get(at), n, ArgName("lowp", at));
        } else {
          m.w = typed_data<int8_t>(env, a.Get(at), n, ArgName("lowp", at));
          m.scale = typed_data<float>(env, a.Get(at + 1), GH, ArgName("lowp", at + 1));
          m.sum = typed_data<int32_t>(env, a.Get(at + 2), GH, ArgName("lowp", at + 2));
        }
        return m;
      };
      const uint32_t at = static_cast<uint32_t>(1 + s * per);
      rnn::LowpLayerWeights& lw = c.lowp_slots[s];
      lw.w_ih = matrix(at, in);
      lw.w_hh = matrix(at + 3, cfg.H);
      lw.b_ih = reinterpret_cast<const float*>(c.weights[s].b_ih);
      lw.b_hh = reinterpret_cast<const float*>(c.weights[s].b_hh);
    }
    c.lowp.slots = c.lowp_slots.data();
    c.has_lowp = true;
  }

  // arenaBytes(T, B, mode, tokens, hasLengths): the bytes a forward in mode 1 or 2 keeps (a
  // multiple of 64).
  Napi::Value ArenaBytes(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const int T = int_arg(env, info[0], "T", 1, INT32_MAX), B = int_arg(env, info[1], "B", 1, INT32_MAX);
    const int mode = int_arg(env, info[2], "mode", 1, 2);
    const size_t GH = static_cast<size_t>(stack_->gates()) * stack_->config().H;
    checked_size(env, {static_cast<size_t>(T), static_cast<size_t>(B), GH}, "the gate buffer (T, B, G * H)");
    const size_t bytes = stack_->arena_bytes(T, B, true, mode == 1, bool_arg(env, info[3], "tokens"), bool_arg(env, info[4], "hasLengths"));
    if (bytes / sizeof(float) > static_cast<size_t>(INT32_MAX)) throw_range(env, "the activations of this forward would need more than 2^31 - 1 floats");
    return Napi::Number::New(env, static_cast<double>(bytes));
  }

  // Runs the forward: into the arena in training, the eval workspace otherwise.
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const ForwardCall c = parse_forward(info);
    std::lock_guard<std::mutex> own(mutex_);  // the stack's scratch and eval workspace
    rnn::ComputeScope scope;
    rnn::StackActivations<F> acts =
        c.training ? stack_->bind(c.arena, c.in.T, c.in.B, c.in.V, true, c.dropout, c.in.ids != nullptr, c.lengths != nullptr)
                   : stack_->eval_workspace(c.in.T, c.in.B, c.in.ids != nullptr, c.lengths != nullptr);
    stack_->forward(c.in, c.h0, c.c0, c.lengths, c.weights.data(), c.seed, c.output, c.hN, c.cN, acts,
                    c.has_lowp ? &c.lowp : nullptr);
    return env.Undefined();
  }

  // Like an eval forward, on a libuv worker thread; returns a promise. The arena (17th) is
  // null; an optional 18th argument, [y, W, b|null, N, in, out], is a Linear forward to run on
  // the layer's output right after it, in the same job (its x is this call's output array).
  Napi::Value ForwardAsync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ForwardCall c = parse_forward(info);
    if (c.training) throw_range(env, "forwardAsync is inference only: mode must be 0");
    const auto& cfg = stack_->config();
    c.own_inputs(c.in.x ? static_cast<size_t>(c.in.T) * c.in.B * cfg.I : 0, slots() * c.in.B * cfg.H);
    constexpr size_t head_at = 17;
    bool has_head = false;
    LinearForwardCall head{};
    if (info.Length() > head_at && !info[head_at].IsUndefined() && !info[head_at].IsNull()) {
      Napi::Array a = array_arg(env, info[head_at], 6, "head");
      const Napi::Value v[7] = {a.Get(0u), info[13], a.Get(1u), a.Get(2u), a.Get(3u), a.Get(4u), a.Get(5u)};
      head = parse_linear_forward(env, v);  // x is the output array (info[13]), checked against N·in
      has_head = true;
    }
    rnn::RecurrentStack<F>* stack = stack_.get();  // kept alive: the wrapper is in keep_arguments
    // Held by a shared_ptr: its pointers point into its own vectors, so it must never be copied.
    auto call = std::make_shared<const ForwardCall>(std::move(c));
    return ComputeWorker::Start(
        env,
        [stack, call, head, has_head]() {
          rnn::StackActivations<F> acts = stack->eval_workspace(call->in.T, call->in.B, call->in.ids != nullptr, call->lengths != nullptr);
          stack->forward(call->in, call->h0, call->c0, call->lengths, call->weights.data(), call->seed, call->output,
                         call->hN, call->cN, acts, call->has_lowp ? &call->lowp : nullptr);
          if (has_head) head.run();
        },
        keep_arguments(info), nullptr, &mutex_);
  }

  // backward(arena, dOutput, dhN, dcN, weights, grads, dInput|null, table|null, dTable|null,
  //          paddingIdx, dh0|null, dc0|null): consumes the arena's activations (see RecurrentStack::backward).
  Napi::Value Backward(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const size_t arena_len = typed_length<float>(env, info[0], "arena");
    uint8_t* arena = reinterpret_cast<uint8_t*>(typed_data<float>(env, info[0], arena_len, "arena"));
    std::lock_guard<std::mutex> own(mutex_);
    rnn::ComputeScope scope;
    rnn::StackActivations<F> acts;
    if (const char* why = stack_->rebind(arena, arena_len * sizeof(float), acts)) throw_range(env, std::string("backward: ") + why);
    const auto& cfg = stack_->config();
    const size_t T = acts.T, B = acts.B, D = stack_->directions(), H = cfg.H;
    const size_t state = slots() * B * H;
    const bool lstm = cfg.cell == rnn::CellType::Lstm;
    const F* dOutput = optional_typed_data<F>(env, info[1], T * B * D * H, "gradOutput");
    const F* dhN = optional_typed_data<F>(env, info[2], state, "gradState.h");
    const F* dcN = lstm ? optional_typed_data<F>(env, info[3], state, "gradState.c") : nullptr;
    const auto weights = read_params<rnn::LayerWeights<F>, const F*>(env, info[4], "weights", false);
    const auto grads = read_params<rnn::LayerGrads<F>, F*>(env, info[5], "grads", true);
    F* dInput = optional_typed_data<F>(env, info[6], T * B * cfg.I, "gradInput");
    const size_t table_size = static_cast<size_t>(acts.V) * cfg.I;
    const F* table = acts.tokens ? typed_data<F>(env, info[7], table_size, "table") : nullptr;
    F* dTable = acts.tokens ? optional_typed_data<F>(env, info[8], table_size, "gradTable") : nullptr;
    if (!acts.tokens && !info[8].IsNull() && !info[8].IsUndefined())
      throw_range(env, "gradTable is only for a forward that read token ids");
    if (dTable && dInput) throw_range(env, "backward takes gradInput or gradTable, not both");
    const int pad = int_arg(env, info[9], "paddingIdx", -1, INT32_MAX);
    F* dh0 = optional_typed_data<F>(env, info[10], state, "gradH0");
    F* dc0 = lstm ? optional_typed_data<F>(env, info[11], state, "gradC0") : nullptr;
    stack_->backward(acts, table, dOutput, dhN, dcN, weights.data(), grads.data(), dInput, dTable, pad, dh0, dc0);
    return env.Undefined();
  }

  std::unique_ptr<rnn::RecurrentStack<F>> stack_;
  std::mutex mutex_;  // calls on one stack never overlap (its scratch); other stacks run meanwhile
};

}  // namespace

void register_recurrent(Napi::Env env, Napi::Object exports) {
  Napi::Function f32 = RecurrentStackWrap<float>::Define(env, "RecurrentStack");
  Napi::Function f64 = RecurrentStackWrap<double>::Define(env, "RecurrentStack64");
  exports.Set("RecurrentStack", f32);
  exports.Set("RecurrentStack64", f64);
}

}  // namespace binding
