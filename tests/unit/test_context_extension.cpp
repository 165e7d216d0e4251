// test_context_extension.cpp — models::extend_positions (long-context evaluation, SEA_SPEC.md §5.1, §2.2):
// the table resizes against the reference's own calls (F.interpolate bilinear on the (P, E) table and nearest on
// V_I, here ATen's upsample_bilinear2d / upsample_nearest2d, which F.interpolate dispatches to), and a tiny OPT
// with SEA run past its trained length after the extension, keeping causality.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "sea/attention/sea_attention.h"
#include "sea/models/context_extension.h"
#include "sea/models/model_factory.h"
#include "sea/models/opt.h"
#include "test_util.h"

using namespace sea;
using namespace sea::models;

namespace {

Model make_opt(const std::string& attention) {
  const std::string path = test::source_dir() + "/configs/models/opt-test.json";  // 256 positions
  Model m = make_model(load_model_config(path, {"attention=" + attention}), path);
  m->eval();
  return m;
}

}  // namespace

TEST(ContextExtension, TableResizesMatchTheReferenceInterpolations) {
  at::manual_seed(0);
  at::Tensor table = at::randn({37, 5}, at::kDouble);
  for (int64_t n : {37, 74, 100, 301}) {
    at::Tensor oracle = at::upsample_bilinear2d(table.view({1, 1, 37, 5}), {n, 5}, /*align_corners=*/false).view({n, 5});
    EXPECT_TRUE(at::allclose(interpolate_positions_linear(table, n), oracle, 1e-12, 1e-12)) << n;
    at::Tensor nearest = at::upsample_nearest2d(table.view({1, 1, 37, 5}), {n, 5}).view({n, 5});
    EXPECT_TRUE(at::equal(interpolate_positions_nearest(table, n), nearest)) << n;
  }
  // Doubling: every old row reappears in the nearest resize, twice, in order.
  at::Tensor doubled = interpolate_positions_nearest(table, 74);
  EXPECT_TRUE(at::equal(doubled.slice(0, 0, 74, 2), table));
}

TEST(ContextExtension, OptWithSeaRunsPastItsTrainedLength) {
  Model m = make_opt(R"({"method": "perlin", "k": 4, "predictor_length": 16})");
  auto* opt = dynamic_cast<OPTForCausalLMImpl*>(m.get());
  ASSERT_NE(opt, nullptr);
  const at::Tensor positions_before = opt->embed_positions->weight.detach().clone();  // (256 + 2, 64)
  ModelInputs in;
  in.input_ids = at::randint(3, 500, {1, 400}, at::kLong);
  EXPECT_NE(test::error_of([&] { m->forward(in); }).find("max_position_embeddings"), std::string::npos);

  extend_positions(*m, 512);
  EXPECT_EQ(opt->config().max_position_embeddings, 512);
  EXPECT_EQ(m->config_json()["max_position_embeddings"].get<int64_t>(), 512);
  const at::Tensor& grown = opt->embed_positions->weight;
  ASSERT_EQ(grown.sizes(), at::IntArrayRef({514, 64}));
  EXPECT_TRUE(at::equal(grown.slice(0, 0, 2), positions_before.slice(0, 0, 2)));  // the offset rows kept
  EXPECT_TRUE(at::allclose(grown.slice(0, 2), interpolate_positions_linear(positions_before.slice(0, 2), 512)));
  for (const auto& module : m->modules(false)) {
    if (auto* sea = dynamic_cast<attention::SeaAttentionImpl*>(module.get())) {
      EXPECT_EQ(sea->v_eye_learned_causal.sizes(), at::IntArrayRef({1, 1, 512, 16}));
    }
  }

  // T = 400 now runs, and stays causal: changing token 300 leaves the logits before it unchanged.
  at::Tensor before = m->forward(in).logits;
  EXPECT_TRUE(at::isfinite(before).all().item<bool>());
  in.input_ids = in.input_ids.clone();
  in.input_ids.select(1, 300).fill_(7);
  at::Tensor after = m->forward(in).logits;
  EXPECT_LT((after - before).slice(1, 0, 300).abs().max().item<double>(), 1e-5);
  EXPECT_GT((after - before).slice(1, 300).abs().max().item<double>(), 1e-4);

  extend_positions(*m, 512);  // same size: nothing changes
  EXPECT_EQ(opt->embed_positions->weight.size(0), 514);
}

TEST(ContextExtension, RefusesWhatItCannotDo) {
  Model m = make_opt(R"({"method": "none"})");
  EXPECT_NE(test::error_of([&] { extend_positions(*m, 128); }).find("only growing"), std::string::npos);
  const std::string bert_path = test::source_dir() + "/configs/models/bert-test.json";
  Model bert = make_model(load_model_config(bert_path, {}), bert_path);
  EXPECT_NE(test::error_of([&] { extend_positions(*bert, 1024); }).find("only OPT"), std::string::npos);
}
