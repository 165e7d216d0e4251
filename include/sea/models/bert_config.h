// bert_config.h — configuration of a BERT encoder with a sequence classification / regression head
// (HF BertForSequenceClassification), with HF's key names. num_labels = 1 means regression (STS-B).
#pragma once

#include <string>

#include "sea/attention/registry.h"
#include "sea/util/json_config.h"

namespace sea::models {

struct BertConfig {
  int64_t vocab_size = 30522;
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  std::string hidden_act = "gelu";
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  double classifier_dropout = -1;  // < 0: use hidden_dropout_prob (HF: null)
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double initializer_range = 0.02;
  double layer_norm_eps = 1e-12;
  int64_t pad_token_id = 0;
  int64_t num_labels = 2;
  attention::AttentionConfig attention;

  static BertConfig from_json(const json& j, const std::string& where);
  json to_json() const;
  void validate(const std::string& where) const;
  double effective_classifier_dropout() const { return classifier_dropout < 0 ? hidden_dropout_prob : classifier_dropout; }
};

}  // namespace sea::models
