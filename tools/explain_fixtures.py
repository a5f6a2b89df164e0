#!/usr/bin/python3
"""Fixtures for the TreeSHAP checks of src/explain (independent of the TypeScript code).

Usage:
    /usr/bin/python3 tools/explain_fixtures.py

Writes under test/fixtures/explain/ (deterministic, seeds fixed):
    uci_sample.csv            3,000 rows of the UCI credit data (copied once from
                              /work/shared/data/uci_credit_default.csv, then read from here)
    xgboost-model/model.onnx  an XGBoost 1.7 model (python3-xgboost) written as an ONNX
                              TreeEnsembleClassifier from trees_to_dataframe(): BRANCH_LT,
                              missing values by the "Missing" child, XGBoost's covers in
                              nodes_hitrates, base_score in base_values
    xgboost.json              rows (null = missing) and XGBoost's own exact TreeSHAP:
                              predict(pred_contribs=True), the bias column, the margin
    brute-model/model.onnx    a 6-feature HistGradientBoostingClassifier with sklearn's
                              training counts in nodes_hitrates
    modes-model/model.onnx    a random 4-feature ensemble using every node mode (LEQ, LT,
                              GTE, GT, EQ, NEQ) and random missing-value directions, no
                              hitrates (covers come from its reference.csv)
    modes-model/reference.csv the sample the modes model's covers come from
    linear-model/             a LinearClassifier bundle (not a tree model) for the refusal
    brute_force.json          exact Shapley values by enumeration of all feature subsets of
                              the path-dependent conditional expectation, for brute-model,
                              modes-model, and the two test models (covers from their
                              reference.csv, each leaf + 0.001 as src/explain/covers.ts)

The covers rule mirrored here (not imported): a node's cover is the number of reference
rows routed through it, each leaf plus UNREACHED_LEAF_WEIGHT, branches the sum of their
children; or nodes_hitrates when given.
"""

import csv
import itertools
import json
import math
import os
import sys

import numpy as np
import onnx
import xgboost as xgb
from onnx import TensorProto, helper
from sklearn.ensemble import HistGradientBoostingClassifier

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_demo_model import (  # noqa: E402
    FEATURES,
    ONNX_ML_OPSET,
    ONNX_OPSET,
    REPO_ROOT,
    _num,
    load_dataset,
    rel,
    save_model,
    tree_ensemble_onnx,
    write_json,
)

OUT = os.path.join(REPO_ROOT, "test", "fixtures", "explain")
UNREACHED_LEAF_WEIGHT = 1e-3
SAMPLE_ROWS = 3000
LABEL = "default"
SHARED_DATA = os.environ.get("VIGIA_UCI_DATA", "/work/shared/data/uci_credit_default.csv")


class FixtureError(RuntimeError):
    pass


# --------------------------------------------------------------------------
# The UCI sample kept in the repository
# --------------------------------------------------------------------------


def uci_sample():
    path = os.path.join(OUT, "uci_sample.csv")
    if not os.path.exists(path):
        X, y = load_dataset(SHARED_DATA)
        idx = np.sort(np.random.RandomState(3).choice(len(y), SAMPLE_ROWS, replace=False))
        os.makedirs(OUT, exist_ok=True)
        with open(path, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(FEATURES + [LABEL])
            for i in idx:
                w.writerow([_num(v) for v in X[i]] + [int(y[i])])
        print("  copied %d rows of %s into %s" % (SAMPLE_ROWS, SHARED_DATA, rel(path)))
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    return data[:, :-1], data[:, -1].astype(np.int64)


def with_missing(X, columns, rate, seed):
    X = X.copy()
    rng = np.random.RandomState(seed)
    for c in columns:
        X[rng.uniform(size=len(X)) < rate, c] = np.nan
    return X


# --------------------------------------------------------------------------
# ONNX tree ensembles as flat tables, and a reading of them in numpy
# --------------------------------------------------------------------------


def classifier_onnx(t, n_features, base_values=None, post_transform="LOGISTIC", name="trees"):
    """A binary TreeEnsembleClassifier (one class id) with outputs label, probabilities."""
    attrs = dict(t)
    attrs["nodes_values"] = [float(np.float32(v)) for v in t["nodes_values"]]
    attrs["class_weights"] = [float(np.float32(v)) for v in t["class_weights"]]
    if base_values is not None:
        attrs["base_values"] = base_values
    node = helper.make_node(
        "TreeEnsembleClassifier", ["float_input"], ["label", "probabilities"],
        domain="ai.onnx.ml", classlabels_int64s=[0, 1], post_transform=post_transform, **attrs,
    )
    graph = helper.make_graph(
        [node], name,
        [helper.make_tensor_value_info("float_input", TensorProto.FLOAT, [None, n_features])],
        [helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
         helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2])],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET), helper.make_opsetid("ai.onnx.ml", ONNX_ML_OPSET)],
                          producer_name="vigia-tools")
    onnx.checker.check_model(m)
    return m


