// test_perplexity_parity.cpp — our perplexity (both plans) against transformers' OPT loss on the same tokens.
//
// The oracle (scripts/make_perplexity_fixtures.py) runs the tiny random OPT of the HF parity fixtures over a
// fixed token stream: the reference's non-overlapping windows and HF-guide sliding windows at several
// (T, stride). We load the same checkpoint and must match the perplexity and the number of windows.
#include <gtest/gtest.h>

#include "sea/models/model_factory.h"
#include "sea/train/perplexity.h"
#include "sea/util/json_config.h"
#include "test_util.h"

namespace {

TEST(PerplexityParity, MatchesTransformersOnEveryPlan) {
  if (sea::test::fixture_dir().empty()) GTEST_SKIP() << "SEA_FIXTURE_DIR not set (run through ctest)";
  const sea::json fx = sea::read_json_file(sea::test::fixture_dir() + "/perplexity.json");
  const auto tokens = fx["tokens"].get<std::vector<int32_t>>();
  for (const at::Device device : sea::test::test_devices()) {
    sea::models::Model model = sea::models::load_hf_model(fx["model_dir"].get<std::string>());
    model->to(device);
    model->train();  // evaluate_perplexity must switch to eval (dropout off) and back
    for (const auto& c : fx["cases"]) {
      sea::train::PerplexityOptions opt;
      opt.window = c["window"];
      opt.stride = c["stride"];
      opt.batch_size = 3;
      opt.device = device;
      const auto r = sea::train::evaluate_perplexity(*model, tokens, opt);
      const double expected = c["perplexity"];
      EXPECT_NEAR(r.perplexity / expected, 1.0, 1e-5) << r.plan << " on " << device;
      EXPECT_EQ(r.windows, c["windows"].get<int64_t>()) << r.plan;
      if (c.contains("scored_tokens")) {
        EXPECT_EQ(r.scored_tokens, c["scored_tokens"].get<int64_t>()) << r.plan;
      }
    }
    EXPECT_TRUE(model->is_training());
  }
}

}  // namespace
