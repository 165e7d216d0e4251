// context_extension.cpp — models::extend_positions: OPT's position table and SEA's V_I tables grown for
// long-context evaluation (context_extension.h). The resizes are ATen's 1-D upsampling along positions.
#include "sea/models/context_extension.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/embedding.h>

#include "sea/attention/sea_attention.h"
#include "sea/models/opt.h"
#include "sea/util/error.h"

namespace sea::models {
namespace {
// (P, E) -> (1, E, P) in a type ATen's upsampling takes everywhere: the table's own when fp32/fp64 (so the
// result equals F.interpolate on the same table), else fp32.
at::Tensor as_signal(const at::Tensor& table) {
  const bool full = table.scalar_type() == at::kFloat || table.scalar_type() == at::kDouble;
  return table.t().unsqueeze(0).to(full ? table.scalar_type() : at::kFloat);
}
}  // namespace

at::Tensor interpolate_positions_linear(const at::Tensor& table, int64_t new_positions) {
  SEA_CHECK(table.dim() == 2 && new_positions > 0, "interpolate_positions_linear: expected a (P, E) table and a "
            "positive length, got ", table.sizes(), " and ", new_positions);
  // F.interpolate's bilinear on the (P, E) image with E unchanged is linear along P.
  return at::upsample_linear1d(as_signal(table), {new_positions}, /*align_corners=*/false).squeeze(0).t().to(
      table.dtype());
}

at::Tensor interpolate_positions_nearest(const at::Tensor& table, int64_t new_positions) {
  SEA_CHECK(table.dim() == 2 && new_positions > 0, "interpolate_positions_nearest: expected a (P, E) table and a "
            "positive length, got ", table.sizes(), " and ", new_positions);
  return at::upsample_nearest1d(as_signal(table), {new_positions}).squeeze(0).t().to(table.dtype());
}

void extend_positions(ModelImpl& model, int64_t max_positions) {
  auto* opt = dynamic_cast<OPTForCausalLMImpl*>(&model);
  SEA_CHECK(opt, "extend_positions: only OPT models can be extended to longer contexts, got a ", model.family(),
            " model");
  const int64_t current = opt->config().max_position_embeddings;
  SEA_CHECK(max_positions >= current, "extend_positions: the model already has ", current,
            " positions; asked for ", max_positions, " (only growing is supported)");
  if (max_positions == current) return;
  torch::NoGradGuard no_grad;
  opt->extend_positions(max_positions);
  for (const auto& module : model.modules(/*include_self=*/false)) {
    auto* sea = dynamic_cast<attention::SeaAttentionImpl*>(module.get());
    if (!sea || !sea->v_eye_learned_causal.defined()) continue;  // bidirectional SEA layers have no table
    at::Tensor& table = sea->v_eye_learned_causal;                // (1, 1, P, D), resized along P
    const int64_t D = table.size(3);
    table.set_data(interpolate_positions_nearest(table.view({-1, D}), max_positions).view({1, 1, max_positions, D}));
  }
}

}  // namespace sea::models