def leaf(t, tree, node, weight):
    """Appends the attributes of a leaf (the node tuple is already started) and its weight."""
    for key, v in (("nodes_featureids", 0), ("nodes_values", 0.0), ("nodes_modes", "LEAF"),
                   ("nodes_truenodeids", 0), ("nodes_falsenodeids", 0), ("nodes_missing_value_tracks_true", 0)):
        t[key].append(v)
    for key, v in (("class_treeids", tree), ("class_nodeids", node), ("class_ids", 0), ("class_weights", weight)):
        t[key].append(v)


class Trees:
    """The nodes of an ONNX TreeEnsembleClassifier read back from its attributes."""

    def __init__(self, proto):
        node = [n for n in proto.graph.node if n.op_type == "TreeEnsembleClassifier"][0]
        a = {x.name: helper.get_attribute_value(x) for x in node.attribute}
        self.base = float(list(a.get("base_values", [0.0]))[-1]) if a.get("base_values") else 0.0
        self.nodes = {}
        for k in range(len(a["nodes_treeids"])):
            key = (a["nodes_treeids"][k], a["nodes_nodeids"][k])
            self.nodes[key] = dict(
                mode=a["nodes_modes"][k].decode(), feature=a["nodes_featureids"][k],
                value=np.float32(a["nodes_values"][k]), true=a["nodes_truenodeids"][k],
                false=a["nodes_falsenodeids"][k],
                missing_true=bool(a.get("nodes_missing_value_tracks_true", [0] * len(a["nodes_treeids"]))[k]),
                hitrate=a["nodes_hitrates"][k] if "nodes_hitrates" in a else None, leaf=0.0,
            )
        for k in range(len(a["class_treeids"])):
            self.nodes[(a["class_treeids"][k], a["class_nodeids"][k])]["leaf"] += float(np.float32(a["class_weights"][k]))
        self.trees = sorted(set(t for t, _ in self.nodes))
        self.cover = {}

    def goes_true(self, nd, x):
        x = np.float32(x)
        if np.isnan(x) and nd["missing_true"]:
            return True
        v = nd["value"]
        return {"BRANCH_LEQ": x <= v, "BRANCH_LT": x < v, "BRANCH_GTE": x >= v, "BRANCH_GT": x > v,
                "BRANCH_EQ": x == v, "BRANCH_NEQ": x != v}[nd["mode"]]

    def child(self, t, n, x):
        nd = self.nodes[(t, n)]
        return nd["true"] if self.goes_true(nd, x[nd["feature"]]) else nd["false"]

    def margin(self, x):
        total = self.base
        for t in self.trees:
            n = 0
            while self.nodes[(t, n)]["mode"] != "LEAF":
                n = self.child(t, n, x)
            total += self.nodes[(t, n)]["leaf"]
        return total

    def covers_from_hitrates(self):
        self.cover = {k: float(nd["hitrate"]) for k, nd in self.nodes.items()}

    def covers_from_sample(self, X):
        visits = {k: 0.0 for k in self.nodes}
        for x in X:
            for t in self.trees:
                n = 0
                while True:
                    visits[(t, n)] += 1
                    if self.nodes[(t, n)]["mode"] == "LEAF":
                        break
                    n = self.child(t, n, x)

        def fill(t, n):
            nd = self.nodes[(t, n)]
            c = visits[(t, n)] + UNREACHED_LEAF_WEIGHT if nd["mode"] == "LEAF" else fill(t, nd["true"]) + fill(t, nd["false"])
            self.cover[(t, n)] = c
            return c

        for t in self.trees:
            fill(t, 0)

    def expectation(self, x, known):
        """E[f(X) | X_S = x_S], path-dependent: follow x where the node's feature is in S,
        else average the children weighted by their covers."""

        def walk(t, n):
            nd = self.nodes[(t, n)]
            if nd["mode"] == "LEAF":
                return nd["leaf"]
            if nd["feature"] in known:
                return walk(t, self.child(t, n, x))
            c = self.cover[(t, n)]
            return (self.cover[(t, nd["true"])] * walk(t, nd["true"]) + self.cover[(t, nd["false"])] * walk(t, nd["false"])) / c

        return self.base + sum(walk(t, 0) for t in self.trees)

    def brute_force_shap(self, x, m):
        """Shapley values by enumeration of all 2^m subsets."""
        f = {}
        for size in range(m + 1):
            for s in itertools.combinations(range(m), size):
                f[s] = self.expectation(x, set(s))
        phi = np.zeros(m)
        for i in range(m):
            others = [j for j in range(m) if j != i]
            for size in range(m):
                w = math.factorial(size) * math.factorial(m - size - 1) / math.factorial(m)
                for s in itertools.combinations(others, size):
                    phi[i] += w * (f[tuple(sorted(s + (i,)))] - f[s])
        return f[()], phi


