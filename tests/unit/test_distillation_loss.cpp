// test_distillation_loss.cpp — the model-level distillation loss terms (SEA_SPEC.md §3.2) against
// torch.nn.functional (oracle: scripts/make_loss_fixtures.py, run by CTest as the loss_fixtures fixture), plus
// the weighting (combine_losses, LossWeights), gradient flow, and the input errors.
//
// Tolerances. The loss functions compute in fp32 whatever the input precision; the oracle is float64. Two
// expectations are stored per case:
//   expected_f32in  float64 formula on the inputs rounded to fp32 — exactly what our code sees, so the only
//                   difference left is fp32 arithmetic (a few ulps, 1.2e-7 each, through log_softmax and a
//                   pairwise-summed mean): relative error <= 1e-6;
//   expected        float64 formula on the float64 inputs — adds the rounding of the inputs to fp32 (<= 6e-8
//                   relative per entry, amplified by the loss's conditioning): relative error <= 1e-5.
// "Relative" is |actual − oracle| / scale, where scale is |oracle| except for the KL: KL = cross-entropy −
// entropy, and fp32 error is relative to the size of those terms, not to their (possibly tiny) difference, so
// its scale is batchmean Σ_c p_t (|log p_t| + |log p_s|) (the oracle stores it). Gradients: max |Δ| / max |g|
// <= 1e-5 against float64 autograd on the float64 inputs.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sea/models/safetensors.h"
#include "sea/train/distillation_loss.h"
#include "sea/util/json_config.h"
#include "test_util.h"

using sea::test::error_of;
namespace train = sea::train;

