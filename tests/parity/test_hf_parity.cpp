// test_hf_parity.cpp — our OPT and BERT reproduce Hugging Face transformers in fp32.
//
// Oracle: scripts/make_hf_parity_fixtures.py (tiny random HF models, their checkpoints and outputs). We load
// each checkpoint with our own safetensors reader and name maps, run the same inputs (with and without
// padding), and compare logits and every layer's hidden state on real (non-padding) positions:
// max |ours - HF| / max |HF| <= 1e-4. On a machine with CUDA the comparison runs on the GPU too.
// Each loaded model is also saved back (HF layout) for hf_loads_sea_checkpoints, where transformers reads it.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "sea/models/model_factory.h"
#include "sea/models/safetensors.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace sea::models;

namespace {
constexpr double kTolerance = 1e-4;

struct Case {
  const char* name;
  bool bert;
  bool fresh_head;  // BertModel checkpoint: classifier not in HF, compare hidden states only
};

void check_case(const Case& c, const at::Device& device) {
  const fs::path dir = fs::path(sea::test::fixture_dir()) / "hf_parity" / c.name;
  if (!fs::exists(dir / "io.safetensors")) GTEST_SKIP() << "no HF parity fixtures in " << dir << " (run through ctest)";
  LoadReport report;
  Model model = load_hf_model((dir / "hf").string(), {}, &report);
  EXPECT_TRUE(report.unexpected.empty()) << report.summary();
  EXPECT_EQ(report.missing.size(), c.fresh_head ? 2u : 0u) << report.summary();
  model->to(device);
  model->eval();
  SafetensorsFile io((dir / "io.safetensors").string());

  for (const std::string tag : {"nopad", "pad"}) {
    SCOPED_TRACE(std::string(c.name) + "/" + tag + " on " + device.str());
    ModelInputs in;
    in.input_ids = io.load(tag + ".input_ids").to(device);
    at::Tensor mask = io.load(tag + ".attention_mask").to(device);
    if (tag == "pad") in.attention_mask = mask;
    if (c.bert) in.token_type_ids = io.load(tag + ".token_type_ids").to(device);
    torch::NoGradGuard no_grad;
    ModelOutput out = model->forward(in, {/*hidden_states=*/true, false, {}});

    at::Tensor valid = mask.to(at::kBool).unsqueeze(-1);  // (N, T, 1)
    ASSERT_EQ(static_cast<int64_t>(out.hidden_states.size()), model->num_layers() + 1);
    double worst_hidden = 0;
    for (int64_t i = 0; i <= model->num_layers(); ++i) {
      at::Tensor ref = io.load(tag + ".hidden_state." + std::to_string(i));
      const double e = sea::test::max_rel_error(out.hidden_states[i], ref, valid);
      EXPECT_LT(e, kTolerance) << "hidden state " << i;
      worst_hidden = std::max(worst_hidden, e);
    }
    double err = 0;
    if (!c.fresh_head) {
      at::Tensor logits_ref = io.load(tag + ".logits");
      err = c.bert ? sea::test::max_rel_error(out.logits, logits_ref)
                   : sea::test::max_rel_error(out.logits, logits_ref, valid);
      EXPECT_LT(err, kTolerance) << "logits";
    }
    std::printf("parity %-15s %-5s %-6s max rel error: logits %.2e, hidden states %.2e\n", c.name, tag.c_str(),
                device.str().c_str(), err, worst_hidden);
    if (c.fresh_head) continue;
    at::Tensor logits_ref = io.load(tag + ".logits");
    // The comparison can fail: a wrong mask (attending to padding) moves the logits far beyond tolerance.
    if (tag == "pad") {
      ModelInputs unmasked = in;
      unmasked.attention_mask = at::Tensor();
      at::Tensor wrong = model->forward(unmasked).logits;
      const double wrong_err = c.bert ? sea::test::max_rel_error(wrong, logits_ref)
                                      : sea::test::max_rel_error(wrong, logits_ref, valid);
      EXPECT_GT(wrong_err, 100 * kTolerance) << "ignoring the padding mask should not pass";
    }
  }

  if (device.is_cpu()) {
    const fs::path saved = fs::path(sea::test::fixture_dir()) / "sea_saved" / c.name;
    fs::create_directories(saved.parent_path());
    save_hf_model(*model, saved.string());
    // Our own reader gets back exactly what we wrote.
    Model again = load_hf_model(saved.string());
    again->eval();
    ModelInputs in;
    in.input_ids = io.load("pad.input_ids");
    in.attention_mask = io.load("pad.attention_mask");
    if (c.bert) in.token_type_ids = io.load("pad.token_type_ids");
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(at::equal(again->forward(in).logits, model->forward(in).logits));
  }
}
}  // namespace

class HFParity : public ::testing::TestWithParam<Case> {};

TEST_P(HFParity, MatchesTransformers) {
  for (const auto& device : sea::test::test_devices()) check_case(GetParam(), device);
}

INSTANTIATE_TEST_SUITE_P(Models, HFParity,
                         ::testing::Values(Case{"opt_pre_ln", false, false}, Case{"opt_350m_style", false, false},
                                           Case{"opt_sharded", false, false}, Case{"bert_cls", true, false},
                                           Case{"bert_reg", true, false}, Case{"bert_base", true, true}),
                         [](const auto& info) { return std::string(info.param.name); });
