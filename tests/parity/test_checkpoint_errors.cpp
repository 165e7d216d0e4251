// test_checkpoint_errors.cpp — loading the wrong checkpoint fails loudly and changes nothing: shape
// mismatches, missing and unexpected tensors are listed by HF name; corrupt files, a missing config.json and
// an unsupported model_type name the file. Uses the HF fixtures of scripts/make_hf_parity_fixtures.py.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "sea/models/bert.h"
#include "sea/models/hf_bert_adapter.h"
#include "sea/models/hf_opt_adapter.h"
#include "sea/models/model_factory.h"
#include "sea/models/opt.h"
#include "sea/util/filesystem.h"
#include "test_util.h"

using sea::test::error_of;

namespace fs = std::filesystem;
using namespace sea::models;

namespace {
class CheckpointErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(sea::test::fixture_dir()) / "hf_parity";
    if (!fs::exists(root_ / "opt_pre_ln" / "hf")) GTEST_SKIP() << "no HF fixtures (run through ctest)";
  }
  OPTConfig opt_config(const std::string& override_kv = "") {
    sea::json hf = sea::read_json_file((root_ / "opt_pre_ln/hf/config.json").string());
    OPTConfig c = opt_config_from_hf(hf, "opt config");
    sea::json ours = c.to_json();
    if (!override_kv.empty()) sea::apply_override(ours, override_kv);
    return OPTConfig::from_json(ours, "test");
  }
  fs::path root_;
};
}  // namespace

TEST_F(CheckpointErrors, ShapeMismatchIsListedAndModelUntouched) {
  sea::json hf = sea::read_json_file((root_ / "bert_cls/hf/config.json").string());
  BertConfig c = bert_config_from_hf(hf, "bert");
  c.intermediate_size = 256;
  auto model = std::make_shared<BertForSequenceClassificationImpl>(c);
  at::Tensor before = model->embeddings->word_embeddings->weight.clone();
  const std::string e = error_of([&] { load_hf_weights(*model, (root_ / "bert_cls/hf").string()); });
  EXPECT_NE(e.find("shape mismatches (9)"), std::string::npos) << e;  // fc1 weight + bias, fc2 weight; 3 layers
  EXPECT_NE(e.find("bert.encoder.layer.0.intermediate.dense.weight: checkpoint [128, 64] vs model [256, 64]"),
            std::string::npos) << e;
  EXPECT_NE(e.find("nothing was loaded"), std::string::npos);
  EXPECT_TRUE(at::equal(before, model->embeddings->word_embeddings->weight));
}

TEST_F(CheckpointErrors, MissingAndUnexpectedTensorsAreNamed) {
  auto deeper = std::make_shared<OPTForCausalLMImpl>(opt_config("num_hidden_layers=4"));
  const std::string e = error_of([&] { load_hf_weights(*deeper, (root_ / "opt_pre_ln/hf").string()); });
  EXPECT_NE(e.find("missing tensors"), std::string::npos) << e;
  EXPECT_NE(e.find("model.decoder.layers.3.fc1.weight"), std::string::npos) << e;

  auto shallower = std::make_shared<OPTForCausalLMImpl>(opt_config("num_hidden_layers=2"));
  LoadReport r = load_hf_weights(*shallower, (root_ / "opt_pre_ln/hf").string());  // extra tensors: a warning
  EXPECT_EQ(r.unexpected.size(), 16u);  // layer 2: 4 projections + 2 fc × (weight, bias) + 2 norms × 2
  EXPECT_NE(r.summary().find("model.decoder.layers.2.fc1.weight"), std::string::npos);
  LoadPolicy strict;
  strict.allow_unexpected = false;
  EXPECT_NE(error_of([&] { load_hf_weights(*shallower, (root_ / "opt_pre_ln/hf").string(), strict); })
                .find("unexpected tensors (16)"),
            std::string::npos);
}

TEST_F(CheckpointErrors, CorruptOrIncompleteDirectories) {
  const fs::path dir = fs::temp_directory_path() / "sea_ckpt_errors";
  sea::remove_tree((dir).string());
  fs::create_directories(dir);
  const auto rec = fs::copy_options::recursive;
  fs::copy(root_ / "opt_pre_ln/hf", dir / "cut", rec);
  const fs::path weights = dir / "cut" / "model.safetensors";
  fs::resize_file(weights, fs::file_size(weights) / 2);
  std::string e = error_of([&] { load_hf_model((dir / "cut").string()); });
  EXPECT_NE(e.find(weights.string()), std::string::npos) << e;

  fs::copy(root_ / "opt_pre_ln/hf", dir / "noconfig", rec);
  fs::remove(dir / "noconfig" / "config.json");
  EXPECT_NE(error_of([&] { load_hf_model((dir / "noconfig").string()); }).find("has no config.json"), std::string::npos);

  fs::copy(root_ / "opt_pre_ln/hf", dir / "gpt2", rec);
  sea::json cfg = sea::read_json_file((dir / "gpt2/config.json").string());
  cfg["model_type"] = "gpt2";
  std::ofstream(dir / "gpt2/config.json", std::ios::trunc) << cfg.dump();
  EXPECT_NE(error_of([&] { load_hf_model((dir / "gpt2").string()); }).find("model_type 'gpt2' is not supported"),
            std::string::npos);

  fs::copy(root_ / "opt_sharded/hf", dir / "shards", rec);
  fs::remove(dir / "shards" / "model-00003-of-00006.safetensors");
  EXPECT_NE(error_of([&] { load_hf_model((dir / "shards").string()); }).find("model-00003-of-00006.safetensors"),
            std::string::npos);
  EXPECT_NE(error_of([&] { load_hf_model((dir / "absent").string()); }).find("is not a directory"), std::string::npos);
}
