// token_cache.h — tokenize a text once and keep the token stream on disk.
//
// A cache entry is keyed by the text's bytes, the tokenizer's fingerprint (spec + vocabulary files) and the
// loader's own version string, so editing the text, swapping vocab.json or changing how lines are joined
// all miss the cache. Files are written atomically (temporary file + rename); a file that is truncated,
// has a foreign header or a different key is ignored and rewritten, never trusted.
//
// Layout of <dir>/<stem>.<key>.tokens: "SEATOKS1" | key (u64) | count (u64) | count x int32 ids | checksum (u64).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sea::data {

class TokenCache {
 public:
  // `dir` empty disables caching. The directory is created on first store.
  explicit TokenCache(std::string dir) : dir_(std::move(dir)) {}

  // Returns the cached ids for (stem, key), or computes them with `tokenize` and stores them. A cache that
  // cannot be written (read-only directory) is reported once as a warning and otherwise ignored.
  std::vector<int32_t> get_or_compute(const std::string& stem, uint64_t key,
                                      const std::function<std::vector<int32_t>()>& tokenize) const;

  std::optional<std::vector<int32_t>> load(const std::string& stem, uint64_t key) const;
  void store(const std::string& stem, uint64_t key, const std::vector<int32_t>& ids) const;
  std::string path_for(const std::string& stem, uint64_t key) const;

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

}  // namespace sea::data
