// model_factory.h — building models from configs and from checkpoint directories, by family.
//
//   json cfg = load_model_config("configs/models/opt-125m.json", {"num_hidden_layers=2"});
//   Model m = make_model(cfg, "configs/models/opt-125m.json");
//   Model t = load_hf_model("/path/to/hf-dir");            // config.json + safetensors (single or sharded)
//   save_hf_model(*m, "/path/to/out");                     // HF layout; transformers can load it
#pragma once

#include <string>
#include <vector>

#include "sea/attention/registry.h"
#include "sea/models/hf_name_map.h"
#include "sea/models/model.h"
#include "sea/models/weights_io.h"

namespace sea::models {

// Reads one of our model config files and applies `key=value` overrides (json_config.h).
json load_model_config(const std::string& path, const std::vector<std::string>& overrides = {});

// Builds a freshly initialised model from our config format (dispatches on "family": opt | bert).
Model make_model(const json& config, const std::string& where);

// The HF name map of the model's family.
HFNameMap hf_name_map_for(const ModelImpl& model);

// Loads an HF-layout directory (config.json + weights). `attention` replaces the method (default: dense);
// its new parameters stay freshly initialised. A BertModel checkpoint into a classifier keeps a fresh head.
Model load_hf_model(const std::string& dir, const attention::AttentionConfig& attention = {},
                    LoadReport* report = nullptr);

// The load policy for a checkpoint written without the model's attention method: every tensor of the method
// (<layer>.self_attn.method.*) may be missing and keeps its fresh initialisation; with head_may_be_missing
// the classifier may be missing too. load_hf_model uses it; so does a trainer initialising a student.
LoadPolicy fresh_method_policy(const ModelImpl& model, bool head_may_be_missing = false);

// Loads weights (a file or directory) into an existing model; see load_weights() for the policy.
LoadReport load_hf_weights(ModelImpl& model, const std::string& path, const LoadPolicy& policy = {});

// Writes config.json (HF format, plus our "sea_attention") and model.safetensors (HF names) into `dir`.
// Written to a temporary sibling directory first and renamed, so `dir` is either complete or untouched.
void save_hf_model(const ModelImpl& model, const std::string& dir);

}  // namespace sea::models
