// Picking the next token from a row of logits: greedy, or sampling with temperature, top-k
// and top-p (filters in that order, as Hugging Face applies them). The uniform draw comes
// from the caller, so the generator (and a seeded request's sequence of draws) stays in the
// TypeScript layer; given the same logits and draw, a row gets the same token whatever else
// is in the batch.
#pragma once
#include <cstdint>

namespace rnn {

struct SampleSpec {
  bool greedy;         // the first index of the largest logit (no draw used)
  double temperature;  // > 0
  int top_k;           // 1..V, or 0 for all
  double top_p;        // (0, 1]; 1 keeps all
  double u;            // the draw, in [0, 1)
};

// logits (B, V) → out (B); specs (B).
void sample_rows(const float* logits, int B, int V, const SampleSpec* specs, int32_t* out);

}  // namespace rnn
