#!/usr/bin/env python3
"""Reference values for the report's statistics (src/report/stats/), from scipy, statsmodels
and rliable. Writes tests/fixtures/report_stats.json:

- paired: the two-sided p-values of scipy.stats.ttest_rel and scipy.stats.wilcoxon (defaults:
  zeros dropped, exact for n <= 50 without ties or zeros, else the normal approximation);
- welch: scipy.stats.ttest_ind(equal_var=False) one-sided ("greater") and
  scipy.stats.ttest_ind_from_stats(equal_var=False) two-sided from summaries;
- holm: statsmodels.stats.multitest.multipletests(method="holm");
- effect: Cohen's d and Hedges' g from their formulas (pooled sample std; g = d (1 - 3 / (4 (na + nb) - 9)));
- bootstrap: scipy.stats.bootstrap(method="percentile") of the mean, and rliable's IQM with its
  stratified-bootstrap interval (get_interval_estimates, percentile), each with 50,000
  resamples. burnlab resamples with its own generator (ChaCha8, 10,000 resamples), so the
  unit test checks the point estimates exactly and the interval bounds within a tolerance.

    "$(scripts/setup-stats-venv | tail -n1)" scripts/make_report_stats_fixtures.py
"""

import json
import os

import numpy as np
from rliable import library as rly
from rliable import metrics
from scipy import stats
from statsmodels.stats.multitest import multipletests

rng = np.random.default_rng(21)


def r(x):
    return [float(v) for v in x]


paired = []
PAIRED = [
    ([0.91, 0.93, 0.92, 0.95, 0.90], [0.88, 0.90, 0.93, 0.91, 0.87]),  # exact, no ties
    ([1.0, 2.0, 3.0], [1.5, 2.2, 2.1]),  # n = 3, exact
    ([0.5, 0.6, 0.7, 0.8, 0.9, 1.0], [0.4, 0.5, 0.6, 0.8, 0.95, 0.9]),  # ties among |d| and a zero
    (list(rng.normal(0.8, 0.05, 12)), list(rng.normal(0.78, 0.05, 12))),  # exact, n = 12
    (list(np.round(rng.normal(0.7, 0.03, 60), 3)), list(np.round(rng.normal(0.69, 0.03, 60), 3))),  # approx
]
for a, b in PAIRED:
    paired.append({
        "a": r(a), "b": r(b),
        "ttest_rel_p": float(stats.ttest_rel(a, b).pvalue),
        "wilcoxon_p": float(stats.wilcoxon(a, b).pvalue),
    })

welch = []
for a, b in [([0.93, 0.94, 0.92], [0.90, 0.91, 0.89, 0.92]), ([0.5, 0.6, 0.55], [0.58, 0.61, 0.57]),
             ([1, 2, 3, 4, 5], [2, 4, 6, 8, 10, 12])]:
    a_, b_ = np.asarray(a, float), np.asarray(b, float)
    na, nb = len(a_), len(b_)
    sp = np.sqrt(((na - 1) * a_.var(ddof=1) + (nb - 1) * b_.var(ddof=1)) / (na + nb - 2))
    d = (a_.mean() - b_.mean()) / sp
    welch.append({
        "a": r(a), "b": r(b),
        "greater_p": float(stats.ttest_ind(a_, b_, equal_var=False, alternative="greater").pvalue),
        "from_stats_p": float(stats.ttest_ind_from_stats(a_.mean(), a_.std(ddof=1), na, 0.9, 0.02, 10,
                                                           equal_var=False).pvalue),
        "cohens_d": float(d),
        "hedges_g": float(d * (1 - 3 / (4 * (na + nb) - 9))),
    })

holm = []
for p in [[0.01, 0.04, 0.03, 0.005], [0.2, 0.5, 0.01], [0.04, 0.04, 0.04]]:
    holm.append({"p": p, "adjusted": r(multipletests(p, method="holm")[1])})

bootstrap = []
for x in [list(rng.normal(0.9, 0.02, 5)), list(rng.normal(0.6, 0.05, 10)), [0.31, 0.32, 0.35]]:
    res = stats.bootstrap((np.asarray(x),), np.mean, method="percentile", n_resamples=50000, random_state=0)
    bootstrap.append({"x": r(x), "ci": [float(res.confidence_interval.low), float(res.confidence_interval.high)]})

iqm = []
for runs, tasks in [(5, 2), (3, 4), (10, 3)]:
    scores = rng.normal(0.8, 0.05, (runs, tasks))
    point, ci = rly.get_interval_estimates({"x": scores}, lambda s: np.array([metrics.aggregate_iqm(s)]),
                                           reps=50000, random_state=np.random.RandomState(0))
    iqm.append({
        "tasks": [r(scores[:, t]) for t in range(tasks)],
        "iqm": float(point["x"][0]),
        "ci": [float(ci["x"][0][0]), float(ci["x"][1][0])],
    })

out = {"paired": paired, "welch": welch, "holm": holm, "bootstrap": bootstrap, "iqm": iqm}
path = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "report_stats.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print(f"wrote {os.path.normpath(path)}")
