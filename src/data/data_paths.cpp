// data_paths.cpp — data directory resolution and the "missing data" error (see data_paths.h).
#include "sea/data/data_paths.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sea/util/error.h"

namespace sea::data {

std::string resolve_data_dir(const std::string& configured) {
  if (!configured.empty()) return configured;
  if (const char* env = std::getenv("SEA_DATA_DIR"); env && *env) return env;
  return "data";
}

std::string data_file_path(const std::string& data_dir, const std::string& relative) {
  const std::filesystem::path rel(relative);
  return rel.is_absolute() ? rel.string() : (std::filesystem::path(data_dir) / rel).string();
}

bool data_file_exists(const std::string& data_dir, const std::string& relative) {
  std::error_code ec;
  return std::filesystem::is_regular_file(data_file_path(data_dir, relative), ec);
}

std::string require_data_file(const std::string& data_dir, const std::string& relative, const std::string& what) {
  const std::string path = data_file_path(data_dir, relative);
  if (data_file_exists(data_dir, relative)) return path;
  std::error_code ec;
  const std::string absolute = std::filesystem::absolute(path, ec).string();
  const char* env = std::getenv("SEA_DATA_DIR");
  fail(what, " not found: looked for ", ec ? path : absolute, "\n  data directory: ", data_dir,
       " (chosen from data.dir, else $SEA_DATA_DIR", env ? std::string("=") + env : std::string(" (unset)"),
       ", else ./data)", std::filesystem::is_directory(data_dir, ec) ? "" : " -- this directory does not exist",
       "\n  to fill it: scripts/get_data.sh [DIR] (copies from $SEA_DATA_MIRROR, e.g. ../shared/data, or downloads"
       " the canonical files), or set data.dir / SEA_DATA_DIR to a folder that has them");
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  SEA_CHECK(in, "cannot open ", path, " for reading");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  SEA_CHECK(!in.bad(), "error while reading ", path);
  return buffer.str();
}

}  // namespace sea::data
