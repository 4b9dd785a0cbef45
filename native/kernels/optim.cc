#include "optim.h"

#include <cmath>

#include "clones.h"

namespace rnn {

RNN_CLONES void sgd_step(float* param, const float* grad, float* buf, size_t n, const SgdHyper& h) {
  const float lr = static_cast<float>(h.lr), wd = static_cast<float>(h.weight_decay);
  const float mom = static_cast<float>(h.momentum), damp = static_cast<float>(1.0 - h.dampening);
  for (size_t i = 0; i < n; ++i) {
    float d = h.maximize ? -grad[i] : grad[i];
    if (h.weight_decay != 0) d = d + wd * param[i];
    if (h.momentum != 0) {
      buf[i] = h.first_step ? d : buf[i] * mom + damp * d;
      d = h.nesterov ? d + mom * buf[i] : buf[i];
    }
    param[i] = param[i] - lr * d;
  }
}

namespace {

// The common Adam/AdamW case (no amsgrad, no L2-coupled weight decay) without branches in
// the loop, so that it vectorises: `sign` is ±1 (maximize) and `decay` is 1 unless the
// decay is decoupled; both multiply exactly, so the arithmetic is the general loop's.
RNN_CLONES void adam_plain(float* __restrict param, const float* __restrict grad, float* __restrict m,
                           float* __restrict v, size_t n, float sign, float decay, float b1, float one_b1,
                           float b2, float one_b2, float bc2_sqrt, float eps, float step_size) {
  for (size_t i = 0; i < n; ++i) {
    const float g = sign * grad[i];
    const float p = param[i] * decay;
    const float mi = m[i] * b1 + one_b1 * g;
    const float vi = v[i] * b2 + one_b2 * (g * g);
    m[i] = mi;
    v[i] = vi;
    param[i] = p - step_size * (mi / (std::sqrt(vi) / bc2_sqrt + eps));
  }
}

}  // namespace

void adam_step(float* param, const float* grad, float* m, float* v, float* vmax, size_t n,
               const AdamHyper& h) {
  const double bc1 = 1.0 - std::pow(h.beta1, static_cast<double>(h.step));
  const double bc2 = 1.0 - std::pow(h.beta2, static_cast<double>(h.step));
  const float step_size = static_cast<float>(h.lr / bc1);
  const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  const float b1 = static_cast<float>(h.beta1), b2 = static_cast<float>(h.beta2);
  const float one_b1 = static_cast<float>(1.0 - h.beta1), one_b2 = static_cast<float>(1.0 - h.beta2);
  const float eps = static_cast<float>(h.eps), wd = static_cast<float>(h.weight_decay);
  const float decay = static_cast<float>(1.0 - h.lr * h.weight_decay);
  if (!h.amsgrad && (h.decoupled || h.weight_decay == 0)) {
    adam_plain(param, grad, m, v, n, h.maximize ? -1.0f : 1.0f, h.decoupled ? decay : 1.0f, b1, one_b1, b2,
               one_b2, bc2_sqrt, eps, step_size);
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    float g = h.maximize ? -grad[i] : grad[i];
    if (h.decoupled) param[i] = param[i] * decay;
    else if (h.weight_decay != 0) g = g + wd * param[i];
    m[i] = m[i] * b1 + one_b1 * g;
    v[i] = v[i] * b2 + one_b2 * (g * g);
    float denom;
    if (h.amsgrad) {
      vmax[i] = vmax[i] > v[i] ? vmax[i] : v[i];
      denom = std::sqrt(vmax[i]) / bc2_sqrt + eps;
    } else {
      denom = std::sqrt(v[i]) / bc2_sqrt + eps;
    }
    param[i] = param[i] - step_size * (m[i] / denom);
  }
}

RNN_CLONES void rmsprop_step(float* param, const float* grad, float* sq, float* buf, float* gavg, size_t n,
                  const RmspropHyper& h) {
  const float lr = static_cast<float>(h.lr), a = static_cast<float>(h.alpha);
  const float one_a = static_cast<float>(1.0 - h.alpha), eps = static_cast<float>(h.eps);
  const float wd = static_cast<float>(h.weight_decay), mom = static_cast<float>(h.momentum);
  for (size_t i = 0; i < n; ++i) {
    float g = h.maximize ? -grad[i] : grad[i];
    if (h.weight_decay != 0) g = g + wd * param[i];
    sq[i] = sq[i] * a + one_a * (g * g);
    float avg;
    if (h.centered) {
      gavg[i] = gavg[i] * a + one_a * g;
      avg = std::sqrt(sq[i] - gavg[i] * gavg[i]);
    } else {
      avg = std::sqrt(sq[i]);
    }
    avg = avg + eps;
    if (h.momentum > 0) {
      buf[i] = buf[i] * mom + g / avg;
      param[i] = param[i] - lr * buf[i];
    } else {
      param[i] = param[i] - lr * (g / avg);
    }
  }
}

RNN_CLONES void adagrad_step(float* param, const float* grad, float* sum, size_t n, const AdagradHyper& h) {
  const float clr = static_cast<float>(h.lr / (1.0 + static_cast<double>(h.step - 1) * h.lr_decay));
  const float eps = static_cast<float>(h.eps), wd = static_cast<float>(h.weight_decay);
  for (size_t i = 0; i < n; ++i) {
    float g = h.maximize ? -grad[i] : grad[i];
    if (h.weight_decay != 0) g = g + wd * param[i];
    sum[i] = sum[i] + g * g;
    const float std_ = std::sqrt(sum[i]) + eps;
    param[i] = param[i] - clr * (g / std_);
  }
}

void max_norm_rows(float* param, size_t rows, size_t cols, double max_norm) {
  for (size_t r = 0; r < rows; ++r) {
    float* row = param + r * cols;
    double sq = 0;
    for (size_t c = 0; c < cols; ++c) sq += static_cast<double>(row[c]) * row[c];
    const double norm = std::sqrt(sq);
    if (norm > max_norm) {
      const float s = static_cast<float>(max_norm / (norm + 1e-7));
      for (size_t c = 0; c < cols; ++c) row[c] *= s;
    }
  }
}

}  // namespace rnn
