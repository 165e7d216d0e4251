// hf_name_map.cpp — prefix-rule name translation (see hf_name_map.h).
#include "sea/models/hf_name_map.h"

#include <algorithm>
#include <cctype>

namespace sea::models {

HFNameMap::HFNameMap(std::vector<NameRule> rules, std::function<std::string(const std::string&)> canonicalize)
    : rules_(std::move(rules)), canonicalize_(std::move(canonicalize)) {}

std::optional<std::string> HFNameMap::rewrite(const std::string& name, const std::string& from, const std::string& to) {
  const auto hole = from.find("{i}");
  if (hole == std::string::npos) {
    if (name.compare(0, from.size(), from) != 0) return std::nullopt;
    return to + name.substr(from.size());
  }
  const std::string head = from.substr(0, hole), tail = from.substr(hole + 3);
  if (name.compare(0, head.size(), head) != 0) return std::nullopt;
  size_t p = head.size();
  while (p < name.size() && std::isdigit(static_cast<unsigned char>(name[p]))) ++p;
  if (p == head.size() || name.compare(p, tail.size(), tail) != 0) return std::nullopt;
  const std::string index = name.substr(head.size(), p - head.size());
  std::string out = to;
  out.replace(out.find("{i}"), 3, index);
  return out + name.substr(p + tail.size());
}

std::string HFNameMap::to_ours(const std::string& hf_name) const {
  const std::string name = canonicalize_ ? canonicalize_(hf_name) : hf_name;
  if (name.empty()) return "";
  const NameRule* best = nullptr;
  std::optional<std::string> result;
  for (const auto& r : rules_) {
    if (best && r.hf.size() <= best->hf.size()) continue;
    if (auto out = rewrite(name, r.hf, r.ours)) best = &r, result = out;
  }
  return result ? *result : name;
}

std::string HFNameMap::to_hf(const std::string& our_name) const {
  const NameRule* best = nullptr;
  std::optional<std::string> result;
  for (const auto& r : rules_) {
    if (best && r.ours.size() <= best->ours.size()) continue;  // first rule wins among equals
    if (auto out = rewrite(our_name, r.ours, r.hf)) best = &r, result = out;
  }
  return result ? *result : our_name;
}

}  // namespace sea::models
