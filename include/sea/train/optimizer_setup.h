// optimizer_setup.h — the optimizer of SEA_SPEC.md §3.3: AdamW (β = (0.9, 0.999), eps 1e-8) over parameter
// groups, and the learning-rate schedule.
//
// Groups: attention-method parameters (names containing ".method.", i.e. SEA's estimator, the reference's
// "perlin" parameters) get lr · lr_high_factor; all other ("pretrained") parameters lr · lr_low_factor. Each is
// split again by weight decay: tensors with fewer than 2 dimensions (biases, LayerNorm weights) get none, the
// rest `weight_decay`. (The reference matched names "bias", "LayerNorm.*", "bnorm", which misses OPT's
// *_layer_norm weights; we exclude every normalisation weight, the usual rule.) Empty groups are dropped; the
// order of groups and parameters is fixed by the model's parameter order, so optimizer.pt resumes.
#pragma once

#include <torch/optim/adamw.h>

#include <memory>
#include <string>
#include <vector>

#include "sea/models/model.h"
#include "sea/train/run_config.h"

namespace sea::train {

struct ParamGroupInfo {
  std::string name;       // "pretrained", "pretrained/no_decay", "attention", "attention/no_decay"
  double base_lr = 0;     // before the schedule
  int64_t tensors = 0;
  int64_t elements = 0;
};

struct OptimizerSetup {
  std::unique_ptr<torch::optim::AdamW> optimizer;
  std::vector<ParamGroupInfo> groups;  // same order as optimizer->param_groups()
};

// Builds AdamW over every trainable parameter of `model` (options: lr, factors, weight decay; resolved).
OptimizerSetup make_optimizer(models::ModelImpl& model, const TrainOptions& options);

// The multiplier of the base learning rate before optimizer step `step` (0-based) of `total`:
//   constant: 1 (after warm-up); cosine: linear warm-up over warmup_steps, then
//   min_lr_ratio + (1 - min_lr_ratio) · ½(1 + cos(π · progress)) down to min_lr_ratio at the last step.
double lr_factor(const TrainOptions& options, int64_t step, int64_t total);

// Sets every group's lr to base_lr · factor.
void apply_lr(OptimizerSetup& setup, double factor);

}  // namespace sea::train
