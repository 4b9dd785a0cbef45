// The tree layers (kernels/tree_layer.h): treePlan, the validated level schedule of a batch of
// trees; treeSavedSize, treeForward, treeBackward; and the treeUnits* test hooks that run one
// node of the fast cell math (kernels/tree_cells.h) or its plain twin
// (kernels/tree_cells_reference.h).
//
// Nothing native outlives a call. A plan is a plain object of Int32Arrays, and what a training
// forward keeps for its backward is a Float32Array (Float64Array) the caller allocates: both
// are freed by the garbage collector like any array. (Native objects would be freed by
// N-API finalizers, which Node runs only when the event loop turns, so a synchronous loop
// of forwards that are never differentiated would pile them up.) Every call copies the plan's
// arrays and checks their bounds before a kernel reads them, so a plan that was tampered with
// gives wrong numbers at worst, never an access out of bounds.
#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "registry.h"
#include "args.h"
#include "kernels/blas.h"
#include "kernels/compute_budget.h"
#include "kernels/cells.h"
#include "kernels/tree_cells.h"
#include "kernels/tree_cells_reference.h"
#include "kernels/tree_layer.h"
#include "kernels/tree_plan.h"

namespace binding {
namespace {

Napi::Int32Array int32_array(Napi::Env env, const std::vector<int32_t>& v) {
  Napi::Int32Array a = Napi::Int32Array::New(env, v.size());
  std::copy(v.begin(), v.end(), a.Data());
  return a;
}

// treePlan(offsets Int32Array (N + 1), index Int32Array, maxChildren) -> { numNodes, numEdges,
// numLevels, maxChildren, order, levelStarts, edgeStarts, edgeChild, edgePos, level, roots }.
// A RangeError naming the node when the lists are not a forest (see kernels/tree_plan.h).
Napi::Value TreePlanCall(const Napi::CallbackInfo& info) {
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
  rnn::TreePlan plan;
  const int N = static_cast<int>(offsets_len - 1);
  const std::string error = rnn::build_tree_plan(offsets.data(), N, index.data(), static_cast<int>(E), max_children, &plan);
  if (!error.empty()) throw_range(env, error);
  Napi::Object out = Napi::Object::New(env);
  out.Set("numNodes", plan.N);
  out.Set("numEdges", plan.E);
  out.Set("numLevels", plan.L);
  out.Set("maxChildren", plan.max_children);
  out.Set("order", int32_array(env, plan.order));
  out.Set("levelStarts", int32_array(env, plan.level_start));
  out.Set("edgeStarts", int32_array(env, plan.edge_start));
  out.Set("edgeChild", int32_array(env, plan.edge_child));
  out.Set("edgePos", int32_array(env, plan.edge_pos));
  out.Set("level", int32_array(env, plan.level));
  out.Set("roots", int32_array(env, plan.roots));
  return out;
}

// A plan argument, copied and bounds-checked: what the kernels read.
struct CheckedPlan {
  std::vector<int32_t> order, level_start, edge_start, edge_child, edge_pos;
  int max_children = 0;
  rnn::TreePlanView view;
};
CheckedPlan plan_arg(Napi::Env env, const Napi::Value& v) {
  if (!v.IsObject()) throw_type(env, "plan must be the object treePlan returned");
  Napi::Object o = v.As<Napi::Object>();
  const int N = int_arg(env, o.Get("numNodes"), "plan.numNodes", 1, INT32_MAX - 1);
  const int E = int_arg(env, o.Get("numEdges"), "plan.numEdges", 0, INT32_MAX);
  const int L = int_arg(env, o.Get("numLevels"), "plan.numLevels", 1, N);
  CheckedPlan p;
  p.order = int32_copy(env, o.Get("order"), N, "plan.order");
  p.level_start = int32_copy(env, o.Get("levelStarts"), static_cast<size_t>(L) + 1, "plan.levelStarts");
  p.edge_start = int32_copy(env, o.Get("edgeStarts"), static_cast<size_t>(N) + 1, "plan.edgeStarts");
  p.edge_child = int32_copy(env, o.Get("edgeChild"), E, "plan.edgeChild");
  p.edge_pos = int32_copy(env, o.Get("edgePos"), E, "plan.edgePos");
  const auto bad = [&](const char* what) { throw_range(env, std::string("plan.") + what + " is not a valid plan (use treePlan's)"); };
  if (p.level_start[0] != 0 || p.level_start[L] != N) bad("levelStarts");
  for (int l = 0; l < L; ++l)
    if (p.level_start[l + 1] <= p.level_start[l]) bad("levelStarts");
  if (p.edge_start[0] != 0 || p.edge_start[N] != E) bad("edgeStarts");
  for (int q = 0; q < N; ++q) {
    if (p.edge_start[q + 1] < p.edge_start[q]) bad("edgeStarts");
    p.max_children = std::max(p.max_children, p.edge_start[q + 1] - p.edge_start[q]);
    if (p.order[q] < 0 || p.order[q] >= N) bad("order");
  }
  for (int e = 0; e < E; ++e) {
    if (p.edge_child[e] < -1 || p.edge_child[e] >= N) bad("edgeChild");
    if (p.edge_pos[e] < -1 || p.edge_pos[e] >= N) bad("edgePos");
  }
  p.view = rnn::TreePlanView{N, E, L, p.order.data(), p.level_start.data(), p.edge_start.data(), p.edge_child.data(),
                             p.edge_pos.data()};
  return p;
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

// (cell, I, H, K) at info[at..at+3], checked against the plan's sizes; returns the dims and the
// saved buffer's element count.
rnn::TreeDims tree_dims(Napi::Env env, const Napi::CallbackInfo& info, size_t at, int N, int E, int max_children,
                        size_t* saved) {
  rnn::TreeDims d;
  d.cell = static_cast<rnn::TreeCell>(int_arg(env, info[at], "cell", 0, rnn::kTreeCellCount - 1));
  d.I = int_arg(env, info[at + 1], "I", 1, INT32_MAX);
  d.H = int_arg(env, info[at + 2], "H", 1, INT32_MAX);
  const bool csum = d.cell == rnn::TreeCell::ChildSumLstm;
  d.K = csum ? 0 : int_arg(env, info[at + 3], "K", 1, 1 << 16);
  if (!csum && max_children > d.K)
    throw_range(env, "the plan has a node with " + std::to_string(max_children) + " children, more than K = " +
                         std::to_string(d.K));
  const size_t n = static_cast<size_t>(N), e = static_cast<size_t>(E), H = d.H;
  const size_t G = rnn::tree_gates_hh(d), GI = rnn::tree_gates_ih(d.cell), KIN = rnn::tree_hh_inputs(d);
  checked_size(env, {G, H, KIN, H}, "weight_hh");
  checked_size(env, {GI, H, static_cast<size_t>(d.I)}, "weight_ih");
  checked_size(env, {n, static_cast<size_t>(d.I)}, "x (N, I)");
  checked_size(env, {n, G, H}, "the gates (N, G * H)");
  checked_size(env, {n, GI, H}, "the input projection (N, G * H)");
  checked_size(env, {n, KIN, H}, "the children's states (N, K * H)");
  checked_size(env, {e, H}, "the child slots' states (E, H)");
  if (saved) *saved = rnn::tree_saved_size(d, n, e);
  return d;
}

// treeSavedSize(cell, N, E, I, H, K) -> the elements a training forward keeps.
Napi::Value TreeSavedSize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int N = int_arg(env, info[1], "N", 1, INT32_MAX - 1);
  const int E = int_arg(env, info[2], "E", 0, INT32_MAX);
  rnn::TreeDims d;
  d.cell = static_cast<rnn::TreeCell>(int_arg(env, info[0], "cell", 0, rnn::kTreeCellCount - 1));
  d.I = int_arg(env, info[3], "I", 1, INT32_MAX);
  d.H = int_arg(env, info[4], "H", 1, INT32_MAX);
  d.K = d.cell == rnn::TreeCell::ChildSumLstm ? 0 : int_arg(env, info[5], "K", 1, 1 << 16);
  return Napi::Number::New(env, static_cast<double>(rnn::tree_saved_size(d, static_cast<size_t>(N), static_cast<size_t>(E))));
}

// treeForward(plan, cell, I, H, K, x, weights, leafH|null, leafC|null, h, c|null, saved|null):
// saved (treeSavedSize elements) receives what backward needs; null in eval (a scratch is used).
template <typename F>
struct TreeForwardImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const CheckedPlan plan = plan_arg(env, info[0]);
    const int N = plan.view.N;
    size_t saved_size = 0;
    const rnn::TreeDims d = tree_dims(env, info, 1, N, plan.view.E, plan.max_children, &saved_size);
    const bool lstm = rnn::tree_is_lstm(d.cell);
    const size_t NH = static_cast<size_t>(N) * d.H;
    const F* x = typed_data<F>(env, info[5], static_cast<size_t>(N) * d.I, "x");
    const F* p[4];
    tree_params<F, const F*>(env, info[6], d, false, p, "weights");
    const F* leaf_h = optional_typed_data<F>(env, info[7], NH, "leafH");
    const F* leaf_c = optional_typed_data<F>(env, info[8], NH, "leafC");
    if (leaf_c && !lstm) throw_range(env, "leafC is only for the TreeLSTMs");
    if (leaf_c && !leaf_h) throw_range(env, "leafC needs leafH");
    F* h = typed_data<F>(env, info[9], NH, "h");
    F* c = lstm ? typed_data<F>(env, info[10], NH, "c") : nullptr;
    F* saved = optional_typed_data<F>(env, info[11], saved_size, "saved");
    std::vector<F> scratch;
    if (!saved) {
      scratch.resize(saved_size);
      saved = scratch.data();
    }
    rnn::ComputeScope scope;
    rnn::tree_forward(d, plan.view, rnn::LayerWeights<F>{p[0], p[1], p[2], p[3]}, x, leaf_h, leaf_c, h, c, saved);
    return env.Undefined();
  }
};
RNN_DTYPE_ENTRY(TreeForward, 5, "x")