# --------------------------------------------------------------------------
# (b) XGBoost with its own TreeSHAP
# --------------------------------------------------------------------------


def xgboost_fixture(X, y):
    Xm = with_missing(X, [0, 4, 5, 11], 0.05, seed=21)
    train, rows = Xm[:2500], Xm[2500:2560]
    base_score = 0.3
    model = xgb.XGBClassifier(n_estimators=25, max_depth=4, learning_rate=0.3, tree_method="exact",
                              base_score=base_score, random_state=0, n_jobs=1)
    model.fit(train, y[:2500])
    booster = model.get_booster()
    df = booster.trees_to_dataframe()
    ids = {}
    t = {k: [] for k in ("nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_values", "nodes_modes",
                         "nodes_truenodeids", "nodes_falsenodeids", "nodes_missing_value_tracks_true",
                         "nodes_hitrates", "class_treeids", "class_nodeids", "class_ids", "class_weights")}
    for r in df.itertuples():
        ids[r.ID] = int(r.Node)
    for r in df.itertuples():
        tree, node = int(r.Tree), int(r.Node)
        t["nodes_treeids"].append(tree)
        t["nodes_nodeids"].append(node)
        t["nodes_hitrates"].append(float(r.Cover))
        if r.Feature == "Leaf":
            leaf(t, tree, node, float(r.Gain))
        else:
            t["nodes_featureids"].append(int(r.Feature[1:]))  # "f12"
            t["nodes_values"].append(float(np.float32(r.Split)))
            t["nodes_modes"].append("BRANCH_LT")  # XGBoost: x < split goes to "Yes"
            t["nodes_truenodeids"].append(ids[r.Yes])
            t["nodes_falsenodeids"].append(ids[r.No])
            t["nodes_missing_value_tracks_true"].append(1 if r.Missing == r.Yes else 0)
    base_margin = math.log(base_score / (1 - base_score))
    proto = classifier_onnx(t, X.shape[1], base_values=[base_margin], name="xgboost_model")
    dm = xgb.DMatrix(rows, missing=np.nan)
    margin = booster.predict(dm, output_margin=True).astype(np.float64)
    contribs = booster.predict(dm, pred_contribs=True).astype(np.float64)
    trees = Trees(proto)
    sim = np.array([trees.margin(x) for x in rows])
    diff = float(np.max(np.abs(sim - margin)))
    if diff > 1e-4:
        raise FixtureError("the ONNX reading of the XGBoost trees differs from XGBoost's margin by %.3g" % diff)
    err = float(np.max(np.abs(contribs.sum(axis=1) - margin)))
    save_model(proto, os.path.join(OUT, "xgboost-model", "model.onnx"))
    write_json(os.path.join(OUT, "xgboost.json"), {
        "source": "tools/explain_fixtures.py; xgboost %s XGBClassifier(n_estimators=25, max_depth=4, tree_method=exact, base_score=%g) "
                  "on uci_sample.csv rows 0..2499 (5 %% of LIMIT_BAL, AGE, PAY_0, BILL_AMT1 set missing); "
                  "contributions = Booster.predict(pred_contribs=True) (exact path-dependent TreeSHAP with XGBoost's covers), "
                  "bias = its last column, margin = predict(output_margin=True)" % (xgb.__version__, base_score),
        "features": FEATURES,
        "rows": [[_num(v) for v in r] for r in rows],
        "contributions": [[float(v) for v in c[:-1]] for c in contribs],
        "bias": [float(c[-1]) for c in contribs],
        "margin": [float(v) for v in margin],
    }, row_keys=("rows", "contributions"))
    print("xgboost-model: %d trees, %d rows, max |onnx reading - xgboost margin| %.2g, max |sum contribs - margin| %.2g"
          % (df.Tree.nunique(), len(rows), diff, err))


