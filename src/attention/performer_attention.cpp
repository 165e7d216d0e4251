// performer_attention.cpp — method `performer` (see performer_attention.h).
#include "sea/attention/performer_attention.h"

#include <ATen/ATen.h>

#include "sea/attention/attention_mask.h"

namespace sea::attention {

PerformerAttentionImpl::PerformerAttentionImpl(const PerformerEstimatorOptions& options, const LayerShape& shape) {
  performer = register_module("performer", PerformerEstimator(options, shape.head_dim, shape.layer_index));
}

AttentionOutputs PerformerAttentionImpl::forward(const AttentionInputs& in) {
  check_qkv(in.q, in.k, in.v, in.key_padding_mask, "performer");
  // Padded keys drop out inside the estimator (their features are zeroed), so v needs no masking here.
  AttentionOutputs out;
  out.context = performer->forward(in.q, in.k, in.v, in.scale, in.causal, in.key_padding_mask).to(in.q.scalar_type());
  return out;
}

AttentionMethod make_performer_attention(JsonReader& options, const LayerShape& shape) {
  return std::make_shared<PerformerAttentionImpl>(PerformerEstimatorOptions::read(options), shape);
}

}  // namespace sea::attention
