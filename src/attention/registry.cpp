// registry.cpp — the table of attention methods (see registry.h).
#include "sea/attention/registry.h"

#include <map>
#include <mutex>

#include "sea/attention/dense_attention.h"
#include "sea/attention/performer_attention.h"
#include "sea/attention/sea_attention.h"
#include "sea/attention/lsh_attention.h"

namespace sea::attention {
namespace {

AttentionMethod make_dense(JsonReader& options, const LayerShape& shape) {
  DenseAttentionOptions o;
  o.dropout = options.get_or<double>("dropout", shape.attention_dropout);
  SEA_CHECK(o.dropout >= 0.0 && o.dropout < 1.0, options.where(), ": dropout must be in [0, 1), got ", o.dropout);
  return std::make_shared<DenseAttentionImpl>(o);
}

// Built-in methods are listed here explicitly (not through static registrars, which a linker may drop
// from a static library).
std::map<std::string, AttentionFactory>& table() {
  static std::map<std::string, AttentionFactory> methods = {
      {"none", make_dense},
      {"performer", make_performer_attention},
      {"perlin", make_sea_attention},
      {"reformer", make_lsh_attention},
  };
  return methods;
}

std::mutex& table_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

AttentionConfig AttentionConfig::from_json(const json& section, const std::string& where) {
  SEA_CHECK(section.is_object(), where, ": attention config must be an object, got ", section.dump());
  AttentionConfig c;
  JsonReader r(section, where);
  c.method = r.get_or<std::string>("method", "none");
  c.options = section;
  c.options.erase("method");
  c.options.erase("_comment");  // documentation in configs/methods/*.json
  return c;  // the options are checked by the method's factory
}

json AttentionConfig::to_json() const {
  json j = options;
  j["method"] = method;
  return j;
}

AttentionMethod make_attention_method(const AttentionConfig& config, const LayerShape& shape,
                                      const std::string& where) {
  AttentionFactory factory;
  {
    std::lock_guard<std::mutex> lock(table_mutex());
    auto it = table().find(config.method);
    if (it == table().end()) {
      std::string known;
      for (const auto& kv : table()) known += (known.empty() ? "" : ", ") + kv.first;
      fail(where, ": unknown attention method '", config.method, "' (known: ", known, ")");
    }
    factory = it->second;
  }
  JsonReader options(config.options, where);
  AttentionMethod method = factory(options, shape);
  options.finish();
  return method;
}

bool notify_optimizer_step(torch::nn::Module& root) {
  bool redrew = false;
  for_each_attention_method<AttentionMethodImpl>(root, [&](AttentionMethodImpl& m) { redrew |= m.on_optimizer_step(); });
  return redrew;
}

void register_attention_method(const std::string& name, AttentionFactory factory) {
  std::lock_guard<std::mutex> lock(table_mutex());
  table()[name] = std::move(factory);
}

std::vector<std::string> attention_method_names() {
  std::lock_guard<std::mutex> lock(table_mutex());
  std::vector<std::string> names;
  for (const auto& kv : table()) names.push_back(kv.first);
  return names;
}

}  // namespace sea::attention
