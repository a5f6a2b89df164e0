#!/usr/bin/python3
"""Write a bundle's parity file: expected probabilities for its first reference rows.

Usage:
    /usr/bin/python3 tools/build_parity.py BUNDLE_DIR [BUNDLE_DIR ...]

For each bundle, reads vigia.json, the first ROWS rows of its reference sample and its
model.onnx, scores the rows with an independent NumPy reading of the ONNX tree ensemble
(build_demo_model.simulate_onnx, the ONNX spec's semantics, already checked against
sklearn when the model was built) and writes BUNDLE_DIR/parity.json:

    {"source": ..., "tolerance": 1e-4, "rows": [{"features": {...}, "probability": p}, ...]}

Vigia scores the same rows when it loads the bundle (live load and start) and refuses
the version when any |served - expected| exceeds the tolerance, naming the rows.
Empty CSV cells are missing values (null in JSON, NaN to the model).
"""

import csv
import json
import math
import os
import sys

import numpy as np
import onnx

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_demo_model import simulate_onnx  # noqa: E402

ROWS = 16
TOLERANCE = 1e-4


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    for bundle in argv[1:]:
        with open(os.path.join(bundle, "vigia.json")) as f:
            manifest = json.load(f)
        names = [feat["name"] for feat in manifest["features"]]
        ref = os.path.join(bundle, manifest.get("reference", {}).get("file", "reference.csv"))
        rows = []
        with open(ref, newline="") as f:
            for rec in csv.DictReader(f):
                rows.append([None if rec[n].strip() == "" else float(rec[n]) for n in names])
                if len(rows) == ROWS:
                    break
        X = np.array([[math.nan if v is None else v for v in r] for r in rows], dtype=np.float64)
        model = onnx.load(os.path.join(bundle, manifest["model"].get("file", "model.onnx")))
        _, probs, _ = simulate_onnx(model, X)
        col = manifest["model"].get("positive_class_index", 1)
        out = {
            "source": "tools/build_parity.py: first %d reference rows scored by build_demo_model.simulate_onnx (NumPy reading of the ONNX tree ensemble)" % len(rows),
            "tolerance": TOLERANCE,
            "rows": [
                {
                    "features": {n: (None if v is None else (int(v) if float(v).is_integer() else v)) for n, v in zip(names, r)},
                    "probability": float(p),
                }
                for r, p in zip(rows, probs[:, col])
            ],
        }
        path = os.path.join(bundle, "parity.json")
        with open(path, "w") as f:
            json.dump(out, f, indent=1)
            f.write("\n")
        print("wrote %s (%d rows)" % (path, len(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
