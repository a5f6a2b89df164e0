#!/usr/bin/python3
"""Build the Vigia demo model (credit default) and its test fixtures.

Usage:
    /usr/bin/python3 tools/build_demo_model.py [path/to/uci_credit_default.csv]

Reads the UCI "Default of Credit Card Clients" data set (Kaggle
UCI_Credit_Card.csv layout), trains a HistGradientBoostingClassifier with fixed
hyper-parameters, converts it by hand into an ONNX graph shaped like the one
skl2onnx exports for a binary classifier
(float_input -> TreeEnsembleClassifier -> label / probabilities -> ZipMap),
checks the ONNX graph against sklearn with an independent numpy simulation and
writes:

    models/credit-default/model.onnx
    models/credit-default/reference.csv
    models/credit-default/training.json
    test/fixtures/credit-default/sklearn_probabilities.json

Everything is deterministic (fixed seeds). Only needs Debian's python3 with
numpy, scikit-learn (1.2.x) and onnx (1.12); no skl2onnx, no onnxruntime.
"""

import csv
import hashlib
import json
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DATA = os.path.normpath(
    os.path.join(REPO_ROOT, "datasets", "uci_credit_default.csv")
)
EXPECTED_SHA256 = "a0f0ab49d6326671d6cd83be5c88dcf18007025fe9a53ecd699119c871176ca1"
EXPECTED_ROWS = 30000

FEATURES = (
    ["LIMIT_BAL", "SEX", "EDUCATION", "MARRIAGE", "AGE"]
    + ["PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6"]
    + ["BILL_AMT%d" % i for i in range(1, 7)]
    + ["PAY_AMT%d" % i for i in range(1, 7)]
)
LABEL = "default.payment.next.month"
EXPECTED_HEADER = ["ID"] + FEATURES + [LABEL]

# Fixed hyper-parameters. Chosen once by 5-fold cross-validated AUC on the
# TRAINING split only (a handful of candidates: sklearn defaults, and two
# shallower / more regularised variants); the test split was not used to pick
# them. Shallow trees also keep the ONNX file small.
HGB_PARAMS = dict(
    loss="log_loss",
    learning_rate=0.05,
    max_iter=150,
    max_leaf_nodes=15,
    max_depth=5,
    min_samples_leaf=100,
    l2_regularization=1.0,
    max_bins=255,
    early_stopping=False,
    random_state=0,
)

SPLIT_SEED = 42
REFERENCE_SEED = 7
N_REFERENCE = 5000
N_FIXTURE = 200
SIM_TOLERANCE = 1e-5

# NaN fixture rows: (reference row index, features set to NaN). Rows 200..204
# are the reference rows right after the 200 fixture rows.
MISSING_SPECS = [
    (200, ["PAY_0"]),
    (201, ["LIMIT_BAL"]),
    (202, ["PAY_0", "BILL_AMT1"]),
    (203, ["AGE", "PAY_AMT1"]),
    (204, ["PAY_2", "LIMIT_BAL"]),
]

ONNX_OPSET = 15
ONNX_ML_OPSET = 3


class BuildError(RuntimeError):
    pass


# --------------------------------------------------------------------------
# Data loading
# --------------------------------------------------------------------------


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_dataset(path):
    """Return (X float64 [n, 23], y int64 [n]) from the Kaggle-layout CSV."""
    with open(path, newline="") as f:
        reader = csv.reader(f)
        try:
            header = next(reader)
        except StopIteration:
            raise BuildError("%s: empty file" % path)
        header = [h.strip() for h in header]
        if header != EXPECTED_HEADER:
            raise BuildError(
                "%s: unexpected header\n  got:      %r\n  expected: %r"
                % (path, header, EXPECTED_HEADER)
            )
        rows = []
        for lineno, rec in enumerate(reader, start=2):
            if not rec or (len(rec) == 1 and rec[0].strip() == ""):
                continue
            if len(rec) != len(EXPECTED_HEADER):
                raise BuildError(
                    "%s:%d: expected %d fields, got %d"
                    % (path, lineno, len(EXPECTED_HEADER), len(rec))
                )
            vals = []
            for name, raw in zip(EXPECTED_HEADER, rec):
                try:
                    v = float(raw)  # handles "5e+05"
                except ValueError:
                    raise BuildError(
                        "%s:%d: column %s: not a number: %r" % (path, lineno, name, raw)
                    )
                if not math.isfinite(v) or v != math.floor(v):
                    raise BuildError(
                        "%s:%d: column %s: expected an integer value, got %r"
                        % (path, lineno, name, raw)
                    )
                vals.append(v)
            rows.append(vals)
    if len(rows) != EXPECTED_ROWS:
        raise BuildError(
            "%s: expected %d data rows, got %d" % (path, EXPECTED_ROWS, len(rows))
        )
    data = np.asarray(rows, dtype=np.float64)
    ids = data[:, 0]
    if len(np.unique(ids)) != len(ids):
        raise BuildError("%s: duplicate ID values" % path)
    y = data[:, -1]
    if not np.isin(y, [0.0, 1.0]).all():
        raise BuildError("%s: label column %s is not 0/1" % (path, LABEL))
    X = data[:, 1:-1]
    assert X.shape[1] == len(FEATURES) == 23
    return X, y.astype(np.int64)


