// opt_config.h — configuration of an OPT causal LM (facebook/opt-*), with HF's key names.
//
// Our JSON (configs/models/opt-*.json) is read strictly: unknown keys are errors. An HF config.json is read
// by hf_opt_adapter.h, which keeps only what the architecture needs.
#pragma once

#include <string>

#include "sea/attention/registry.h"
#include "sea/util/json_config.h"

namespace sea::models {

struct OPTConfig {
  int64_t vocab_size = 50272;
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t ffn_dim = 3072;
  int64_t num_attention_heads = 12;
  int64_t max_position_embeddings = 2048;
  int64_t word_embed_proj_dim = 768;      // opt-350m: 512, with project_in / project_out
  bool do_layer_norm_before = true;       // opt-350m: false (post-LN layers, no final layer norm)
  bool remove_final_layer_norm = false;   // HF "_remove_final_layer_norm"
  bool layer_norm_elementwise_affine = true;
  bool enable_bias = true;
  bool tie_word_embeddings = true;        // lm_head shares embed_tokens.weight
  std::string activation_function = "relu";
  double dropout = 0.1;
  double attention_dropout = 0.0;
  double init_std = 0.02;
  int64_t pad_token_id = 1;
  int64_t bos_token_id = 2;
  int64_t eos_token_id = 2;
  attention::AttentionConfig attention;   // "attention": {"method": "none", ...}

  // Reads our format ({"family": "opt", ...}); `where` names the source in errors. Validates.
  static OPTConfig from_json(const json& j, const std::string& where);
  json to_json() const;
  // Throws sea::Error naming the first inconsistent value (e.g. hidden_size not divisible by heads).
  void validate(const std::string& where) const;
  bool has_final_layer_norm() const { return do_layer_norm_before && !remove_final_layer_norm; }
};

}  // namespace sea::models
