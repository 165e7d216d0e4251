// sea_losses.cpp — SEA's per-layer distillation loss (see sea_losses.h).
#include "sea/attention/sea_losses.h"

#include <ATen/ATen.h>

#include <limits>

#include "sea/ops/precision.h"
#include "sea/util/error.h"

namespace sea::attention {
namespace {
constexpr double kFpMin = -std::numeric_limits<float>::max() / 2;  // the reference's FP_MIN for fp32

// KL(p ‖ q) summed over keys and divided by `rows`; log_q finite everywhere.
at::Tensor kl(const at::Tensor& p, const at::Tensor& log_q, double rows) {
  return (at::xlogy(p, p) - p * log_q).sum() / rows;
}
}  // namespace

SeaLossTerms sea_layer_loss(const at::Tensor& estimate_logits, const at::Tensor& student_scores,
                            const at::Tensor& context, const ops::KeyLayout& layout, const ops::DenseCells& cells,
                            const TeacherSignals& teacher) {
  const int64_t N = student_scores.size(0), H = student_scores.size(1), T = student_scores.size(2);
  at::Tensor row_has_key = cells.visible.any(-1, /*keepdim=*/true);  // (N, 1, T, 1)
  const double rows = layout.causal ? static_cast<double>(N * H * T)
                                    : std::max<double>(1.0, layout.key_valid.sum().item<double>());
  auto masked_softmax = [&](const at::Tensor& scores, at::Tensor* log_probs) {
    at::Tensor s = ops::to_compute(scores).masked_fill(~cells.visible, kFpMin);
    if (log_probs) *log_probs = at::log_softmax(s, -1);
    return at::softmax(s, -1) * row_has_key;
  };

  SeaLossTerms out;
  at::Tensor log_student;
  at::Tensor student = masked_softmax(student_scores, &log_student);
  if (teacher.scores) {
    at::Tensor t_scores = teacher.scores();
    SEA_CHECK(t_scores.sizes() == student_scores.sizes(), "perlin: teacher scores must be (N, H, T, T) = ",
              student_scores.sizes(), ", got ", t_scores.sizes());
    at::Tensor target = masked_softmax(t_scores.detach().nan_to_num(0.0, kFpMin, kFpMin), nullptr);
    at::Tensor log_estimate;
    at::Tensor spread_logits = ops::spread_cells(ops::to_compute(estimate_logits), cells, kFpMin);
    at::Tensor estimate = masked_softmax(spread_logits, &log_estimate);
    out.approx = 0.1 * kl(target, log_estimate, rows) + at::mse_loss(estimate, target);
    out.prob = 0.1 * kl(target, log_student, rows) + at::mse_loss(student, target);
  }
  if (teacher.context) {
    at::Tensor t_context = teacher.context();
    SEA_CHECK(t_context.sizes() == context.sizes(), "perlin: teacher context must be (N, H, T, D) = ", context.sizes(),
              ", got ", t_context.sizes());
    out.context = at::mse_loss(ops::to_compute(context), t_context.detach().to(ops::compute_type(context)));
  }
  for (const at::Tensor* term : {&out.approx, &out.prob, &out.context}) {
    if (term->defined()) out.total = out.total.defined() ? out.total + *term : *term;
  }
  return out;
}

}  // namespace sea::attention
