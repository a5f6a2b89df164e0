#!/usr/bin/python3
"""Build the two tiny ONNX fixture models used by the Vigia tests.

Usage:
    /usr/bin/python3 tools/build_test_models.py

Writes (deterministic, numpy seed fixed):
    test/fixtures/models/zipmap-model/model.onnx   skl2onnx layout:
        float_input float[None,3] -> output_label int64[N],
                                     output_probability seq(map(int64, float))
    test/fixtures/models/tensor-model/model.onnx   onnxmltools zipmap-disabled layout:
        float_input float[None,3] -> label int64[N], probabilities float[N,2]
    test/fixtures/models/expected.json             input rows + expected
        positive-class probability / label for each model

Features (in order): amount, age, channel (channel is an integer code 0, 1, 2).
The two models are deliberately different (different data seed and
hyper-parameters) so a test can tell them apart.
"""

import os
import sys

import numpy as np
import onnx
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier

sys.dont_write_bytecode = True  # keep tools/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_demo_model import (  # noqa: E402
    REPO_ROOT,
    SIM_TOLERANCE,
    BuildError,
    _num,
    rel,
    save_model,
    simulate_onnx,
    tree_ensemble_onnx,
    write_json,
)

FEATURES = ["amount", "age", "channel"]

MODELS = {
    "zipmap-model": dict(
        zipmap=True,
        data_seed=11,
        params=dict(max_iter=6, learning_rate=0.3, max_leaf_nodes=4, min_samples_leaf=40,
                    early_stopping=False, random_state=0),
    ),
    "tensor-model": dict(
        zipmap=False,
        data_seed=12,
        params=dict(max_iter=4, learning_rate=0.5, max_leaf_nodes=3, min_samples_leaf=40,
                    early_stopping=False, random_state=0),
    ),
}

# Rows scored in expected.json (NaN -> null in JSON): typical, extremes, each
# channel code, missing values.
ROWS = [
    [120.0, 35.0, 0.0],
    [2500.0, 22.0, 2.0],
    [15.5, 67.0, 1.0],
    [800.0, 45.0, 1.0],
    [50000.0, 19.0, 2.0],
    [0.0, 80.0, 0.0],
    [float("nan"), 30.0, 1.0],
    [300.0, float("nan"), float("nan")],
]


def synthetic_data(seed, n=2000):
    rng = np.random.RandomState(seed)
    amount = np.round(rng.lognormal(mean=5.5, sigma=1.2, size=n), 2)
    age = rng.randint(18, 81, size=n).astype(np.float64)
    channel = rng.randint(0, 3, size=n).astype(np.float64)
    logit = (
        -1.0
        + 0.9 * (np.log(amount + 1.0) - 5.5)
        - 0.03 * (age - 45.0)
        + np.array([0.0, 0.8, -0.6])[channel.astype(int)]
    )
    y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    X = np.column_stack([amount, age, channel])
    return X, y


def main():
    out_dir = os.path.join(REPO_ROOT, "test", "fixtures", "models")
    X_rows = np.asarray(ROWS, dtype=np.float64)
    expected = {
        "source": "tools/build_test_models.py; probabilities are sklearn %s "
        "HistGradientBoostingClassifier.predict_proba[:, 1] (float64), labels are "
        "sklearn predict; null = NaN input" % sklearn.__version__,
        "features": FEATURES,
        "rows": [[_num(v) for v in r] for r in X_rows],
        "models": {},
    }
    written = []
    for name, spec in MODELS.items():
        X, y = synthetic_data(spec["data_seed"])
        model = HistGradientBoostingClassifier(**spec["params"]).fit(X, y)
        proto = tree_ensemble_onnx(
            model,
            len(FEATURES),
            zipmap=spec["zipmap"],
            graph_name=name.replace("-", "_"),
            doc_string="Vigia test fixture %s (features: %s)" % (name, ", ".join(FEATURES)),
            metadata={"features": ",".join(FEATURES)},
        )
        proba = model.predict_proba(X_rows)[:, 1]
        label = model.predict(X_rows)
        sim_label, sim_proba, _ = simulate_onnx(proto, X_rows)
        diff = float(np.max(np.abs(sim_proba[:, 1] - proba)))
        _, sim_all, _ = simulate_onnx(proto, X)
        diff = max(diff, float(np.max(np.abs(sim_all[:, 1] - model.predict_proba(X)[:, 1]))))
        if not diff < SIM_TOLERANCE:
            raise BuildError("%s: ONNX simulation differs from sklearn by %.3g" % (name, diff))
        if not np.array_equal(sim_label, label):
            raise BuildError("%s: simulated label differs from sklearn predict" % name)
        path = os.path.join(out_dir, name, "model.onnx")
        save_model(proto, path)
        onnx.checker.check_model(onnx.load(path))
        written.append(path)
        outputs = [o.name for o in proto.graph.output]
        expected["models"][name] = {
            "path": "test/fixtures/models/%s/model.onnx" % name,
            "input": "float_input",
            "outputs": outputs,
            "zipmap": spec["zipmap"],
            "params": spec["params"],
            "probability": [float(p) for p in proba],
            "label": [int(v) for v in label],
        }
        print("%s: %d trees, %d nodes, outputs %s, max |onnx-sim - sklearn| %.3g"
              % (name, len(model._predictors),
                 sum(len(p[0].nodes) for p in model._predictors), outputs, diff))
    exp_path = os.path.join(out_dir, "expected.json")
    write_json(exp_path, expected, row_keys=("rows",))
    written.append(exp_path)
    for p in written:
        print("  wrote %-45s %6d bytes" % (rel(p), os.path.getsize(p)))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BuildError as e:
        print("build_test_models: ERROR: %s" % e, file=sys.stderr)
        sys.exit(1)
