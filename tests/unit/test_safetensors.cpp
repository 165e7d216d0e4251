// test_safetensors.cpp — our safetensors reader/writer: round trip of every dtype, and every kind of corrupt
// file giving an error that names the file. (Compatibility with HF's own files is covered by test_hf_parity,
// which reads checkpoints written by transformers, and by hf_loads_sea_checkpoints, which has transformers
// read ours.)
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "sea/models/safetensors.h"
#include "sea/models/weights_io.h"
#include "sea/util/error.h"
#include "sea/util/filesystem.h"
#include "test_util.h"

using sea::test::error_of;

namespace fs = std::filesystem;
using sea::models::SafetensorsFile;

namespace {
fs::path temp_dir() {
  auto d = fs::temp_directory_path() / "sea_test_safetensors";
  fs::create_directories(d);
  return d;
}

// Writes a raw file: 8-byte length, header text, data bytes.
void write_raw(const fs::path& p, const std::string& header, size_t data_bytes) {
  std::ofstream out(p, std::ios::binary);
  uint64_t n = header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header;
  out << std::string(data_bytes, '\0');
}
}  // namespace

TEST(Safetensors, RoundTripsEveryDtypeAndShape) {
  const auto path = (temp_dir() / "roundtrip.safetensors").string();
  std::vector<std::pair<std::string, at::Tensor>> tensors = {
      {"f32", at::randn({3, 5})},
      {"f64", at::randn({2, 2}, at::kDouble)},
      {"f16", at::randn({7}).to(at::kHalf)},
      {"bf16", at::randn({2, 3, 4}).to(at::kBFloat16)},
      {"i64", at::arange(10, at::kLong)},
      {"i32", at::arange(6, at::kInt).view({2, 3})},
      {"u8", at::arange(5, at::kByte)},
      {"bool", at::tensor({1, 0, 1}, at::kInt).to(at::kBool)},
      {"scalar", at::scalar_tensor(4.0)},
      {"empty", at::empty({0, 3})},
      {"strided", at::randn({4, 6}).t()},  // non-contiguous input is written contiguously
  };
  sea::models::save_safetensors(path, tensors, {{"format", "pt"}});
  SafetensorsFile f(path);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  ASSERT_EQ(f.names().size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    at::Tensor back = f.load(name);
    EXPECT_EQ(back.scalar_type(), t.scalar_type()) << name;
    EXPECT_EQ(back.sizes(), t.sizes()) << name;
    EXPECT_TRUE(at::equal(back, t.contiguous())) << name;
  }
  // The data section starts 8-byte aligned.
  std::ifstream in(path, std::ios::binary);
  uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  EXPECT_EQ((8 + n) % 8, 0u);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

TEST(Safetensors, FailedWriteLeavesNothing) {
  const auto path = (temp_dir() / "no_such_dir" / "x.safetensors").string();
  EXPECT_THROW(sea::models::save_safetensors(path, {{"a", at::ones(2)}}), sea::Error);
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

TEST(Safetensors, RejectsDuplicateNames) {
  const auto path = (temp_dir() / "dup.safetensors").string();
  fs::remove(path);
  EXPECT_THROW(sea::models::save_safetensors(path, {{"a", at::ones(1)}, {"a", at::ones(1)}}), sea::Error);
  EXPECT_FALSE(fs::exists(path));  // nothing written
}

TEST(Safetensors, CorruptFilesGiveErrorsNamingTheFile) {
  const auto d = temp_dir();
  struct Case {
    std::string file, header;
    size_t data;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {"bad_json.safetensors", "{\"a\": {", 0, "not valid JSON"},
      {"bad_dtype.safetensors", R"({"a":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}})", 1, "unsupported dtype 'F8'"},
      {"past_end.safetensors", R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8, "outside the data section"},
      {"wrong_size.safetensors", R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8, "needs 12"},
      {"overlap.safetensors",
       R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
       12, "overlap"},
      {"neg_shape.safetensors", R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4, "non-negative"},
      {"no_offsets.safetensors", R"({"a":{"dtype":"F32","shape":[1]}})", 4, "data_offsets"},
  };
  for (const auto& c : cases) {
    const auto p = d / c.file;
    write_raw(p, c.header, c.data);
    const std::string e = error_of([&] { SafetensorsFile f(p.string()); });
    EXPECT_NE(e.find(p.string()), std::string::npos) << c.file << ": " << e;
    EXPECT_NE(e.find(c.expect), std::string::npos) << c.file << ": " << e;
  }
}

TEST(Safetensors, TruncatedAndTinyFiles) {
  const auto d = temp_dir();
  const auto good = (d / "good.safetensors").string();
  sea::models::save_safetensors(good, {{"w", at::randn({64, 64})}});
  const auto cut = d / "cut.safetensors";
  fs::copy_file(good, cut, fs::copy_options::overwrite_existing);
  fs::resize_file(cut, fs::file_size(cut) - 100);
  EXPECT_NE(error_of([&] { SafetensorsFile f(cut.string()); }).find("truncated"), std::string::npos);

  const auto tiny = d / "tiny.safetensors";
  std::ofstream(tiny) << "abc";
  EXPECT_NE(error_of([&] { SafetensorsFile f(tiny.string()); }).find("shorter than the 8-byte header"), std::string::npos);

  const auto huge = d / "huge_header.safetensors";
  {
    std::ofstream out(huge, std::ios::binary);
    uint64_t n = 1ull << 40;
    out.write(reinterpret_cast<const char*>(&n), 8);
    out << "{}";
  }
  EXPECT_NE(error_of([&] { SafetensorsFile f(huge.string()); }).find("header length"), std::string::npos);
  EXPECT_NE(error_of([&] { SafetensorsFile f((d / "absent.safetensors").string()); }).find("does not exist"),
            std::string::npos);
}

TEST(Safetensors, TensorStoreReadsShardedIndex) {
  const auto d = temp_dir() / "sharded";
  sea::remove_tree((d).string());
  fs::create_directories(d);
  at::Tensor a = at::randn({3}), b = at::randn({2, 2});
  sea::models::save_safetensors((d / "s1.safetensors").string(), {{"a", a}});
  sea::models::save_safetensors((d / "s2.safetensors").string(), {{"b", b}});
  std::ofstream(d / "model.safetensors.index.json")
      << R"({"metadata": {}, "weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}})";
  auto store = sea::models::TensorStore::open(d.string());
  EXPECT_EQ(store.names().size(), 2u);
  EXPECT_TRUE(at::equal(store.load("a"), a));
  EXPECT_TRUE(at::equal(store.load("b"), b));

  // The index names a shard that is not there.
  std::ofstream(d / "model.safetensors.index.json", std::ios::trunc)
      << R"({"weight_map": {"a": "s1.safetensors", "b": "s3.safetensors"}})";
  EXPECT_NE(error_of([&] { sea::models::TensorStore::open(d.string()); }).find("'s3.safetensors'"), std::string::npos);
  // The index places a tensor in a shard that does not hold it.
  std::ofstream(d / "model.safetensors.index.json", std::ios::trunc)
      << R"({"weight_map": {"a": "s2.safetensors", "b": "s2.safetensors"}})";
  EXPECT_NE(error_of([&] { sea::models::TensorStore::open(d.string()); }).find("does not hold it"), std::string::npos);
  // A directory with no weights at all.
  const auto empty = temp_dir() / "empty_dir";
  fs::create_directories(empty);
  EXPECT_NE(error_of([&] { sea::models::TensorStore::open(empty.string()); }).find("no weights"), std::string::npos);
}
