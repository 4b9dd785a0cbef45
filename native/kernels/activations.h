// Scalar activations shared by the cell passes. Written so that -O3 can vectorise the
// loops that call them; std::exp/std::tanh keep PyTorch-level accuracy.
#pragma once
#include <cmath>

namespace rnn {

template <typename F>
inline F sigmoid(F x) {
  return F(1) / (F(1) + std::exp(-x));
}

template <typename F>
inline F tanh_(F x) {
  return std::tanh(x);
}

}  // namespace rnn
