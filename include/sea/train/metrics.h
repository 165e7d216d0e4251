// metrics.h — the GLUE evaluation metrics, computed on the host from gathered predictions and labels.
//
// The evaluation loop collects one prediction per example (argmax class id, or the regression output for
// STS-B) and calls these. Which task reports what, as in the GLUE paper and HF's `glue` metric:
//   CoLA          matthews_corrcoef
//   MRPC, QQP     accuracy + f1_binary (positive class 1 = "paraphrase / duplicate")
//   STS-B         pearson + spearman (over the float scores)
//   SST-2, MNLI, QNLI, RTE, WNLI   accuracy
// Each one reproduces a reference implementation to rounding (the test oracle is
// scripts/make_metric_fixtures.py): accuracy, f1_binary, matthews_corrcoef = sklearn.metrics accuracy_score,
// f1_score, matthews_corrcoef; pearson, spearman = the statistic of scipy.stats pearsonr, spearmanr. Where
// the reference leaves a value undefined we return what it returns (0.0 or NaN), documented per function.
//
// Plain C++ over std::vector, no torch: callers move their tensors to vectors first. Every function throws
// sea::Error (naming itself and both sizes) when the inputs are empty or of different lengths.
#pragma once

#include <cstdint>
#include <vector>

namespace sea::train {

// Fraction of positions where predictions[i] == labels[i].  predictions, labels: (N,)
double accuracy(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels);

// F1 of the class `positive`: 2·TP / (2·TP + FP + FN) (sklearn f1_score, average='binary').
// 0.0 when the class appears in neither predictions nor labels (sklearn's zero_division default).
// Like sklearn, the inputs must hold at most two distinct class ids, and if they hold two, `positive` must be
// one of them; otherwise sea::Error.  predictions, labels: (N,)
double f1_binary(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels,
                 int64_t positive = 1);

// Matthews correlation coefficient, multi-class (Gorodkin's R_K; sklearn matthews_corrcoef), any integer
// class ids. 0.0 when either side holds a single class (the denominator is 0), as sklearn returns.
// predictions, labels: (N,)
double matthews_corrcoef(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels);

// Pearson correlation coefficient (scipy.stats.pearsonr statistic), clipped to [-1, 1], exactly ±1 for N = 2.
// NaN when x or y is constant (every value equal), when N = 1 (scipy raises there; a single value is
// constant), or when an input holds NaN.  x, y: (N,)
double pearson(const std::vector<double>& x, const std::vector<double>& y);

// Spearman rank correlation (scipy.stats.spearmanr statistic): Pearson over the ranks, ties sharing the
// average of their ranks. NaN for constant input, N = 1, or NaN in an input (scipy's nan_policy='propagate').
// x, y: (N,)
double spearman(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace sea::train
