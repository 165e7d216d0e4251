// hf_opt_adapter.h — everything that knows how Hugging Face spells OPT: parameter names of OPTForCausalLM
// (and OPTModel) and the keys of its config.json.
#pragma once

#include "sea/models/hf_name_map.h"
#include "sea/models/opt_config.h"

namespace sea::models {

// HF "model.decoder.<x>" <-> our "<x>"; "lm_head.weight" is ignored when tied, else <-> "lm_head_weight".
// OPTModel checkpoints ("decoder.<x>") load too.
HFNameMap opt_hf_name_map(const OPTConfig& config);

// Reads the architecture from an HF config.json (keys it does not need are ignored); HF defaults apply to
// absent keys. `where` names the file in errors.
OPTConfig opt_config_from_hf(const json& hf, const std::string& where);
json opt_config_to_hf(const OPTConfig& config);

}  // namespace sea::models