// treeBackward(plan, cell, I, H, K, weights, grads, saved, leaf, dh|null, dc|null, dx|null,
//              dLeafH|null, dLeafC|null): saved is what the forward wrote (consumed: overwritten).
template <typename F>
struct TreeBackwardImpl {
  static Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const CheckedPlan plan = plan_arg(env, info[0]);
    const int N = plan.view.N;
    size_t saved_size = 0;
    const rnn::TreeDims d = tree_dims(env, info, 1, N, plan.view.E, plan.max_children, &saved_size);
    const bool lstm = rnn::tree_is_lstm(d.cell);
    const size_t NH = static_cast<size_t>(N) * d.H;
    const F* p[4];
    tree_params<F, const F*>(env, info[5], d, false, p, "weights");
    F* gp[4];
    tree_params<F, F*>(env, info[6], d, true, gp, "grads");
    F* saved = typed_data<F>(env, info[7], saved_size, "saved");
    const bool leaf = bool_arg(env, info[8], "leaf");
    const F* dh = optional_typed_data<F>(env, info[9], NH, "dh");
    const F* dc = lstm ? optional_typed_data<F>(env, info[10], NH, "dc") : nullptr;
    F* dx = optional_typed_data<F>(env, info[11], static_cast<size_t>(N) * d.I, "dx");
    F* dleaf_h = optional_typed_data<F>(env, info[12], NH, "dLeafH");
    F* dleaf_c = lstm ? optional_typed_data<F>(env, info[13], NH, "dLeafC") : nullptr;
    if ((dleaf_h || dleaf_c) && !leaf) throw_range(env, "treeBackward: dLeafH and dLeafC are for a forward that took leaf states");
    rnn::ComputeScope scope;
    rnn::tree_backward(d, plan.view, rnn::LayerWeights<F>{p[0], p[1], p[2], p[3]},
                       rnn::LayerGrads<F>{gp[0], gp[1], gp[2], gp[3]}, leaf, saved, dh, dc, dx, dleaf_h, dleaf_c);
    return env.Undefined();
  }
};
RNN_DTYPE_ENTRY(TreeBackward, 7, "saved")

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
  const struct {
    const char* name;
    Napi::Value (*fn)(const Napi::CallbackInfo&);
  } entries[] = {
      {"treePlan", TreePlanCall},       {"treeSavedSize", TreeSavedSize},         {"treeForward", TreeForward},
      {"treeBackward", TreeBackward},   {"treeUnitsForward", TreeUnitsForward},   {"treeUnitsBackward", TreeUnitsBackward},
  };
  for (const auto& e : entries) exports.Set(e.name, Napi::Function::New(env, e.fn, e.name));
}

}  // namespace binding
