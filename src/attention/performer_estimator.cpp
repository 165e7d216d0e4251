// performer_estimator.cpp — projection buffer, redraws and the FAVOR+ call (see performer_estimator.h).
#include "sea/attention/performer_estimator.h"

#include "sea/ops/precision.h"

#include <ATen/ATen.h>

#include <cmath>

#include "sea/data/seeded_shuffle.h"

namespace sea::attention {

PerformerEstimatorOptions PerformerEstimatorOptions::read(JsonReader& r) {
  PerformerEstimatorOptions o;
  o.nb_feature_factor = r.get_or<double>("nb_feature_factor", o.nb_feature_factor);
  o.redraw_interval = r.get_or<int64_t>("redraw_interval", o.redraw_interval);
  o.seed = r.get_or<int64_t>("seed", o.seed);
  o.chunk_size = r.get_or<int64_t>("performer_chunk_size", o.chunk_size);
  o.kernels = ops::parse_backend(r.get_or<std::string>("kernels", "auto"), r.where());
  SEA_CHECK(o.nb_feature_factor > 0, r.where(), ": nb_feature_factor must be > 0, got ", o.nb_feature_factor);
  SEA_CHECK(o.redraw_interval >= 0, r.where(), ": redraw_interval must be >= 0 (0 = never), got ", o.redraw_interval);
  SEA_CHECK(o.seed >= 0, r.where(), ": seed must be >= 0, got ", o.seed);
  SEA_CHECK(o.chunk_size > 0, r.where(), ": performer_chunk_size must be > 0, got ", o.chunk_size);
  return o;
}

void PerformerEstimatorOptions::write(json& out) const {
  out["nb_feature_factor"] = nb_feature_factor;
  out["redraw_interval"] = redraw_interval;
  out["seed"] = seed;
  out["performer_chunk_size"] = chunk_size;
  out["kernels"] = ops::to_string(kernels);
}

PerformerEstimatorImpl::PerformerEstimatorImpl(const PerformerEstimatorOptions& options, int64_t head_dim,
                                               int64_t layer_index)
    : options_(options), head_dim_(head_dim), layer_index_(layer_index) {
  projection_matrix = register_buffer("projection_matrix", draw(0));
  draws = register_buffer("draws", at::ones({}, at::kLong));
  steps_since_redraw = register_buffer("steps_since_redraw", at::zeros({}, at::kLong));
}

at::Tensor PerformerEstimatorImpl::draw(int64_t index) const {
  const int64_t m = ops::performer_num_features(head_dim_, options_.nb_feature_factor);
  const uint64_t layer_seed = data::derive_seed(static_cast<uint64_t>(options_.seed), static_cast<uint64_t>(layer_index_));
  return ops::orthogonal_random_projection(m, head_dim_, data::derive_seed(layer_seed, static_cast<uint64_t>(index)));
}

void PerformerEstimatorImpl::redraw() {
  at::NoGradGuard no_grad;
  const int64_t index = draws.item<int64_t>();
  projection_matrix.copy_(draw(index));
  draws.fill_(index + 1);
  steps_since_redraw.zero_();
}

bool PerformerEstimatorImpl::optimizer_step() {
  if (!is_training() || options_.redraw_interval == 0) return false;
  at::NoGradGuard no_grad;
  steps_since_redraw.add_(1);
  if (steps_since_redraw.item<int64_t>() < options_.redraw_interval) return false;
  redraw();
  return true;
}

at::Tensor PerformerEstimatorImpl::forward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale,
                                           bool causal, const at::Tensor& key_valid) const {
  if (ops::autocast_active(q)) {  // the estimate is computed in fp32 even inside a bf16 autocast region
    ops::NoAutocast fp32(q.device().type());
    return forward(q.to(at::kFloat), k.to(at::kFloat), v.to(at::kFloat), scale, causal, key_valid);
  }
  if (causal) {
    return ops::performer_attention(q, k, v, projection_matrix, ops::FeatureKernel::Relu, true, key_valid,
                                    options_.chunk_size, options_.kernels);
  }
  const double rescale = scale * std::sqrt(static_cast<double>(q.size(3)));
  const at::Tensor q_raw = std::abs(rescale - 1.0) > 1e-12 ? q * rescale : q;
  return ops::performer_attention(q_raw, k, v, projection_matrix, ops::FeatureKernel::Softmax, false, key_valid,
                                  options_.chunk_size, options_.kernels);
}

}  // namespace sea::attention
