// performer_attention.cpp — method `performer` (see performer_attention.h).
#include "sea/attention/performer_attention.h"

#include <ATen/ATen.h>

#include <cmath>

#include "sea/attention/attention_mask.h"

namespace sea::attention {

PerformerAttentionImpl::PerformerAttentionImpl(const PerformerEstimatorOptions& options, const LayerShape& shape) {
  performer = register_module("performer", PerformerEstimator(options, shape.head_dim, shape.layer_index));
}

AttentionOutputs PerformerAttentionImpl::forward(const AttentionInputs& in) {
  check_qkv(in.q, in.k, in.v, in.key_padding_mask, "performer");
  // The feature maps assume scores q·k/√D: undo a scale other than D^-1/2 on q (OPT passes q pre-scaled
  // and scale = 1, BERT raw q and scale = D^-1/2; both give the same function of the raw q).
  const double D = static_cast<double>(in.q.size(3));
  at::Tensor q = in.q;
  const double rescale = in.scale * std::sqrt(D);
  if (std::abs(rescale - 1.0) > 1e-12 && !in.causal) q = q * rescale;
  // Causal layers use the ReLU kernel on q exactly as the model passes it (the reference's OPT behaviour).
  at::Tensor v = in.v;
  if (in.key_padding_mask.defined()) {
    v = v.masked_fill(~in.key_padding_mask.view({v.size(0), 1, v.size(2), 1}), 0.0);
  }
  const auto kernel = in.causal ? ops::FeatureKernel::Relu : ops::FeatureKernel::Softmax;
  AttentionOutputs out;
  out.context = performer->forward(q, in.k, v, kernel, in.causal, in.key_padding_mask).to(in.q.scalar_type());
  return out;
}

AttentionMethod make_performer_attention(JsonReader& options, const LayerShape& shape) {
  return std::make_shared<PerformerAttentionImpl>(PerformerEstimatorOptions::read(options), shape);
}

}  // namespace sea::attention
