// hf_opt_adapter.cpp — HF OPT names and config keys (see hf_opt_adapter.h).
#include "sea/models/hf_opt_adapter.h"

namespace sea::models {

HFNameMap opt_hf_name_map(const OPTConfig& config) {
  const bool tied = config.tie_word_embeddings;
  return HFNameMap({{"model.decoder.", ""}, {"lm_head.weight", "lm_head_weight"}},
                   [tied](const std::string& name) -> std::string {
                     if (name == "lm_head.weight" && tied) return "";  // the same tensor as embed_tokens
                     if (name.rfind("decoder.", 0) == 0) return "model." + name;  // OPTModel
                     return name;
                   });
}

OPTConfig opt_config_from_hf(const json& hf, const std::string& where) {
  SEA_CHECK(hf.is_object(), where, ": not a JSON object");
  SEA_CHECK(hf.value("model_type", "opt") == "opt", where, ": model_type is '", hf.value("model_type", ""),
            "', expected 'opt'");
  // Re-express as our format so that the same validation applies; keys HF leaves null take our defaults.
  json ours = {{"family", "opt"}};
  for (const char* key : {"vocab_size", "hidden_size", "num_hidden_layers", "ffn_dim", "num_attention_heads",
                          "max_position_embeddings", "word_embed_proj_dim", "do_layer_norm_before",
                          "layer_norm_elementwise_affine", "enable_bias", "tie_word_embeddings", "activation_function",
                          "dropout", "attention_dropout", "init_std", "pad_token_id", "bos_token_id", "eos_token_id"}) {
    if (hf.contains(key) && !hf[key].is_null()) ours[key] = hf[key];
  }
  if (hf.contains("_remove_final_layer_norm")) ours["remove_final_layer_norm"] = hf["_remove_final_layer_norm"];
  return OPTConfig::from_json(ours, where);
}

json opt_config_to_hf(const OPTConfig& c) {
  json j = c.to_json();
  j.erase("family");
  j.erase("attention");
  j.erase("remove_final_layer_norm");
  j["_remove_final_layer_norm"] = c.remove_final_layer_norm;
  j["model_type"] = "opt";
  j["architectures"] = {"OPTForCausalLM"};
  j["sea_attention"] = c.attention.to_json();  // ours; HF keeps unknown keys as attributes
  return j;
}

}  // namespace sea::models