# --------------------------------------------------------------------------
# HGB -> ONNX conversion
# --------------------------------------------------------------------------


def _threshold_to_float32(thr):
    """Largest float32 t with t <= thr.

    For any float32 input x:  x <= thr  <=>  x <= t. Plain rounding to nearest
    (what skl2onnx does) can round a threshold up past a representable input
    and flip a comparison; rounding down cannot.
    """
    t = np.float32(thr)
    if np.isfinite(thr) and float(t) > thr:
        t = np.nextafter(t, np.float32(-np.inf))
    return float(t)


def hgb_tree_tables(model):
    """Flatten a fitted binary HistGradientBoostingClassifier into the flat
    attribute lists of an ONNX TreeEnsembleClassifier ("one class id" binary
    layout: every leaf weight goes to class id 0 and is the raw log-odds
    contribution of the positive class).

    The baseline raw prediction is folded into the leaf weights of the first
    tree, so no base_values are needed.
    """
    if not isinstance(model, HistGradientBoostingClassifier):
        raise BuildError("expected a HistGradientBoostingClassifier")
    classes = list(model.classes_)
    if len(classes) != 2:
        raise BuildError("only binary classifiers are supported, got %r" % classes)
    if getattr(model, "is_categorical_", None) is not None and np.any(model.is_categorical_):
        raise BuildError("categorical splits are not supported")
    baseline = np.asarray(model._baseline_prediction, dtype=np.float64).ravel()
    if baseline.shape != (1,):
        raise BuildError("unexpected baseline shape %r" % (baseline.shape,))
    baseline = float(baseline[0])

    t = {
        "nodes_treeids": [],
        "nodes_nodeids": [],
        "nodes_featureids": [],
        "nodes_values": [],
        "nodes_modes": [],
        "nodes_truenodeids": [],
        "nodes_falsenodeids": [],
        "nodes_missing_value_tracks_true": [],
        "class_treeids": [],
        "class_nodeids": [],
        "class_ids": [],
        "class_weights": [],
    }
    for tree_id, predictors in enumerate(model._predictors):
        if len(predictors) != 1:
            raise BuildError("expected one tree per iteration (binary)")
        nodes = predictors[0].nodes
        for node_id in range(len(nodes)):
            nd = nodes[node_id]
            t["nodes_treeids"].append(tree_id)
            t["nodes_nodeids"].append(node_id)
            if nd["is_leaf"]:
                t["nodes_featureids"].append(0)
                t["nodes_values"].append(0.0)
                t["nodes_modes"].append("LEAF")
                t["nodes_truenodeids"].append(0)
                t["nodes_falsenodeids"].append(0)
                t["nodes_missing_value_tracks_true"].append(0)
                w = float(nd["value"])
                if tree_id == 0:
                    w += baseline
                t["class_treeids"].append(tree_id)
                t["class_nodeids"].append(node_id)
                t["class_ids"].append(0)
                t["class_weights"].append(w)
            else:
                if nd["is_categorical"]:
                    raise BuildError("categorical split in tree %d" % tree_id)
                t["nodes_featureids"].append(int(nd["feature_idx"]))
                t["nodes_values"].append(_threshold_to_float32(float(nd["num_threshold"])))
                t["nodes_modes"].append("BRANCH_LEQ")
                # BRANCH_LEQ: true branch (x <= thr) is sklearn's left child.
                t["nodes_truenodeids"].append(int(nd["left"]))
                t["nodes_falsenodeids"].append(int(nd["right"]))
                t["nodes_missing_value_tracks_true"].append(
                    1 if nd["missing_go_to_left"] else 0
                )
    return t, [int(c) for c in classes], baseline


