// hf_bert_adapter.cpp — HF BERT names and config keys (see hf_bert_adapter.h).
#include "sea/models/hf_bert_adapter.h"

namespace sea::models {

HFNameMap bert_hf_name_map() {
  const std::string layer = "bert.encoder.layer.{i}.";
  const std::string ours = "layers.{i}.";
  std::vector<NameRule> rules = {
      {"bert.embeddings.word_embeddings.", "embeddings.word_embeddings."},
      {"bert.embeddings.position_embeddings.", "embeddings.position_embeddings."},
      {"bert.embeddings.token_type_embeddings.", "embeddings.token_type_embeddings."},
      {"bert.embeddings.LayerNorm.", "embeddings.layer_norm."},
      {layer + "attention.self.query.", ours + "self_attn.q_proj."},
      {layer + "attention.self.key.", ours + "self_attn.k_proj."},
      {layer + "attention.self.value.", ours + "self_attn.v_proj."},
      {layer + "attention.self.method.", ours + "self_attn.method."},  // SEA's own parameters
      {layer + "attention.output.dense.", ours + "self_attn.out_proj."},
      {layer + "attention.output.LayerNorm.", ours + "attn_layer_norm."},
      {layer + "intermediate.dense.", ours + "fc1."},
      {layer + "output.dense.", ours + "fc2."},
      {layer + "output.LayerNorm.", ours + "ffn_layer_norm."},
      {"bert.pooler.dense.", "pooler."},
      {"classifier.", "classifier."},
  };
  return HFNameMap(std::move(rules), [](const std::string& hf) -> std::string {
    std::string name = hf;
    // BertModel checkpoints have no "bert." prefix; pre-training heads ("cls.") stay as they are (unexpected).
    if (name.rfind("bert.", 0) != 0 && name.rfind("classifier.", 0) != 0 && name.rfind("cls.", 0) != 0) {
      name = "bert." + name;
    }
    if (name == "bert.embeddings.position_ids" || name == "bert.embeddings.token_type_ids") return "";  // buffers
    // Original TF-converted checkpoints name LayerNorm parameters gamma / beta.
    auto ends_with = [&](const std::string& s) {
      return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
    };
    if (ends_with(".gamma")) name = name.substr(0, name.size() - 6) + ".weight";
    if (ends_with(".beta")) name = name.substr(0, name.size() - 5) + ".bias";
    return name;
  });
}

BertConfig bert_config_from_hf(const json& hf, const std::string& where) {
  SEA_CHECK(hf.is_object(), where, ": not a JSON object");
  SEA_CHECK(hf.value("model_type", "bert") == "bert", where, ": model_type is '", hf.value("model_type", ""),
            "', expected 'bert'");
  json ours = {{"family", "bert"}};
  for (const char* key : {"vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                          "hidden_act", "hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout",
                          "max_position_embeddings", "type_vocab_size", "initializer_range", "layer_norm_eps",
                          "pad_token_id", "num_labels"}) {
    if (hf.contains(key) && !hf[key].is_null()) ours[key] = hf[key];
  }
  if (!ours.contains("num_labels") && hf.contains("id2label") && hf["id2label"].is_object()) {
    ours["num_labels"] = static_cast<int64_t>(hf["id2label"].size());
  }
  const std::string pe = hf.value("position_embedding_type", "absolute");
  SEA_CHECK(pe == "absolute", where, ": position_embedding_type '", pe, "' is not supported (only 'absolute')");
  return BertConfig::from_json(ours, where);
}

json bert_config_to_hf(const BertConfig& c) {
  json j = c.to_json();
  j.erase("family");
  j.erase("attention");
  j["model_type"] = "bert";
  j["architectures"] = {"BertForSequenceClassification"};
  j["position_embedding_type"] = "absolute";
  json id2label = json::object(), label2id = json::object();
  for (int64_t i = 0; i < c.num_labels; ++i) {
    id2label[std::to_string(i)] = "LABEL_" + std::to_string(i);
    label2id["LABEL_" + std::to_string(i)] = i;
  }
  j["id2label"] = id2label;
  j["label2id"] = label2id;
  if (c.num_labels == 1) j["problem_type"] = "regression";
  j["sea_attention"] = c.attention.to_json();
  return j;
}

}  // namespace sea::models
