// DecodeStep: the N-API face of rnn::decode_step (one generation step of a language model
// for B independent rows) followed by rnn::sample_rows (each row's next token).
//
//   new DecodeStep(cell, numLayers, embeddingDim, hiddenSize, vocabSize, tableRows, format)
//   step.run(B, tokens, weights, hIn, cIn, hOut, cOut, logits, specs, next)        → undefined
//   step.runAsync(B, tokens, weights, hIn, cIn, hOut, cOut, logits, specs, next)   → Promise
//
// tokens Int32Array (B); hIn/hOut, cIn/cOut Float32Array (B, L, H) (c: LSTM only, else null);
// logits Float32Array (B, V); specs Float64Array (B, 5) per row [greedy 0|1, temperature,
// topK (0 = all), topP, u] and next Int32Array (B), or both null (logits only).
// weights: [table (tableRows, E) float32, then per layer w_ih, scale_ih, sum_ih, w_hh,
// scale_hh, sum_hh, b_ih, b_hh, then head w, scale, sum, b]. Weight matrices are Float32Array,
// Uint16Array (bf16) or Int8Array (int8, with Float32Array per-row scales and Int32Array row
// sums) by the format; scales and sums are null except for int8; biases float32 or null (a
// layer's two together).
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "registry.h"
#include "args.h"
#include "async_compute.h"
#include "kernels/compute_budget.h"
#include "kernels/decode_step.h"
#include "kernels/sample.h"

