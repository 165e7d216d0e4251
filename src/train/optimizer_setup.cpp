// optimizer_setup.cpp — AdamW parameter groups and the LR schedule (see optimizer_setup.h).
#include "sea/train/optimizer_setup.h"

#include <cmath>

#include "sea/util/error.h"

namespace sea::train {

OptimizerSetup make_optimizer(models::ModelImpl& model, const TrainOptions& o) {
  SEA_CHECK(o.lr_low_factor > 0, "make_optimizer: resolve the run config first (lr_low_factor = ", o.lr_low_factor, ")");
  struct Bucket {
    ParamGroupInfo info;
    double decay;
    std::vector<torch::Tensor> params;
  };
  Bucket buckets[4] = {{{"pretrained", o.lr * o.lr_low_factor}, o.weight_decay, {}},
                       {{"pretrained/no_decay", o.lr * o.lr_low_factor}, 0.0, {}},
                       {{"attention", o.lr * o.lr_high_factor}, o.weight_decay, {}},
                       {{"attention/no_decay", o.lr * o.lr_high_factor}, 0.0, {}}};
  for (const auto& item : model.named_parameters(/*recurse=*/true)) {
    const torch::Tensor& p = item.value();
    if (!p.requires_grad()) continue;
    const bool method = item.key().find(".method.") != std::string::npos || item.key().rfind("method.", 0) == 0;
    const bool no_decay = p.dim() < 2;
    Bucket& b = buckets[(method ? 2 : 0) + (no_decay ? 1 : 0)];
    b.params.push_back(p);
    b.info.tensors += 1;
    b.info.elements += p.numel();
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  OptimizerSetup setup;
  for (auto& b : buckets) {
    if (b.params.empty()) continue;
    auto opts = std::make_unique<torch::optim::AdamWOptions>(b.info.base_lr);
    opts->betas({0.9, 0.999}).eps(1e-8).weight_decay(b.decay);
    groups.emplace_back(b.params, std::move(opts));
    setup.groups.push_back(b.info);
  }
  SEA_CHECK(!groups.empty(), "make_optimizer: the model has no trainable parameters");
  setup.optimizer = std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(o.lr));
  return setup;
}

double lr_factor(const TrainOptions& o, int64_t step, int64_t total) {
  if (o.warmup_steps > 0 && step < o.warmup_steps) return static_cast<double>(step + 1) / o.warmup_steps;
  if (o.schedule == "constant") return 1.0;
  const int64_t span = std::max<int64_t>(1, total - o.warmup_steps - 1);
  const double progress = std::min(1.0, static_cast<double>(step - o.warmup_steps) / span);
  return o.min_lr_ratio + (1.0 - o.min_lr_ratio) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

void apply_lr(OptimizerSetup& setup, double factor) {
  auto& groups = setup.optimizer->param_groups();
  for (size_t i = 0; i < groups.size(); ++i) {
    static_cast<torch::optim::AdamWOptions&>(groups[i].options()).lr(setup.groups[i].base_lr * factor);
  }
}

}  // namespace sea::train
