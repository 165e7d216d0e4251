// safetensors.cpp — the safetensors reader and writer (see safetensors.h).
#include "sea/models/safetensors.h"

#include <ATen/ATen.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "sea/util/error.h"
#include "sea/util/filesystem.h"
#include "sea/util/json_config.h"

namespace sea::models {
namespace {

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // the reference implementation's limit

const std::vector<std::pair<std::string, at::ScalarType>>& dtype_table() {
  static const std::vector<std::pair<std::string, at::ScalarType>> table = {
      {"F64", at::kDouble}, {"F32", at::kFloat},  {"F16", at::kHalf},  {"BF16", at::kBFloat16},
      {"I64", at::kLong},   {"I32", at::kInt},    {"I16", at::kShort}, {"I8", at::kChar},
      {"U8", at::kByte},    {"BOOL", at::kBool}};
  return table;
}

uint64_t read_u64_le(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

at::ScalarType safetensors_dtype_from_name(const std::string& name, const std::string& where) {
  for (const auto& [n, t] : dtype_table()) {
    if (n == name) return t;
  }
  fail(where, ": unsupported dtype '", name, "' (supported: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL)");
}

std::string safetensors_dtype_name(at::ScalarType dtype) {
  for (const auto& [n, t] : dtype_table()) {
    if (t == dtype) return n;
  }
  fail("safetensors: cannot store dtype ", dtype);
}

SafetensorsFile::SafetensorsFile(std::string path) : path_(std::move(path)) {
  namespace fs = std::filesystem;
  SEA_CHECK(fs::exists(path_), "safetensors file '", path_, "' does not exist");
  std::error_code ec;
  const uint64_t file_size = fs::file_size(path_, ec);
  SEA_CHECK(!ec, "cannot stat '", path_, "': ", ec.message());
  std::ifstream in(path_, std::ios::binary);
  SEA_CHECK(in.good(), "cannot open safetensors file '", path_, "'");
  SEA_CHECK(file_size >= 8, "'", path_, "' is not a safetensors file: ", file_size, " bytes, shorter than the 8-byte header length");

  unsigned char len_bytes[8];
  in.read(reinterpret_cast<char*>(len_bytes), 8);
  const uint64_t header_len = read_u64_le(len_bytes);
  SEA_CHECK(header_len <= kMaxHeaderBytes && header_len <= file_size - 8, "'", path_,
            "' is corrupt: header length ", header_len, " does not fit in the file of ", file_size, " bytes");
  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  SEA_CHECK(in.good(), "'", path_, "': could not read the ", header_len, "-byte header");
  data_start_ = 8 + header_len;
  const uint64_t data_size = file_size - data_start_;

  json j;
  try {
    j = json::parse(header);
  } catch (const json::parse_error& e) {
    fail("'", path_, "' is corrupt: its header is not valid JSON (", e.what(), ")");
  }
  SEA_CHECK(j.is_object(), "'", path_, "' is corrupt: header is not a JSON object");

  std::vector<std::pair<uint64_t, uint64_t>> spans;
  for (const auto& [name, value] : j.items()) {
    if (name == "__metadata__") {
      SEA_CHECK(value.is_object(), "'", path_, "': __metadata__ must be an object of strings");
      for (const auto& [k, v] : value.items()) {
        SEA_CHECK(v.is_string(), "'", path_, "': __metadata__['", k, "'] must be a string");
        metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    const std::string where = "'" + path_ + "', tensor '" + name + "'";
    SEA_CHECK(value.is_object() && value.contains("dtype") && value.contains("shape") && value.contains("data_offsets"),
              where, ": entry must have dtype, shape and data_offsets");
    SEA_CHECK(value["dtype"].is_string(), where, ": dtype must be a string");
    SafetensorsEntry e;
    e.dtype = safetensors_dtype_from_name(value["dtype"].get<std::string>(), where);
    SEA_CHECK(value["shape"].is_array(), where, ": shape must be an array");
    uint64_t numel = 1;
    for (const auto& d : value["shape"]) {
      SEA_CHECK(d.is_number_unsigned(), where, ": shape entries must be non-negative integers, got ", value["shape"].dump());
      e.shape.push_back(d.get<int64_t>());
      numel *= d.get<uint64_t>();
    }
    const auto& off = value["data_offsets"];
    SEA_CHECK(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(), where,
              ": data_offsets must be [begin, end]");
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    SEA_CHECK(e.begin <= e.end && e.end <= data_size, where, ": data_offsets [", e.begin, ", ", e.end,
              "] fall outside the data section of ", data_size, " bytes (file truncated or corrupt)");
    const uint64_t expected = numel * at::elementSize(e.dtype);
    SEA_CHECK(e.end - e.begin == expected, where, ": holds ", e.end - e.begin, " bytes but shape ",
              value["shape"].dump(), " of ", value["dtype"].get<std::string>(), " needs ", expected);
    spans.emplace_back(e.begin, e.end);
    names_.push_back(name);
    entries_.emplace(name, std::move(e));
  }
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i) {
    SEA_CHECK(spans[i].first >= spans[i - 1].second, "'", path_, "' is corrupt: tensor byte ranges overlap at offset ",
              spans[i].first);
  }
  // Keep file order (by offset) for names(): it is the order tensors were written.
  std::sort(names_.begin(), names_.end(),
            [&](const std::string& a, const std::string& b) { return entries_.at(a).begin < entries_.at(b).begin; });
}

const SafetensorsEntry& SafetensorsFile::entry(const std::string& name) const {
  auto it = entries_.find(name);
  SEA_CHECK(it != entries_.end(), "'", path_, "' has no tensor '", name, "'");
  return it->second;
}

at::Tensor SafetensorsFile::load(const std::string& name) const {
  const SafetensorsEntry& e = entry(name);
  at::Tensor t = at::empty(e.shape, at::TensorOptions().dtype(e.dtype));
  const uint64_t bytes = e.end - e.begin;
  if (bytes == 0) return t;
  std::ifstream in(path_, std::ios::binary);
  SEA_CHECK(in.good(), "cannot open '", path_, "' to read tensor '", name, "'");
  in.seekg(static_cast<std::streamoff>(data_start_ + e.begin));
  in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(bytes));
  SEA_CHECK(in.good(), "'", path_, "': short read for tensor '", name, "' (file truncated?)");
  return t;
}

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    SEA_CHECK(!name.empty() && name != "__metadata__", "save_safetensors('", path, "'): invalid tensor name '", name, "'");
    SEA_CHECK(!header.contains(name), "save_safetensors('", path, "'): duplicate tensor name '", name, "'");
    SEA_CHECK(tensor.defined(), "save_safetensors('", path, "'): tensor '", name, "' is undefined");
    at::Tensor t = tensor.detach().to(at::kCPU).contiguous();
    const uint64_t bytes = t.numel() * t.element_size();
    header[name] = {{"dtype", safetensors_dtype_name(t.scalar_type())},
                    {"shape", t.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(t);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // pad so that the data section starts 8-byte aligned

  write_file_atomic(path, [&](std::ostream& out) {
    unsigned char len[8];
    const uint64_t n = text.size();
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>((n >> (8 * i)) & 0xff);
    out.write(reinterpret_cast<const char*>(len), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& t : data) {
      out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.numel() * t.element_size()));
    }
  });
}

}  // namespace sea::models
