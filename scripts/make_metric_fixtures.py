#!/usr/bin/env python3
"""Reference values for burnlab's classifier and regression scores (src/models/scores.rs),
computed with scikit-learn on fixed predictions.

Writes tests/fixtures/metrics.json:
- "classification": per case, `num_classes`, labels `y_true`, predictions `y_pred`, and
  `macro_f1` = f1_score(average="macro") (labels=None: the classes in either list),
  `per_class_accuracy` = recall_score(labels=range(K), average=None) (0 for a class without
  rows: zero_division's default), `accuracy` and the confusion matrix (rows true classes);
- "top_k": scores, labels, k and top_k_accuracy_score (no ties in the scores);
- "regression": per case, `y_true`, `y_pred`, mean_squared_error, mean_absolute_error, r2_score.

    python3 -m venv ~/.cache/burnlab/venv-sklearn
    ~/.cache/burnlab/venv-sklearn/bin/pip install scikit-learn
    ~/.cache/burnlab/venv-sklearn/bin/python scripts/make_metric_fixtures.py
"""

import json
import os
import warnings

import numpy as np
import sklearn
from sklearn import metrics

warnings.filterwarnings("ignore")  # zero_division warnings are expected

CLASSIFICATION = [
    # A plain case.
    (3, [0, 1, 2, 2, 1, 0, 0, 2], [0, 2, 2, 2, 1, 0, 1, 1]),
    # Class 3 is never predicted.
    (4, [0, 1, 2, 3, 3, 1, 0, 2, 3], [0, 1, 2, 0, 1, 1, 0, 2, 2]),
    # Class 2 is absent from the labels (but predicted); class 4 neither true nor predicted.
    (5, [0, 1, 3, 3, 1, 0, 0, 1], [0, 2, 3, 3, 1, 2, 0, 1]),
    # All correct; class 1 absent from both.
    (3, [0, 2, 2, 0], [0, 2, 2, 0]),
]

rng = np.random.default_rng(0)
TOP_K = []
for n, k_classes, k in [(20, 7, 5), (15, 4, 2)]:
    scores = rng.normal(size=(n, k_classes)).round(4)
    y = rng.integers(0, k_classes, size=n)
    TOP_K.append((scores, y, k))

REGRESSION = [
    ([3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0]),
    ([1.5, 2.25, -3.125, 0.75, 4.0, 0.0], [1.0, 2.5, -2.0, 1.25, 3.5, 0.125]),
    ([2.0, 2.0, 2.0], [2.0, 2.0, 2.0]),  # constant targets, exact: r2 = 1
    ([2.0, 2.0, 2.0], [2.0, 2.5, 1.0]),  # constant targets, not exact: r2 = 0
]

out = {"sklearn": sklearn.__version__, "classification": [], "top_k": [], "regression": []}
for k, t, p in CLASSIFICATION:
    out["classification"].append({
        "num_classes": k, "y_true": t, "y_pred": p,
        "accuracy": float(metrics.accuracy_score(t, p)),
        "macro_f1": float(metrics.f1_score(t, p, average="macro")),
        "per_class_accuracy": [float(v) for v in metrics.recall_score(t, p, labels=list(range(k)), average=None)],
        "confusion": metrics.confusion_matrix(t, p, labels=list(range(k))).tolist(),
    })
for scores, y, k in TOP_K:
    out["top_k"].append({
        "scores": scores.tolist(), "y_true": y.tolist(), "k": k,
        "top_k_accuracy": float(metrics.top_k_accuracy_score(y, scores, k=k, labels=list(range(scores.shape[1])))),
    })
for t, p in REGRESSION:
    out["regression"].append({
        "y_true": t, "y_pred": p,
        "mse": float(metrics.mean_squared_error(t, p)),
        "mae": float(metrics.mean_absolute_error(t, p)),
        "r2": float(metrics.r2_score(t, p)),
    })

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "metrics.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print(path)
