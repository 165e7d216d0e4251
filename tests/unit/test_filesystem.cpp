// test_filesystem.cpp — remove_tree removes nested trees without following symlinks, accepts a missing path,
// and removes the same directory again after it is recreated (the case that crashed through torch 2.11's
// std::filesystem::remove_all on the GPU machine).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "sea/util/filesystem.h"

namespace fs = std::filesystem;

TEST(RemoveTree, RemovesNestedTreesButNotSymlinkTargets) {
  const fs::path root = fs::temp_directory_path() / "sea_test_remove_tree";
  const fs::path outside = fs::temp_directory_path() / "sea_test_remove_tree_outside.txt";
  std::ofstream(outside) << "keep me";
  for (int round = 0; round < 2; ++round) {
    fs::create_directories(root / "a" / "b" / "c");
    std::ofstream(root / "a" / "file.txt") << "x";
    std::ofstream(root / "a" / "b" / "c" / "deep.bin") << "y";
    fs::create_symlink(outside, root / "a" / "link");
    sea::remove_tree(root.string());
    EXPECT_FALSE(fs::exists(root)) << "round " << round;
    EXPECT_TRUE(fs::exists(outside));
  }
  EXPECT_NO_THROW(sea::remove_tree(root.string()));  // missing: nothing to do
  sea::remove_tree(outside.string());                 // a plain file
  EXPECT_FALSE(fs::exists(outside));
}
