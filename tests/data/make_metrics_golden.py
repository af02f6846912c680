#!/usr/bin/python3
"""Writes tests/data/metrics_golden.jsonl: golden values for src/bench/metrics.cpp.

Run once with Debian's scikit-learn (python3-sklearn 1.2.1, numpy 1.24):

    /usr/bin/python3 tests/data/make_metrics_golden.py

Every value comes from calling scikit-learn, except the ECE (scikit-learn has none), which
is computed below with numpy, and the best-F1 threshold and the recall at an FPR, which are
read off scikit-learn's precision_recall_curve / roc_curve outputs with numpy. Undefined
values (and NaN curve points) are written as null.

Each line: labels, scores (float32 values written as the double they convert to),
threshold (likewise a float32 value), the expected metrics, and both curves.
"""

import json
import os
import warnings

import numpy as np
import sklearn
from sklearn.metrics import (accuracy_score, average_precision_score, confusion_matrix, f1_score,
                             precision_recall_curve, precision_score, recall_score, roc_auc_score,
                             roc_curve)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "metrics_golden.jsonl")
ECE_BINS = 15


def f32(values):
    """float32 values as Python floats (the exact doubles the float32 values convert to)."""
    return [float(v) for v in np.asarray(values, dtype=np.float32).astype(np.float64)]


def num(v):
    """A JSON number, or null for None / NaN."""
    if v is None:
        return None
    v = float(v)
    return None if np.isnan(v) else v


def nums(a):
    return [num(v) for v in a]


def ece(y, s):
    """15 equal-width bins on [0, 1]: the first [0, 1/15], the others (lo, hi]."""
    n = len(y)
    if n == 0:
        return None
    edges = np.linspace(0.0, 1.0, ECE_BINS + 1)
    total = 0.0
    for b in range(ECE_BINS):
        if b == 0:
            mask = s <= edges[1]
        elif b == ECE_BINS - 1:
            mask = s > edges[b]
        else:
            mask = (s > edges[b]) & (s <= edges[b + 1])
        k = int(mask.sum())
        if k:
            total += k / n * abs(y[mask].mean() - s[mask].mean())
    return total


def best_f1(precision, recall, thresholds):
    """Max F1 over precision_recall_curve's thresholds; exact ties -> the higher threshold."""
    p, r = precision[:-1], recall[:-1]
    denom = p + r
    f1 = np.where(denom > 0, 2 * p * r / np.where(denom > 0, denom, 1), 0.0)
    best = f1.max()
    # Equal F1 values may differ by rounding in 2PR/(P+R); distinct ones differ by far more.
    candidates = np.where(f1 >= best - 1e-12)[0]
    i = candidates[np.argmax(thresholds[candidates])]
    return float(thresholds[i]), float(f1[i])


def recall_at_fpr(fpr, tpr, limit):
    ok = fpr <= limit
    return float(tpr[ok].max())


def case(name, labels, scores, threshold):
    y = np.asarray(labels, dtype=np.int64)
    s = np.asarray(f32(scores), dtype=np.float64)
    t = f32([threshold])[0]
    n, pos = len(y), int(y.sum())
    neg = n - pos
    pred = (s >= t).astype(np.int64)
    out = {"name": name, "labels": [int(v) for v in y], "scores": [float(v) for v in s], "threshold": t}
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(y, pred, labels=[0, 1]).ravel())
    out.update(n=n, positives=pos, tp=tp, fp=fp, tn=tn, fn=fn)
    out["accuracy"] = float(accuracy_score(y, pred))
    out["precision"] = float(precision_score(y, pred, zero_division=0))
    out["recall"] = float(recall_score(y, pred, zero_division=0))
    out["f1"] = float(f1_score(y, pred, zero_division=0))
    out["fpr"] = fp / (fp + tn) if neg else None
    out["auroc"] = float(roc_auc_score(y, s)) if pos and neg else None
    out["average_precision"] = float(average_precision_score(y, s)) if pos else None
    out["ece"] = ece(y, s)
    fpr, tpr, roc_t = roc_curve(y, s, drop_intermediate=False)
    prec, rec, pr_t = precision_recall_curve(y, s)
    out["roc"] = {"x": nums(fpr), "y": nums(tpr), "thresholds": nums(roc_t)}
    out["pr"] = {"x": nums(rec), "y": nums(prec), "thresholds": nums(pr_t)}
    if pos:
        out["best_f1_threshold"], out["best_f1"] = best_f1(prec, rec, pr_t)
    else:
        out["best_f1_threshold"] = out["best_f1"] = None
    if pos and neg:
        out["recall_at_fpr_1"] = recall_at_fpr(fpr, tpr, 0.01)
        out["recall_at_fpr_5"] = recall_at_fpr(fpr, tpr, 0.05)
    else:
        out["recall_at_fpr_1"] = out["recall_at_fpr_5"] = None
    return out


