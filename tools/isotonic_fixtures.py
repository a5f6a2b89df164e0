#!/usr/bin/python3
"""Golden values for src/performance/isotonic.ts.

Usage:
    /usr/bin/python3 tools/isotonic_fixtures.py

Needs Debian's numpy and scikit-learn (1.2.1). Writes test/fixtures/performance/isotonic.json:
a list of cases, each with the training scores and labels, query points (inside, between,
on and outside the fitted range), and sklearn's
IsotonicRegression(out_of_bounds='clip').fit(scores, labels).predict(queries).
Deterministic (numpy default_rng, fixed seeds).
"""
import json
import os

import numpy as np
import sklearn
from sklearn.isotonic import IsotonicRegression

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "performance", "isotonic.json")


def case(name, scores, labels, rng):
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    inside = rng.uniform(scores.min(), scores.max(), size=40)
    queries = np.concatenate([inside, scores[:10], [scores.min() - 0.1, scores.max() + 0.1, -1.0, 2.0]])
    model = IsotonicRegression(out_of_bounds="clip").fit(scores, labels)
    return {
        "name": name,
        "scores": scores.tolist(),
        "labels": [int(v) for v in labels],
        "queries": queries.tolist(),
        "predicted": model.predict(queries).tolist(),
    }


def main():
    rng = np.random.default_rng(20261201)
    cases = [
        case("tiny with a violation", [0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1], rng),
        case("ties in the scores", [0.5, 0.5, 0.5, 0.2, 0.2, 0.9, 0.9, 0.7], [1, 0, 1, 0, 0, 1, 0, 1], rng),
        case("all one class", [0.1, 0.4, 0.8], [0, 0, 0], rng),
    ]
    for n, seed in [(200, 1), (5000, 2)]:
        r = np.random.default_rng(seed)
        s = r.beta(2, 5, size=n)
        y = (r.uniform(size=n) < np.clip(s * 1.3, 0, 1)).astype(int)
        cases.append(case("beta scores, %d rows" % n, np.round(s, 4) if n == 5000 else s, y, rng))
    with open(OUT, "w") as f:
        json.dump({"source": "sklearn %s IsotonicRegression(out_of_bounds='clip'); tools/isotonic_fixtures.py" % sklearn.__version__, "cases": cases}, f)
        f.write("\n")
    print("wrote", OUT, len(cases), "cases")


if __name__ == "__main__":
    main()
