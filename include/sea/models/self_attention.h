// self_attention.h — the block both model families share around the Attention interface: q/k/v projections,
// head split, the attention method (registry.h), head merge, output projection.
//
// State-dict names: q_proj, k_proj, v_proj, out_proj (as HF OPT), method.* (the method's own parameters).
#pragma once

#include <torch/nn/modules/linear.h>

#include "sea/attention/registry.h"

namespace sea::models {

struct SelfAttentionOptions {
  int64_t hidden_size = 0;
  int64_t num_heads = 0;
  bool bias = true;
  // OPT multiplies q by D^-1/2 right after q_proj (HF convention, kept so Performer features see the same q
  // as the reference); BERT leaves q raw and lets the scores carry the scale.
  bool prescale_q = false;
  bool causal = false;
  int64_t max_positions = 0;
  int64_t layer_index = 0;  // position in the layer stack
  double attention_dropout = 0.0;
  attention::AttentionConfig attention;
};

// What a dense teacher's layer hands its student (SEA_SPEC.md §3.1), computed from the block's input.
struct DenseTeacherSignals {
  torch::Tensor scores;   // (N, H, T, T) fp32 q·kᵀ·scale, before any mask (the student's loss applies its own)
  torch::Tensor context;  // (N, H, T, D) the method's output before the head merge and out_proj
};

struct SelfAttentionResult {
  torch::Tensor hidden;  // (N, T, E) after out_proj
  attention::AttentionOutputs attention;
};

class SelfAttentionImpl : public torch::nn::Module {
 public:
  explicit SelfAttentionImpl(const SelfAttentionOptions& options);

  // x: (N, T, E); key_padding_mask: (N, T) bool or undefined.
  SelfAttentionResult forward(const torch::Tensor& x, const torch::Tensor& key_padding_mask,
                              const attention::TeacherSignals& teacher, bool return_artefacts);

  // Recomputes this block's teacher signals for input x (N, T, E), without gradients. Either part can be
  // skipped (want_scores / want_context) so that a lazy teacher builds only the T×T tensor it is asked for.
  DenseTeacherSignals teacher_signals(const torch::Tensor& x, const torch::Tensor& key_padding_mask,
                                      bool want_scores, bool want_context);

  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};
  attention::AttentionMethod method;

 private:
  // q, k, v as the method receives them: (N, H, T, D) each, q pre-scaled when options_.prescale_q.
  attention::AttentionInputs project(const torch::Tensor& x, const torch::Tensor& key_padding_mask);
  SelfAttentionOptions options_;
};
TORCH_MODULE(SelfAttention);

}  // namespace sea::models
