// filesystem.cpp — remove_tree over POSIX nftw (see filesystem.h for why not std::filesystem::remove_all).
#include "sea/util/filesystem.h"

#include <ftw.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "sea/util/error.h"

namespace sea {
namespace {
thread_local std::string g_failed_entry;
thread_local int g_failed_errno = 0;

int remove_entry(const char* path, const struct stat*, int, struct FTW*) {
  if (std::remove(path) != 0) {
    g_failed_entry = path;
    g_failed_errno = errno;
    return 1;  // stop the walk
  }
  return 0;
}
}  // namespace

void remove_tree(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    SEA_CHECK(errno == ENOENT, "cannot access '", path, "': ", std::strerror(errno));
    return;
  }
  g_failed_entry.clear();
  // Depth first (children before their directory), physical (do not follow symlinks).
  const int rc = nftw(path.c_str(), remove_entry, 32, FTW_DEPTH | FTW_PHYS);
  SEA_CHECK(rc == 0, "cannot remove '", g_failed_entry.empty() ? path : g_failed_entry, "': ",
            std::strerror(g_failed_entry.empty() ? errno : g_failed_errno));
}

void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write) {
  const std::string tmp = path + ".tmp";
  try {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    SEA_CHECK(out.good(), "cannot create '", tmp, "'");
    write(out);
    out.flush();
    SEA_CHECK(out.good(), "failed while writing '", tmp, "' (disk full?)");
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
  }
  SEA_CHECK(!ec, "cannot rename '", tmp, "' to '", path, "': ", ec.message());
}

}  // namespace sea
