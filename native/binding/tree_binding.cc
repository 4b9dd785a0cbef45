// The tree layers (kernels/tree_layer.h): TreePlan, the validated level schedule of a batch
// of trees; treeForward / treeBackward / treeRelease; and the treeUnits* test hooks that run
// one node of the fast cell math (kernels/tree_cells.h) or its plain twin
// (kernels/tree_cells_reference.h).
//
// A plan is immutable once built (the kernels read it, never the caller's arrays, which are
// copied before they are checked). A training forward returns its activations as an external
// value (type-tagged per element type, so no other value can pass for one) that owns its
// buffers and a reference to its plan: the call's backward consumes it; treeRelease, or the
// garbage collector for a forgotten one, frees it.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "addon_data.h"
#include "args.h"
#include "kernels/blas.h"
#include "kernels/cells.h"
#include "kernels/tree_cells.h"
#include "kernels/tree_cells_reference.h"
#include "kernels/tree_layer.h"
#include "kernels/tree_plan.h"

namespace binding {
namespace {

constexpr napi_type_tag kPlanTag = {0x7a1c0b3e5d2f4e61ULL, 0x9b8a7c6d5e4f3a21ULL};
constexpr napi_type_tag kContextTag32 = {0x7a1c0b3e5d2f4e62ULL, 0x9b8a7c6d5e4f3a22ULL};
constexpr napi_type_tag kContextTag64 = {0x7a1c0b3e5d2f4e63ULL, 0x9b8a7c6d5e4f3a23ULL};

template <typename F>
const napi_type_tag* context_tag();
template <>
const napi_type_tag* context_tag<float>() {
  return &kContextTag32;
}
template <>
const napi_type_tag* context_tag<double>() {
  return &kContextTag64;
}

// new TreePlan(offsets Int32Array (N + 1), index Int32Array, maxChildren): throws a RangeError
// naming the node when the lists are not a forest (see kernels/tree_plan.h).
class TreePlanWrap : public Napi::ObjectWrap<TreePlanWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "TreePlan",
                       {
                           InstanceAccessor<&TreePlanWrap::NumNodes>("numNodes"),
                           InstanceAccessor<&TreePlanWrap::NumEdges>("numEdges"),
                           InstanceAccessor<&TreePlanWrap::NumLevels>("numLevels"),
                           InstanceAccessor<&TreePlanWrap::MaxChildren>("maxChildren"),
                           InstanceMethod<&TreePlanWrap::Roots>("roots"),
                           InstanceMethod<&TreePlanWrap::Levels>("levels"),
                           InstanceMethod<&TreePlanWrap::Order>("order"),
                           InstanceMethod<&TreePlanWrap::LevelStarts>("levelStarts"),
                       });
  }

  explicit TreePlanWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TreePlanWrap>(info) {
    Napi::Env env = info.Env();
    const size_t offsets_len = typed_length<int32_t>(env, info[0], "offsets");
    if (offsets_len < 1) throw_range(env, "offsets must have N + 1 elements (at least 1), received 0");
    if (offsets_len - 1 > static_cast<size_t>(INT32_MAX - 1)) throw_range(env, "too many nodes");
    const size_t E = typed_length<int32_t>(env, info[1], "index");
    if (E > static_cast<size_t>(INT32_MAX)) throw_range(env, "index has too many elements");
    const int max_children = int_arg(env, info[2], "maxChildren", 0, INT32_MAX);
    // Copies, checked and read by the kernels: the caller's arrays may change (or be shared
    // with another thread) after this call.
    const std::vector<int32_t> offsets = int32_copy(env, info[0], offsets_len, "offsets");
    const std::vector<int32_t> index = int32_copy(env, info[1], E, "index");
    auto plan = std::make_shared<rnn::TreePlan>();
    const int N = static_cast<int>(offsets_len - 1);
    const std::string error = rnn::build_tree_plan(offsets.data(), N, index.data(), static_cast<int>(E), max_children,
                                                   plan.get());
    if (!error.empty()) throw_range(env, error);
    plan_ = std::move(plan);
    info.This().As<Napi::Object>().TypeTag(&kPlanTag);
  }

  const std::shared_ptr<const rnn::TreePlan>& plan() const { return plan_; }

  // The plan of a TreePlan argument, or a TypeError.
  static std::shared_ptr<const rnn::TreePlan> from(Napi::Env env, const Napi::Value& v) {
    if (!v.IsObject() || !v.As<Napi::Object>().CheckTypeTag(&kPlanTag)) throw_type(env, "plan must be a TreePlan");
    return Unwrap(v.As<Napi::Object>())->plan_;
  }

 private:
  Napi::Value NumNodes(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), plan_->N); }
  Napi::Value NumEdges(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), plan_->E); }
  Napi::Value NumLevels(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), plan_->L); }
  Napi::Value MaxChildren(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), plan_->max_children); }
  static Napi::Value ints(Napi::Env env, const std::vector<int32_t>& v) {
    Napi::Int32Array a = Napi::Int32Array::New(env, v.size());
    std::copy(v.begin(), v.end(), a.Data());
    return a;
  }
  Napi::Value Roots(const Napi::CallbackInfo& info) { return ints(info.Env(), plan_->roots); }
  Napi::Value Levels(const Napi::CallbackInfo& info) { return ints(info.Env(), plan_->level); }
  Napi::Value Order(const Napi::CallbackInfo& info) { return ints(info.Env(), plan_->order); }
  Napi::Value LevelStarts(const Napi::CallbackInfo& info) { return ints(info.Env(), plan_->level_start); }

  std::shared_ptr<const rnn::TreePlan> plan_;
};

