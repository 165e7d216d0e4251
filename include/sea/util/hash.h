// hash.h — a stable 64-bit content hash (FNV-1a) for cache keys and fingerprints.
//
// Why by hand: std::hash is not stable across standard libraries or runs, and the keys end up in file names
// on disk (token caches). FNV-1a is five lines, fast enough for the megabytes we hash, and not used for
// anything that needs collision resistance against an adversary.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace sea {

class Fnv1a64 {
 public:
  Fnv1a64& update(std::string_view bytes) {
    for (unsigned char b : bytes) state_ = (state_ ^ b) * 0x100000001b3ULL;
    return *this;
  }
  // Separates fields so that ("ab","c") and ("a","bc") hash differently.
  Fnv1a64& field(std::string_view bytes) {
    update(std::to_string(bytes.size()));
    update(":");
    return update(bytes);
  }
  uint64_t value() const { return state_; }

 private:
  uint64_t state_ = 0xcbf29ce484222325ULL;
};

inline std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace sea
