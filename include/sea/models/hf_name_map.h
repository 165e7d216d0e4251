// hf_name_map.h — translating parameter names between Hugging Face checkpoints and our modules.
//
// A map is a list of prefix rules, each an HF pattern and our pattern that may both contain one "{i}" (a layer
// index): "bert.encoder.layer.{i}.attention.self.query." <-> "layers.{i}.self_attn.q_proj.". The longest
// matching prefix wins; the rest of the name ("weight", "bias") is carried over. Names no rule covers pass
// through unchanged (e.g. SEA's own parameters, if a family maps them that way). The family-specific tables
// live in hf_opt_adapter.cpp and hf_bert_adapter.cpp.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sea::models {

struct NameRule {
  std::string hf;    // HF prefix pattern
  std::string ours;  // our prefix pattern
};

class HFNameMap {
 public:
  // `canonicalize` rewrites an HF name before matching (legacy spellings, missing model prefixes); it may
  // return "" to mark the tensor as ignored (e.g. non-persistent buffers saved by old checkpoints).
  HFNameMap(std::vector<NameRule> rules, std::function<std::string(const std::string&)> canonicalize = {});

  std::string to_ours(const std::string& hf_name) const;  // "" = ignored
  std::string to_hf(const std::string& our_name) const;

 private:
  static std::optional<std::string> rewrite(const std::string& name, const std::string& from, const std::string& to);
  std::vector<NameRule> rules_;
  std::function<std::string(const std::string&)> canonicalize_;
};

}  // namespace sea::models