// What one training forward keeps for its backward.
template <typename F>
struct TreeActivations {
  std::shared_ptr<const rnn::TreePlan> plan;
  rnn::TreeDims dims{};
  bool leaf = false;
  std::vector<F> saved;
  size_t accounted = 0;  // bytes reported to the JS engine as external memory
};

// Frees the buffers (not the struct) and tells the engine. The C call: this also runs in
// finalizers, where nothing may throw.
template <typename F>
void free_saved(napi_env env, TreeActivations<F>* a) {
  std::vector<F>().swap(a->saved);
  int64_t total = 0;
  if (a->accounted) napi_adjust_external_memory(env, -static_cast<int64_t>(a->accounted), &total);
  a->accounted = 0;
}

// [weight_ih, weight_hh, bias_ih|null, bias_hh|null] (gradients: any entry may be null).
template <typename F, typename Ptr>
void tree_params(Napi::Env env, const Napi::Value& v, const rnn::TreeDims& d, bool nullable, Ptr out[4],
                 const char* what) {
  Napi::Array a = array_arg(env, v, 4, what);
  const size_t GIH = static_cast<size_t>(rnn::tree_gates_ih(d.cell)) * d.H;
  const size_t GH = static_cast<size_t>(rnn::tree_gates_hh(d)) * d.H;
  const size_t sizes[4] = {GIH * d.I, GH * rnn::tree_hh_inputs(d) * d.H, GIH, GH};
  for (uint32_t k = 0; k < 4; ++k)
    out[k] = (nullable || k >= 2) ? optional_typed_data<F>(env, a.Get(k), sizes[k], ArgName(what, k))
                                  : typed_data<F>(env, a.Get(k), sizes[k], ArgName(what, k));
  if (!nullable && (out[2] == nullptr) != (out[3] == nullptr)) throw_range(env, "a tree cell has both biases or neither");
}

rnn::TreeDims tree_dims(Napi::Env env, const Napi::CallbackInfo& info, const rnn::TreePlan& plan) {
  rnn::TreeDims d;
  d.cell = static_cast<rnn::TreeCell>(int_arg(env, info[0], "cell", 0, rnn::kTreeCellCount - 1));
  d.I = int_arg(env, info[2], "I", 1, INT32_MAX);
  d.H = int_arg(env, info[3], "H", 1, INT32_MAX);
  const bool csum = d.cell == rnn::TreeCell::ChildSumLstm;
  d.K = csum ? 0 : int_arg(env, info[4], "K", 1, 1 << 16);
  if (!csum && plan.max_children > d.K)
    throw_range(env, "the plan has a node with " + std::to_string(plan.max_children) + " children, more than K = " +
                         std::to_string(d.K));
  const size_t N = plan.N, E = plan.E, H = d.H;
  const size_t G = rnn::tree_gates_hh(d), GI = rnn::tree_gates_ih(d.cell), KIN = rnn::tree_hh_inputs(d);
  checked_size(env, {G, H, KIN, H}, "weight_hh");
  checked_size(env, {GI, H, static_cast<size_t>(d.I)}, "weight_ih");
  checked_size(env, {N, static_cast<size_t>(d.I)}, "x (N, I)");
  checked_size(env, {N, G, H}, "the gates (N, G * H)");
  checked_size(env, {N, GI, H}, "the input projection (N, G * H)");
  checked_size(env, {N, KIN, H}, "the children's states (N, K * H)");
  checked_size(env, {E, H}, "the child slots' states (E, H)");
  return d;
}

