#!/usr/bin/env python3
"""Writes the two small synthetic example tables for burnlab's `table` dataset.

Standard library only, deterministic (random.Random with fixed seeds), no network:

    python3 datasets/table-example/generate.py

- measurements.csv: 300 made-up "specimens" of three species (100 each), four numeric
  measurements drawn from overlapping per-species normal distributions on very different
  scales (centimetres, grams, a 0..1 hue), rows shuffled. Label column: `species`.
- reviews.csv: 200 short made-up restaurant reviews built from templates, labelled
  `positive` / `negative` (100 each; some negative ones negate a positive word), with a
  `split` column putting 160 rows in `train` and 40 in `test`.
- houses.csv: 200 made-up "houses" for regression: area, rooms, age and distance to the
  centre, and a numeric `price` (in hundreds of thousands, so that
  it is of order 1: burnlab does not rescale regression targets) that is a linear function of them plus a
  squared term and normal noise, rows in generation order. Label column: `price`
  (`task = "regression"`).
"""

import csv
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))

SPECIES = {
    # name: (length_cm, width_cm, mass_g, hue) as (mean, std) pairs
    "alpha": ((4.6, 0.45), (3.1, 0.35), (120.0, 22.0), (0.22, 0.10)),
    "beta": ((5.8, 0.50), (2.7, 0.30), (175.0, 25.0), (0.48, 0.10)),
    "gamma": ((6.5, 0.55), (3.0, 0.30), (215.0, 30.0), (0.58, 0.12)),
}


def measurements():
    rng = random.Random(0)
    rows = []
    for name, params in SPECIES.items():
        for _ in range(100):
            length, width, mass, hue = (rng.gauss(m, s) for m, s in params)
            rows.append(
                [f"{length:.2f}", f"{width:.2f}", f"{mass:.1f}", f"{min(max(hue, 0.0), 1.0):.3f}", name]
            )
    rng.shuffle(rows)
    with open(os.path.join(HERE, "measurements.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["length_cm", "width_cm", "mass_g", "hue", "species"])
        w.writerows(rows)


SUBJECTS = ["the soup", "the service", "the pasta", "our waiter", "the dessert", "the coffee",
            "the music", "the bread", "the salad", "the room"]
GOOD = ["great", "lovely", "delicious", "friendly", "excellent", "perfect", "warm", "fresh"]
BAD = ["awful", "cold", "bland", "rude", "terrible", "stale", "slow", "greasy"]
INTENSIFIERS = ["", "very ", "really ", "quite ", "so "]
ENDINGS = ["", " today", " as always", " again", " tonight"]


def review(rng, positive):
    subject = rng.choice(SUBJECTS)
    ending = rng.choice(ENDINGS)
    if positive:
        text = f"{subject} was {rng.choice(INTENSIFIERS)}{rng.choice(GOOD)}{ending}"
    elif rng.random() < 0.3:
        text = f"{subject} was not {rng.choice(GOOD)}{ending}"
    else:
        text = f"{subject} was {rng.choice(INTENSIFIERS)}{rng.choice(BAD)}{ending}"
    return text


def reviews():
    rng = random.Random(1)
    rows = [(review(rng, i % 2 == 0), "positive" if i % 2 == 0 else "negative") for i in range(200)]
    rng.shuffle(rows)
    with open(os.path.join(HERE, "reviews.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["review", "sentiment", "split"])
        for i, (text, label) in enumerate(rows):
            w.writerow([text, label, "test" if i % 5 == 4 else "train"])


def houses():
    rng = random.Random(2)
    with open(os.path.join(HERE, "houses.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["area_m2", "rooms", "age_years", "distance_km", "price"])
        for _ in range(200):
            area = rng.uniform(40.0, 200.0)
            rooms = max(1, round(area / 30.0 + rng.gauss(0.0, 0.7)))
            age = rng.uniform(0.0, 80.0)
            distance = rng.uniform(0.5, 25.0)
            price = 50.0 + 2.2 * area + 8.0 * rooms - 0.9 * age - 0.08 * (distance - 5.0) ** 2 * 4.0
            price += rng.gauss(0.0, 20.0)
            w.writerow([f"{area:.1f}", rooms, f"{age:.0f}", f"{distance:.2f}", f"{price / 100.0:.3f}"])


if __name__ == "__main__":
    measurements()
    reviews()
    houses()
