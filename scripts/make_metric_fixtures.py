#!/usr/bin/env python3
"""sklearn / scipy oracle for the GLUE metrics (tests/unit/test_metrics.cpp, src/train/metrics.cpp).

Builds cases from numpy's seeded RNG and records, for each, the inputs and what the reference libraries
return:
  classification  predictions + labels (class ids) -> sklearn.metrics accuracy_score, matthews_corrcoef and
                  f1_score (average='binary', pos_label = the case's "positive"; binary cases only)
  regression      x + y (floats) -> scipy.stats pearsonr(x, y).statistic and spearmanr(x, y).statistic
An expectation is left out where the library refuses the input (pearsonr raises for N = 1); the C++ side
defines those cases itself and tests them by hand. sklearn's and scipy's warnings (zero division, constant
input) are silenced: those cases are here on purpose. NaN is written as null, in inputs and expectations.

Usage: make_metric_fixtures.py OUT_JSON
"""
import json
import math
import os
import sys
import warnings

import numpy as np
import scipy
import sklearn
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

rng = np.random.default_rng(20240501)
cases = []


def noisy_copy(labels, accuracy, num_classes=2):
    """Predictions equal to `labels` with probability `accuracy`, otherwise a uniformly random other class."""
    labels = np.asarray(labels)
    wrong = rng.random(labels.shape) >= accuracy
    shift = rng.integers(1, num_classes, size=labels.shape)
    return np.where(wrong, (labels + shift) % num_classes, labels)


def classification(name, predictions, labels, positive=1):
    predictions, labels = np.asarray(predictions, dtype=np.int64), np.asarray(labels, dtype=np.int64)
    expected = {"accuracy": accuracy_score(labels, predictions),
                "matthews_corrcoef": matthews_corrcoef(labels, predictions)}
    if len(np.union1d(predictions, labels)) <= 2:
        expected["f1_binary"] = f1_score(labels, predictions, pos_label=positive, average="binary")
    cases.append({"name": name, "kind": "classification", "positive": positive,
                  "predictions": predictions.tolist(), "labels": labels.tolist(), "expected": expected})


def regression(name, x, y):
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    expected = {"spearman": spearmanr(x, y).statistic}
    if len(x) >= 2:  # pearsonr raises for fewer than 2 points
        expected["pearson"] = pearsonr(x, y).statistic
    cases.append({"name": name, "kind": "regression", "x": x.tolist(), "y": y.tolist(), "expected": expected})


def nan_to_none(value):
    if isinstance(value, dict):
        return {k: nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [nan_to_none(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    return value


warnings.simplefilter("ignore")

# Binary classification (SST-2 / MRPC / QQP / CoLA shapes).
classification("binary_n1_correct", [1], [1])
classification("binary_n1_wrong", [0], [1])
classification("binary_n2", [1, 0], [1, 1])
classification("binary_n7", rng.integers(0, 2, 7), rng.integers(0, 2, 7))
classification("binary_n100_random", rng.integers(0, 2, 100), rng.integers(0, 2, 100))
labels = rng.integers(0, 2, 10000)
classification("binary_n10000_acc85", noisy_copy(labels, 0.85), labels)
labels = (rng.random(500) < 0.1).astype(np.int64)
classification("binary_imbalanced_10pct_positive", noisy_copy(labels, 0.9), labels)
labels = (rng.random(1043) < 0.69).astype(np.int64)
classification("binary_cola_like_dev", noisy_copy(labels, 0.8), labels)
classification("binary_labels_all_positive", rng.integers(0, 2, 50), np.ones(50))
classification("binary_labels_all_negative", rng.integers(0, 2, 50), np.zeros(50))
classification("binary_predictions_all_negative", np.zeros(60), rng.integers(0, 2, 60))
classification("binary_predictions_all_positive", np.ones(60), rng.integers(0, 2, 60))
classification("binary_everything_negative", np.zeros(20), np.zeros(20))
classification("binary_everything_positive", np.ones(20), np.ones(20))
labels = rng.integers(0, 2, 80)
classification("binary_perfect", labels, labels)
classification("binary_inverted", 1 - labels, labels)
labels = rng.integers(0, 2, 200)
classification("binary_positive_class_0", noisy_copy(labels, 0.7), labels, positive=0)

# Three classes (MNLI-like: entailment / neutral / contradiction), and ids that are not 0..K-1.
classification("three_class_n100_random", rng.integers(0, 3, 100), rng.integers(0, 3, 100))
labels = rng.integers(0, 3, 2000)
classification("three_class_mnli_like_acc70", noisy_copy(labels, 0.7, 3), labels)
predictions = noisy_copy(labels, 0.6, 3)
classification("three_class_never_predicts_2", np.where(predictions == 2, 0, predictions), labels)
classification("three_class_perfect", labels, labels)
classification("sparse_ids_minus1_3_7", rng.choice([-1, 3, 7], 300), rng.choice([-1, 3, 7], 300))

# Regression (STS-B: gold scores in [0, 5]).
x = rng.normal(size=100)
regression("random_n100", x, rng.normal(size=100))
x = rng.normal(size=10000)
regression("correlated_n10000", x, x + 0.5 * rng.normal(size=10000))
gold = np.round(rng.uniform(0, 5, 1500) * 2) / 2
predicted = np.clip(np.round((gold + rng.normal(0, 0.8, 1500)) * 2) / 2, 0, 5)
regression("stsb_like_ties_half_steps", predicted, gold)
regression("stsb_like_continuous_predictions", gold + rng.normal(0, 0.6, 1500), gold)
regression("heavy_ties_three_values", rng.integers(0, 3, 60), rng.integers(0, 3, 60))
x = rng.uniform(-2, 2, 200)
regression("monotone_nonlinear_exp", x, np.exp(3 * x))
regression("anti_correlated_cubic", x, -x ** 3 + 0.1 * rng.normal(size=200))
regression("identical", x, x)
regression("large_common_offset", 1e6 + x, 1e6 + x + 0.3 * rng.normal(size=200))
regression("constant_x", np.full(30, 2.5), rng.normal(size=30))
regression("constant_y", rng.normal(size=30), np.full(30, 4.0))
regression("n1", [3.0], [1.0])
regression("n2_increasing", [0.5, 2.0], [1.0, 7.0])
regression("n2_decreasing", [0.5, 2.0], [7.0, 1.0])
regression("n3", [1.0, 2.0, 4.0], [3.0, 1.0, 2.0])
regression("nan_in_x", [1.0, float("nan"), 3.0, 4.0], [1.0, 2.0, 2.5, 5.0])

os.makedirs(os.path.dirname(os.path.abspath(sys.argv[1])), exist_ok=True)
with open(sys.argv[1], "w") as f:
    json.dump({"sklearn": sklearn.__version__, "scipy": scipy.__version__,
               "cases": nan_to_none(cases)}, f, indent=1, allow_nan=False)
print(f"wrote {len(cases)} metric cases to {sys.argv[1]}")