// treeForward(cell, plan, I, H, K, x, weights, leafH|null, leafC|null, training, h, c|null)
//   -> the call's activations (training) or undefined
template <typename F>
struct TreeForwardImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::shared_ptr<const rnn::TreePlan> plan = TreePlanWrap::from(env, info[1]);
    const rnn::TreeDims d = tree_dims(env, info, *plan);
    const bool lstm = rnn::tree_is_lstm(d.cell);
    const size_t NH = static_cast<size_t>(plan->N) * d.H;
    const F* x = typed_data<F>(env, info[5], static_cast<size_t>(plan->N) * d.I, "x");
    const F* p[4];
    tree_params<F, const F*>(env, info[6], d, false, p, "weights");
    const F* leaf_h = optional_typed_data<F>(env, info[7], NH, "leafH");
    const F* leaf_c = optional_typed_data<F>(env, info[8], NH, "leafC");
    if (leaf_c && !lstm) throw_range(env, "leafC is only for the TreeLSTMs");
    if (leaf_c && !leaf_h) throw_range(env, "leafC needs leafH");
    const bool training = bool_arg(env, info[9], "training");
    F* h = typed_data<F>(env, info[10], NH, "h");
    F* c = lstm ? typed_data<F>(env, info[11], NH, "c") : nullptr;
    auto acts = std::make_unique<TreeActivations<F>>();
    acts->plan = plan;
    acts->dims = d;
    acts->leaf = leaf_h != nullptr;
    acts->saved.resize(rnn::tree_saved_size(d, *plan));
    {
      std::lock_guard<std::mutex> lock(rnn::blas_mutex());
      rnn::tree_forward(d, *plan, rnn::LayerWeights<F>{p[0], p[1], p[2], p[3]}, x, leaf_h, leaf_c, h, c,
                        acts->saved.data());
    }
    if (!training) return env.Undefined();
    acts->accounted = acts->saved.size() * sizeof(F);
    Napi::External<TreeActivations<F>> ext = Napi::External<TreeActivations<F>>::New(
        env, acts.get(), [](Napi::Env e, TreeActivations<F>* a) {
          free_saved(e, a);
          delete a;
        });
    acts.release();
    ext.TypeTag(context_tag<F>());
    int64_t total = 0;
    napi_adjust_external_memory(env, static_cast<int64_t>(ext.Data()->accounted), &total);
    return ext;
  }
};
RNN_DTYPE_ENTRY(TreeForward, 5, "x")

// The activations of a treeForward context argument, of element type F.
template <typename F>
TreeActivations<F>* context_arg(Napi::Env env, const Napi::Value& v) {
  return v.As<Napi::External<TreeActivations<F>>>().Data();
}

// Which element type a context holds (its type tag), or a TypeError.
bool context_is_float64(Napi::Env env, const Napi::Value& v) {
  if (v.IsExternal()) {
    const auto ext = v.As<Napi::External<void>>();
    if (ext.CheckTypeTag(&kContextTag32)) return false;
    if (ext.CheckTypeTag(&kContextTag64)) return true;
  }
  throw_type(env, "ctx must be the value a training treeForward returned");
}

