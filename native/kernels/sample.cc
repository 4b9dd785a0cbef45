#include "sample.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "thread_pool.h"

namespace rnn {
namespace {

// NaN sorts last (as -inf) so that the order is a strict total one: by value, then by index
// (what a stable sort of the indices by descending value gives).
inline float key(float v) { return std::isnan(v) ? -std::numeric_limits<float>::infinity() : v; }

int sample_one(const float* logits, int V, const SampleSpec& s, std::vector<int>& order, std::vector<double>& probs) {
  if (s.greedy) {
    int best = 0;
    for (int i = 1; i < V; ++i)
      if (logits[i] > logits[best]) best = i;
    return best;
  }
  int keep = s.top_k > 0 && s.top_k < V ? s.top_k : V;
  order.resize(V);
  for (int i = 0; i < V; ++i) order[i] = i;
  const auto before = [logits](int a, int b) {
    const float ka = key(logits[a]), kb = key(logits[b]);
    return ka > kb || (ka == kb && a < b);
  };
  if (keep < V) std::partial_sort(order.begin(), order.begin() + keep, order.end(), before);
  else std::sort(order.begin(), order.end(), before);
  probs.resize(keep);
  const double max = logits[order[0]];
  double sum = 0;
  for (int r = 0; r < keep; ++r) {
    probs[r] = std::exp((static_cast<double>(logits[order[r]]) - max) / s.temperature);
    sum += probs[r];
  }
  for (int r = 0; r < keep; ++r) probs[r] /= sum;
  if (s.top_p < 1) {
    double cum = 0;
    int r = 0;
    while (r < keep) {
      cum += probs[r++];
      if (cum >= s.top_p) break;
    }
    keep = r;  // always at least one token
    sum = cum;
  } else {
    sum = 1;
  }
  double u = s.u * sum;
  for (int r = 0; r < keep; ++r) {
    u -= probs[r];
    if (u < 0) return order[r];
  }
  return order[keep - 1];
}

}  // namespace

void sample_rows(const float* logits, int B, int V, const SampleSpec* specs, int32_t* out) {
  // Rows are independent; a large vocabulary's sorts are worth the pool.
  const int min_parallel = V >= 1024 ? 2 : 64;
  parallel_ranges(B, 1, min_parallel, [&](int r0, int r1) {
    std::vector<int> order;
    std::vector<double> probs;
    for (int r = r0; r < r1; ++r) out[r] = sample_one(logits + static_cast<size_t>(r) * V, V, specs[r], order, probs);
  });
}

}  // namespace rnn