namespace {

constexpr double kTolFp32Inputs = 1e-6;  // vs the float64 formula on the fp32-rounded inputs
constexpr double kTolExact = 1e-5;       // vs the float64 formula on the float64 inputs
constexpr double kTolGrad = 1e-5;

struct Fixtures {
  sea::json manifest;
  std::unique_ptr<sea::models::SafetensorsFile> file;
};

// Loaded once; nullptr where the fixture directory is unset or the fixture was not generated.
const Fixtures* fixtures() {
  static const std::unique_ptr<Fixtures> loaded = []() -> std::unique_ptr<Fixtures> {
    const std::string dir = sea::test::fixture_dir();
    if (dir.empty() || !std::filesystem::exists(dir + "/losses/manifest.json")) return nullptr;
    auto f = std::make_unique<Fixtures>();
    f->manifest = sea::read_json_file(dir + "/losses/manifest.json");
    f->file = std::make_unique<sea::models::SafetensorsFile>(dir + "/losses/" +
                                                             f->manifest.at("file").get<std::string>());
    return f;
  }();
  return loaded.get();
}

#define SEA_REQUIRE_FIXTURES()                                                               \
  const Fixtures* fx = fixtures();                                                           \
  if (fx == nullptr) GTEST_SKIP() << "no loss fixtures (run through ctest: loss_fixtures)"; \
  static_assert(true, "")

at::Tensor tensor(const Fixtures& fx, const std::string& c, const std::string& name) {
  return fx.file->load(c + "/" + name);
}

// An input of case c: the float64 original, or its fp32 copy (integer inputs have only one version).
at::Tensor input(const Fixtures& fx, const std::string& c, const std::string& name, bool fp32) {
  const std::string key = c + "/" + name + ".f32";
  return fp32 && fx.file->contains(key) ? fx.file->load(key) : tensor(fx, c, name);
}

double scalar(const Fixtures& fx, const std::string& c, const std::string& name) {
  return tensor(fx, c, name).item<double>();
}

// Passes when |actual − expected| <= tol · scale.
::testing::AssertionResult within(double actual, double expected, double scale, double tol) {
  const double err = std::abs(actual - expected);
  if (std::isfinite(actual) && err <= tol * scale) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "got " << actual << ", oracle " << expected << ": |diff| " << err
                                       << " = " << err / scale << " × scale " << scale << " > " << tol;
}

// The loss of one fixture case; `inputs` receives the tensors it was called with (grads are read from them).
at::Tensor compute(const Fixtures& fx, const sea::json& c, bool fp32, std::map<std::string, at::Tensor>* inputs,
                   bool requires_grad = false) {
  const std::string name = c.at("name"), kind = c.at("kind");
  auto in = [&](const std::string& key) {
    at::Tensor t = input(fx, name, key, fp32);
    if (requires_grad && t.is_floating_point()) t.requires_grad_(true);
    return (*inputs)[key] = t;
  };
  if (kind == "lm_task") {
    const bool masked = fx.file->contains(name + "/attention_mask");
    return train::lm_task_loss(in("logits"), in("input_ids"), masked ? in("attention_mask") : at::Tensor());
  }
  if (kind == "classification") return train::classification_task_loss(in("logits"), in("labels"));
  if (kind == "hidden_kd") {
    std::vector<at::Tensor> student, teacher;
    for (int64_t l = 0; l < c.at("layers").get<int64_t>(); ++l) {
      student.push_back(in("student." + std::to_string(l)));
      teacher.push_back(in("teacher." + std::to_string(l)));
    }
    return train::hidden_state_kd(student, teacher);
  }
  if (kind == "logit_kd") return train::logit_kd(in("student"), in("teacher"));
  ADD_FAILURE() << "unknown case kind '" << kind << "' in the loss fixtures";
  return {};
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Against the oracle.

TEST(DistillationLoss, MatchesTorchFunctional) {
  SEA_REQUIRE_FIXTURES();
  const sea::json& cases = fx->manifest.at("cases");
  ASSERT_GE(cases.size(), 16u);
  std::map<std::string, int> per_kind;
  for (const auto& c : cases) {
    const std::string name = c.at("name");
    SCOPED_TRACE(name);
    const double expected = scalar(*fx, name, "expected");
    const double expected_f32in = scalar(*fx, name, "expected_f32in");
    const double scale = scalar(*fx, name, "scale");
    ASSERT_GT(scale, 0.0);
    EXPECT_NEAR(expected, c.at("expected").get<double>(), 1e-12 * scale) << "manifest and tensor file disagree";
    float results[2];
    for (bool fp32 : {false, true}) {
      SCOPED_TRACE(fp32 ? "fp32 inputs" : "fp64 inputs");
      std::map<std::string, at::Tensor> inputs;
      const at::Tensor loss = compute(*fx, c, fp32, &inputs);
      ASSERT_TRUE(loss.defined());
      EXPECT_EQ(loss.scalar_type(), at::kFloat) << "losses are computed in fp32";
      EXPECT_EQ(loss.dim(), 0);
      results[fp32 ? 1 : 0] = loss.item<float>();
      EXPECT_TRUE(within(results[fp32 ? 1 : 0], expected_f32in, scale, kTolFp32Inputs)) << "vs expected_f32in";
      EXPECT_TRUE(within(results[fp32 ? 1 : 0], expected, scale, kTolExact)) << "vs expected (exact inputs)";
    }
    // fp64 inputs are rounded to fp32 first, so both paths compute the very same thing.
    EXPECT_EQ(results[0], results[1]);
    ++per_kind[c.at("kind")];
  }
  EXPECT_GE(per_kind["lm_task"], 5);
  EXPECT_GE(per_kind["classification"], 3);
  EXPECT_GE(per_kind["hidden_kd"], 2);
  EXPECT_GE(per_kind["logit_kd"], 6);
}

// Gradients reach the student (and the logits of the task losses) with the values of float64 autograd; the
// teacher gets none even when it requires grad.
TEST(DistillationLoss, GradientsMatchAutogradAndSkipTheTeacher) {
  SEA_REQUIRE_FIXTURES();
  int checked = 0;
  for (const auto& c : fx->manifest.at("cases")) {
    if (c.at("grad").empty()) continue;
    const std::string name = c.at("name");
    SCOPED_TRACE(name);
    std::map<std::string, at::Tensor> inputs;
    const at::Tensor loss = compute(*fx, c, /*fp32=*/false, &inputs, /*requires_grad=*/true);
    loss.backward();
    for (const auto& key : c.at("grad")) {
      const at::Tensor& x = inputs.at(key.get<std::string>());
      ASSERT_TRUE(x.grad().defined()) << key << " received no gradient";
      const at::Tensor want = tensor(*fx, name, "grad." + key.get<std::string>());
      EXPECT_LE(sea::test::max_rel_error(x.grad(), want), kTolGrad) << key;
      ++checked;
    }
    for (const auto& [key, x] : inputs) {
      if (key.rfind("teacher", 0) == 0) {
        EXPECT_FALSE(x.grad().defined()) << key << " (teacher) received a gradient";
      }
    }
  }
  EXPECT_GE(checked, 12);  // 4 task-loss logits, 4 hidden states, 4 logit-KD students
}

// ---------------------------------------------------------------------------------------------------------------
// By hand.

TEST(DistillationLoss, KlOfIdenticalLogitsIsZeroAndNeverNegative) {
  const at::Tensor x = at::randn({3, 4, 9}, at::kDouble) * 30;
  EXPECT_EQ(train::logit_kd(x, x).item<double>(), 0.0);
  EXPECT_GE(train::logit_kd(x, x.flip(-1)).item<double>(), 0.0);
  // Regression head: MSE, not the softmax over one class (which would always give 0).
  const at::Tensor s = at::tensor({1.0, 2.0, 4.0}).reshape({3, 1}), t = at::tensor({1.0, 0.0, 1.0}).reshape({3, 1});
  EXPECT_FLOAT_EQ(train::logit_kd(s, t).item<float>(), (0.0f + 4.0f + 9.0f) / 3.0f);
}

TEST(DistillationLoss, MismatchedShapesNameBothShapes) {
  const at::Tensor a = at::randn({2, 3, 5}), b = at::randn({2, 3, 4});
  std::string msg = error_of([&] { train::logit_kd(a, b); });
  EXPECT_NE(msg.find("[2, 3, 5]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[2, 3, 4]"), std::string::npos) << msg;

  msg = error_of([&] { train::hidden_state_kd({a, a}, {a, b}); });
  EXPECT_NE(msg.find("hidden state 1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[2, 3, 5]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[2, 3, 4]"), std::string::npos) << msg;
  msg = error_of([&] { train::hidden_state_kd({a, a}, {a}); });
  EXPECT_NE(msg.find("student has 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("teacher 1"), std::string::npos) << msg;
  EXPECT_THROW(train::hidden_state_kd({}, {}), sea::Error);

  const at::Tensor ids = at::zeros({2, 6}, at::kLong);
  msg = error_of([&] { train::lm_task_loss(at::randn({2, 7, 11}), ids, {}); });
  EXPECT_NE(msg.find("[2, 7, 11]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[2, 6]"), std::string::npos) << msg;
  msg = error_of([&] { train::lm_task_loss(at::randn({2, 1, 11}), at::zeros({2, 1}, at::kLong), {}); });
  EXPECT_NE(msg.find("length 1"), std::string::npos) << msg;

  msg = error_of([&] { train::classification_task_loss(at::randn({5, 3}), at::zeros({4}, at::kLong)); });
  EXPECT_NE(msg.find("[5, 3]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[4]"), std::string::npos) << msg;
  msg = error_of([&] { train::classification_task_loss(at::randn({5, 3}), at::zeros({5})); });
  EXPECT_NE(msg.find("int64"), std::string::npos) << msg;
}

// The oracle comparison can fail: a value 2e-6 off (relative) is caught, and so is a NaN.
TEST(DistillationLoss, ComparisonDetectsSmallErrors) {
  EXPECT_TRUE(within(1.0 + 0.5e-6, 1.0, 1.0, kTolFp32Inputs));
  EXPECT_FALSE(within(1.0 + 2e-6, 1.0, 1.0, kTolFp32Inputs));
  EXPECT_FALSE(within(std::numeric_limits<double>::quiet_NaN(), 1.0, 1.0, kTolExact));
  SEA_REQUIRE_FIXTURES();
  const sea::json& c = fx->manifest.at("cases").at(0);
  std::map<std::string, at::Tensor> inputs;
  const double actual = compute(*fx, c, false, &inputs).item<double>();
  const double want = scalar(*fx, c.at("name"), "expected_f32in");
  EXPECT_TRUE(within(actual, want, std::abs(want), kTolFp32Inputs));
  EXPECT_FALSE(within(actual * (1 + 3e-6), want, std::abs(want), kTolFp32Inputs));
}

// ---------------------------------------------------------------------------------------------------------------
// Weights.

namespace {

train::LossTerms four_terms() {
  train::LossTerms t;
  t.task = at::tensor(2.0f);
  t.hidden = at::tensor(3.0f);
  t.logit = at::tensor(5.0f);
  t.attention = at::tensor(7.0f);
  return t;
}

}  // namespace

TEST(LossWeights, ResolvedFillsFamilyDefaultsAndKeepsExplicitValues) {
  const train::LossWeights opt = train::LossWeights{}.resolved("opt");
  EXPECT_EQ(opt.task, 0.1);
  EXPECT_EQ(opt.hidden, 5.0);
  EXPECT_EQ(opt.logit, 0.2);
  EXPECT_EQ(opt.attention, 1.0);
  EXPECT_EQ(opt.task_without_teacher, 1.0);
  const train::LossWeights bert = train::LossWeights{}.resolved("bert");
  EXPECT_EQ(bert.task, 0.1);
  EXPECT_EQ(bert.hidden, 10.0);
  EXPECT_EQ(bert.logit, 0.1);
  EXPECT_EQ(bert.attention, 1.0);

  train::LossWeights w;
  w.task = 0.5;
  w.hidden = 3.0;
  w.logit = 0.0;  // explicit zero: kept, not replaced by the default
  w.attention = 2.0;
  w.task_without_teacher = 0.7;
  for (const char* family : {"opt", "bert"}) {
    const train::LossWeights r = w.resolved(family);
    EXPECT_EQ(r.task, 0.5);
    EXPECT_EQ(r.hidden, 3.0);
    EXPECT_EQ(r.logit, 0.0);
    EXPECT_EQ(r.attention, 2.0);
    EXPECT_EQ(r.task_without_teacher, 0.7);
  }
  const std::string msg = error_of([&] { w.resolved("gpt2"); });
  EXPECT_NE(msg.find("gpt2"), std::string::npos) << msg;
}

TEST(LossWeights, FromJsonIsStrict) {
  const train::LossWeights w = train::LossWeights::from_json(
      sea::json{{"_comment", "x"}, {"task", 0.3}, {"hidden", 7}, {"logit", 0.05}, {"attention", 0}}, "run.json");
  EXPECT_EQ(w.task, 0.3);
  EXPECT_EQ(w.hidden, 7.0);
  EXPECT_EQ(w.logit, 0.05);
  EXPECT_EQ(w.attention, 0.0);
  EXPECT_EQ(w.task_without_teacher, 1.0);
  // Absent keys keep the defaults; hidden/logit stay "family default" (< 0) until resolved.
  const train::LossWeights d = train::LossWeights::from_json(sea::json::object(), "run.json");
  EXPECT_EQ(d.task, 0.1);
  EXPECT_LT(d.hidden, 0);
  EXPECT_LT(d.logit, 0);
  EXPECT_EQ(d.resolved("bert").hidden, 10.0);
  // -1 is the only negative value accepted for hidden/logit (the sentinel); others are typos, not defaults.
  for (const char* key : {"hidden", "logit"}) {
    const std::string msg = error_of([&] { train::LossWeights::from_json(sea::json{{key, -3}}, "run.json"); });
    EXPECT_NE(msg.find(std::string("loss.") + key + " = -3"), std::string::npos) << msg;
    EXPECT_EQ(train::LossWeights::from_json(sea::json{{key, -1}}, "run.json").resolved("opt").hidden, 5.0);
  }
  // to_json round-trips, the unresolved sentinel included.
  for (const auto& x : {w, d}) {
    const train::LossWeights back = train::LossWeights::from_json(x.to_json(), "round trip");
    EXPECT_EQ(back.to_json(), x.to_json());
  }

  std::string msg = error_of([] { train::LossWeights::from_json(sea::json{{"tasks", 0.1}}, "run.json"); });
  EXPECT_NE(msg.find("tasks"), std::string::npos) << msg;
  EXPECT_NE(msg.find("run.json"), std::string::npos) << msg;
  for (const char* key : {"task", "attention", "task_without_teacher"}) {
    msg = error_of([&] { train::LossWeights::from_json(sea::json{{key, -0.5}}, "run.json"); });
    EXPECT_NE(msg.find(std::string("loss.") + key), std::string::npos) << msg;
    EXPECT_NE(msg.find("-0.5"), std::string::npos) << msg;
  }
  msg = error_of([] { train::LossWeights::from_json(sea::json{{"task", "high"}}, "run.json"); });
  EXPECT_NE(msg.find("task"), std::string::npos) << msg;
}

TEST(CombineLosses, WeightsEachTermAndPicksTheTaskWeightByTeacher) {
  const train::LossTerms terms = four_terms();
  // OPT: 0.1·2 + 5·3 + 0.2·5 + 1·7 = 23.2; BERT: 0.1·2 + 10·3 + 0.1·5 + 1·7 = 37.7.
  train::LossTerms r = train::combine_losses(terms, train::LossWeights{}.resolved("opt"), true);
  EXPECT_FLOAT_EQ(r.total.item<float>(), 23.2f);
  EXPECT_EQ(r.total.scalar_type(), at::kFloat);
  EXPECT_TRUE(r.task.equal(terms.task) && r.hidden.equal(terms.hidden) && r.logit.equal(terms.logit) &&
              r.attention.equal(terms.attention))
      << "the separate terms are returned unchanged";
  EXPECT_FLOAT_EQ(train::combine_losses(terms, train::LossWeights{}.resolved("bert"), true).total.item<float>(), 37.7f);
  // Without a teacher: task × task_without_teacher (1) only; the KD and attention terms are ignored.
  EXPECT_FLOAT_EQ(train::combine_losses(terms, train::LossWeights{}.resolved("opt"), false).total.item<float>(), 2.0f);
  train::LossWeights w = train::LossWeights{}.resolved("opt");
  w.task_without_teacher = 0.25;
  EXPECT_FLOAT_EQ(train::combine_losses(terms, w, false).total.item<float>(), 0.5f);
  // Absent terms are skipped.
  train::LossTerms partial;
  partial.hidden = at::tensor(3.0f);
  partial.attention = at::tensor(7.0f);
  EXPECT_FLOAT_EQ(train::combine_losses(partial, train::LossWeights{}.resolved("opt"), true).total.item<float>(),
                  22.0f);
}

TEST(CombineLosses, ZeroWeightDropsTheTerm) {
  train::LossTerms terms = four_terms();
  terms.logit = at::tensor(std::numeric_limits<float>::quiet_NaN());  // 0 · NaN would poison the total
  terms.attention = at::tensor(std::numeric_limits<float>::infinity());
  train::LossWeights w = train::LossWeights{}.resolved("opt");
  w.logit = 0;
  w.attention = 0;
  EXPECT_FLOAT_EQ(train::combine_losses(terms, w, true).total.item<float>(), 0.2f + 15.0f);
}

TEST(CombineLosses, NothingToTrainOrUnresolvedWeightsIsAnError) {
  const train::LossWeights opt = train::LossWeights{}.resolved("opt");
  EXPECT_THROW(train::combine_losses(train::LossTerms{}, opt, true), sea::Error);
  EXPECT_THROW(train::combine_losses(train::LossTerms{}, opt, false), sea::Error);
  // Without a teacher only the task counts: KD terms alone are nothing to train.
  train::LossTerms kd_only = four_terms();
  kd_only.task = at::Tensor();
  const std::string msg = error_of([&] { train::combine_losses(kd_only, opt, false); });
  EXPECT_NE(msg.find("nothing to train"), std::string::npos) << msg;
  // Every present term weighted 0.
  train::LossWeights zero = opt;
  zero.task = zero.hidden = zero.logit = zero.attention = 0;
  EXPECT_THROW(train::combine_losses(four_terms(), zero, true), sea::Error);
  // Weights must be resolved first.
  EXPECT_THROW(train::combine_losses(four_terms(), train::LossWeights{}, true), sea::Error);
}

TEST(CombineLosses, GradientsCarryTheWeights) {
  train::LossTerms terms;
  terms.task = at::tensor(2.0f).requires_grad_(true);
  terms.hidden = at::tensor(3.0f).requires_grad_(true);
  terms.logit = at::tensor(5.0f).requires_grad_(true);
  terms.attention = at::tensor(7.0f).requires_grad_(true);
  const train::LossTerms r = train::combine_losses(terms, train::LossWeights{}.resolved("bert"), true);
  r.total.backward();
  EXPECT_FLOAT_EQ(terms.task.grad().item<float>(), 0.1f);
  EXPECT_FLOAT_EQ(terms.hidden.grad().item<float>(), 10.0f);
  EXPECT_FLOAT_EQ(terms.logit.grad().item<float>(), 0.1f);
  EXPECT_FLOAT_EQ(terms.attention.grad().item<float>(), 1.0f);
}
