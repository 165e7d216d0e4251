// test_model_configs.cpp — every configs/models/*.json builds a model whose parameters are exactly HF's
// (names after mapping, shapes, full-depth count; oracle: transformers on the meta device, see
// scripts/make_hf_config_fixtures.py); bad configs and bad inputs give errors that name the problem; and
// model-level behaviour of method `none`: OPT causality canary, BERT padding invariance.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "sea/models/bert.h"
#include "sea/models/model_factory.h"
#include "sea/models/opt.h"
#include "sea/util/json_config.h"
#include "test_util.h"

using sea::test::error_of;

namespace fs = std::filesystem;
using namespace sea::models;

namespace {
std::string config_path(const std::string& name) { return sea::test::source_dir() + "/configs/models/" + name + ".json"; }
}  // namespace

TEST(ModelConfigs, ParametersMatchHuggingFace) {
  const std::string fixtures = sea::test::fixture_dir() + "/hf_configs.json";
  if (!fs::exists(fixtures)) GTEST_SKIP() << "no HF config fixtures (run through ctest)";
  sea::json expected = sea::read_json_file(fixtures);
  ASSERT_GE(expected.size(), 9u);
  for (const auto& [name, hf] : expected.items()) {
    SCOPED_TRACE(name);
    sea::json cfg = load_model_config(config_path(name), {"num_hidden_layers=2"});
    Model model = make_model(cfg, name);
    HFNameMap names = hf_name_map_for(*model);

    std::map<std::string, std::vector<int64_t>> ours;
    int64_t non_layer = 0, layer0 = 0;
    for (const auto& p : model->named_parameters(true)) {
      ours[names.to_hf(p.key())] = p.value().sizes().vec();
      if (p.key().rfind("layers.", 0) != 0) non_layer += p.value().numel();
      if (p.key().rfind("layers.0.", 0) == 0) layer0 += p.value().numel();
    }
    std::map<std::string, std::vector<int64_t>> theirs;
    for (const auto& [n, shape] : hf["two_layer_tensors"].items()) theirs[n] = shape.get<std::vector<int64_t>>();
    for (const auto& [n, s] : theirs) {
      ASSERT_TRUE(ours.count(n)) << "our model lacks HF tensor " << n;
      EXPECT_EQ(ours[n], s) << n;
    }
    for (const auto& [n, s] : ours) EXPECT_TRUE(theirs.count(n)) << "HF has no tensor " << n;

    const int64_t layers = sea::read_json_file(config_path(name))["num_hidden_layers"].get<int64_t>();
    EXPECT_EQ(non_layer + layers * layer0, hf["parameters"].get<int64_t>());
  }
}

TEST(ModelConfigs, SmallConfigsBuildAndRun) {
  for (const char* name : {"opt-test", "bert-test"}) {
    Model m = make_model(load_model_config(config_path(name)), name);
    m->eval();
    ModelInputs in;
    in.input_ids = at::randint(512, {2, 9}, at::kLong);
    auto out = m->forward(in, {true, true, {}});
    EXPECT_EQ(static_cast<int64_t>(out.hidden_states.size()), m->num_layers() + 1);
    EXPECT_EQ(static_cast<int64_t>(out.attentions.size()), m->num_layers());
    EXPECT_TRUE(at::isfinite(out.logits).all().item<bool>());
    // The config written by the model builds the same model again.
    EXPECT_NO_THROW(make_model(m->config_json(), "round trip"));
  }
}

