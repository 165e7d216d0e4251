// opt.h — OPT decoder-only causal LM (HF OPTForCausalLM), attention behind the Attention interface.
//
// Structure and parameter names follow HF's OPTDecoder minus the "model.decoder." prefix (the HF name map is
// in hf_opt_adapter.h):
//   embed_tokens, embed_positions (offset 2, positions from the padding mask), project_in?, layers.<i>.*,
//   final_layer_norm?, project_out?; the LM head reuses embed_tokens.weight unless tie_word_embeddings=false
//   (then its own lm_head_weight).
// Layers are pre-LN (do_layer_norm_before) or post-LN (opt-350m).
#pragma once

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "sea/models/model.h"
#include "sea/models/opt_config.h"
#include "sea/models/self_attention.h"

namespace sea::models {

class OPTDecoderLayerImpl : public torch::nn::Module {
 public:
  // layer_index: position in the stack (seeds per-layer random state such as Performer projections).
  OPTDecoderLayerImpl(const OPTConfig& config, int64_t layer_index);
  // x: (N, T, E) -> (N, T, E); `attention` receives the method's outputs.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& key_padding_mask,
                        const attention::TeacherSignals& teacher, bool return_artefacts,
                        attention::AttentionOutputs* attention);

  SelfAttention self_attn{nullptr};
  torch::nn::LayerNorm self_attn_layer_norm{nullptr}, final_layer_norm{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};

 private:
  OPTConfig config_;
};
TORCH_MODULE(OPTDecoderLayer);

class OPTForCausalLMImpl : public ModelImpl {
 public:
  explicit OPTForCausalLMImpl(const OPTConfig& config);

  // logits: (N, T, vocab_size); position t predicts token t+1.
  ModelOutput forward(const ModelInputs& inputs, const ForwardOptions& options = {}) override;
  std::string family() const override { return "opt"; }
  json config_json() const override { return config_.to_json(); }
  int64_t num_layers() const override { return config_.num_hidden_layers; }
  SelfAttentionImpl& self_attention(int64_t layer) override;
  torch::Tensor self_attention_input(int64_t layer, const torch::Tensor& layer_input) override;
  const OPTConfig& config() const { return config_; }

  // Grows the learned position table to `max_positions` (linear interpolation of the learned rows, the two
  // offset rows kept) and the config with it. Use models::extend_positions, which also resizes SEA's tables.
  void extend_positions(int64_t max_positions);

  torch::nn::Embedding embed_tokens{nullptr}, embed_positions{nullptr};
  torch::nn::Linear project_in{nullptr}, project_out{nullptr};
  torch::nn::ModuleList layers{nullptr};
  torch::nn::LayerNorm final_layer_norm{nullptr};
  torch::Tensor lm_head_weight;  // only when !tie_word_embeddings

  static constexpr int64_t kPositionOffset = 2;  // OPT's learned positions start at index 2

 private:
  OPTConfig config_;
};
TORCH_MODULE(OPTForCausalLM);

}  // namespace sea::models
