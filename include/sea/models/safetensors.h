// safetensors.h — reading and writing the safetensors format (HF's weight files), without Python.
//
// Format: 8-byte little-endian header length n, n bytes of JSON {name: {dtype, shape, data_offsets:[b,e]},
// "__metadata__": {str: str}}, then the raw little-endian tensor bytes, offsets relative to the data start.
// We hand-write this (about 200 lines) because no maintained C++ safetensors library is packaged for Debian
// and the format is a JSON header over raw bytes, which nlohmann_json and LibTorch already cover.
//
// Reading validates everything before any tensor is trusted: header length, JSON, dtypes, shapes, offsets
// inside the file, byte counts matching shape × dtype size, no overlaps. Tensors are read one at a time on
// demand, so a large checkpoint is never held twice in memory.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace sea::models {

struct SafetensorsEntry {
  at::ScalarType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets relative to the start of the data section
  uint64_t end = 0;
};

class SafetensorsFile {
 public:
  // Opens and validates `path`. Throws sea::Error naming the file and what is wrong.
  explicit SafetensorsFile(std::string path);

  const std::string& path() const { return path_; }
  const std::vector<std::string>& names() const { return names_; }  // in file order
  bool contains(const std::string& name) const { return entries_.count(name) != 0; }
  const SafetensorsEntry& entry(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // Reads one tensor into a new contiguous CPU tensor of its stored dtype.
  at::Tensor load(const std::string& name) const;

 private:
  std::string path_;
  uint64_t data_start_ = 0;
  std::vector<std::string> names_;
  std::map<std::string, SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

// Writes tensors (moved to CPU, made contiguous) to `path` atomically: a temporary file in the same
// directory, renamed over `path` only when complete. Names must be unique and non-empty.
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// "F32" <-> at::kFloat, etc. The name functions throw sea::Error for unsupported types.
at::ScalarType safetensors_dtype_from_name(const std::string& name, const std::string& where);
std::string safetensors_dtype_name(at::ScalarType dtype);

}  // namespace sea::models
