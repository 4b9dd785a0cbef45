// Optimizer updates, torch.optim 1.13's single-tensor rules to the letter, one pass over
// contiguous buffers of n elements. Scalars that torch computes in Python (bias
// corrections, step sizes) are computed here in double and used in float, as torch does.
#pragma once
#include <cstddef>

namespace rnn {

struct SgdHyper { double lr, momentum, dampening, weight_decay; bool nesterov, maximize, first_step; };
// momentum_buf (n) is used when momentum != 0.
void sgd_step(float* param, const float* grad, float* momentum_buf, size_t n, const SgdHyper& h);

struct AdamHyper { double lr, beta1, beta2, eps, weight_decay; bool amsgrad, maximize, decoupled; long step; };
// decoupled = AdamW. exp_avg, exp_avg_sq (n); max_exp_avg_sq (n) when amsgrad. step is the
// count after this update (1 on the first).
void adam_step(float* param, const float* grad, float* exp_avg, float* exp_avg_sq,
               float* max_exp_avg_sq, size_t n, const AdamHyper& h);

struct RmspropHyper { double lr, alpha, eps, weight_decay, momentum; bool centered, maximize; };
// square_avg (n); momentum_buf (n) when momentum > 0; grad_avg (n) when centered.
void rmsprop_step(float* param, const float* grad, float* square_avg, float* momentum_buf,
                  float* grad_avg, size_t n, const RmspropHyper& h);

struct AdagradHyper { double lr, lr_decay, eps, weight_decay; bool maximize; long step; };
void adagrad_step(float* param, const float* grad, float* state_sum, size_t n, const AdagradHyper& h);

// Rescales each row of a (rows, cols) matrix whose L2 norm exceeds max_norm to
// max_norm / (norm + 1e-7) times itself (torch.renorm's rule).
void max_norm_rows(float* param, size_t rows, size_t cols, double max_norm);

}  // namespace rnn
