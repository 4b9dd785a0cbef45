// A counter-based generator: the value at index i of stream `seed` is a pure function of
// both, so dropout masks are reproducible from a seed alone and can be drawn in parallel.
#pragma once
#include <cstdint>

namespace rnn {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Uniform in [0, 1) with 24 random bits (exactly representable in float and double).
inline double uniform_at(uint64_t seed, uint64_t index) {
  return static_cast<double>(splitmix64(seed ^ splitmix64(index)) >> 40) * (1.0 / 16777216.0);
}

}  // namespace rnn
