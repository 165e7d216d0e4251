// json_config.cpp — strict JSON config reading (see json_config.h).
#include "sea/util/json_config.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sea/util/filesystem.h"

namespace sea {

json read_json_file(const std::string& path) {
  std::ifstream in(path);
  SEA_CHECK(in.good(), "cannot open JSON file '", path, "'",
            std::filesystem::exists(path) ? " (exists but is not readable)" : " (no such file)");
  try {
    return json::parse(in);
  } catch (const json::parse_error& e) {
    fail("invalid JSON in '", path, "': ", e.what());
  }
}

void write_json_file_atomic(const std::string& path, const json& value) {
  write_file_atomic(path, [&](std::ostream& out) { out << value.dump(2) << '\n'; });
}

void apply_override(json& root, const std::string& assignment) {
  const auto eq = assignment.find('=');
  SEA_CHECK(eq != std::string::npos && eq > 0, "override '", assignment, "' must look like key=value");
  const std::string path = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);

  json value;
  try {
    value = json::parse(text);
  } catch (const json::parse_error&) {
    value = text;  // bare words are strings: method=perlin
  }

  json* node = &root;
  std::stringstream keys(path);
  std::string key, walked;
  std::vector<std::string> parts;
  while (std::getline(keys, key, '.')) parts.push_back(key);
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    walked += (walked.empty() ? "" : ".") + parts[i];
    SEA_CHECK(node->is_object() && node->contains(parts[i]) && (*node)[parts[i]].is_object(),
              "override '", assignment, "': '", walked, "' is not a section of the config");
    node = &(*node)[parts[i]];
  }
  SEA_CHECK(node->is_object(), "override '", assignment, "': cannot set a key inside a non-object");
  (*node)[parts.back()] = value;
}

JsonReader::JsonReader(const json& object, std::string where) : object_(object), where_(std::move(where)) {
  SEA_CHECK(object_.is_object(), where_, ": expected a JSON object, got ", object_.type_name());
}

bool JsonReader::has(const std::string& key) const { return object_.contains(key); }

const json& JsonReader::require(const std::string& key) {
  mark(key);
  SEA_CHECK(object_.contains(key), where_, ": missing required key '", key, "'");
  return object_.at(key);
}

void JsonReader::type_error(const std::string& key, const char* expected) const {
  fail(where_, ": key '", key, "' must be ", expected, ", got ", object_.at(key).dump());
}

template <>
bool JsonReader::get<bool>(const std::string& key) {
  const json& v = require(key);
  if (!v.is_boolean()) type_error(key, "true or false");
  return v.get<bool>();
}

template <>
int64_t JsonReader::get<int64_t>(const std::string& key) {
  const json& v = require(key);
  if (!v.is_number_integer()) type_error(key, "an integer");
  return v.get<int64_t>();
}

template <>
double JsonReader::get<double>(const std::string& key) {
  const json& v = require(key);
  if (!v.is_number()) type_error(key, "a number");
  return v.get<double>();
}

template <>
std::string JsonReader::get<std::string>(const std::string& key) {
  const json& v = require(key);
  if (!v.is_string()) type_error(key, "a string");
  return v.get<std::string>();
}

template <>
json JsonReader::get<json>(const std::string& key) {
  return require(key);
}

JsonReader JsonReader::object(const std::string& key) {
  const json& v = require(key);
  if (!v.is_object()) type_error(key, "an object");
  return JsonReader(v, where_ + " [" + key + "]");
}

void JsonReader::finish() const {
  std::string unknown;
  for (const auto& item : object_.items()) {
    if (!read_.count(item.key())) unknown += (unknown.empty() ? "'" : ", '") + item.key() + "'";
  }
  SEA_CHECK(unknown.empty(), where_, ": unknown key(s) ", unknown);
}

}  // namespace sea
