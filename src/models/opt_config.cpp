// opt_config.cpp — strict JSON <-> OPTConfig.
#include "sea/models/opt_config.h"

#include "sea/models/layers_common.h"

namespace sea::models {

OPTConfig OPTConfig::from_json(const json& j, const std::string& where) {
  JsonReader r(j, where);
  OPTConfig c;
  const std::string family = r.get_or<std::string>("family", "opt");
  SEA_CHECK(family == "opt", where, ": family is '", family, "', expected 'opt'");
  r.ignore("_comment");
  c.vocab_size = r.get_or<int64_t>("vocab_size", c.vocab_size);
  c.hidden_size = r.get_or<int64_t>("hidden_size", c.hidden_size);
  c.num_hidden_layers = r.get_or<int64_t>("num_hidden_layers", c.num_hidden_layers);
  c.ffn_dim = r.get_or<int64_t>("ffn_dim", c.ffn_dim);
  c.num_attention_heads = r.get_or<int64_t>("num_attention_heads", c.num_attention_heads);
  c.max_position_embeddings = r.get_or<int64_t>("max_position_embeddings", c.max_position_embeddings);
  c.word_embed_proj_dim = r.get_or<int64_t>("word_embed_proj_dim", c.hidden_size);
  c.do_layer_norm_before = r.get_or<bool>("do_layer_norm_before", c.do_layer_norm_before);
  c.remove_final_layer_norm = r.get_or<bool>("remove_final_layer_norm", c.remove_final_layer_norm);
  c.layer_norm_elementwise_affine = r.get_or<bool>("layer_norm_elementwise_affine", c.layer_norm_elementwise_affine);
  c.enable_bias = r.get_or<bool>("enable_bias", c.enable_bias);
  c.tie_word_embeddings = r.get_or<bool>("tie_word_embeddings", c.tie_word_embeddings);
  c.activation_function = r.get_or<std::string>("activation_function", c.activation_function);
  c.dropout = r.get_or<double>("dropout", c.dropout);
  c.attention_dropout = r.get_or<double>("attention_dropout", c.attention_dropout);
  c.init_std = r.get_or<double>("init_std", c.init_std);
  c.pad_token_id = r.get_or<int64_t>("pad_token_id", c.pad_token_id);
  c.bos_token_id = r.get_or<int64_t>("bos_token_id", c.bos_token_id);
  c.eos_token_id = r.get_or<int64_t>("eos_token_id", c.eos_token_id);
  if (r.has("attention")) c.attention = attention::AttentionConfig::from_json(r.get<json>("attention"), where + " [attention]");
  r.finish();
  c.validate(where);
  return c;
}

json OPTConfig::to_json() const {
  return json{{"family", "opt"},
              {"vocab_size", vocab_size},
              {"hidden_size", hidden_size},
              {"num_hidden_layers", num_hidden_layers},
              {"ffn_dim", ffn_dim},
              {"num_attention_heads", num_attention_heads},
              {"max_position_embeddings", max_position_embeddings},
              {"word_embed_proj_dim", word_embed_proj_dim},
              {"do_layer_norm_before", do_layer_norm_before},
              {"remove_final_layer_norm", remove_final_layer_norm},
              {"layer_norm_elementwise_affine", layer_norm_elementwise_affine},
              {"enable_bias", enable_bias},
              {"tie_word_embeddings", tie_word_embeddings},
              {"activation_function", activation_function},
              {"dropout", dropout},
              {"attention_dropout", attention_dropout},
              {"init_std", init_std},
              {"pad_token_id", pad_token_id},
              {"bos_token_id", bos_token_id},
              {"eos_token_id", eos_token_id},
              {"attention", attention.to_json()}};
}

void OPTConfig::validate(const std::string& where) const {
  auto positive = [&](const char* key, int64_t v) { SEA_CHECK(v > 0, where, ": ", key, " must be > 0, got ", v); };
  positive("vocab_size", vocab_size);
  positive("hidden_size", hidden_size);
  positive("num_hidden_layers", num_hidden_layers);
  positive("ffn_dim", ffn_dim);
  positive("num_attention_heads", num_attention_heads);
  positive("max_position_embeddings", max_position_embeddings);
  positive("word_embed_proj_dim", word_embed_proj_dim);
  SEA_CHECK(hidden_size % num_attention_heads == 0, where, ": hidden_size ", hidden_size,
            " is not divisible by num_attention_heads ", num_attention_heads);
  SEA_CHECK(dropout >= 0 && dropout < 1, where, ": dropout must be in [0, 1), got ", dropout);
  SEA_CHECK(attention_dropout >= 0 && attention_dropout < 1, where, ": attention_dropout must be in [0, 1), got ",
            attention_dropout);
  SEA_CHECK(pad_token_id >= 0 && pad_token_id < vocab_size, where, ": pad_token_id ", pad_token_id,
            " is outside the vocabulary [0, ", vocab_size, ")");
  check_activation(activation_function, where);
}

}  // namespace sea::models
