// performer_attention.h — method `performer`: FAVOR+ linear attention in place of softmax attention
// (SEA_SPEC.md §4 "Performer"). Bidirectional layers use the softmax-kernel features, causal layers the ReLU
// generalized kernel with chunked prefix sums, as the reference does. No parameters beyond the estimator's
// random projection (state-dict names: performer.projection_matrix, performer.draws,
// performer.steps_since_redraw).
//
// Options (configs/methods/performer.json): nb_feature_factor (8), redraw_interval (1000 optimizer steps,
// 0 = never), seed (42), performer_chunk_size (128).
#pragma once

#include "sea/attention/attention.h"
#include "sea/attention/performer_estimator.h"
#include "sea/attention/registry.h"

namespace sea::attention {

class PerformerAttentionImpl : public AttentionMethodImpl {
 public:
  PerformerAttentionImpl(const PerformerEstimatorOptions& options, const LayerShape& shape);
  AttentionOutputs forward(const AttentionInputs& inputs) override;
  std::string name() const override { return "performer"; }
  bool on_optimizer_step() override { return performer->optimizer_step(); }

  PerformerEstimator performer{nullptr};
};

// Registry factory: reads the options above from `options`.
AttentionMethod make_performer_attention(JsonReader& options, const LayerShape& shape);

}  // namespace sea::attention