// treeBackward(ctx, weights, grads, dh|null, dc|null, dx|null, dLeafH|null, dLeafC|null): consumes ctx.
template <typename F>
Napi::Value tree_backward_call(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TreeActivations<F>* a = context_arg<F>(env, info[0]);
  std::lock_guard<std::mutex> lock(rnn::blas_mutex());
  if (a->saved.empty())
    throw_range(env, "treeBackward: these activations were already used by a backward (or released); run a new forward");
  const rnn::TreeDims& d = a->dims;
  const rnn::TreePlan& plan = *a->plan;
  const bool lstm = rnn::tree_is_lstm(d.cell);
  const size_t NH = static_cast<size_t>(plan.N) * d.H;
  const F* p[4];
  tree_params<F, const F*>(env, info[1], d, false, p, "weights");
  F* gp[4];
  tree_params<F, F*>(env, info[2], d, true, gp, "grads");
  const F* dh = optional_typed_data<F>(env, info[3], NH, "dh");
  const F* dc = lstm ? optional_typed_data<F>(env, info[4], NH, "dc") : nullptr;
  F* dx = optional_typed_data<F>(env, info[5], static_cast<size_t>(plan.N) * d.I, "dx");
  F* dleaf_h = optional_typed_data<F>(env, info[6], NH, "dLeafH");
  F* dleaf_c = lstm ? optional_typed_data<F>(env, info[7], NH, "dLeafC") : nullptr;
  if ((dleaf_h || dleaf_c) && !a->leaf) throw_range(env, "treeBackward: dLeafH and dLeafC are for a forward that took leaf states");
  rnn::tree_backward(d, plan, rnn::LayerWeights<F>{p[0], p[1], p[2], p[3]}, rnn::LayerGrads<F>{gp[0], gp[1], gp[2], gp[3]},
                     a->leaf, a->saved.data(), dh, dc, dx, dleaf_h, dleaf_c);
  free_saved(env, a);
  return env.Undefined();
}
Napi::Value TreeBackward(const Napi::CallbackInfo& info) {
  return context_is_float64(info.Env(), info[0]) ? tree_backward_call<double>(info) : tree_backward_call<float>(info);
}

// treeRelease(ctx): frees a context's buffers without a backward (a no-op the second time).
Napi::Value TreeRelease(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool f64 = context_is_float64(env, info[0]);
  std::lock_guard<std::mutex> lock(rnn::blas_mutex());  // never while a kernel reads them
  if (f64) free_saved(env, context_arg<double>(env, info[0]));
  else free_saved(env, context_arg<float>(env, info[0]));
  return env.Undefined();
}

// ---- test hooks: one node, fast kernel or plain reference, float32 ----------------------

struct UnitArgs {
  rnn::TreeCell cell;
  bool reference;
  int H, K, M;
  std::vector<int32_t> kpos;
};
UnitArgs unit_args(const Napi::CallbackInfo& info, size_t kpos_at, size_t cs_at) {
  Napi::Env env = info.Env();
  UnitArgs u;
  u.cell = static_cast<rnn::TreeCell>(int_arg(env, info[0], "cell", 0, rnn::kTreeCellCount - 1));
  u.reference = bool_arg(env, info[1], "reference");
  u.H = int_arg(env, info[2], "H", 1, 1 << 16);
  u.K = int_arg(env, info[3], "K", 0, 64);
  const size_t m = typed_length<int32_t>(env, info[kpos_at], "kpos");
  u.M = static_cast<int>(m);
  u.kpos = int32_copy(env, info[kpos_at], m, "kpos");
  if (u.cell == rnn::TreeCell::NaryLstm && u.M > u.K) throw_range(env, "kpos has more slots than K");
  const bool lstm = rnn::tree_is_lstm(u.cell);
  const size_t rows = lstm ? typed_length<float>(env, info[cs_at], "cs") / u.H : 0;
  for (int k = 0; k < u.M; ++k)
    if (u.kpos[k] < -1 || (u.kpos[k] >= 0 && static_cast<size_t>(u.kpos[k]) >= rows))
      throw_range(env, "kpos[" + std::to_string(k) + "] is not a row of cs");
  return u;
}
size_t gate_row(const UnitArgs& u) {
  return static_cast<size_t>(u.H) *
         (u.cell == rnn::TreeCell::NaryLstm ? 3 + u.K : (u.cell == rnn::TreeCell::ChildSumLstm ? 4 : 1));
}

