// test_metrics.cpp — the GLUE metrics against sklearn / scipy (oracle: scripts/make_metric_fixtures.py, run
// by CTest as the metric_fixtures fixture), plus hand-checked values and the input errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#include "sea/train/metrics.h"
#include "sea/util/json_config.h"
#include "test_util.h"

using sea::test::error_of;
namespace metrics = sea::train;

namespace {

constexpr double kTolerance = 1e-12;  // relative, and absolute near 0

// Checks one value against the oracle's: null means NaN, otherwise
// |actual − expected| <= 1e-12 · max(|expected|, 1).
void expect_matches(double actual, const sea::json& expected, const std::string& metric) {
  SCOPED_TRACE(metric);
  if (expected.is_null()) {
    EXPECT_TRUE(std::isnan(actual)) << "expected NaN, got " << actual;
    return;
  }
  const double want = expected.get<double>();
  const double allowed = std::max(kTolerance * std::abs(want), kTolerance);
  EXPECT_LE(std::abs(actual - want), allowed) << "got " << actual << ", oracle " << want;
}

// Inputs may hold null for NaN.
std::vector<double> doubles_of(const sea::json& values) {
  std::vector<double> out;
  for (const auto& v : values) {
    out.push_back(v.is_null() ? std::numeric_limits<double>::quiet_NaN() : v.get<double>());
  }
  return out;
}

}  // namespace

TEST(Metrics, MatchSklearnAndScipy) {
  const std::string path = sea::test::fixture_dir() + "/metrics.json";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "no metric fixtures (run through ctest)";
  const sea::json fixtures = sea::read_json_file(path);
  const sea::json& cases = fixtures.at("cases");
  ASSERT_GE(cases.size(), 30u);
  size_t checked = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const sea::json& expected = c.at("expected");
    ASSERT_FALSE(expected.empty());
    if (c.at("kind") == "classification") {
      const auto predictions = c.at("predictions").get<std::vector<int64_t>>();
      const auto labels = c.at("labels").get<std::vector<int64_t>>();
      expect_matches(metrics::accuracy(predictions, labels), expected.at("accuracy"), "accuracy");
      expect_matches(metrics::matthews_corrcoef(predictions, labels), expected.at("matthews_corrcoef"),
                     "matthews_corrcoef");
      if (expected.contains("f1_binary")) {
        expect_matches(metrics::f1_binary(predictions, labels, c.at("positive").get<int64_t>()),
                       expected.at("f1_binary"), "f1_binary");
      } else {  // more than two classes: sklearn refuses average='binary', so do we
        EXPECT_THROW(metrics::f1_binary(predictions, labels), sea::Error);
      }
    } else {
      const auto x = doubles_of(c.at("x")), y = doubles_of(c.at("y"));
      // Both are symmetric in their arguments: check either order.
      if (expected.contains("pearson")) {
        expect_matches(metrics::pearson(x, y), expected.at("pearson"), "pearson");
        expect_matches(metrics::pearson(y, x), expected.at("pearson"), "pearson(y, x)");
      }
      expect_matches(metrics::spearman(x, y), expected.at("spearman"), "spearman");
      expect_matches(metrics::spearman(y, x), expected.at("spearman"), "spearman(y, x)");
    }
    checked += expected.size();
  }
  EXPECT_GE(checked, 90u);
}

TEST(Metrics, HandCheckedBinaryCase) {
  // predictions 1 0 1 1 vs labels 1 0 0 1: TP = 2, TN = 1, FP = 1, FN = 0.
  const std::vector<int64_t> predictions{1, 0, 1, 1}, labels{1, 0, 0, 1};
  EXPECT_DOUBLE_EQ(metrics::accuracy(predictions, labels), 0.75);
  EXPECT_DOUBLE_EQ(metrics::f1_binary(predictions, labels), 0.8);               // 2·2 / (2·2 + 1 + 0)
  EXPECT_DOUBLE_EQ(metrics::f1_binary(predictions, labels, 0), 2.0 / 3.0);      // class 0: TP 1, FP 0, FN 1
  // MCC = (TP·TN − FP·FN) / √((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (2·1 − 1·0) / √(3·2·2·1)
  EXPECT_DOUBLE_EQ(metrics::matthews_corrcoef(predictions, labels), 2.0 / std::sqrt(12.0));
}