def _seq_map_int64_float_type():
    """TypeProto for seq(map(int64, tensor(float))) (onnx 1.12 has no
    helper.make_map_type_proto)."""
    tp = onnx.TypeProto()
    tp.sequence_type.elem_type.map_type.key_type = TensorProto.INT64
    tp.sequence_type.elem_type.map_type.value_type.tensor_type.elem_type = TensorProto.FLOAT
    return tp


def tree_ensemble_onnx(
    model,
    n_features,
    zipmap=True,
    input_name="float_input",
    graph_name="HistGradientBoostingClassifier",
    doc_string="",
    metadata=None,
):
    """Convert a fitted binary HistGradientBoostingClassifier to ONNX.

    zipmap=True  -> skl2onnx layout: outputs output_label (int64[N]) and
                    output_probability (seq(map(int64, float))) via ZipMap.
    zipmap=False -> onnxmltools "zipmap disabled" layout: outputs label
                    (int64[N]) and probabilities (float[N, 2]) directly.
    """
    if model.n_features_in_ != n_features:
        raise BuildError(
            "model has %d features, expected %d" % (model.n_features_in_, n_features)
        )
    tables, classes, _ = hgb_tree_tables(model)

    float_list_keys = ("nodes_values", "class_weights")
    attrs = {}
    for k, v in tables.items():
        if k in float_list_keys:
            attrs[k] = [float(np.float32(x)) for x in v]
        else:
            attrs[k] = v
    tree_node = helper.make_node(
        "TreeEnsembleClassifier",
        inputs=[input_name],
        outputs=["label", "probabilities"],
        name="TreeEnsembleClassifier",
        domain="ai.onnx.ml",
        classlabels_int64s=classes,
        post_transform="LOGISTIC",
        **attrs,
    )
    nodes = [tree_node]
    inputs = [
        helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [None, n_features])
    ]
    if zipmap:
        nodes.append(
            helper.make_node("Identity", ["label"], ["output_label"], name="LabelIdentity")
        )
        nodes.append(
            helper.make_node(
                "ZipMap",
                ["probabilities"],
                ["output_probability"],
                name="ZipMap",
                domain="ai.onnx.ml",
                classlabels_int64s=classes,
            )
        )
        outputs = [
            helper.make_tensor_value_info("output_label", TensorProto.INT64, [None]),
            helper.make_value_info("output_probability", _seq_map_int64_float_type()),
        ]
    else:
        outputs = [
            helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2]),
        ]
    graph = helper.make_graph(nodes, graph_name, inputs, outputs)
    m = helper.make_model(
        graph,
        opset_imports=[
            helper.make_opsetid("", ONNX_OPSET),
            helper.make_opsetid("ai.onnx.ml", ONNX_ML_OPSET),
        ],
        producer_name="vigia-tools",
        producer_version="1",
        doc_string=doc_string,
    )
    m.model_version = 1
    if metadata:
        helper.set_model_props(m, {str(k): str(v) for k, v in metadata.items()})
    onnx.checker.check_model(m)
    return m


# --------------------------------------------------------------------------
# Independent numpy simulation of the ONNX TreeEnsembleClassifier
# --------------------------------------------------------------------------


def _node_attrs(model_proto):
    nodes = [n for n in model_proto.graph.node if n.op_type == "TreeEnsembleClassifier"]
    if len(nodes) != 1:
        raise BuildError("expected exactly one TreeEnsembleClassifier node")
    return {a.name: helper.get_attribute_value(a) for a in nodes[0].attribute}


