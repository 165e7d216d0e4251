// test_attention_in_models.cpp — every attention method inside the real models, selected by name in the
// model config: the OPT causality canary (changing token j leaves the logits before j unchanged), BERT padding
// invariance (pad tokens change no valid hidden state and no classifier logit), and a save / load round trip
// that keeps the method's parameters and buffers (SEA's weights, the Performer projection).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "sea/attention/registry.h"
#include "sea/models/model_factory.h"
#include "data/data_test_util.h"
#include "test_util.h"

using namespace sea;
using namespace sea::models;

namespace {
const std::vector<std::string> kMethods = {"none", "performer", "reformer", "perlin"};

Model make(const std::string& family, const std::string& method, const std::string& options = "") {
  const std::string path = test::source_dir() + "/configs/models/" + family + "-test.json";
  json cfg = load_model_config(path, {"attention={\"method\": \"" + method + "\"" + options + "}"});
  Model m = make_model(cfg, path);
  m->eval();
  return m;
}

// Method options that make the test meaningful at these tiny sizes (several LSH buckets, real SEA sparsity).
std::string small_options(const std::string& method) {
  if (method == "reformer") return ", \"bucket_size\": 8, \"n_hashes\": 2";
  if (method == "perlin") return ", \"k\": 4, \"predictor_length\": 16";
  return "";
}
}  // namespace

TEST(AttentionInModels, OptCausalityCanaryForEveryMethod) {
  for (const auto& device : test::test_devices()) {
    for (const auto& method : kMethods) {
      Model m = make("opt", method, small_options(method));
      m->to(device);
      const int64_t T = 120, j = 77;
      at::manual_seed(1);
      ModelInputs in;
      in.input_ids = at::randint(3, 500, {2, T}, at::TensorOptions().device(device).dtype(at::kLong));
      at::manual_seed(5);  // LSH draws its rotations per forward: same draws for both calls
      at::Tensor before = m->forward(in).logits;
      in.input_ids = in.input_ids.clone();
      in.input_ids.select(1, j).fill_(400);
      at::manual_seed(5);
      at::Tensor after = m->forward(in).logits;
      const double scale = before.abs().max().item<double>();
      EXPECT_LT((after - before).slice(1, 0, j).abs().max().item<double>(), 1e-6 * scale) << method << " " << device;
      EXPECT_GT((after - before).slice(1, j, T).abs().max().item<double>(), 1e-4 * scale) << method << " " << device;
    }
  }
}

TEST(AttentionInModels, BertPaddingChangesNoValidOutputForEveryMethod) {
  for (const auto& device : test::test_devices()) {
    for (const auto& method : kMethods) {
      Model m = make("bert", method, small_options(method));
      m->to(device);
      // LSH's bucket count grows with T (about T / bucket_size buckets), so a different padded length hashes
      // differently; for reformer the padding stays within the same bucket count (2·⌈T/16⌉ = 6).
      const int64_t L = 45, T = method == "reformer" ? 47 : 64;
      auto opts = at::TensorOptions().device(device).dtype(at::kLong);
      at::manual_seed(2);
      at::Tensor ids = at::randint(3, 500, {1, L}, opts);
      ModelInputs alone;
      alone.input_ids = ids;
      ModelInputs padded;
      padded.input_ids = at::cat({ids, at::zeros({1, T - L}, opts)}, 1);
      padded.attention_mask = at::cat({at::ones({1, L}, opts), at::zeros({1, T - L}, opts)}, 1);
      ForwardOptions fo;
      fo.output_hidden_states = true;
      at::manual_seed(5);
      auto a = m->forward(alone, fo);
      at::manual_seed(5);
      auto b = m->forward(padded, fo);
      EXPECT_LT(test::max_rel_error(b.logits, a.logits), 1e-5) << method << " " << device;
      EXPECT_LT(test::max_rel_error(b.hidden_states.back().slice(1, 0, L), a.hidden_states.back()), 1e-5)
          << method << " " << device;
    }
  }
}

TEST(AttentionInModels, SaveAndLoadKeepTheMethodState) {
  for (const std::string family : {"opt", "bert"}) {
    for (const std::string method : {"performer", "perlin"}) {
      Model m = make(family, method, small_options(method));
      // Redraw the projection so that a fresh model would differ from the saved one.
      m->train();
      for (int i = 0; i < 1000; ++i) attention::notify_optimizer_step(*m);
      m->eval();
      test::TempDir dir("sea_attention_models");
      save_hf_model(*m, dir.path());
      Model loaded = load_hf_model(dir.path(), attention::AttentionConfig::from_json(
                                                   json::parse("{\"method\": \"" + method + "\"" + small_options(method) + "}"),
                                                   "test"));
      loaded->eval();
      ModelInputs in;
      in.input_ids = at::randint(3, 500, {2, 40}, at::kLong);
      EXPECT_TRUE(at::equal(m->forward(in).logits, loaded->forward(in).logits)) << family << " " << method;
    }
  }
}
