// distillation_loss.cpp — the model-level loss terms of SEA's distillation (see distillation_loss.h).
#include "sea/train/distillation_loss.h"

#include <ATen/ATen.h>

#include "sea/util/error.h"

namespace sea::train {

LossWeights LossWeights::from_json(const json& section, const std::string& where) {
  JsonReader r(section, where);
  LossWeights w;
  r.ignore("_comment");
  w.task = r.get_or<double>("task", w.task);
  w.hidden = r.get_or<double>("hidden", w.hidden);
  w.logit = r.get_or<double>("logit", w.logit);
  w.attention = r.get_or<double>("attention", w.attention);
  w.task_without_teacher = r.get_or<double>("task_without_teacher", w.task_without_teacher);
  r.finish();
  for (auto [name, value] : {std::pair<const char*, double>{"task", w.task}, {"attention", w.attention},
                             {"task_without_teacher", w.task_without_teacher}}) {
    SEA_CHECK(value >= 0, where, ": loss.", name, " = ", value, " must be >= 0");
  }
  for (auto [name, value] : {std::pair<const char*, double>{"hidden", w.hidden}, {"logit", w.logit}}) {
    SEA_CHECK(value >= 0 || value == -1, where, ": loss.", name, " = ", value,
              " must be >= 0, or -1 for the model family's default");
  }
  return w;
}

json LossWeights::to_json() const {
  return {{"task", task}, {"hidden", hidden}, {"logit", logit}, {"attention", attention},
          {"task_without_teacher", task_without_teacher}};
}

LossWeights LossWeights::resolved(const std::string& family) const {
  SEA_CHECK(family == "opt" || family == "bert", "loss weights: unknown model family '", family, "'");
  LossWeights w = *this;
  if (w.hidden < 0) w.hidden = family == "opt" ? 5.0 : 10.0;
  if (w.logit < 0) w.logit = family == "opt" ? 0.2 : 0.1;
  return w;
}

at::Tensor lm_task_loss(const at::Tensor& logits, const at::Tensor& input_ids, const at::Tensor& attention_mask) {
  SEA_CHECK(logits.dim() == 3 && input_ids.dim() == 2 && logits.size(0) == input_ids.size(0) &&
                logits.size(1) == input_ids.size(1),
            "lm_task_loss: logits (N, T, V) ", logits.sizes(), " do not match input_ids (N, T) ", input_ids.sizes());
  SEA_CHECK(input_ids.size(1) >= 2, "lm_task_loss: sequences of length ", input_ids.size(1),
            " have no next-token target; use at least 2 tokens");
  const int64_t V = logits.size(2);
  at::Tensor pred = logits.slice(1, 0, -1).reshape({-1, V}).to(at::kFloat);  // (N·(T-1), V)
  at::Tensor target = input_ids.slice(1, 1).reshape({-1});                    // (N·(T-1),)
  if (attention_mask.defined()) {
    SEA_CHECK(attention_mask.sizes() == input_ids.sizes(), "lm_task_loss: attention_mask ", attention_mask.sizes(),
              " must have the shape of input_ids ", input_ids.sizes());
    at::Tensor keep = attention_mask.slice(1, 1).reshape({-1}).to(at::kBool);
    target = target.masked_fill(~keep, -100);
  }
  return at::cross_entropy_loss(pred, target, /*weight=*/{}, at::Reduction::Mean, /*ignore_index=*/-100);
}

at::Tensor classification_task_loss(const at::Tensor& logits, const at::Tensor& labels) {
  SEA_CHECK(logits.dim() == 2 && labels.dim() == 1 && logits.size(0) == labels.size(0),
            "classification_task_loss: logits (N, C) ", logits.sizes(), " do not match labels (N,) ", labels.sizes());
  if (logits.size(1) == 1) {
    return at::mse_loss(logits.squeeze(1).to(at::kFloat), labels.to(at::kFloat));
  }
  SEA_CHECK(labels.scalar_type() == at::kLong, "classification_task_loss: class labels must be int64, got ",
            labels.scalar_type());
  return at::cross_entropy_loss(logits.to(at::kFloat), labels);
}

at::Tensor hidden_state_kd(const std::vector<at::Tensor>& student, const std::vector<at::Tensor>& teacher) {
  SEA_CHECK(!student.empty() && student.size() == teacher.size(), "hidden_state_kd: the student has ",
            student.size(), " hidden states and the teacher ", teacher.size(), "; they must match (and be > 0)");
  at::Tensor sum;
  for (size_t l = 0; l < student.size(); ++l) {
    SEA_CHECK(student[l].sizes() == teacher[l].sizes(), "hidden_state_kd: hidden state ", l, " of the student ",
              student[l].sizes(), " and of the teacher ", teacher[l].sizes(), " differ in shape");
    at::Tensor term = at::mse_loss(student[l].to(at::kFloat), teacher[l].detach().to(at::kFloat));
    sum = sum.defined() ? sum + term : term;
  }
  return sum / static_cast<double>(student.size());
}

at::Tensor logit_kd(const at::Tensor& student, const at::Tensor& teacher) {
  SEA_CHECK(student.sizes() == teacher.sizes() && student.dim() >= 1, "logit_kd: student logits ", student.sizes(),
            " and teacher logits ", teacher.sizes(), " must have the same shape");
  const int64_t C = student.size(-1);
  at::Tensor s = student.reshape({-1, C}).to(at::kFloat);
  at::Tensor t = teacher.detach().reshape({-1, C}).to(at::kFloat);
  if (C == 1) return at::mse_loss(s, t);
  at::Tensor log_p_teacher = at::log_softmax(t, -1);
  at::Tensor log_p_student = at::log_softmax(s, -1);
  // Σ_c p_t (log p_t − log p_s), summed then divided by the number of rows ("batchmean").
  at::Tensor kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum();
  return kl / static_cast<double>(s.size(0));
}

LossTerms combine_losses(LossTerms terms, const LossWeights& w, bool has_teacher) {
  SEA_CHECK(w.hidden >= 0 && w.logit >= 0, "combine_losses: loss weights must be resolved first");
  auto add = [&](const at::Tensor& term, double weight) {
    if (!term.defined() || weight == 0) return;
    at::Tensor weighted = term * weight;
    terms.total = terms.total.defined() ? terms.total + weighted : weighted;
  };
  add(terms.task, has_teacher ? w.task : w.task_without_teacher);
  if (has_teacher) {
    add(terms.hidden, w.hidden);
    add(terms.logit, w.logit);
    add(terms.attention, w.attention);
  }
  SEA_CHECK(terms.total.defined(), "combine_losses: every loss term is absent or has weight 0; nothing to train");
  return terms;
}

}  // namespace sea::train
