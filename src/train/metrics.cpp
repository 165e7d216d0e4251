// metrics.cpp — the GLUE evaluation metrics (see metrics.h): accuracy, binary F1 and Matthews correlation
// over class ids, Pearson and Spearman correlation over scores. Checked against sklearn / scipy by
// tests/unit/test_metrics.cpp.
#include "sea/train/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "sea/util/error.h"

namespace sea::train {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The shared validation: same length, at least one element; the message names the function and both sizes.
template <typename A, typename B>
void check_paired_inputs(const char* function, const char* a_name, const std::vector<A>& a,
                         const char* b_name, const std::vector<B>& b) {
  SEA_CHECK(a.size() == b.size(), function, ": ", a_name, " and ", b_name, " have different lengths (",
            a_name, ": ", a.size(), ", ", b_name, ": ", b.size(), ")");
  SEA_CHECK(!a.empty(), function, ": empty input (", a_name, ": ", a.size(), ", ", b_name, ": ", b.size(),
            ")");
}

bool is_constant(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [&](double value) { return value == v.front(); });
}

bool has_nan(const std::vector<double>& v) {
  return std::any_of(v.begin(), v.end(), [](double value) { return std::isnan(value); });
}

// Pearson's r of two non-constant, NaN-free vectors of length >= 2. Two passes in long double: the means
// first, then the centred sums, so that a large common offset (scores around 1e6, say) costs no precision.
double centred_correlation(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = x.size();
  long double sum_x = 0, sum_y = 0;
  for (size_t i = 0; i < n; ++i) {
    sum_x += x[i];
    sum_y += y[i];
  }
  const long double mean_x = sum_x / n, mean_y = sum_y / n;
  long double sum_xy = 0, sum_xx = 0, sum_yy = 0;
  for (size_t i = 0; i < n; ++i) {
    const long double dx = x[i] - mean_x, dy = y[i] - mean_y;
    sum_xy += dx * dy;
    sum_xx += dx * dx;
    sum_yy += dy * dy;
  }
  const double r = static_cast<double>(sum_xy / std::sqrt(sum_xx * sum_yy));
  if (std::isnan(r)) return r;  // e.g. an infinite input
  // With two points the line through them is exact: scipy returns exactly ±1 there.
  if (n == 2) return r > 0 ? 1.0 : -1.0;
  return std::clamp(r, -1.0, 1.0);  // rounding can step just past ±1
}

// 1-based ranks; a run of equal values gets the mean of the ranks it spans (scipy rankdata,
// method='average').
// values: (N,) without NaN -> ranks: (N,)
std::vector<double> average_ranks(const std::vector<double>& values) {
  const size_t n = values.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(n);
  for (size_t run_begin = 0; run_begin < n;) {
    size_t run_end = run_begin + 1;
    while (run_end < n && values[order[run_end]] == values[order[run_begin]]) ++run_end;
    // Sorted positions run_begin..run_end-1 hold ranks run_begin+1..run_end; their mean:
    const double shared_rank = 0.5 * static_cast<double>(run_begin + 1 + run_end);
    for (size_t k = run_begin; k < run_end; ++k) ranks[order[k]] = shared_rank;
    run_begin = run_end;
  }
  return ranks;
}

std::string join_ids(const std::vector<int64_t>& ids) {
  std::string out;
  for (int64_t id : ids) out += (out.empty() ? "" : ", ") + std::to_string(id);
  return out;
}

}  // namespace

double accuracy(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels) {
  check_paired_inputs("accuracy", "predictions", predictions, "labels", labels);
  size_t correct = 0;
  for (size_t i = 0; i < labels.size(); ++i) correct += predictions[i] == labels[i];
  return static_cast<double>(correct) / static_cast<double>(labels.size());
}

