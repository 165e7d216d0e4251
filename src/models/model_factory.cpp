// model_factory.cpp — model construction and HF checkpoint directories (see model_factory.h).
#include "sea/models/model_factory.h"

#include <filesystem>

#include "sea/models/bert.h"
#include "sea/models/hf_bert_adapter.h"
#include "sea/models/hf_opt_adapter.h"
#include "sea/models/opt.h"
#include "sea/util/filesystem.h"
#include "sea/util/logging.h"

namespace sea::models {
namespace fs = std::filesystem;

json load_model_config(const std::string& path, const std::vector<std::string>& overrides) {
  json j = read_json_file(path);
  for (const auto& o : overrides) apply_override(j, o);
  return j;
}

Model make_model(const json& config, const std::string& where) {
  SEA_CHECK(config.is_object() && config.contains("family") && config["family"].is_string(), where,
            ": model config needs \"family\": \"opt\" or \"bert\"");
  const std::string family = config["family"];
  if (family == "opt") return std::make_shared<OPTForCausalLMImpl>(OPTConfig::from_json(config, where));
  if (family == "bert") return std::make_shared<BertForSequenceClassificationImpl>(BertConfig::from_json(config, where));
  fail(where, ": unknown model family '", family, "' (known: opt, bert)");
}

HFNameMap hf_name_map_for(const ModelImpl& model) {
  if (auto* opt = dynamic_cast<const OPTForCausalLMImpl*>(&model)) return opt_hf_name_map(opt->config());
  if (dynamic_cast<const BertForSequenceClassificationImpl*>(&model)) return bert_hf_name_map();
  fail("no HF name map for model family '", model.family(), "'");
}

namespace {
// Parameters the checkpoint may lack: the attention method's own (new in a student) and, for BERT, the head.
}  // namespace

LoadPolicy fresh_method_policy(const ModelImpl& model, bool head_may_be_missing) {
  LoadPolicy p;
  auto allow_method_tensor = [&](const std::string& name) {
    if (name.find(".self_attn.method.") != std::string::npos) p.allow_missing_prefixes.push_back(name);
  };
  for (const auto& param : model.named_parameters(true)) allow_method_tensor(param.key());
  for (const auto& buffer : model.named_buffers(true)) allow_method_tensor(buffer.key());
  if (head_may_be_missing) p.allow_missing_prefixes.push_back("classifier.");
  return p;
}

Model load_hf_model(const std::string& dir, const attention::AttentionConfig& attention, LoadReport* report) {
  const std::string config_path = (fs::path(dir) / "config.json").string();
  SEA_CHECK(fs::is_directory(dir), "HF checkpoint '", dir, "' is not a directory");
  SEA_CHECK(fs::exists(config_path), "HF checkpoint '", dir, "' has no config.json");
  json hf = read_json_file(config_path);
  const std::string type = hf.value("model_type", "");
  Model model;
  bool head_may_be_missing = false;
  if (type == "opt") {
    OPTConfig c = opt_config_from_hf(hf, config_path);
    c.attention = attention;
    model = std::make_shared<OPTForCausalLMImpl>(c);
  } else if (type == "bert") {
    BertConfig c = bert_config_from_hf(hf, config_path);
    c.attention = attention;
    model = std::make_shared<BertForSequenceClassificationImpl>(c);
    // A BertModel / pre-training checkpoint has no classifier: start the head fresh, as HF does.
    bool is_classifier = false;
    if (hf.contains("architectures") && hf["architectures"].is_array()) {
      for (const auto& a : hf["architectures"]) is_classifier |= a == "BertForSequenceClassification";
    }
    head_may_be_missing = !is_classifier;
  } else {
    fail(config_path, ": model_type '", type, "' is not supported (supported: opt, bert)");
  }
  LoadReport r = load_weights(*model, TensorStore::open(dir), hf_name_map_for(*model), fresh_method_policy(*model, head_may_be_missing));
  log().info("loaded {} from '{}': {}", type, dir, r.summary());
  if (report) *report = r;
  return model;
}

LoadReport load_hf_weights(ModelImpl& model, const std::string& path, const LoadPolicy& policy) {
  return load_weights(model, TensorStore::open(path), hf_name_map_for(model), policy);
}

void save_hf_model(const ModelImpl& model, const std::string& dir) {
  json hf;
  if (auto* opt = dynamic_cast<const OPTForCausalLMImpl*>(&model)) {
    hf = opt_config_to_hf(opt->config());
  } else if (auto* bert = dynamic_cast<const BertForSequenceClassificationImpl*>(&model)) {
    hf = bert_config_to_hf(bert->config());
  } else {
    fail("save_hf_model: unsupported model family '", model.family(), "'");
  }
  hf["torch_dtype"] = "float32";
  const fs::path target(dir);
  const fs::path tmp = target.string() + ".tmp-writing";
  std::error_code ec;
  remove_tree(tmp.string());
  fs::create_directories(tmp, ec);
  SEA_CHECK(!ec, "cannot create '", tmp.string(), "': ", ec.message());
  try {
    write_json_file_atomic((tmp / "config.json").string(), hf);
    save_weights(model, hf_name_map_for(model), (tmp / "model.safetensors").string());
  } catch (...) {
    remove_tree(tmp.string());
    throw;
  }
  remove_tree(target.string());
  fs::rename(tmp, target, ec);
  SEA_CHECK(!ec, "cannot rename '", tmp.string(), "' to '", dir, "': ", ec.message());
}

}  // namespace sea::models
