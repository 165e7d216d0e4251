// dense_attention.h — method `none`: exact softmax attention, the teacher's attention and the quality
// reference for every other method.
//
// Without artefacts requested it calls ATen's scaled_dot_product_attention (flash / memory-efficient
// kernels on CUDA); with artefacts it materialises the (N, H, T, T) probabilities, softmax in fp32 as HF.
#pragma once

#include "sea/attention/attention.h"

namespace sea::attention {

struct DenseAttentionOptions {
  double dropout = 0.0;  // attention-probability dropout, active in training mode only
};

class DenseAttentionImpl : public AttentionMethodImpl {
 public:
  explicit DenseAttentionImpl(DenseAttentionOptions options = {}) : options_(options) {}
  AttentionOutputs forward(const AttentionInputs& inputs) override;
  std::string name() const override { return "none"; }

 private:
  DenseAttentionOptions options_;
};

}  // namespace sea::attention
