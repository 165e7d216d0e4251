// token_cache.cpp — the on-disk token stream cache (format in token_cache.h).
#include "sea/data/token_cache.h"

#include <cstring>
#include <filesystem>
#include <fstream>

#include "sea/util/error.h"
#include "sea/util/filesystem.h"
#include "sea/util/hash.h"
#include "sea/util/logging.h"

namespace sea::data {
namespace {

constexpr char kMagic[8] = {'S', 'E', 'A', 'T', 'O', 'K', 'S', '1'};

uint64_t checksum(const std::vector<int32_t>& ids) {
  Fnv1a64 h;
  h.update(std::string_view(reinterpret_cast<const char*>(ids.data()), ids.size() * sizeof(int32_t)));
  return h.value();
}

}  // namespace

std::string TokenCache::path_for(const std::string& stem, uint64_t key) const {
  return (std::filesystem::path(dir_) / (stem + "." + hex64(key) + ".tokens")).string();
}

std::optional<std::vector<int32_t>> TokenCache::load(const std::string& stem, uint64_t key) const {
  if (dir_.empty()) return std::nullopt;
  const std::string path = path_for(stem, key);
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  char magic[8];
  uint64_t stored_key = 0, count = 0, stored_sum = 0;
  in.read(magic, 8);
  in.read(reinterpret_cast<char*>(&stored_key), 8);
  in.read(reinterpret_cast<char*>(&count), 8);
  if (!in || std::memcmp(magic, kMagic, 8) != 0 || stored_key != key || count > (1ULL << 36)) return std::nullopt;
  // The size must match the count exactly: a damaged count must not make us allocate (up to 256 GiB) before
  // the checksum can reject it, and trailing bytes mean a foreign file.
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec || size != 32 + count * sizeof(int32_t)) return std::nullopt;
  std::vector<int32_t> ids(count);
  in.read(reinterpret_cast<char*>(ids.data()), static_cast<std::streamsize>(count * sizeof(int32_t)));
  in.read(reinterpret_cast<char*>(&stored_sum), 8);
  if (!in || stored_sum != checksum(ids)) return std::nullopt;
  return ids;
}

void TokenCache::store(const std::string& stem, uint64_t key, const std::vector<int32_t>& ids) const {
  std::filesystem::create_directories(dir_);
  write_file_atomic(path_for(stem, key), [&](std::ostream& out) {
    const uint64_t count = ids.size(), sum = checksum(ids);
    out.write(kMagic, 8);
    out.write(reinterpret_cast<const char*>(&key), 8);
    out.write(reinterpret_cast<const char*>(&count), 8);
    out.write(reinterpret_cast<const char*>(ids.data()), static_cast<std::streamsize>(ids.size() * sizeof(int32_t)));
    out.write(reinterpret_cast<const char*>(&sum), 8);
  });
}

std::vector<int32_t> TokenCache::get_or_compute(const std::string& stem, uint64_t key,
                                                const std::function<std::vector<int32_t>()>& tokenize) const {
  if (auto hit = load(stem, key)) {
    log().debug("token cache hit: {} ({} tokens)", path_for(stem, key), hit->size());
    return *hit;
  }
  std::vector<int32_t> ids = tokenize();
  if (!dir_.empty()) {
    try {
      store(stem, key, ids);
      log().info("token cache: wrote {} ({} tokens)", path_for(stem, key), ids.size());
    } catch (const std::exception& e) {
      log().warn("token cache disabled: cannot write under {} ({}); set data.cache_dir to a writable folder",
                 dir_, e.what());
    }
  }
  return ids;
}

}  // namespace sea::data
