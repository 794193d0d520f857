#!/usr/bin/env python3
"""Reference values for burnlab's statistics (src/report/stats.rs), computed with scipy.

Writes tests/fixtures/stats.json: for each case, the 95% Student-t confidence interval of the
mean of `a` (scipy.stats.t.interval with the standard error of the mean) and the two-sided
p-value of Welch's t-test between `a` and `b` (scipy.stats.ttest_ind(equal_var=False)).

    ~/.cache/burnlab/venv-data/bin/python scripts/make_stats_fixtures.py
(the venv from datasets/requirements.txt has numpy and scipy).
"""

import json
import os

import numpy as np
from scipy import stats

CASES = [
    ([1, 2, 3, 4, 5], [2, 4, 6, 8, 10, 12]),
    ([0.31, 0.32, 0.33], [0.30, 0.34, 0.36, 0.29]),
    ([0.932, 0.941, 0.925, 0.938, 0.929], [0.905, 0.912, 0.899, 0.917, 0.908]),
    ([0.6812, 0.6523], [0.3201, 0.3155, 0.3187]),
]

out = []
for a, b in CASES:
    a_ = np.asarray(a, dtype=float)
    lo, hi = stats.t.interval(0.95, len(a_) - 1, loc=a_.mean(), scale=stats.sem(a_))
    out.append({
        "a": a, "b": b,
        "mean_a": float(a_.mean()), "std_a": float(a_.std(ddof=1)),
        "ci95_a": [float(lo), float(hi)],
        "welch_p": float(stats.ttest_ind(a, b, equal_var=False).pvalue),
    })

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "stats.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print(path)
