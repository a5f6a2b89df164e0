#!/usr/bin/python3
"""The demo model's 6,000-row test split, cut in two halves the model never saw in training.

Usage:
    /usr/bin/python3 tools/holdout_sample.py [path/to/uci_credit_default.csv]

Uses the split of tools/build_demo_model.py (stratified 80/20, random_state 42) and cuts its
test split in two stratified halves of 3,000 rows (random_state 11), each with the label:

    models/credit-default/calibration.csv      the bundle's calibration sample: the score ->
                                               default-rate map of the performance estimate
                                               (CBPE) is fitted on it. Scores of the training
                                               rows are optimistic (train AUC 0.816 against
                                               0.781 held out), so the reference sample, drawn
                                               from the training split, would make the
                                               estimate optimistic too.
    test/fixtures/credit-default/holdout.csv   rows neither the model nor the calibration saw,
                                               for the test that the estimate tracks the
                                               realized performance on a shifted population.
"""
import csv
import os
import sys

from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_demo_model import DEFAULT_DATA, FEATURES, LABEL, REPO_ROOT, SPLIT_SEED, load_dataset  # noqa: E402

N_HOLDOUT = 3000
HOLDOUT_SEED = 11


def main(argv):
    X, y = load_dataset(os.path.abspath(argv[1]) if len(argv) > 1 else DEFAULT_DATA)
    _, X_test, _, y_test = train_test_split(X, y, test_size=0.2, stratify=y, random_state=SPLIT_SEED)
    X_h, X_c, y_h, y_c = train_test_split(X_test, y_test, train_size=N_HOLDOUT, stratify=y_test, random_state=HOLDOUT_SEED)
    for parts, X_part, y_part in [
        (("test", "fixtures", "credit-default", "holdout.csv"), X_h, y_h),
        (("models", "credit-default", "calibration.csv"), X_c, y_c),
    ]:
        path = os.path.join(REPO_ROOT, *parts)
        with open(path, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(FEATURES + [LABEL])
            for row, lab in zip(X_part, y_part):
                w.writerow([str(int(v)) for v in row] + [str(int(lab))])
        print("wrote %s: %d rows, positive rate %.4f" % (path, len(y_part), y_part.mean()))


if __name__ == "__main__":
    main(sys.argv)
