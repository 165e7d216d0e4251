// sea_losses.h — SEA's per-layer distillation loss (SEA_SPEC.md §3.2), computed inside the attention layer
// when the teacher's signals are given:
//   L_approx = 0.1·KL(Ã ‖ softmax(Â'))  + MSE(softmax(Â'), Ã)     Â' = estimate logits spread over the keys
//   L_prob   = 0.1·KL(Ã ‖ A)            + MSE(A, Ã)                A  = the student's dense softmax
//   L_ctx    = MSE(C̃, C_sea)
// Ã is the teacher's softmax over its scores with the layer's visibility mask. KL is normalised per row over
// N·H·T rows for causal layers and by the number of valid tokens for bidirectional ones (the reference's
// balance); MSE is the mean over all entries. Everything fp32.
#pragma once

#include <ATen/core/Tensor.h>

#include "sea/attention/attention.h"
#include "sea/ops/topk_mask.h"

namespace sea::attention {

struct SeaLossTerms {
  at::Tensor approx, prob, context;  // scalars; undefined when the teacher signal they need is absent
  at::Tensor total;                  // their sum
};

// estimate_logits (N, H, T, K); student_scores (N, H, T, T) fp32 = q·kᵀ·scale (unmasked);
// context (N, H, T, D) = the layer's output before the head merge; cells = ops::dense_cells(layout, K).
SeaLossTerms sea_layer_loss(const at::Tensor& estimate_logits, const at::Tensor& student_scores,
                            const at::Tensor& context, const ops::KeyLayout& layout, const ops::DenseCells& cells,
                            const TeacherSignals& teacher);

}  // namespace sea::attention
