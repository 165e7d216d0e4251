// json_config.h — strict reading of JSON configs, and `key=value` overrides.
//
// Every config struct in SEA is filled through a JsonReader: it type-checks each key it is asked for,
// remembers which keys were read, and finish() rejects any key that was not. So a typo in a config file
// or in `--set` is an error that names the key and the file, never a silently ignored setting.
//
//   JsonReader r(json, "configs/models/opt-125m.json");
//   cfg.hidden_size = r.get<int64_t>("hidden_size");            // required
//   cfg.dropout = r.get_or<double>("dropout", 0.1);             // optional with default
//   r.finish();                                                 // unknown keys -> sea::Error
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "sea/util/error.h"

namespace sea {

using json = nlohmann::json;

// Reads a JSON file; errors name the file (missing, unreadable, or the parse error with its position).
json read_json_file(const std::string& path);

// Writes `value` to `path` atomically (temporary file + rename), pretty-printed.
void write_json_file_atomic(const std::string& path, const json& value);

// Applies one override "a.b.c=value" to `root`. The value is parsed as JSON when it is valid JSON
// (numbers, true/false, null, quoted strings, arrays, objects); otherwise it is taken as a plain string.
// Intermediate objects must exist; the last key may be new (the strict reader then rejects it if unknown).
void apply_override(json& root, const std::string& assignment);

class JsonReader {
 public:
  // `where` names the source in errors, e.g. a file path or "model config (opt-125m)".
  JsonReader(const json& object, std::string where);

  bool has(const std::string& key) const;

  template <typename T>
  T get(const std::string& key);

  template <typename T>
  T get_or(const std::string& key, const T& fallback) {
    return has(key) && !object_.at(key).is_null() ? get<T>(key) : (mark(key), fallback);
  }

  // A nested object, as a reader of its own (its unknown keys are checked by its own finish()).
  JsonReader object(const std::string& key);

  // Marks a key as known without reading it (e.g. documentation fields like "_comment").
  void ignore(const std::string& key) { mark(key); }

  // Throws sea::Error listing every key that was present but never read.
  void finish() const;

  const std::string& where() const { return where_; }

 private:
  void mark(const std::string& key) { read_.insert(key); }
  const json& require(const std::string& key);
  [[noreturn]] void type_error(const std::string& key, const char* expected) const;

  const json& object_;
  std::string where_;
  std::set<std::string> read_;
};

// The types get<T> supports (defined in json_config.cpp).
template <> bool JsonReader::get<bool>(const std::string& key);
template <> int64_t JsonReader::get<int64_t>(const std::string& key);
template <> double JsonReader::get<double>(const std::string& key);
template <> std::string JsonReader::get<std::string>(const std::string& key);
template <> json JsonReader::get<json>(const std::string& key);

}  // namespace sea