def simulate_onnx(model_proto, X):
    """Score X with the ONNX TreeEnsembleClassifier attributes, the way the ONNX
    spec describes it: float32 inputs and thresholds, BRANCH_LEQ, NaN routed by
    nodes_missing_value_tracks_true, binary one-class-id layout + LOGISTIC.

    Returns (label int64[N], probabilities float64[N, 2], raw score float64[N]).
    """
    a = _node_attrs(model_proto)
    if a.get("post_transform", b"NONE") not in (b"LOGISTIC", "LOGISTIC"):
        raise BuildError("simulation only supports post_transform=LOGISTIC")
    labels = list(a["classlabels_int64s"])
    if len(labels) != 2 or set(a["class_ids"]) != {0}:
        raise BuildError("simulation only supports the binary one-class-id layout")
    X32 = np.asarray(X, dtype=np.float32)
    n = X32.shape[0]
    treeids = np.asarray(a["nodes_treeids"])
    nodeids = np.asarray(a["nodes_nodeids"])
    featids = np.asarray(a["nodes_featureids"])
    values = np.asarray(a["nodes_values"], dtype=np.float32)
    modes = [m.decode() if isinstance(m, bytes) else m for m in a["nodes_modes"]]
    trues = np.asarray(a["nodes_truenodeids"])
    falses = np.asarray(a["nodes_falsenodeids"])
    tracks = np.asarray(
        a.get("nodes_missing_value_tracks_true", [0] * len(treeids)), dtype=bool
    )
    weights = {}
    for tid, nid, cid, w in zip(
        a["class_treeids"], a["class_nodeids"], a["class_ids"], a["class_weights"]
    ):
        weights[(tid, nid)] = weights.get((tid, nid), 0.0) + float(np.float32(w))

    score = np.zeros(n, dtype=np.float64)
    for tid in np.unique(treeids):
        sel = np.nonzero(treeids == tid)[0]
        # dense per-tree tables indexed by node id
        size = int(nodeids[sel].max()) + 1
        f = np.zeros(size, dtype=np.int64)
        v = np.zeros(size, dtype=np.float32)
        t = np.zeros(size, dtype=np.int64)
        fa = np.zeros(size, dtype=np.int64)
        tr = np.zeros(size, dtype=bool)
        leaf = np.zeros(size, dtype=bool)
        lw = np.zeros(size, dtype=np.float64)
        for i in sel:
            nid = nodeids[i]
            f[nid], v[nid], t[nid], fa[nid], tr[nid] = (
                featids[i], values[i], trues[i], falses[i], tracks[i]
            )
            if modes[i] == "LEAF":
                leaf[nid] = True
                lw[nid] = weights.get((int(tid), int(nid)), 0.0)
            elif modes[i] != "BRANCH_LEQ":
                raise BuildError("simulation only supports BRANCH_LEQ, got %s" % modes[i])
        cur = np.zeros(n, dtype=np.int64)
        rows = np.arange(n)
        for _ in range(size + 1):
            active = ~leaf[cur]
            if not active.any():
                break
            r = rows[active]
            c = cur[active]
            x = X32[r, f[c]]
            isnan = np.isnan(x)
            with np.errstate(invalid="ignore"):
                go_true = np.where(isnan, tr[c], x <= v[c])
            cur[active] = np.where(go_true, t[c], fa[c])
        else:
            raise BuildError("tree %d: traversal did not terminate" % tid)
        score += lw[cur]
    p1 = 1.0 / (1.0 + np.exp(-score))
    proba = np.column_stack([1.0 - p1, p1])
    label = np.where(score > 0, labels[1], labels[0]).astype(np.int64)
    return label, proba, score


def check_against_sklearn(model_proto, model, X, what):
    """Fail loudly if the simulated ONNX probabilities differ from sklearn."""
    _, sim, _ = simulate_onnx(model_proto, X)
    ref = model.predict_proba(np.asarray(X, dtype=np.float64))
    diff = float(np.max(np.abs(sim - ref)))
    if not diff < SIM_TOLERANCE:
        worst = int(np.argmax(np.abs(sim[:, 1] - ref[:, 1])))
        raise BuildError(
            "%s: ONNX simulation differs from sklearn predict_proba by %.3g "
            "(row %d: sim %.9f vs sklearn %.9f)"
            % (what, diff, worst, sim[worst, 1], ref[worst, 1])
        )
    return diff


