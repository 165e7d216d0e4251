// distillation_loss.h — the model-level loss of SEA's distillation (SEA_SPEC.md §3.2, eq. 1 of the paper):
//
//   total = w_task · task + w_hidden · hidden_kd + w_logit · logit_kd + w_attention · attention
//
//   task       OPT: next-token cross-entropy (mean over the scored targets); BERT: cross-entropy over the
//              classes, or MSE for a regression task (STS-B)
//   hidden_kd  mean over the L+1 hidden states (embedding output + every layer's output) of
//              MSE(student, teacher), each MSE a mean over all entries (padding included, as the reference)
//   logit_kd   KL(teacher ‖ student) of the softmax over the vocabulary / classes, "batchmean" over rows
//              (every (n, t) position for OPT, every example for BERT). For regression (one output) the
//              reference's softmax over a single class is identically 1, so its KL is always 0; we use
//              MSE(student, teacher) there instead, so the term carries a signal (docs/TRAINING.md).
//   attention  the mean over layers of the attention method's per-layer loss (SEA's L_approx + L_prob +
//              L_ctx; zero for methods without one, e.g. the baselines)
//
// Everything is computed in fp32 whatever the model's precision. Default weights (the reference's):
//   task 0.1; hidden 5 (OPT) / 10 (BERT); logit 0.2 (OPT) / 0.1 (BERT); attention 1.
// Without a teacher (dense training) only the task term exists and its weight is `task_without_teacher` (1).
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "sea/util/json_config.h"

namespace sea::train {

struct LossWeights {
  double task = 0.1;
  double hidden = -1;  // < 0: the family default (5 OPT, 10 BERT)
  double logit = -1;   // < 0: the family default (0.2 OPT, 0.1 BERT)
  double attention = 1.0;
  double task_without_teacher = 1.0;

  // Strict ("loss" section of a run config).
  static LossWeights from_json(const json& section, const std::string& where);
  json to_json() const;
  // A copy with the family defaults filled in; family is "opt" or "bert".
  LossWeights resolved(const std::string& family) const;
};

// The separate terms (fp32 scalars) and their weighted sum. Terms that do not apply stay undefined.
struct LossTerms {
  at::Tensor task, hidden, logit, attention;
  at::Tensor total;
};

// Mean next-token cross-entropy: logits (N, T, V) at position t predict input_ids[:, t+1]; targets whose
// attention_mask is 0 (padding) are skipped. attention_mask: (N, T) or undefined (no padding).
at::Tensor lm_task_loss(const at::Tensor& logits, const at::Tensor& input_ids, const at::Tensor& attention_mask);

// logits (N, C); labels (N,) int64 class ids (C > 1, cross-entropy) or float scores (C == 1, MSE).
at::Tensor classification_task_loss(const at::Tensor& logits, const at::Tensor& labels);

// Mean over layers of MSE(student[l], teacher[l]); both lists (N, T, E) of the same length and shapes.
at::Tensor hidden_state_kd(const std::vector<at::Tensor>& student, const std::vector<at::Tensor>& teacher);

// KL(softmax(teacher) ‖ softmax(student)) summed over the last dim, averaged over all other positions.
// student, teacher: (..., C). For C == 1 (regression): MSE(student, teacher).
at::Tensor logit_kd(const at::Tensor& student, const at::Tensor& teacher);

// Weighted sum of the defined terms (weights already resolved); `has_teacher` picks the task weight.
LossTerms combine_losses(LossTerms terms, const LossWeights& weights, bool has_teacher);

}  // namespace sea::train
