// registry.h — builds an attention method from its config, so models never branch on the method name.
//
// An AttentionConfig is {"method": "<name>", ...method options...} (configs/methods/*.json). Each method
// parses its own options strictly (unknown keys are errors). Built-in methods are listed in registry.cpp;
// register_attention_method() adds one from outside the library.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "sea/attention/attention.h"
#include "sea/util/json_config.h"

namespace sea::attention {

struct AttentionConfig {
  std::string method = "none";
  json options = json::object();  // everything in the config section except "method"

  static AttentionConfig from_json(const json& section, const std::string& where);
  json to_json() const;
};

// What a method may need to know about the layer it sits in.
struct LayerShape {
  int64_t num_heads = 0;
  int64_t head_dim = 0;
  int64_t max_positions = 0;  // longest sequence the model accepts
  bool causal = false;
  double attention_dropout = 0.0;  // the model's attention-probability dropout
  int64_t layer_index = 0;    // position in the layer stack (seeds per-layer random state)
};

using AttentionFactory = std::function<AttentionMethod(JsonReader& options, const LayerShape& shape)>;

// Builds the method named in `config` for a layer of `shape`. Throws sea::Error for an unknown method name
// (listing the known ones) or bad options. `where` names the config source in errors.
AttentionMethod make_attention_method(const AttentionConfig& config, const LayerShape& shape,
                                      const std::string& where = "attention config");

void register_attention_method(const std::string& name, AttentionFactory factory);
std::vector<std::string> attention_method_names();

}  // namespace sea::attention