# --------------------------------------------------------------------------
# Output helpers
# --------------------------------------------------------------------------


def _num(v):
    """JSON/CSV scalar: integers as integers, NaN as None, floats full repr."""
    if v is None:
        return None
    v = float(v)
    if math.isnan(v):
        return None
    if v == math.floor(v) and abs(v) < 2**53:
        return int(v)
    return v


def write_json(path, obj, row_keys=()):
    """JSON with one list-row per line for the keys in row_keys (keeps the
    fixtures diff-friendly), everything else via json.dumps."""
    parts = []
    for k, v in obj.items():
        if k in row_keys:
            inner = ",\n".join("    " + json.dumps(r, allow_nan=False) for r in v)
            parts.append("  %s: [\n%s\n  ]" % (json.dumps(k), inner))
        else:
            parts.append("  %s: %s" % (json.dumps(k), json.dumps(v, allow_nan=False)))
    text = "{\n" + ",\n".join(parts) + "\n}\n"
    json.loads(text)  # sanity
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def save_model(model_proto, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(model_proto.SerializeToString())


def rel(path):
    return os.path.relpath(path, REPO_ROOT)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def main(argv):
    data_path = os.path.abspath(argv[1]) if len(argv) > 1 else DEFAULT_DATA
    if not os.path.isfile(data_path):
        raise BuildError("data file not found: %s" % data_path)
    sha = sha256_file(data_path)
    if sha != EXPECTED_SHA256:
        print(
            "WARNING: %s has sha256 %s, expected %s" % (data_path, sha, EXPECTED_SHA256),
            file=sys.stderr,
        )
    X, y = load_dataset(data_path)

    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=SPLIT_SEED
    )
    model = HistGradientBoostingClassifier(**HGB_PARAMS)
    model.fit(X_train, y_train)
    if list(model.classes_) != [0, 1]:
        raise BuildError("unexpected classes %r" % (model.classes_,))
    if model.n_iter_ != HGB_PARAMS["max_iter"]:
        raise BuildError("expected %d iterations, got %d" % (HGB_PARAMS["max_iter"], model.n_iter_))
    test_auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
    train_auc = roc_auc_score(y_train, model.predict_proba(X_train)[:, 1])

    # Reference sample: stratified 5,000 rows of the TRAINING split.
    X_ref, _, y_ref, _ = train_test_split(
        X_train, y_train, train_size=N_REFERENCE, stratify=y_train, random_state=REFERENCE_SEED
    )

    n_nodes = sum(len(p[0].nodes) for p in model._predictors)
    model_proto = tree_ensemble_onnx(
        model,
        len(FEATURES),
        zipmap=True,
        graph_name="vigia_credit_default",
        doc_string="Vigia demo: HistGradientBoostingClassifier on UCI credit default "
        "(features in order: %s)" % ", ".join(FEATURES),
        metadata={"features": ",".join(FEATURES), "label": LABEL},
    )

    # Missing-value rows.
    col = {name: i for i, name in enumerate(FEATURES)}
    X_missing = []
    for idx, names in MISSING_SPECS:
        row = X_ref[idx].copy()
        for name in names:
            row[col[name]] = np.nan
        X_missing.append(row)
    X_missing = np.asarray(X_missing)

    # Verification of the ONNX attributes against sklearn (fails loudly).
    diffs = {
        "reference": check_against_sklearn(model_proto, model, X_ref, "reference rows"),
        "missing": check_against_sklearn(model_proto, model, X_missing, "NaN rows"),
        "test": check_against_sklearn(model_proto, model, X_test, "test split"),
    }
    sim_label, sim_proba, _ = simulate_onnx(model_proto, X_ref)
    sk_label = model.predict(X_ref)
    n_label_mismatch = int(np.sum(sim_label != sk_label))
    if n_label_mismatch:
        raise BuildError("simulated label differs from sklearn predict on %d rows" % n_label_mismatch)

    # ---- write outputs
    model_dir = os.path.join(REPO_ROOT, "models", "credit-default")
    fixture_dir = os.path.join(REPO_ROOT, "test", "fixtures", "credit-default")
    os.makedirs(model_dir, exist_ok=True)
    os.makedirs(fixture_dir, exist_ok=True)
    written = []

    onnx_path = os.path.join(model_dir, "model.onnx")
    save_model(model_proto, onnx_path)
    # round-trip check of the written file
    reloaded = onnx.load(onnx_path)
    onnx.checker.check_model(reloaded)
    check_against_sklearn(reloaded, model, X_ref, "reloaded model.onnx")
    written.append(onnx_path)

    ref_path = os.path.join(model_dir, "reference.csv")
    with open(ref_path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        w.writerow(FEATURES + [LABEL])
        for row, lab in zip(X_ref, y_ref):
            w.writerow([str(int(v)) for v in row] + [str(int(lab))])
    written.append(ref_path)

    p_fixture = model.predict_proba(X_ref[:N_FIXTURE])[:, 1]
    p_missing = model.predict_proba(X_missing)[:, 1]
    fixture = {
        "source": "sklearn %s HistGradientBoostingClassifier.predict_proba[:, 1] for the "
        "first %d rows of models/credit-default/reference.csv; missing_rows are "
        "reference rows %s with the features listed in missing_features set to NaN "
        "(null). Generated by tools/build_demo_model.py."
        % (sklearn.__version__, N_FIXTURE, ", ".join(str(i) for i, _ in MISSING_SPECS)),
        "features": FEATURES,
        "rows": [[_num(v) for v in row] for row in X_ref[:N_FIXTURE]],
        "probability": [float(p) for p in p_fixture],
        "missing_rows": [[_num(v) for v in row] for row in X_missing],
        "missing_features": [names for _, names in MISSING_SPECS],
        "missing_probability": [float(p) for p in p_missing],
    }
    fixture_path = os.path.join(fixture_dir, "sklearn_probabilities.json")
    write_json(fixture_path, fixture, row_keys=("rows", "missing_rows"))
    written.append(fixture_path)

    training = {
        "algorithm": "HistGradientBoostingClassifier",
        "params": model.get_params(),
        "dataset": "UCI Default of Credit Card Clients (Kaggle UCI_Credit_Card.csv layout), "
        "sha256 %s" % sha,
        "n_train": int(len(y_train)),
        "n_test": int(len(y_test)),
        "test_auc": round(float(test_auc), 4),
        "train_auc": round(float(train_auc), 4),
        "test_positive_rate": round(float(np.mean(y_test)), 4),
        "sklearn_version": sklearn.__version__,
        "onnx_version": onnx.__version__,
        "split": "stratified 80/20, random_state=42",
        "features": FEATURES,
        "label": LABEL,
        "n_trees": int(len(model._predictors)),
        "n_tree_nodes": int(n_nodes),
        "baseline_log_odds": float(np.asarray(model._baseline_prediction).ravel()[0]),
        "reference_sample": "%d rows, stratified sample of the training split, random_state=%d"
        % (N_REFERENCE, REFERENCE_SEED),
        "hyperparameter_selection": "fixed; picked among a few candidates by 5-fold CV AUC "
        "on the training split only",
        "onnx_opsets": {"": ONNX_OPSET, "ai.onnx.ml": ONNX_ML_OPSET},
        "onnx_sim_max_abs_diff": max(diffs.values()),
    }
    training_path = os.path.join(model_dir, "training.json")
    write_json(training_path, training)
    written.append(training_path)

    print("Vigia demo model: HistGradientBoostingClassifier, %d trees, %d nodes"
          % (len(model._predictors), n_nodes))
    print("  data:      %s (sha256 %s%s)" % (data_path, sha[:12], "" if sha == EXPECTED_SHA256 else ", UNEXPECTED"))
    print("  split:     n_train=%d n_test=%d, test positive rate %.4f"
          % (len(y_train), len(y_test), np.mean(y_test)))
    print("  AUC:       train %.4f  test %.4f" % (train_auc, test_auc))
    print("  max |onnx-sim - sklearn|: reference %.3g, NaN rows %.3g, test split %.3g"
          % (diffs["reference"], diffs["missing"], diffs["test"]))
    for p in written:
        print("  wrote %-55s %8d bytes" % (rel(p), os.path.getsize(p)))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except BuildError as e:
        print("build_demo_model: ERROR: %s" % e, file=sys.stderr)
        sys.exit(1)