TEST(Metrics, HandCheckedCorrelations) {
  // x − x̄ = (−1, 0, 1), y − ȳ = (−4, −1, 5)/3: r = 3 / (√2 · √42/3) = 9/√84.
  EXPECT_NEAR(metrics::pearson({1, 2, 3}, {1, 2, 4}), 9.0 / std::sqrt(84.0), 1e-15);
  EXPECT_DOUBLE_EQ(metrics::spearman({1, 2, 3}, {1, 2, 4}), 1.0);
  // Tied ranks: x → (1, 2.5, 2.5, 4), y → (1, 3, 2, 4); r = 4.5 / √(4.5 · 5) = √0.9.
  EXPECT_NEAR(metrics::spearman({1, 2, 2, 3}, {1, 3, 2, 4}), std::sqrt(0.9), 1e-15);
  // Undefined cases are NaN (scipy's answer; pearsonr raises for one point, which is constant anyway).
  EXPECT_TRUE(std::isnan(metrics::pearson({1.5}, {2.0})));
  EXPECT_TRUE(std::isnan(metrics::pearson({1, 1, 1}, {1, 2, 3})));
  EXPECT_TRUE(std::isnan(metrics::spearman({1, 2, 3}, {0, 0, 0})));
  // A large common offset must not cost the two-pass algorithm its precision.
  EXPECT_NEAR(metrics::pearson({1e9 + 1, 1e9 + 2, 1e9 + 3}, {1, 2, 4}), 9.0 / std::sqrt(84.0), 1e-12);
}

TEST(Metrics, LengthMismatchNamesFunctionAndBothSizes) {
  const std::vector<int64_t> three{0, 1, 1}, four{0, 1, 1, 0};
  const std::string e = error_of([&] { metrics::accuracy(three, four); });
  EXPECT_NE(e.find("accuracy: predictions and labels have different lengths (predictions: 3, labels: 4)"),
            std::string::npos)
      << e;
  const std::string f = error_of([&] { metrics::f1_binary(four, three); });
  EXPECT_NE(f.find("f1_binary: predictions and labels have different lengths (predictions: 4, labels: 3)"),
            std::string::npos)
      << f;
  EXPECT_NE(error_of([&] { metrics::matthews_corrcoef(three, four); }).find("matthews_corrcoef: "),
            std::string::npos);
  const std::string p = error_of([] { metrics::pearson({1, 2}, {1, 2, 3}); });
  EXPECT_NE(p.find("pearson: x and y have different lengths (x: 2, y: 3)"), std::string::npos) << p;
  const std::string s = error_of([] { metrics::spearman({1, 2, 3}, {1}); });
  EXPECT_NE(s.find("spearman: x and y have different lengths (x: 3, y: 1)"), std::string::npos) << s;
}

TEST(Metrics, EmptyInputIsAnError) {
  const std::vector<int64_t> none;
  const std::string e = error_of([&] { metrics::accuracy(none, none); });
  EXPECT_NE(e.find("accuracy: empty input (predictions: 0, labels: 0)"), std::string::npos) << e;
  EXPECT_NE(error_of([&] { metrics::f1_binary(none, none); }).find("f1_binary: empty input"),
            std::string::npos);
  EXPECT_NE(error_of([&] { metrics::matthews_corrcoef(none, none); }).find("matthews_corrcoef: empty input"),
            std::string::npos);
  EXPECT_NE(error_of([] { metrics::pearson({}, {}); }).find("pearson: empty input (x: 0, y: 0)"),
            std::string::npos);
  EXPECT_NE(error_of([] { metrics::spearman({}, {}); }).find("spearman: empty input"), std::string::npos);
}

TEST(Metrics, BinaryF1RejectsWhatSklearnRejects) {
  const std::string three_classes = error_of([] { metrics::f1_binary({0, 1, 2}, {0, 1, 1}); });
  EXPECT_NE(three_classes.find("more than two class ids (0, 1, 2"), std::string::npos) << three_classes;
  const std::string absent = error_of([] { metrics::f1_binary({0, 2}, {2, 0}); });
  EXPECT_NE(absent.find("positive class 1 is not one of the class ids present (0, 2)"), std::string::npos)
      << absent;
  // A single class id that is not `positive` is fine: no positives anywhere, F1 = 0 (sklearn's
  // zero_division default).
  EXPECT_EQ(metrics::f1_binary({0, 0}, {0, 0}), 0.0);
}
