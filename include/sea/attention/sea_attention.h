// sea_attention.h — method `perlin`: SEA, sparse attention with an estimated attention mask (SEA_SPEC.md §2).
//
// One forward, for q, k, v (N, H, T, D):
//   1. V_cat = [V_I ; V] (N, H, T, 2D): V_I is a learned positional table (causal) or the D×D identity
//      stretched over each sample's valid tokens (bidirectional).
//   2. Performer estimate C_perf = FAVOR+(q, k, V_cat) (performer_estimator.h), fp32.
//   3. Encoder Z = GELU(LN(Linear(3D→2D)([C_perf ; V]))); row decoder Linear(2D → c_h·K/c_s) with the
//      channel split to (N, H·c_h, T, K/c_s); CNN decoder (sea_decoder.h) to logits (N, H, T, K);
//      Â = softmax over K. A scalar head gives s_prob and s_mix per (n, h, t).
//   4. Grouped top-k over Â and the key mapping (ops/topk_mask.h): kept cells -> kept keys.
//   5. Sparse attention with probabilities scaled by s_prob (ops/sparse_attention.h).
//   6. Mix: C = s_mix·C_sparse + (1 − s_mix)·C_avg, C_avg = running mean of V (causal) or the Â-weighted
//      mean of V (bidirectional); optional 'norm' output LN_E(C) + C.
//   7. With teacher signals: the per-layer loss L_approx + L_prob + L_ctx (SEA_SPEC.md §3.2).
//
// Execution paths (option `path`): "dense" emulates the sparse attention with T×T masks (the oracle, and what
// training uses: the losses need the T×T student scores); "sparse" never builds a T×T tensor (memory linear
// in T); "auto" (default) takes dense in training mode or when teacher signals are given, sparse otherwise.
// Both use one discretisation (topk_mask.h) and give the same output.
//
// Options (configs/methods/perlin.json; docs/ATTENTION.md):
//   k (64)                      keys per query and head the mask aims at; change it any time (dynamic k)
//   predictor_length (128)      K, width of the compressed estimate; multiple of 4 (causal) or 2
//   k_flatten_dim ("causal_batch")  query | head | batch | causal_batch (head/batch not for causal layers)
//   k_oversample (1.0)          select k_oversample× more cells, then thin keys back to ≈ k
//   context_output_method ("mix")   mix | norm
//   partial_attention_scaler (true) multiply the sparse probabilities by s_prob
//   path ("auto"), query_chunk (128)  sparse-path rows per chunk
//   causal_inner_channels (2)   c_h of the causal decoder
//   nb_feature_factor (8), redraw_interval (1000), seed (42), performer_chunk_size (128): the estimator's
//   kernels ("auto")            auto | reference | cuda: CUDA kernels or ATen references for all three
//                               operators (ops/backend.h)
//
// State-dict names under the layer's method.: performer.*, v_eye_learned_causal (causal only),
// attention_predictor_enc.{0,1}, attention_predictor_dec_row.0, attention_predictor_dec_scaler.0,
// attention_predictor_cnn.*, norm_partial (only with context_output_method 'norm').
#pragma once

#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/normalization.h>

#include "sea/attention/attention.h"
#include "sea/attention/performer_estimator.h"
#include "sea/attention/registry.h"
#include "sea/attention/sea_decoder.h"
#include "sea/ops/topk_mask.h"

namespace sea::attention {

enum class SeaPath { Auto, Dense, Sparse };

struct SeaAttentionOptions {
  double k = 64;
  int64_t predictor_length = 128;
  ops::KFlattenDim k_flatten_dim = ops::KFlattenDim::CausalBatch;
  double k_oversample = 1.0;
  bool norm_output = false;  // context_output_method 'norm' (else 'mix')
  bool partial_attention_scaler = true;
  SeaPath path = SeaPath::Auto;
  int64_t query_chunk = 128;
  int64_t causal_inner_channels = 2;
  PerformerEstimatorOptions performer;

  static SeaAttentionOptions read(JsonReader& options);
  json to_json() const;
};

class SeaAttentionImpl : public AttentionMethodImpl {
 public:
  SeaAttentionImpl(const SeaAttentionOptions& options, const LayerShape& shape);
  AttentionOutputs forward(const AttentionInputs& inputs) override;
  std::string name() const override { return "perlin"; }
  bool on_optimizer_step() override { return performer->optimizer_step(); }
  bool uses_teacher_signals() const override { return true; }

  // The steps of forward(), public so that sea-bench can time each alone. All take the layer's inputs.
  struct Estimate {
    at::Tensor estimate;  // Â (N, H, T, K): softmax over K of the logits, zero on padded rows, fp32
    at::Tensor logits;    // (N, H, T, K)
    at::Tensor s_prob;    // (N, H, T): the probability scaler σ(scales[..., 0])
    at::Tensor s_mix;     // (N, H, T, 1): the mixing weight σ(scales[..., 1])
  };
  ops::KeyLayout key_layout(const AttentionInputs& in) const;
  at::Tensor masked_values(const AttentionInputs& in, const ops::KeyLayout& layout) const;  // v, padded rows 0
  // Steps 1-2: the Performer estimate of [V_I ; V] (N, H, T, 2D), in q's dtype. v = masked_values(in, layout).
  at::Tensor performer_step(const AttentionInputs& in, const ops::KeyLayout& layout, const at::Tensor& v) const;
  // Step 3: encoder, row decoder, CNN decoder, softmax; the scalers.
  Estimate predictor_step(const AttentionInputs& in, const ops::KeyLayout& layout, const at::Tensor& v,
                          const at::Tensor& c_perf);
  // Step 4: the kept cells as a bitset (N, H, T, ceil(K/32)) int32 (ops/topk_mask.h). Step 5 is
  // ops::sparse_attention (or the dense emulation in training).
  at::Tensor mask_step(const at::Tensor& estimate, const ops::KeyLayout& layout) const;

  // Dynamic k and path: take effect at the next forward, no retraining.
  void set_k(double k);
  double k() const { return options_.k; }
  void set_path(SeaPath path) { options_.path = path; }
  const SeaAttentionOptions& options() const { return options_; }

  PerformerEstimator performer{nullptr};
  torch::Tensor v_eye_learned_causal;  // (1, 1, max_positions, D), causal layers only
  torch::nn::Sequential attention_predictor_enc{nullptr}, attention_predictor_dec_row{nullptr},
      attention_predictor_dec_scaler{nullptr};
  CausalMaskDecoder causal_decoder{nullptr};
  BidirectionalMaskDecoder bidirectional_decoder{nullptr};
  torch::nn::LayerNorm norm_partial{nullptr};

 private:
  at::Tensor encode(const at::Tensor& x) const;  // attention_predictor_enc: (N, H, T, 3D) -> (N, H, T, 2D)

  SeaAttentionOptions options_;
  LayerShape shape_;
  int64_t split_channels_, split_width_;  // c_h and K / c_s
};

AttentionMethod make_sea_attention(JsonReader& options, const LayerShape& shape);

// Sets k on every SEA layer inside `root` (dynamic k); returns how many layers changed.
int64_t set_sea_k(torch::nn::Module& root, double k);

}  // namespace sea::attention
