#!/usr/bin/env python3
"""Reference behaviour of burnlab's TPE sampler (src/sweep/tpe.rs): Optuna's samplers on test functions.

Runs Optuna's TPESampler (its defaults: 10 random start-up trials, 24 candidates, univariate) and,
as the baseline, its RandomSampler on three minimisation problems, SEEDS seeds each, one trial at
a time (sequential ask/tell), and writes tests/fixtures/search/samplers.json: for each problem,
sampler and budget n, the best value found in the first n trials over the seeds, as mean, standard
deviation, standard error, a 95% bootstrap confidence interval of the mean (percentile bootstrap,
BOOTSTRAP resamples) and quantiles.

Problems (the same functions are written in Rust in tests/search_reference.rs):
- branin: Branin-Hoo on x1 in [-5, 10], x2 in [0, 15] (uniform floats); minimum 0.397887.
- hartmann6: Hartmann 6-D on [0, 1]^6 (uniform floats); minimum -3.32237.
- mixed: a log-uniform float, a log-scale integer, an integer and a categorical (see `mixed`);
  minimum 0 at lr = 10^-2.5, width = 64, depth = 3, act = "relu".

    "$(scripts/setup-optuna-venv | tail -n1)" scripts/make_search_fixtures.py
"""

import json
import math
import os
import time

import numpy as np
import optuna

SEEDS = 50
BOOTSTRAP = 10000
QUANTILES = [0.05, 0.25, 0.5, 0.75, 0.95]


def branin(x1, x2):
    a, b, c = 1.0, 5.1 / (4 * math.pi**2), 5 / math.pi
    r, s, t = 6.0, 10.0, 1 / (8 * math.pi)
    return a * (x2 - b * x1**2 + c * x1 - r) ** 2 + s * (1 - t) * math.cos(x1) + s


H6_ALPHA = [1.0, 1.2, 3.0, 3.2]
H6_A = [
    [10, 3, 17, 3.5, 1.7, 8],
    [0.05, 10, 17, 0.1, 8, 14],
    [3, 3.5, 1.7, 10, 17, 8],
    [17, 8, 0.05, 10, 0.1, 14],
]
H6_P = [
    [1312, 1696, 5569, 124, 8283, 5886],
    [2329, 4135, 8307, 3736, 1004, 9991],
    [2348, 1451, 3522, 2883, 3047, 6650],
    [4047, 8828, 8732, 5743, 1091, 381],
]


def hartmann6(x):
    total = 0.0
    for i in range(4):
        inner = sum(H6_A[i][j] * (x[j] - 1e-4 * H6_P[i][j]) ** 2 for j in range(6))
        total -= H6_ALPHA[i] * math.exp(-inner)
    return total


ACT = {"relu": 0.0, "tanh": 0.3, "sigmoid": 0.8}


def mixed(lr, width, depth, act):
    return (math.log10(lr) + 2.5) ** 2 + (math.log2(width) - 6) ** 2 / 4 + (depth - 3) ** 2 / 8 + ACT[act]


def objective_branin(trial):
    return branin(trial.suggest_float("x1", -5.0, 10.0), trial.suggest_float("x2", 0.0, 15.0))


def objective_hartmann6(trial):
    return hartmann6([trial.suggest_float(f"x{j}", 0.0, 1.0) for j in range(6)])


def objective_mixed(trial):
    return mixed(
        trial.suggest_float("lr", 1e-4, 1.0, log=True),
        trial.suggest_int("width", 8, 512, log=True),
        trial.suggest_int("depth", 1, 8),
        trial.suggest_categorical("act", ["relu", "tanh", "sigmoid"]),
    )


PROBLEMS = [
    ("branin", objective_branin, 50, [10, 20, 30, 50], 0.397887),
    ("hartmann6", objective_hartmann6, 100, [10, 25, 50, 100], -3.32237),
    ("mixed", objective_mixed, 50, [10, 20, 30, 50], 0.0),
]

SAMPLERS = {
    "tpe": lambda seed: optuna.samplers.TPESampler(seed=seed),
    "random": lambda seed: optuna.samplers.RandomSampler(seed=seed),
}


def best_so_far(objective, sampler, trials):
    study = optuna.create_study(direction="minimize", sampler=sampler)
    study.optimize(objective, n_trials=trials)
    values = [t.value for t in study.trials]
    return np.minimum.accumulate(values)


def summary(best, rng):
    best = np.asarray(best, dtype=float)
    means = rng.choice(best, size=(BOOTSTRAP, best.size), replace=True).mean(axis=1)
    lo, hi = np.quantile(means, [0.025, 0.975])
    sd = float(best.std(ddof=1))
    return {
        "mean": float(best.mean()),
        "sd": sd,
        "se": sd / math.sqrt(best.size),
        "mean_ci95": [float(lo), float(hi)],
        "quantiles": {str(q): float(v) for q, v in zip(QUANTILES, np.quantile(best, QUANTILES))},
    }


def main():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rng = np.random.default_rng(0)
    problems = {}
    for name, objective, trials, budgets, minimum in PROBLEMS:
        entry = {"trials": trials, "minimum": minimum, "budgets": budgets, "samplers": {}}
        for sampler_name, make in SAMPLERS.items():
            start = time.time()
            curves = np.array([best_so_far(objective, make(seed), trials) for seed in range(SEEDS)])
            entry["samplers"][sampler_name] = {str(n): summary(curves[:, n - 1], rng) for n in budgets}
            print(f"{name} {sampler_name}: {time.time() - start:.1f} s", flush=True)
        problems[name] = entry
    out = {
        "source": "scripts/make_search_fixtures.py",
        "optuna": optuna.__version__,
        "numpy": np.__version__,
        "seeds": list(range(SEEDS)),
        "settings": {
            "tpe": "optuna.samplers.TPESampler(seed=seed): defaults (n_startup_trials=10, n_ei_candidates=24, "
            "gamma=min(ceil(0.1 n), 25), default weights, prior_weight=1.0, magic clip, no endpoints, univariate)",
            "random": "optuna.samplers.RandomSampler(seed=seed)",
            "study": "direction=minimize, sequential optimize(n_trials=trials)",
            "statistic": "best value found in the first n trials, over the seeds; mean_ci95: percentile bootstrap "
            f"of the mean ({BOOTSTRAP} resamples)",
        },
        "problems": problems,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "search", "samplers.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)
    print(os.path.normpath(path))


if __name__ == "__main__":
    main()
