#!/usr/bin/env python3
"""A Markdown table over seeds from JSON lines (one training per line), standard library only.

Per model (the `model` key; rows in --models order, else first-seen order): n, test accuracy
mean ± sample standard deviation (n - 1), its 95% Student-t confidence interval
(mean ± t(0.975, n - 1) · std / sqrt(n), scipy.stats.t.interval's), mean test loss and mean
training seconds (evaluations excluded). The t quantile is computed exactly (the regularised
incomplete beta function by its continued fraction, inverted by bisection), so it holds for
every n, not only a tabulated few.

    python3 scripts/seed_table.py results/fashion-mnist/pytorch.jsonl --models cnn3 mlp logreg
"""

import argparse
import json
import math
import statistics
import sys


def _betacf(a, b, x):
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1000):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-16:
            break
    return h


def betainc(a, b, x):
    """The regularised incomplete beta function I_x(a, b), x in [0, 1]."""
    if x <= 0.0 or x >= 1.0:
        return 0.0 if x <= 0.0 else 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t, df):
    """Student t cumulative distribution function with `df` degrees of freedom."""
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p, df):
    """The p-quantile (0.5 <= p < 1) of Student's t with `df` degrees of freedom, by bisection."""
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        lo, hi = hi, hi * 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * hi:
            break
    return 0.5 * (lo + hi)


def summarise(values):
    """(n, mean, sample std, (ci95 low, ci95 high)); std 0 and NaN bounds for one value."""
    n, mean = len(values), statistics.fmean(values)
    if n < 2:
        return n, mean, 0.0, (math.nan, math.nan)
    std = statistics.stdev(values)
    half = t_quantile(0.975, n - 1) * std / math.sqrt(n)
    return n, mean, std, (mean - half, mean + half)


def table(rows, order, title):
    """The Markdown table's lines for `rows` (dicts with model, test_acc, test_loss, seconds)."""
    models = order or list(dict.fromkeys(r["model"] for r in rows))
    lines = [title, ""] if title else []
    lines += ["| row | n | test accuracy (mean ± std) | 95% CI (Student t) | test loss | seconds per training |",
              "|---|---|---|---|---|---|"]
    for m in models:
        mine = [r for r in rows if r["model"] == m]
        if not mine:
            continue
        n, mean, std, (lo, hi) = summarise([r["test_acc"] for r in mine])
        loss = statistics.fmean(r["test_loss"] for r in mine)
        secs = statistics.fmean(r["seconds"] for r in mine)
        lines.append(f"| {m} | {n} | {mean:.4f} ± {std:.4f} | [{lo:.4f}, {hi:.4f}] | {loss:.4f} | {secs:.1f} |")
    return lines


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("jsonl")
    p.add_argument("--models", nargs="*", default=None, help="row order (default: first seen)")
    p.add_argument("--title", default="")
    args = p.parse_args(argv)
    rows = []
    with open(args.jsonl) as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                sys.exit(f"error: {args.jsonl}:{i}: not a JSON line ({e.msg})")
    if not rows:
        sys.exit(f"error: {args.jsonl}: no trainings")
    print("\n".join(table(rows, args.models, args.title)))


if __name__ == "__main__":
    main()
