// The schedule of a batch of trees (a forest): which nodes can be computed together.
//
// Input: N nodes, each node n's children as index[offsets[n] .. offsets[n+1]) (compressed
// lists, CSR), in order; -1 marks an empty position. Nodes may be listed in any order.
// build_tree_plan validates the lists and sorts the nodes into levels: level 0 holds every
// node without a (non-empty) child, level l + 1 every node whose children are all in levels
// 0..l and one of them in level l — so a level is exactly "all nodes whose children are
// done", and the tree layers run one gather, one GEMM and one fused pass per level.
//
// Positions: the plan lists the nodes level by level (`order`), so that a level's rows are
// one contiguous range [level_start[l], level_start[l+1]) of every position-ordered buffer,
// and its children's slots one contiguous range of `edge_child`.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace rnn {

// A plan as the layers read it: pointers to its arrays (N, E, L as in TreePlan).
struct TreePlanView {
  int N = 0, E = 0, L = 0;
  const int32_t* order = nullptr;        // (N)
  const int32_t* level_start = nullptr;  // (L + 1)
  const int32_t* edge_start = nullptr;   // (N + 1)
  const int32_t* edge_child = nullptr;   // (E)
  const int32_t* edge_pos = nullptr;     // (E)
  int leaf_end() const { return L > 1 ? level_start[1] : N; }
};

struct TreePlan {
  int N = 0;             // nodes
  int E = 0;             // child slots in all (offsets[N]), empty ones (-1) included
  int L = 0;             // levels
  int max_children = 0;  // the most slots any node has
  std::vector<int32_t> order;        // (N) the node at each position, level by level
  std::vector<int32_t> level_start;  // (L + 1) first position of each level; level_start[L] = N
  std::vector<int32_t> edge_start;   // (N + 1) by position: the node's slots in edge_child
  std::vector<int32_t> edge_child;   // (E) by position, in the node's order: child node id, or -1
  std::vector<int32_t> edge_pos;     // (E) like edge_child, but the child's position (or -1)
  std::vector<int32_t> level;        // (N) by node id: its level
  std::vector<int32_t> roots;        // node ids without a parent, ascending

  // First position of level 1: the positions [0, leaf_end()) hold the nodes without children.
  int leaf_end() const { return L > 1 ? level_start[1] : N; }

  TreePlanView view() const {
    return TreePlanView{N, E, L, order.data(), level_start.data(), edge_start.data(), edge_child.data(), edge_pos.data()};
  }
};

// Validates the children lists and fills *plan. offsets (N + 1), index (E = offsets[N]);
// max_children: the most slots a node may have (its arity; INT32_MAX for no limit).
// Returns "" on success, else a message naming the offending node (the binding throws it as
// a RangeError): a decreasing or misplaced offset, a child index out of range, a node listed
// as a child twice (under one parent or two), a cycle, more slots than max_children.
std::string build_tree_plan(const int32_t* offsets, int N, const int32_t* index, int E, int max_children,
                            TreePlan* plan);

}  // namespace rnn
