// hf_bert_adapter.h — everything that knows how Hugging Face spells BERT: parameter names of
// BertForSequenceClassification and BertModel (also the legacy LayerNorm gamma/beta), and config.json keys.
#pragma once

#include "sea/models/bert_config.h"
#include "sea/models/hf_name_map.h"

namespace sea::models {

HFNameMap bert_hf_name_map();

// num_labels comes from "num_labels" or the size of "id2label" (2 when neither is present, as HF).
BertConfig bert_config_from_hf(const json& hf, const std::string& where);
json bert_config_to_hf(const BertConfig& config);

}  // namespace sea::models
