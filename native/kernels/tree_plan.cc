#include "tree_plan.h"

#include <algorithm>

namespace rnn {
namespace {

std::string node(int n) { return "node " + std::to_string(n); }

// The message for a set of nodes no level could take: with at most one parent per node,
// each of them lies on a cycle; walk it from the smallest one by parent links.
std::string cycle_message(const std::vector<int32_t>& parent, const std::vector<int32_t>& pending, int N) {
  int start = 0;
  while (start < N && pending[start] == 0) ++start;
  std::string path = std::to_string(start);
  int steps = 0;
  for (int n = parent[start]; n >= 0; n = parent[n]) {
    if (++steps > 8) {
      path += " → …";
      break;
    }
    path += " → " + std::to_string(n);
    if (n == start) break;
  }
  return "a cycle: " + node(start) + " is its own descendant (" + path + ", each node a child of the next)";
}

}  // namespace

std::string build_tree_plan(const int32_t* offsets, int N, const int32_t* index, int E, int max_children,
                            TreePlan* plan) {
  if (offsets[0] != 0) return "offsets[0] must be 0, received " + std::to_string(offsets[0]);
  int widest = 0;
  for (int n = 0; n < N; ++n) {
    const int32_t a = offsets[n], b = offsets[n + 1];
    if (b < a)
      return node(n) + ": offsets[" + std::to_string(n + 1) + "] = " + std::to_string(b) + " is less than offsets[" +
             std::to_string(n) + "] = " + std::to_string(a) + " (offsets must not decrease)";
    if (b > E)
      return node(n) + ": offsets[" + std::to_string(n + 1) + "] = " + std::to_string(b) +
             " is past the end of index (" + std::to_string(E) + " elements)";
    if (b - a > max_children)
      return node(n) + " has " + std::to_string(b - a) + " children, more than the " + std::to_string(max_children) +
             " allowed (the arity)";
    widest = std::max(widest, b - a);
  }
  if (offsets[N] != E)
    return "offsets[" + std::to_string(N) + "] = " + std::to_string(offsets[N]) + " must equal index.length = " +
           std::to_string(E);

  // Parents, and how many (non-empty) children each node waits for.
  std::vector<int32_t> parent(N, -1), pending(N, 0), slot_of(N, -1);
  for (int n = 0; n < N; ++n) {
    for (int e = offsets[n]; e < offsets[n + 1]; ++e) {
      const int32_t c = index[e];
      if (c == -1) continue;
      if (c < 0 || c >= N)
        return node(n) + ": child index " + std::to_string(c) + " (index[" + std::to_string(e) +
               "]) is out of range: node ids are 0.." + std::to_string(N - 1) + ", and -1 marks an empty position";
      if (c == n) return "a cycle: " + node(n) + " is its own child (index[" + std::to_string(e) + "])";
      if (parent[c] == n)
        return node(c) + " is listed twice as a child of " + node(n) + " (index[" + std::to_string(slot_of[c]) +
               "] and index[" + std::to_string(e) + "])";
      if (parent[c] >= 0)
        return node(c) + " is a child of two parents, " + node(parent[c]) + " (index[" + std::to_string(slot_of[c]) +
               "]) and " + node(n) + " (index[" + std::to_string(e) + "])";
      parent[c] = n;
      slot_of[c] = e;
      ++pending[n];
    }
  }

  // Levels, bottom up: a node joins the level after the one its last child was in.
  plan->N = N;
  plan->E = E;
  plan->max_children = widest;
  plan->order.clear();
  plan->order.reserve(N);
  plan->level_start.assign(1, 0);
  plan->level.assign(N, 0);
  for (int n = 0; n < N; ++n)
    if (pending[n] == 0) plan->order.push_back(n);
  size_t begin = 0;
  while (begin < plan->order.size()) {
    const size_t end = plan->order.size();
    const int l = static_cast<int>(plan->level_start.size()) - 1;
    for (size_t p = begin; p < end; ++p) {
      const int n = plan->order[p];
      plan->level[n] = l;
      const int up = parent[n];
      if (up >= 0 && --pending[up] == 0) plan->order.push_back(up);
    }
    plan->level_start.push_back(static_cast<int32_t>(end));
    begin = end;
  }
  if (static_cast<int>(plan->order.size()) != N) return cycle_message(parent, pending, N);
  plan->L = static_cast<int>(plan->level_start.size()) - 1;

  // Child slots by position.
  plan->edge_start.resize(static_cast<size_t>(N) + 1);
  plan->edge_child.resize(static_cast<size_t>(E));
  int32_t at = 0;
  for (int p = 0; p < N; ++p) {
    const int n = plan->order[p];
    plan->edge_start[p] = at;
    for (int e = offsets[n]; e < offsets[n + 1]; ++e) plan->edge_child[at++] = index[e];
  }
  plan->edge_start[N] = at;
  std::vector<int32_t> position(N);
  for (int q = 0; q < N; ++q) position[plan->order[q]] = q;
  plan->edge_pos.resize(static_cast<size_t>(E));
  for (int e = 0; e < E; ++e) plan->edge_pos[e] = plan->edge_child[e] < 0 ? -1 : position[plan->edge_child[e]];
  plan->roots.clear();
  for (int n = 0; n < N; ++n)
    if (parent[n] < 0) plan->roots.push_back(n);
  return "";
}

}  // namespace rnn
