// data_test_util.h — helpers shared by the data tests: tokenizers loaded once per process, and scratch
// directories removed at the end of a test (with sea::remove_tree, never std::filesystem::remove_all).
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "sea/data/tokenizer.h"
#include "sea/util/filesystem.h"
#include "test_util.h"

namespace sea::test {

// A preset tokenizer over the test data directory, loaded once (vocab.json + merges.txt take a moment).
// (A string_view by value, not a const std::string&: GCC 13's -Wdangling-reference flags a returned
// reference when a temporary binds to a reference parameter, although the result lives in `cache`.)
inline const sea::data::Tokenizer& shared_tokenizer(std::string_view name) {
  static std::map<std::string, std::shared_ptr<const sea::data::Tokenizer>, std::less<>> cache;
  auto& t = cache[std::string(name)];
  if (!t) t = sea::data::load_tokenizer(std::string(name), data_dir());
  return *t;
}

// A fresh directory under the system temp directory, named after `prefix`, removed when it goes out of scope.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "sea_test") {
    static int counter = 0;
    path_ = (std::filesystem::temp_directory_path() /
             (prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)))
                .string();
    sea::remove_tree(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    try {
      sea::remove_tree(path_);
    } catch (...) {
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return (std::filesystem::path(path_) / rel).string(); }
  // Writes `text` to <dir>/<rel>, creating the parent folders.
  void write(const std::string& rel, const std::string& text) const {
    const std::filesystem::path p = std::filesystem::path(path_) / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
  }

 private:
  std::string path_;
};

}  // namespace sea::test
