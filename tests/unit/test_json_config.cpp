// test_json_config.cpp — strict config reading: unknown keys, wrong types, overrides, file errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "sea/util/json_config.h"
#include "test_util.h"

using sea::test::error_of;

using sea::json;
using sea::JsonReader;


TEST(JsonConfig, ReadsTypedValuesAndDefaults) {
  json j = {{"a", 3}, {"b", 0.5}, {"c", "x"}, {"d", true}};
  JsonReader r(j, "cfg.json");
  EXPECT_EQ(r.get<int64_t>("a"), 3);
  EXPECT_DOUBLE_EQ(r.get<double>("b"), 0.5);
  EXPECT_EQ(r.get<std::string>("c"), "x");
  EXPECT_TRUE(r.get<bool>("d"));
  EXPECT_EQ(r.get_or<int64_t>("missing", 7), 7);
  EXPECT_NO_THROW(r.finish());
}

TEST(JsonConfig, UnknownKeyIsAnErrorNamingKeyAndSource) {
  json j = {{"hidden_size", 8}, {"hiden_size", 9}};
  JsonReader r(j, "configs/models/x.json");
  r.get<int64_t>("hidden_size");
  const std::string e = error_of([&] { r.finish(); });
  EXPECT_NE(e.find("configs/models/x.json"), std::string::npos) << e;
  EXPECT_NE(e.find("'hiden_size'"), std::string::npos) << e;
}

TEST(JsonConfig, WrongTypeIsAnErrorNamingKeyAndValue) {
  json j = {{"hidden_size", "768"}, {"dropout", "high"}, {"flag", 1}};
  JsonReader r(j, "cfg");
  EXPECT_NE(error_of([&] { r.get<int64_t>("hidden_size"); }).find("'hidden_size' must be an integer, got \"768\""),
            std::string::npos);
  EXPECT_NE(error_of([&] { r.get<double>("dropout"); }).find("must be a number"), std::string::npos);
  EXPECT_NE(error_of([&] { r.get<bool>("flag"); }).find("true or false"), std::string::npos);
  EXPECT_NE(error_of([&] { r.get<int64_t>("absent"); }).find("missing required key 'absent'"), std::string::npos);
}

TEST(JsonConfig, IntegerIsNotSilentlyTruncatedFromFloat) {
  json j = {{"layers", 2.5}};
  JsonReader r(j, "cfg");
  EXPECT_THROW(r.get<int64_t>("layers"), sea::Error);
}

TEST(JsonConfig, OverridesParseJsonValuesAndBareStrings) {
  json j = {{"k", 64}, {"attention", {{"method", "none"}}}, {"name", "a"}};
  sea::apply_override(j, "k=128");
  sea::apply_override(j, "attention.method=perlin");
  sea::apply_override(j, "name=\"quoted\"");
  sea::apply_override(j, "rate=1e-5");
  EXPECT_EQ(j["k"], 128);
  EXPECT_EQ(j["attention"]["method"], "perlin");
  EXPECT_EQ(j["name"], "quoted");
  EXPECT_DOUBLE_EQ(j["rate"].get<double>(), 1e-5);
  EXPECT_THROW(sea::apply_override(j, "novalue"), sea::Error);
  EXPECT_THROW(sea::apply_override(j, "=3"), sea::Error);
  EXPECT_NE(error_of([&] { sea::apply_override(j, "nosuch.section=1"); }).find("'nosuch' is not a section"),
            std::string::npos);
}

TEST(JsonConfig, FileErrorsNameTheFile) {
  const auto dir = std::filesystem::temp_directory_path() / "sea_test_json_config";
  std::filesystem::create_directories(dir);
  const std::string bad = (dir / "bad.json").string();
  std::ofstream(bad) << "{ \"a\": 1, }";
  EXPECT_NE(error_of([&] { sea::read_json_file(bad); }).find("invalid JSON in '" + bad + "'"), std::string::npos);
  EXPECT_NE(error_of([&] { sea::read_json_file((dir / "nope.json").string()); }).find("no such file"), std::string::npos);

  const std::string good = (dir / "good.json").string();
  sea::write_json_file_atomic(good, json{{"x", 1}});
  EXPECT_EQ(sea::read_json_file(good)["x"], 1);
  EXPECT_FALSE(std::filesystem::exists(good + ".tmp"));
}