# --------------------------------------------------------------------------
# (c) brute force over all subsets
# --------------------------------------------------------------------------

BRUTE_FEATURES = ["LIMIT_BAL", "AGE", "PAY_0", "PAY_2", "BILL_AMT1", "PAY_AMT1"]


def brute_model(X, y):
    cols = [FEATURES.index(f) for f in BRUTE_FEATURES]
    Xb = with_missing(X[:, cols], [0, 2, 4], 0.08, seed=5)
    model = HistGradientBoostingClassifier(max_iter=8, learning_rate=0.3, max_leaf_nodes=6, min_samples_leaf=60,
                                           early_stopping=False, random_state=0).fit(Xb[:2500], y[:2500])
    proto = tree_ensemble_onnx(model, len(cols), zipmap=False, graph_name="brute_model")
    node = proto.graph.node[0]
    counts = [float(nd["count"]) for predictors in model._predictors for nd in predictors[0].nodes]
    node.attribute.append(helper.make_attribute("nodes_hitrates", counts))
    onnx.checker.check_model(proto)
    save_model(proto, os.path.join(OUT, "brute-model", "model.onnx"))
    rows = Xb[2500:2530]
    return proto, rows


def modes_model():
    """A random ensemble over 4 integer-coded features that uses every node mode."""
    rng = np.random.RandomState(17)
    n_features, values = 4, np.arange(0, 5, dtype=np.float64)
    modes = ["BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "BRANCH_GT", "BRANCH_EQ", "BRANCH_NEQ"]
    t = {k: [] for k in ("nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_values", "nodes_modes",
                         "nodes_truenodeids", "nodes_falsenodeids", "nodes_missing_value_tracks_true",
                         "class_treeids", "class_nodeids", "class_ids", "class_weights")}
    for tree in range(6):
        next_id = [0]

        def grow(depth):
            me = next_id[0]
            next_id[0] += 1
            t["nodes_treeids"].append(tree)
            t["nodes_nodeids"].append(me)
            k = len(t["nodes_nodeids"]) - 1
            if depth == 3 or (depth > 1 and rng.uniform() < 0.3):
                leaf(t, tree, me, float(np.round(rng.normal(scale=0.8), 4)))
                return me
            t["nodes_featureids"].append(int(rng.randint(n_features)))
            t["nodes_values"].append(float(rng.choice(values)))
            t["nodes_modes"].append(modes[rng.randint(len(modes))])
            t["nodes_missing_value_tracks_true"].append(int(rng.randint(2)))
            t["nodes_truenodeids"].append(None)
            t["nodes_falsenodeids"].append(None)
            t["nodes_truenodeids"][k] = grow(depth + 1)
            t["nodes_falsenodeids"][k] = grow(depth + 1)
            return me

        grow(0)
    proto = classifier_onnx(t, n_features, base_values=[-0.25], name="modes_model")
    save_model(proto, os.path.join(OUT, "modes-model", "model.onnx"))
    ref = rng.randint(0, 5, size=(300, n_features)).astype(np.float64)
    ref[rng.uniform(size=ref.shape) < 0.1] = np.nan
    names = ["a", "b", "c", "d"]
    with open(os.path.join(OUT, "modes-model", "reference.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(names + ["label"])
        for r in ref:
            w.writerow(["" if np.isnan(v) else int(v) for v in r] + [int(rng.randint(2))])
    rows = rng.randint(0, 5, size=(30, n_features)).astype(np.float64)
    rows[rng.uniform(size=rows.shape) < 0.15] = np.nan
    return proto, ref, rows, names


def read_reference(path, n):
    out = []
    with open(path) as f:
        r = csv.reader(f)
        next(r)
        for rec in r:
            out.append([float(v) if v != "" else np.nan for v in rec[:n]])
    return np.asarray(out)


def linear_bundle():
    """A LinearClassifier on the test models' features: serves, cannot be explained."""
    d = os.path.join(OUT, "linear-model")
    node = helper.make_node("LinearClassifier", ["float_input"], ["label", "probabilities"], domain="ai.onnx.ml",
                            classlabels_ints=[0, 1], coefficients=[0.0, 0.0, 0.0, 0.001, -0.02, 0.3],
                            intercepts=[0.0, -0.5], post_transform="LOGISTIC", multi_class=0)
    graph = helper.make_graph([node], "linear_model",
                              [helper.make_tensor_value_info("float_input", TensorProto.FLOAT, [None, 3])],
                              [helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
                               helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2])])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET), helper.make_opsetid("ai.onnx.ml", ONNX_ML_OPSET)],
                          producer_name="vigia-tools")
    onnx.checker.check_model(m)
    save_model(m, os.path.join(d, "model.onnx"))
    with open(os.path.join(REPO_ROOT, "test", "fixtures", "models", "tensor-model", "reference.csv")) as f:
        reference = f.read()
    with open(os.path.join(d, "reference.csv"), "w") as f:
        f.write(reference)
    with open(os.path.join(REPO_ROOT, "test", "fixtures", "models", "tensor-model", "vigia.json")) as f:
        manifest = json.load(f)
    manifest["name"] = "linear-model"
    manifest["description"] = "test fixture built by tools/explain_fixtures.py: a LinearClassifier, not a tree ensemble"
    with open(os.path.join(d, "vigia.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


def main():
    X, y = uci_sample()
    xgboost_fixture(X, y)
    brute = {"source": "tools/explain_fixtures.py; exact Shapley values of the path-dependent conditional expectation "
                       "E[f | x_S] (follow the row on features in S, else weigh children by cover), by enumeration of all "
                       "2^M subsets, numpy float64; margin = base + sum of phi", "models": {}}
    proto, rows = brute_model(X, y)
    trees = Trees(proto)
    trees.covers_from_hitrates()
    brute["models"]["brute-model"] = entry(trees, rows, "nodes_hitrates (sklearn training counts)", "test/fixtures/explain/brute-model/model.onnx")
    proto, ref, rows, _ = modes_model()
    trees = Trees(proto)
    trees.covers_from_sample(ref)
    brute["models"]["modes-model"] = entry(trees, rows, "reference sample", "test/fixtures/explain/modes-model/model.onnx")
    expected = json.load(open(os.path.join(REPO_ROOT, "test", "fixtures", "models", "expected.json")))
    test_rows = np.array([[np.nan if v is None else v for v in r] for r in expected["rows"]], dtype=np.float64)
    for name in ("zipmap-model", "tensor-model"):
        trees = Trees(onnx.load(os.path.join(REPO_ROOT, "test", "fixtures", "models", name, "model.onnx")))
        trees.covers_from_sample(read_reference(os.path.join(REPO_ROOT, "test", "fixtures", "models", name, "reference.csv"), 3))
        brute["models"][name] = entry(trees, test_rows, "reference sample", "test/fixtures/models/%s/model.onnx" % name)
    write_json(os.path.join(OUT, "brute_force.json"), brute)
    linear_bundle()
    for dirpath, _, files in sorted(os.walk(OUT)):
        for f in sorted(files):
            p = os.path.join(dirpath, f)
            print("  wrote %-50s %8d bytes" % (rel(p), os.path.getsize(p)))


def entry(trees, rows, covers, path):
    m = rows.shape[1]
    out = {"path": path, "covers": covers, "rows": [], "base": [], "phi": [], "margin": []}
    worst = 0.0
    for x in rows:
        base, phi = trees.brute_force_shap(x, m)
        margin = trees.margin(x)
        worst = max(worst, abs(base + phi.sum() - margin))
        out["rows"].append([_num(v) for v in x])
        out["base"].append(float(base))
        out["phi"].append([float(v) for v in phi])
        out["margin"].append(float(margin))
    if worst > 1e-9:
        raise FixtureError("%s: brute force violates local accuracy by %.3g" % (path, worst))
    print("%s: %d rows, %d features, 2^%d subsets each, covers from %s" % (path, len(rows), m, m, covers))
    return out


if __name__ == "__main__":
    try:
        sys.exit(main())
    except FixtureError as e:
        print("explain_fixtures: ERROR: %s" % e, file=sys.stderr)
        sys.exit(1)
