// weights_io.cpp — TensorStore, load_weights, save_weights (see weights_io.h).
#include "sea/models/weights_io.h"

#include <ATen/ATen.h>

#include <filesystem>

#include "sea/util/error.h"
#include "sea/util/json_config.h"
#include "sea/util/logging.h"

namespace sea::models {
namespace fs = std::filesystem;

TensorStore TensorStore::open(const std::string& path) {
  TensorStore s;
  s.source_ = path;
  SEA_CHECK(fs::exists(path), "checkpoint path '", path, "' does not exist");
  std::vector<std::string> files;
  if (fs::is_directory(path)) {
    const fs::path single = fs::path(path) / "model.safetensors";
    const fs::path index = fs::path(path) / "model.safetensors.index.json";
    if (fs::exists(single)) {
      files.push_back(single.string());
    } else if (fs::exists(index)) {
      json j = read_json_file(index.string());
      SEA_CHECK(j.contains("weight_map") && j["weight_map"].is_object(), "'", index.string(),
                "' has no \"weight_map\" object");
      std::map<std::string, size_t> file_index;
      for (const auto& [name, file] : j["weight_map"].items()) {
        SEA_CHECK(file.is_string(), "'", index.string(), "': weight_map['", name, "'] must be a file name");
        const std::string shard = (fs::path(path) / file.get<std::string>()).string();
        if (!file_index.count(shard)) {
          SEA_CHECK(fs::exists(shard), "'", index.string(), "' names shard '", file.get<std::string>(),
                    "' (for tensor '", name, "'), which does not exist in '", path, "'");
          file_index[shard] = files.size();
          files.push_back(shard);
        }
      }
      for (const auto& f : files) s.shards_.push_back(std::make_shared<SafetensorsFile>(f));
      for (const auto& [name, file] : j["weight_map"].items()) {
        const size_t k = file_index.at((fs::path(path) / file.get<std::string>()).string());
        SEA_CHECK(s.shards_[k]->contains(name), "'", index.string(), "' places tensor '", name, "' in '",
                  file.get<std::string>(), "', but that shard does not hold it");
        s.shard_of_[name] = k;
      }
      return s;
    } else {
      bool has_bin = fs::exists(fs::path(path) / "pytorch_model.bin");
      fail("no weights in '", path, "': expected model.safetensors or model.safetensors.index.json",
           has_bin ? " (found pytorch_model.bin; convert it with transformers' save_pretrained(safe_serialization=True))" : "");
    }
  } else {
    files.push_back(path);
  }
  s.shards_.push_back(std::make_shared<SafetensorsFile>(files.front()));
  for (const auto& name : s.shards_.front()->names()) s.shard_of_[name] = 0;
  return s;
}

std::vector<std::string> TensorStore::names() const {
  std::vector<std::string> out;
  for (const auto& kv : shard_of_) out.push_back(kv.first);
  return out;
}

const SafetensorsEntry& TensorStore::entry(const std::string& name) const {
  auto it = shard_of_.find(name);
  SEA_CHECK(it != shard_of_.end(), "checkpoint '", source_, "' has no tensor '", name, "'");
  return shards_[it->second]->entry(name);
}

at::Tensor TensorStore::load(const std::string& name) const {
  auto it = shard_of_.find(name);
  SEA_CHECK(it != shard_of_.end(), "checkpoint '", source_, "' has no tensor '", name, "'");
  return shards_[it->second]->load(name);
}

namespace {
std::string join(const std::vector<std::string>& items, size_t limit = 20) {
  std::string s;
  for (size_t i = 0; i < items.size() && i < limit; ++i) s += "\n  " + items[i];
  if (items.size() > limit) s += message("\n  ... and ", items.size() - limit, " more");
  return s;
}

// Our parameters and persistent buffers by name.
std::map<std::string, at::Tensor> model_tensors(const torch::nn::Module& model) {
  std::map<std::string, at::Tensor> out;
  for (const auto& p : model.named_parameters(/*recurse=*/true)) out[p.key()] = p.value();
  for (const auto& b : model.named_buffers(/*recurse=*/true)) out[b.key()] = b.value();
  return out;
}
}  // namespace

std::string LoadReport::summary() const {
  std::string s = message("loaded ", loaded, " tensors");
  if (!missing.empty()) s += message("; kept fresh (missing in checkpoint): ", missing.size(), join(missing));
  if (!unexpected.empty()) s += message("; unused checkpoint tensors: ", unexpected.size(), join(unexpected));
  if (!ignored.empty()) s += message("; ignored: ", ignored.size());
  return s;
}

LoadReport load_weights(torch::nn::Module& model, const TensorStore& store, const HFNameMap& names,
                        const LoadPolicy& policy) {
  LoadReport report;
  std::map<std::string, at::Tensor> ours = model_tensors(model);
  std::map<std::string, std::string> plan;  // our name -> checkpoint name
  for (const auto& hf : store.names()) {
    const std::string our = names.to_ours(hf);
    if (our.empty()) {
      report.ignored.push_back(hf);
      continue;
    }
    auto it = ours.find(our);
    if (it == ours.end()) {
      report.unexpected.push_back(hf);
      continue;
    }
    SEA_CHECK(!plan.count(our), "checkpoint '", store.source(), "': tensors '", plan[our], "' and '", hf,
              "' both map to '", our, "'");
    const auto& e = store.entry(hf);
    if (at::IntArrayRef(e.shape) != it->second.sizes()) {
      report.mismatched.push_back(message(hf, ": checkpoint ", at::IntArrayRef(e.shape), " vs model ", it->second.sizes()));
      continue;
    }
    plan[our] = hf;
  }
  std::vector<std::string> not_allowed;
  for (const auto& kv : ours) {
    if (plan.count(kv.first)) continue;
    // A mismatched tensor is reported as mismatched only.
    bool allowed = false;
    for (const auto& prefix : policy.allow_missing_prefixes) allowed |= kv.first.compare(0, prefix.size(), prefix) == 0;
    (allowed ? report.missing : not_allowed).push_back(names.to_hf(kv.first));
  }
  std::string problems;
  if (!report.mismatched.empty()) problems += message("\nshape mismatches (", report.mismatched.size(), "):", join(report.mismatched));
  if (!not_allowed.empty()) problems += message("\nmissing tensors (", not_allowed.size(), "):", join(not_allowed));
  if (!policy.allow_unexpected && !report.unexpected.empty()) {
    problems += message("\nunexpected tensors (", report.unexpected.size(), "):", join(report.unexpected));
  }
  SEA_CHECK(problems.empty(), "cannot load checkpoint '", store.source(), "' into the model (nothing was loaded):", problems);

  torch::NoGradGuard no_grad;
  for (const auto& [our, hf] : plan) {
    at::Tensor& dst = ours.at(our);
    dst.copy_(store.load(hf).to(dst.device(), dst.scalar_type()));
    ++report.loaded;
  }
  return report;
}

void save_weights(const torch::nn::Module& model, const HFNameMap& names, const std::string& path,
                  const std::map<std::string, std::string>& metadata) {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& [our, t] : model_tensors(model)) tensors.emplace_back(names.to_hf(our), t);
  save_safetensors(path, tensors, metadata);
}

}  // namespace sea::models
