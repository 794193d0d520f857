#!/usr/bin/env python3
"""Reference decisions of Optuna's pruners on simulated learning curves, for tests/pruners.rs.

Writes tests/fixtures/search/pruners.json. For each pruner configuration and each of SEEDS
seeds, a study of TRIALS trials run one after another (as `burnlab run --jobs 1` does): trial
t reports its curve's value at steps 1..STEPS and stops when `trial.should_prune()` says so.
Curves are exponential decays to a trial-specific floor with noise (lower is better; for
"maximize" cases they are 1 - that, higher is better), drawn with NumPy from the seed and
written into the fixture (`curves[seed]`), so the Rust test replays the same numbers. Recorded per study: the
step each trial was pruned at (null: it completed), and the two quantities a search is judged
by, the best final value among completed trials and the total steps spent; per
configuration, their quantiles over seeds.

    scripts/setup-optuna-venv   # once: ~/.cache/burnlab/venv-optuna (optuna 4.5.0, numpy)
    ~/.cache/burnlab/venv-optuna/bin/python scripts/make_pruner_fixtures.py

Trial numbers are Optuna's (0-based, in order); HyperbandPruner picks a trial's bracket from
the CRC-32 of "{study_name}_{number}", which the test reproduces with the same names.
"""

import json
import os

import numpy as np
import optuna

SEEDS = 16
TRIALS = 24
STEPS = 27

CONFIGS = [
    {"name": "asha-min2-rf3", "kind": "asha", "min_steps": 2, "reduction_factor": 3, "min_early_stopping_rate": 0},
    {"name": "asha-min1-rf2-rate1", "kind": "asha", "min_steps": 1, "reduction_factor": 2, "min_early_stopping_rate": 1},
    {"name": "hyperband-min1-rf3", "kind": "hyperband", "min_steps": 1, "reduction_factor": 3},
    {"name": "median-5-3-2", "kind": "median", "n_startup_trials": 5, "n_warmup_steps": 3, "interval": 2},
]


def pruner_of(c):
    if c["kind"] == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=c["min_steps"],
            reduction_factor=c["reduction_factor"],
            min_early_stopping_rate=c["min_early_stopping_rate"],
        )
    if c["kind"] == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=c["min_steps"], max_resource=STEPS, reduction_factor=c["reduction_factor"]
        )
    return optuna.pruners.MedianPruner(
        n_startup_trials=c["n_startup_trials"], n_warmup_steps=c["n_warmup_steps"], interval_steps=c["interval"]
    )


def curves(seed, maximize):
    rng = np.random.default_rng(seed)
    floor = rng.uniform(0.05, 0.6, TRIALS)
    tau = rng.uniform(2.0, 12.0, TRIALS)
    steps = np.arange(1, STEPS + 1)
    c = floor[:, None] + (1.0 - floor[:, None]) * np.exp(-steps[None, :] / tau[:, None])
    c = c + rng.normal(0.0, 0.01, c.shape)
    c = np.round(c, 6)
    return (1.0 - c if maximize else c).tolist()


def study_run(c, seed, maximize):
    name = f"s{seed}"
    study = optuna.create_study(
        study_name=name,
        direction="maximize" if maximize else "minimize",
        pruner=pruner_of(c),
        sampler=optuna.samplers.RandomSampler(seed=seed),
    )
    cs = curves(seed, maximize)
    pruned_at, spent, finals = [], 0, []
    for curve in cs:
        trial = study.ask()
        stop = None
        for step, v in enumerate(curve, start=1):
            trial.report(v, step)
            spent += 1
            if trial.should_prune():
                stop = step
                break
        if stop is None:
            study.tell(trial, curve[-1])
            finals.append(curve[-1])
        else:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        pruned_at.append(stop)
    best = (max if maximize else min)(finals) if finals else None
    return {"study": name, "seed": seed, "maximize": maximize, "pruned_at": pruned_at, "best": best,
            "steps_spent": spent}


def main():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out = {"optuna": optuna.__version__, "trials": TRIALS, "steps": STEPS,
           "curves": [curves(seed, seed % 2 == 1) for seed in range(SEEDS)], "configs": []}
    for c in CONFIGS:
        studies = [study_run(c, seed, maximize=seed % 2 == 1) for seed in range(SEEDS)]
        spent = np.array([s["steps_spent"] for s in studies], dtype=float)
        regret = np.array([(1 - s["best"]) if s["maximize"] else s["best"] for s in studies], dtype=float)
        q = [0.1, 0.5, 0.9]
        out["configs"].append({
            **c,
            "studies": studies,
            "steps_spent_quantiles": np.quantile(spent, q).tolist(),
            "best_loss_quantiles": np.quantile(regret, q).tolist(),
        })
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "search", "pruners.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(path)


if __name__ == "__main__":
    main()
