// performer_estimator.h — one layer's FAVOR+ estimator: its random projection (a buffer, so checkpoints carry
// it), the redraw schedule, and the call into the ATen operator (ops/performer_estimate.h).
//
// Shared by the `performer` method (performer_attention.h) and SEA's estimate (sea_attention.h), as in the
// reference, where both use one performer_pytorch FastAttention per layer (SEA_SPEC.md §2.3).
//
// Redraws are deterministic: draw i of layer l uses the seed derive(seed, l, i), so every rank of a
// data-parallel run holds the same projection without communicating, and a resumed run continues the same
// sequence (the draw count and the steps since the last redraw are buffers too).
//
// State-dict names: projection_matrix (m, D) fp32, draws () int64, steps_since_redraw () int64.
#pragma once

#include <torch/nn/module.h>

#include "sea/ops/performer_estimate.h"
#include "sea/util/json_config.h"

namespace sea::attention {

struct PerformerEstimatorOptions {
  double nb_feature_factor = 8.0;  // m = int(D·ln D / nb_feature_factor)
  int64_t redraw_interval = 1000;  // optimizer steps (in training mode) between redraws; 0 = never
  int64_t seed = 42;               // with the layer index, fixes every draw
  int64_t chunk_size = 128;        // rows per chunk of the causal prefix sums (reference)
  ops::Backend kernels = ops::Backend::Auto;  // "kernels": auto | reference | cuda (ops/backend.h); SEA
                                              // uses it for all three of its operators

  // Reads the keys above from `options` (all optional), checking their ranges.
  static PerformerEstimatorOptions read(JsonReader& options);
  void write(json& out) const;
};

class PerformerEstimatorImpl : public torch::nn::Module {
 public:
  PerformerEstimatorImpl(const PerformerEstimatorOptions& options, int64_t head_dim, int64_t layer_index);

  // q, k (N, H, T, D); v (N, H, T, Dv); key_valid (N, T) bool or undefined -> (N, H, T, Dv) in fp32 (fp64 for
  // fp64 input). `scale` is the layer's score scale (AttentionInputs::scale). Causal layers use the ReLU
  // kernel on q as given (the reference's OPT); bidirectional layers use the softmax kernel, which assumes
  // scores q·k/√D, so a q scaled otherwise is rescaled first (OPT pre-scales q, BERT does not: both give the
  // same function of the raw q).
  at::Tensor forward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale, bool causal,
                     const at::Tensor& key_valid) const;

  // Counts one optimizer step when in training mode; redraws the projection every redraw_interval steps.
  bool optimizer_step();  // true when it redrew
  void redraw();  // draws the next projection now

  int64_t num_features() const { return projection_matrix.size(0); }
  const PerformerEstimatorOptions& options() const { return options_; }

  at::Tensor projection_matrix;   // (m, D) fp32
  at::Tensor draws;               // () int64: projections drawn so far (the initial one is draw 0)
  at::Tensor steps_since_redraw;  // () int64

 private:
  at::Tensor draw(int64_t index) const;

  PerformerEstimatorOptions options_;
  int64_t head_dim_;
  int64_t layer_index_;
};
TORCH_MODULE(PerformerEstimator);

}  // namespace sea::attention