double f1_binary(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels,
                 int64_t positive) {
  check_paired_inputs("f1_binary", "predictions", predictions, "labels", labels);
  // sklearn's checks: binary targets (<= 2 distinct ids over both vectors), and `positive` among them if 2.
  std::vector<int64_t> class_ids;
  for (const auto* v : {&predictions, &labels}) {
    for (int64_t id : *v) {
      if (std::find(class_ids.begin(), class_ids.end(), id) != class_ids.end()) continue;
      class_ids.push_back(id);
      if (class_ids.size() > 2) break;
    }
    if (class_ids.size() > 2) break;
  }
  std::sort(class_ids.begin(), class_ids.end());
  SEA_CHECK(class_ids.size() <= 2, "f1_binary: predictions and labels hold more than two class ids (",
            join_ids(class_ids), ", ...); binary F1 needs at most two (use accuracy or matthews_corrcoef)");
  SEA_CHECK(class_ids.size() < 2 || positive == class_ids[0] || positive == class_ids[1],
            "f1_binary: positive class ", positive, " is not one of the class ids present (",
            join_ids(class_ids), ")");

  size_t true_positives = 0, predicted_positives = 0, actual_positives = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    const bool predicted = predictions[i] == positive, actual = labels[i] == positive;
    true_positives += predicted && actual;
    predicted_positives += predicted;
    actual_positives += actual;
  }
  // 2·TP / (2·TP + FP + FN), and FP + TP = predicted positives, FN + TP = actual positives.
  const size_t denominator = predicted_positives + actual_positives;
  if (denominator == 0) return 0.0;  // no positives anywhere: sklearn warns and returns 0 (zero_division)
  return 2.0 * static_cast<double>(true_positives) / static_cast<double>(denominator);
}

double matthews_corrcoef(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels) {
  check_paired_inputs("matthews_corrcoef", "predictions", predictions, "labels", labels);
  // The K-class formula needs only the confusion matrix C's trace and marginals, so C itself (K×K, which
  // could be large for many distinct ids) is never built:
  //   true_count[k] = Σ_j C[k][j], predicted_count[k] = Σ_i C[i][k], correct = trace(C), n = Σ C
  //   MCC = (correct·n − Σ_k t_k p_k) / sqrt((n² − Σ_k p_k²) · (n² − Σ_k t_k²))
  std::vector<int64_t> class_ids(predictions);
  class_ids.insert(class_ids.end(), labels.begin(), labels.end());
  std::sort(class_ids.begin(), class_ids.end());
  class_ids.erase(std::unique(class_ids.begin(), class_ids.end()), class_ids.end());
  const auto index_of = [&](int64_t id) {
    return static_cast<size_t>(std::lower_bound(class_ids.begin(), class_ids.end(), id) - class_ids.begin());
  };
  std::vector<int64_t> true_count(class_ids.size(), 0), predicted_count(class_ids.size(), 0);
  int64_t correct = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    ++true_count[index_of(labels[i])];
    ++predicted_count[index_of(predictions[i])];
    correct += predictions[i] == labels[i];
  }
  // Integer-valued throughout, exact in double for any n below ~9e7 (as in sklearn, which uses float64).
  const double n = static_cast<double>(labels.size());
  double true_dot_predicted = 0, predicted_dot_predicted = 0, true_dot_true = 0;
  for (size_t k = 0; k < class_ids.size(); ++k) {
    const double t = static_cast<double>(true_count[k]), p = static_cast<double>(predicted_count[k]);
    true_dot_predicted += t * p;
    predicted_dot_predicted += p * p;
    true_dot_true += t * t;
  }
  const double covariance_true_predicted = static_cast<double>(correct) * n - true_dot_predicted;
  const double variance_product = (n * n - predicted_dot_predicted) * (n * n - true_dot_true);
  if (variance_product == 0) return 0.0;  // one side holds a single class; sklearn returns 0
  return covariance_true_predicted / std::sqrt(variance_product);
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  check_paired_inputs("pearson", "x", x, "y", y);
  if (has_nan(x) || has_nan(y) || is_constant(x) || is_constant(y)) return kNaN;  // also covers N = 1
  return centred_correlation(x, y);
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  check_paired_inputs("spearman", "x", x, "y", y);
  if (has_nan(x) || has_nan(y) || is_constant(x) || is_constant(y)) return kNaN;  // also covers N = 1
  return centred_correlation(average_ranks(x), average_ranks(y));
}

}  // namespace sea::train