// treeUnitsForward(cell, reference, H, K, g, xg|null, b|null, fk|null, cs|null, kpos, c|null, h)
Napi::Value TreeUnitsForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const UnitArgs u = unit_args(info, 9, 8);
  const size_t H = u.H, GH = gate_row(u);
  float* g = typed_data<float>(env, info[4], GH, "g");
  const float* b = optional_typed_data<float>(env, info[6], GH, "b");
  float* h = typed_data<float>(env, info[11], H, "h");
  const bool relu = u.cell == rnn::TreeCell::RnnRelu;
  if (u.cell == rnn::TreeCell::RnnTanh || relu) {
    if (u.reference) rnn::reference::tree_rnn_forward(relu, g, b, h, u.H);
    else rnn::tree_rnn_forward(relu, g, b, h, u.H);
    return env.Undefined();
  }
  const size_t cs_len = typed_length<float>(env, info[8], "cs");
  const float* cs = typed_data<float>(env, info[8], cs_len, "cs");
  float* c = typed_data<float>(env, info[10], H, "c");
  if (u.cell == rnn::TreeCell::NaryLstm) {
    const float* xg = typed_data<float>(env, info[5], 4 * H, "xg");
    if (u.reference) rnn::reference::nary_lstm_forward(g, xg, b, cs, u.kpos.data(), u.M, c, h, u.H, u.K);
    else rnn::nary_lstm_forward(g, xg, b, cs, u.kpos.data(), u.M, c, h, u.H, u.K);
  } else {
    float* fk = typed_data<float>(env, info[7], static_cast<size_t>(u.M) * H, "fk");
    if (u.reference) rnn::reference::child_sum_forward(g, b, fk, cs, u.kpos.data(), u.M, c, h, u.H);
    else rnn::child_sum_forward(g, b, fk, cs, u.kpos.data(), u.M, c, h, u.H);
  }
  return env.Undefined();
}

// treeUnitsBackward(cell, reference, H, K, g, dxg|null, fk|null, cs|null, kpos, c|null, dh, dc|null, dcs|null)
Napi::Value TreeUnitsBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const UnitArgs u = unit_args(info, 8, 7);
  const size_t H = u.H, GH = gate_row(u);
  float* g = typed_data<float>(env, info[4], GH, "g");
  const float* dh = typed_data<float>(env, info[10], H, "dh");
  const bool relu = u.cell == rnn::TreeCell::RnnRelu;
  if (u.cell == rnn::TreeCell::RnnTanh || relu) {
    if (u.reference) rnn::reference::tree_rnn_backward(relu, g, dh, u.H);
    else rnn::tree_rnn_backward(relu, g, dh, u.H);
    return env.Undefined();
  }
  const size_t cs_len = typed_length<float>(env, info[7], "cs");
  const float* cs = typed_data<float>(env, info[7], cs_len, "cs");
  float* dcs = typed_data<float>(env, info[12], cs_len, "dcs");
  const float* c = typed_data<float>(env, info[9], H, "c");
  const float* dc = typed_data<float>(env, info[11], H, "dc");
  std::vector<float> tc(H);
  rnn::tanh_copy(tc.data(), c, u.H);
  if (u.cell == rnn::TreeCell::NaryLstm) {
    float* dxg = typed_data<float>(env, info[5], 4 * H, "dxg");
    if (u.reference) rnn::reference::nary_lstm_backward(g, dxg, cs, u.kpos.data(), u.M, c, dh, dc, dcs, u.H, u.K);
    else rnn::nary_lstm_backward(g, dxg, cs, u.kpos.data(), u.M, tc.data(), dh, dc, dcs, u.H, u.K);
  } else {
    float* fk = typed_data<float>(env, info[6], static_cast<size_t>(u.M) * H, "fk");
    if (u.reference) rnn::reference::child_sum_backward(g, fk, cs, u.kpos.data(), u.M, c, dh, dc, dcs, u.H);
    else rnn::child_sum_backward(g, fk, cs, u.kpos.data(), u.M, tc.data(), dh, dc, dcs, u.H);
  }
  return env.Undefined();
}

}  // namespace

void register_trees(Napi::Env env, Napi::Object exports) {
  exports.Set("TreePlan", TreePlanWrap::Define(env));
  const struct {
    const char* name;
    Napi::Value (*fn)(const Napi::CallbackInfo&);
  } entries[] = {
      {"treeForward", TreeForward},           {"treeBackward", TreeBackward},
      {"treeRelease", TreeRelease},           {"treeUnitsForward", TreeUnitsForward},
      {"treeUnitsBackward", TreeUnitsBackward},
  };
  for (const auto& e : entries) exports.Set(e.name, Napi::Function::New(env, e.fn, e.name));
}

}  // namespace binding