namespace binding {
namespace {

class DecodeStepWrap : public Napi::ObjectWrap<DecodeStepWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "DecodeStep",
                       {InstanceMethod("run", &DecodeStepWrap::Run), InstanceMethod("runAsync", &DecodeStepWrap::RunAsync)});
  }

  explicit DecodeStepWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DecodeStepWrap>(info) {
    Napi::Env env = info.Env();
    net_.cell = static_cast<rnn::CellType>(int_arg(env, info[0], "cell", 0, rnn::kCellKindCount - 1));
    net_.L = int_arg(env, info[1], "numLayers", 1, 1 << 16);
    net_.E = int_arg(env, info[2], "embeddingDim", 1, INT32_MAX);
    net_.H = int_arg(env, info[3], "hiddenSize", 1, INT32_MAX);
    net_.V = int_arg(env, info[4], "vocabSize", 1, INT32_MAX);
    net_.table_rows = int_arg(env, info[5], "tableRows", 1, INT32_MAX);
    net_.format = static_cast<rnn::WeightFormat>(int_arg(env, info[6], "format", 0, 2));
    const size_t GH = static_cast<size_t>(rnn::gate_count(net_.cell)) * net_.H;
    checked_size(env, {GH, static_cast<size_t>(net_.E > net_.H ? net_.E : net_.H)}, "weight_ih_l0");
    checked_size(env, {static_cast<size_t>(net_.V), static_cast<size_t>(net_.H)}, "head weight");
    checked_size(env, {static_cast<size_t>(net_.table_rows), static_cast<size_t>(net_.E)}, "table");
  }

 private:
  // A weight matrix (rows, cols) in the net's format.
  const void* matrix(Napi::Env env, const Napi::Value& v, size_t rows, size_t cols, const ArgName& what) {
    const size_t n = checked_size(env, {rows, cols}, what);
    switch (net_.format) {
      case rnn::WeightFormat::Bf16: return typed_data<uint16_t>(env, v, n, what);
      case rnn::WeightFormat::Int8: return typed_data<int8_t>(env, v, n, what);
      default: return typed_data<float>(env, v, n, what);
    }
  }
  // A matrix at w[at], its scales at w[at + 1] and row sums at w[at + 2] (int8 only; else null).
  rnn::DecodeMatrix matrix_at(Napi::Env env, const Napi::Array& w, uint32_t at, size_t rows, size_t cols) {
    rnn::DecodeMatrix m{matrix(env, w.Get(at), rows, cols, ArgName("weights", at)), nullptr, nullptr};
    const Napi::Value s = w.Get(at + 1), q = w.Get(at + 2);
    if (net_.format != rnn::WeightFormat::Int8) {
      if (!s.IsNull() || !q.IsNull()) throw_type(env, ArgName("weights", at + 1).str() + " and the next must be null: only int8 weights have scales and sums");
      return m;
    }
    if (cols > static_cast<size_t>(rnn::kInt8MaxK)) throw_range(env, "int8 weights need rows of at most 65536 values (the sums are 32-bit)");
    m.scale = typed_data<float>(env, s, rows, ArgName("weights", at + 1));
    m.sum = typed_data<int32_t>(env, q, rows, ArgName("weights", at + 2));
    return m;
  }

  // The checked arguments of one step; for async calls the small inputs are copies.
  struct Call {
    int B;
    std::vector<int32_t> tokens;
    std::vector<rnn::SampleSpec> specs;  // empty: logits only
    const float *h_in, *c_in;
    float *h_out, *c_out, *logits;
    int32_t* next;
    rnn::DecodeNet net;
    std::vector<rnn::DecodeLayer> layers;
  };

  Call parse(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Call c;
    c.B = int_arg(env, info[0], "B", 1, 1 << 20);
    const size_t B = c.B, L = net_.L, H = net_.H, E = net_.E, V = net_.V, GH = rnn::gate_count(net_.cell) * H;
    c.tokens = int32_copy(env, info[1], B, "tokens");
    for (size_t r = 0; r < B; ++r)
      if (c.tokens[r] < 0 || c.tokens[r] >= net_.table_rows)
        throw_range(env, "tokens[" + std::to_string(r) + "] must be in [0, " + std::to_string(net_.table_rows) +
                             "), received " + std::to_string(c.tokens[r]));
    Napi::Array w = array_arg(env, info[2], 1 + 8 * L + 4, "weights");
    c.net = net_;
    c.net.table = typed_data<float>(env, w.Get(0u), checked_size(env, {size_t(net_.table_rows), E}, "table"), "weights[0]");
    c.layers.resize(L);
    for (size_t l = 0; l < L; ++l) {
      const uint32_t at = static_cast<uint32_t>(1 + 8 * l);
      const size_t in = l == 0 ? E : H;
      rnn::DecodeLayer& d = c.layers[l];
      d.w_ih = matrix_at(env, w, at, GH, in);
      d.w_hh = matrix_at(env, w, at + 3, GH, H);
      d.b_ih = optional_typed_data<float>(env, w.Get(at + 6), GH, ArgName("weights", at + 6));
      d.b_hh = optional_typed_data<float>(env, w.Get(at + 7), GH, ArgName("weights", at + 7));
      if ((d.b_ih == nullptr) != (d.b_hh == nullptr)) throw_type(env, "a layer's two biases are both given or both null");
    }
    const uint32_t head = static_cast<uint32_t>(1 + 8 * L);
    c.net.head_w = matrix_at(env, w, head, V, H);
    c.net.head_b = optional_typed_data<float>(env, w.Get(head + 3), V, ArgName("weights", head + 3));
    c.net.layers = c.layers.data();
    const size_t state = checked_size(env, {B, L, H}, "the state (B, L, H)");
    const bool lstm = net_.cell == rnn::CellType::Lstm;
    c.h_in = typed_data<float>(env, info[3], state, "hIn");
    c.c_in = lstm ? typed_data<float>(env, info[4], state, "cIn") : nullptr;
    c.h_out = typed_data<float>(env, info[5], state, "hOut");
    c.c_out = lstm ? typed_data<float>(env, info[6], state, "cOut") : nullptr;
    if (!lstm && !(info[4].IsNull() && info[6].IsNull())) throw_type(env, "cIn and cOut must be null: only an LSTM has a cell state");
    if (c.h_in == c.h_out || (lstm && c.c_in == c.c_out)) throw_range(env, "the step reads hIn/cIn while it writes hOut/cOut: they must be distinct arrays");
    c.logits = typed_data<float>(env, info[7], checked_size(env, {B, V}, "logits"), "logits");
    c.next = nullptr;
    if (!info[8].IsNull() || !info[9].IsNull()) {
      const double* s = typed_data<double>(env, info[8], checked_size(env, {B, 5}, "specs"), "specs");
      c.next = typed_data<int32_t>(env, info[9], B, "next");
      c.specs.resize(B);
      for (size_t r = 0; r < B; ++r) {
        const double* p = s + 5 * r;
        const auto bad = [&](const char* what, double v) {
          throw_range(env, "specs[" + std::to_string(r) + "]." + what + " is out of range: " + std::to_string(v));
        };
        if (!(p[0] == 0 || p[0] == 1)) bad("greedy", p[0]);
        if (!(p[1] > 0)) bad("temperature", p[1]);
        if (!(p[2] >= 0 && p[2] <= static_cast<double>(V) && p[2] == static_cast<double>(static_cast<int>(p[2])))) bad("topK", p[2]);
        if (!(p[3] > 0 && p[3] <= 1)) bad("topP", p[3]);
        if (!(p[4] >= 0 && p[4] < 1)) bad("u", p[4]);
        c.specs[r] = rnn::SampleSpec{p[0] == 1, p[1], static_cast<int>(p[2]), p[3], p[4]};
      }
    }
    return c;
  }

  static void compute(const Call& c, rnn::DecodeWorkspace& ws) {
    rnn::decode_step(c.net, c.B, c.tokens.data(), c.h_in, c.c_in, c.h_out, c.c_out, c.logits, ws);
    if (c.next) rnn::sample_rows(c.logits, c.B, c.net.V, c.specs.data(), c.next);
  }

  Napi::Value Run(const Napi::CallbackInfo& info) {
    const Call c = parse(info);
    std::lock_guard<std::mutex> own(mutex_);  // the workspace
    rnn::ComputeScope scope;
    compute(c, ws_);
    return info.Env().Undefined();
  }

  Napi::Value RunAsync(const Napi::CallbackInfo& info) {
    auto call = std::make_shared<const Call>(parse(info));  // its pointers point into its own vectors: never copied
    rnn::DecodeWorkspace* ws = &ws_;  // kept alive: the wrapper is in keep_arguments
    return ComputeWorker::Start(info.Env(), [call, ws]() { compute(*call, *ws); }, keep_arguments(info), nullptr, &mutex_);
  }

  rnn::DecodeNet net_{};
  rnn::DecodeWorkspace ws_;
  std::mutex mutex_;
};

}  // namespace

void register_decode(Napi::Env env, Napi::Object exports) { exports.Set("DecodeStep", DecodeStepWrap::Define(env)); }

}  // namespace binding
