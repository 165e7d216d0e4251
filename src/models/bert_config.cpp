// bert_config.cpp — strict JSON <-> BertConfig.
#include "sea/models/bert_config.h"

#include "sea/models/layers_common.h"

namespace sea::models {

BertConfig BertConfig::from_json(const json& j, const std::string& where) {
  JsonReader r(j, where);
  BertConfig c;
  const std::string family = r.get_or<std::string>("family", "bert");
  SEA_CHECK(family == "bert", where, ": family is '", family, "', expected 'bert'");
  r.ignore("_comment");
  c.vocab_size = r.get_or<int64_t>("vocab_size", c.vocab_size);
  c.hidden_size = r.get_or<int64_t>("hidden_size", c.hidden_size);
  c.num_hidden_layers = r.get_or<int64_t>("num_hidden_layers", c.num_hidden_layers);
  c.num_attention_heads = r.get_or<int64_t>("num_attention_heads", c.num_attention_heads);
  c.intermediate_size = r.get_or<int64_t>("intermediate_size", c.intermediate_size);
  c.hidden_act = r.get_or<std::string>("hidden_act", c.hidden_act);
  c.hidden_dropout_prob = r.get_or<double>("hidden_dropout_prob", c.hidden_dropout_prob);
  c.attention_probs_dropout_prob = r.get_or<double>("attention_probs_dropout_prob", c.attention_probs_dropout_prob);
  c.classifier_dropout = r.get_or<double>("classifier_dropout", c.classifier_dropout);
  c.max_position_embeddings = r.get_or<int64_t>("max_position_embeddings", c.max_position_embeddings);
  c.type_vocab_size = r.get_or<int64_t>("type_vocab_size", c.type_vocab_size);
  c.initializer_range = r.get_or<double>("initializer_range", c.initializer_range);
  c.layer_norm_eps = r.get_or<double>("layer_norm_eps", c.layer_norm_eps);
  c.pad_token_id = r.get_or<int64_t>("pad_token_id", c.pad_token_id);
  c.num_labels = r.get_or<int64_t>("num_labels", c.num_labels);
  if (r.has("attention")) c.attention = attention::AttentionConfig::from_json(r.get<json>("attention"), where + " [attention]");
  r.finish();
  c.validate(where);
  return c;
}

json BertConfig::to_json() const {
  json j{{"family", "bert"},
         {"vocab_size", vocab_size},
         {"hidden_size", hidden_size},
         {"num_hidden_layers", num_hidden_layers},
         {"num_attention_heads", num_attention_heads},
         {"intermediate_size", intermediate_size},
         {"hidden_act", hidden_act},
         {"hidden_dropout_prob", hidden_dropout_prob},
         {"attention_probs_dropout_prob", attention_probs_dropout_prob},
         {"max_position_embeddings", max_position_embeddings},
         {"type_vocab_size", type_vocab_size},
         {"initializer_range", initializer_range},
         {"layer_norm_eps", layer_norm_eps},
         {"pad_token_id", pad_token_id},
         {"num_labels", num_labels},
         {"attention", attention.to_json()}};
  if (classifier_dropout >= 0) j["classifier_dropout"] = classifier_dropout;
  return j;
}

void BertConfig::validate(const std::string& where) const {
  auto positive = [&](const char* key, int64_t v) { SEA_CHECK(v > 0, where, ": ", key, " must be > 0, got ", v); };
  positive("vocab_size", vocab_size);
  positive("hidden_size", hidden_size);
  positive("num_hidden_layers", num_hidden_layers);
  positive("num_attention_heads", num_attention_heads);
  positive("intermediate_size", intermediate_size);
  positive("max_position_embeddings", max_position_embeddings);
  positive("type_vocab_size", type_vocab_size);
  positive("num_labels", num_labels);
  SEA_CHECK(hidden_size % num_attention_heads == 0, where, ": hidden_size ", hidden_size,
            " is not divisible by num_attention_heads ", num_attention_heads);
  for (auto [key, p] : {std::pair<const char*, double>{"hidden_dropout_prob", hidden_dropout_prob},
                        {"attention_probs_dropout_prob", attention_probs_dropout_prob}}) {
    SEA_CHECK(p >= 0 && p < 1, where, ": ", key, " must be in [0, 1), got ", p);
  }
  SEA_CHECK(classifier_dropout < 1, where, ": classifier_dropout must be < 1, got ", classifier_dropout);
  SEA_CHECK(layer_norm_eps > 0, where, ": layer_norm_eps must be > 0, got ", layer_norm_eps);
  SEA_CHECK(pad_token_id >= 0 && pad_token_id < vocab_size, where, ": pad_token_id ", pad_token_id,
            " is outside the vocabulary [0, ", vocab_size, ")");
  check_activation(hidden_act, where);
}

}  // namespace sea::models