TEST(ModelConfigs, BadConfigsNameTheKeyAndValue) {
  const std::string p = config_path("opt-test");
  auto err = [&](std::vector<std::string> o) { return error_of([&] { make_model(load_model_config(p, o), p); }); };
  EXPECT_NE(err({"hiden_size=64"}).find("unknown key(s) 'hiden_size'"), std::string::npos);
  EXPECT_NE(err({"hidden_size=\"64\""}).find("'hidden_size' must be an integer"), std::string::npos);
  EXPECT_NE(err({"num_attention_heads=5"}).find("not divisible by num_attention_heads 5"), std::string::npos);
  EXPECT_NE(err({"ffn_dim=0"}).find("ffn_dim must be > 0"), std::string::npos);
  EXPECT_NE(err({"activation_function=swish9"}).find("unsupported activation 'swish9'"), std::string::npos);
  EXPECT_NE(err({"dropout=1.5"}).find("dropout must be in [0, 1)"), std::string::npos);
  EXPECT_NE(err({"family=gpt"}).find("unknown model family 'gpt'"), std::string::npos);
  EXPECT_NE(err({R"(attention={"method": "nope"})"}).find("unknown attention method 'nope'"), std::string::npos);
  EXPECT_NE(err({}).find("<no error>"), std::string::npos);
  const std::string b = config_path("bert-test");
  EXPECT_NE(error_of([&] { make_model(load_model_config(b, {"num_labels=0"}), b); }).find("num_labels must be > 0"),
            std::string::npos);
  EXPECT_NE(error_of([&] { load_model_config(config_path("no-such-model")); }).find("no such file"), std::string::npos);
}

TEST(ModelInputs, BadInputsAreClearErrors) {
  Model m = make_model(load_model_config(config_path("opt-test")), "opt-test");
  ModelInputs in;
  in.input_ids = at::full({1, 4}, 600, at::kLong);  // vocab is 512
  EXPECT_NE(error_of([&] { m->forward(in); }).find("token id out of range [0, 512)"), std::string::npos);
  in.input_ids = at::zeros({1, 300}, at::kLong);  // max positions 256
  EXPECT_NE(error_of([&] { m->forward(in); }).find("exceeds max_position_embeddings = 256"), std::string::npos);
  in.input_ids = at::zeros({1, 4}, at::kInt);
  EXPECT_NE(error_of([&] { m->forward(in); }).find("must be int64"), std::string::npos);
  in.input_ids = at::zeros({1, 4}, at::kLong);
  in.attention_mask = at::ones({1, 5}, at::kLong);
  EXPECT_NE(error_of([&] { m->forward(in); }).find("attention_mask must have the shape"), std::string::npos);
}

TEST(ModelBehaviour, OPTCausalityCanary) {
  Model m = make_model(load_model_config(config_path("opt-test")), "opt-test");
  m->eval();
  const int64_t T = 97, j = 50;
  ModelInputs in;
  in.input_ids = at::randint(3, 512, {2, T}, at::kLong);
  at::Tensor before = m->forward(in).logits;
  in.input_ids = in.input_ids.clone();
  in.input_ids.select(1, j).fill_(2);
  at::Tensor after = m->forward(in).logits;
  EXPECT_LT((after.slice(1, 0, j) - before.slice(1, 0, j)).abs().max().item<double>(), 1e-6);
  EXPECT_GT((after.slice(1, j) - before.slice(1, j)).abs().max().item<double>(), 1e-4);
}

TEST(ModelBehaviour, BertPaddingInvariance) {
  Model m = make_model(load_model_config(config_path("bert-test")), "bert-test");
  m->eval();
  ModelInputs a;
  a.input_ids = at::randint(5, 512, {1, 11}, at::kLong);
  at::Tensor alone = m->forward(a).logits;
  ModelInputs b;  // the same sequence right-padded to 20 tokens inside a batch with another sequence
  b.input_ids = at::zeros({2, 20}, at::kLong);
  b.input_ids[0].slice(0, 0, 11).copy_(a.input_ids[0]);
  b.input_ids[1] = at::randint(5, 512, {20}, at::kLong);
  b.attention_mask = at::zeros({2, 20}, at::kLong);
  b.attention_mask[0].slice(0, 0, 11).fill_(1);
  b.attention_mask[1].fill_(1);
  at::Tensor batched = m->forward(b).logits;
  EXPECT_LT((batched[0] - alone[0]).abs().max().item<double>(), 1e-5);
}