def main():
    warnings.simplefilter("ignore")  # one-class slices make scikit-learn warn
    rng = np.random.default_rng(20240611)
    thresholds = [0.5, 0.3, 0.0, 1.0]
    cases = []

    def labels_for(n, p_pos):
        return (rng.random(n) < p_pos).astype(np.int64)

    def informative(y, noise):
        """Scores that separate the classes somewhat (label + noise, squashed to [0, 1])."""
        z = y * 1.5 + rng.normal(0.0, noise, len(y))
        return 1.0 / (1.0 + np.exp(-(z - 0.75) * 2.0))

    # The header's example.
    cases.append(case("header-example", [0, 1, 1, 0], [0.1, 0.8, 0.4, 0.35], 0.5))
    # Tiny hand-made slices.
    cases.append(case("one-positive", [1], [0.7], 0.5))
    cases.append(case("one-negative", [0], [0.7], 0.5))
    cases.append(case("two-tied", [0, 1], [0.5, 0.5], 0.5))
    cases.append(case("two-reversed", [1, 0], [0.2, 0.9], 0.5))
    cases.append(case("three-ties-zero-one", [1, 0, 1], [1.0, 0.0, 1.0], 1.0))
    cases.append(case("all-equal-scores", [0, 1, 0, 1, 1, 0, 0, 1, 0, 0], [0.5] * 10, 0.5))
    cases.append(case("zeros-and-ones", [0, 0, 1, 1, 0, 1, 0, 1, 1, 0], [0, 1, 1, 1, 0, 0, 0, 1, 0, 1], 0.5))
    cases.append(case("perfect", [0, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.8, 0.9], 0.5))
    cases.append(case("inverted", [1, 1, 1, 0, 0], [0.1, 0.2, 0.3, 0.8, 0.9], 0.5))
    cases.append(case("best-f1-tie", [1, 0, 0, 1], [0.9, 0.6, 0.5, 0.2], 0.5))  # F1 2/3 at 0.9 and 0.2
    cases.append(case("bin-edges", [0, 1, 0, 1, 0, 1, 1, 0],
                      [0.0, 1 / 15, 2 / 15, 0.2, 1 / 3, 14 / 15, 1.0, 0.999], 0.3))

    # Random slices: every size x score kind, thresholds rotating.
    sizes = [1, 2, 3, 5, 10, 100, 1000]
    kinds = ["uniform", "informative", "round2", "round1"]
    k = 0
    for n in sizes:
        for kind in kinds:
            y = labels_for(n, 0.4)
            if n >= 2 and kind != "round1":  # both classes (round1 slices keep their luck)
                y[:2] = [0, 1]
                rng.shuffle(y)
            if kind == "uniform":
                s = rng.random(n)
            elif kind == "informative":
                s = informative(y, 1.0)
            elif kind == "round2":
                s = np.round(informative(y, 1.2), 2)
            else:
                s = np.round(informative(y, 1.5), 1)
            t = thresholds[k % len(thresholds)]
            k += 1
            cases.append(case(f"{kind}-n{n}", y, s, t))

    # Skewed classes: about 1% positives (at least one).
    for i, n in enumerate([100, 1000, 1000]):
        y = labels_for(n, 0.01)
        if y.sum() == 0:
            y[rng.integers(n)] = 1
        for kind, s in [("informative", informative(y, 1.0)), ("round2", np.round(informative(y, 1.0), 2))]:
            cases.append(case(f"skewed-{kind}-n{n}-{i}", y, s, 0.5))
    # Skewed the other way: about 1% negatives.
    y = 1 - labels_for(1000, 0.01)
    cases.append(case("skewed-negatives-n1000", y, informative(y, 1.0), 0.3))

    # One-class slices.
    for n in [1, 5, 100]:
        for label in [0, 1]:
            y = np.full(n, label)
            s = np.round(rng.random(n), 1)
            cases.append(case(f"all-{'positive' if label else 'negative'}-n{n}", y, s, thresholds[n % 4]))

    # Heavy ties with exact 0 and 1, and a dense slice of few distinct values.
    for n in [10, 100, 1000]:
        y = labels_for(n, 0.5)
        s = rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], size=n, p=[0.3, 0.1, 0.2, 0.1, 0.3])
        for t in [0.0, 1.0]:
            cases.append(case(f"few-values-n{n}-t{t}", y, s, t))
        s = np.where(rng.random(n) < 0.5, y.astype(np.float64), rng.random(n))
        cases.append(case(f"half-exact-n{n}", y, s, 0.5))

    # Values that round to the same float32 (distinct as doubles, equal as scores).
    y = labels_for(50, 0.5)
    s = 0.5 + rng.integers(-2, 3, 50) * 1e-9
    cases.append(case("float32-collapsed", y, s, 0.5))

    with open(OUT, "w") as f:
        f.write(f"# scikit-learn {sklearn.__version__}, numpy {np.__version__}: tests/data/make_metrics_golden.py\n")
        for c in cases:
            f.write(json.dumps(c, allow_nan=False, separators=(",", ":")) + "\n")
    print(f"{len(cases)} cases -> {OUT}")


if __name__ == "__main__":
    main()
