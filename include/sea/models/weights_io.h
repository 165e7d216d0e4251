// weights_io.h — moving named tensors between safetensors files and our modules, through an HFNameMap.
//
// TensorStore opens a single .safetensors file, or a directory holding model.safetensors or a sharded set
// (model.safetensors.index.json + shards). load_weights() checks everything first — every tensor present,
// known, and of the right shape — and only then copies, so a failed load leaves the model untouched.
#pragma once

#include <torch/nn/module.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sea/models/hf_name_map.h"
#include "sea/models/safetensors.h"

namespace sea::models {

class TensorStore {
 public:
  // `path`: a .safetensors file or a directory (model.safetensors, else model.safetensors.index.json).
  static TensorStore open(const std::string& path);

  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return shard_of_.count(name) != 0; }
  const SafetensorsEntry& entry(const std::string& name) const;
  at::Tensor load(const std::string& name) const;
  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::vector<std::shared_ptr<SafetensorsFile>> shards_;
  std::map<std::string, size_t> shard_of_;
};

struct LoadPolicy {
  // Our parameters whose names start with one of these may be missing from the checkpoint (they keep their
  // fresh initialisation, e.g. a new classifier head or the SEA estimator). Everything else must be present.
  std::vector<std::string> allow_missing_prefixes;
  bool allow_unexpected = true;  // checkpoint tensors we have no place for: warn (true) or fail (false)
};

struct LoadReport {
  size_t loaded = 0;
  std::vector<std::string> missing;     // ours, not in the checkpoint (allowed ones only, if the load succeeded)
  std::vector<std::string> unexpected;  // in the checkpoint (HF name), not in the model
  std::vector<std::string> mismatched;  // "name: checkpoint [a, b] vs model [c, d]"
  std::vector<std::string> ignored;     // deliberately skipped (e.g. tied or non-persistent tensors)
  std::string summary() const;
};

// Loads tensors from `store` into `model`'s parameters and buffers (converted to their dtype/device).
// Throws sea::Error, before modifying anything, listing every mismatched shape and every missing tensor the
// policy does not allow (and unexpected ones if not allowed).
LoadReport load_weights(torch::nn::Module& model, const TensorStore& store, const HFNameMap& names,
                        const LoadPolicy& policy = {});

// Saves all parameters and persistent buffers of `model` under HF names to one safetensors file (atomic).
void save_weights(const torch::nn::Module& model, const HFNameMap& names, const std::string& path,
                  const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace sea::models
