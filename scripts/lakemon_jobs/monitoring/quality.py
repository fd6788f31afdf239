"""Model-quality metrics of one window, in numpy, with sklearn's definitions.

Why not call sklearn? Importing sklearn.metrics costs about a second, longer than a whole
refresh of a day of data; the definitions are short and tests check them against sklearn.
"""

from __future__ import annotations

import numpy as np

POSITIVE_NAMES = ("1", "true", "1.0", "yes")


def classification_metrics(labels: np.ndarray, predictions: np.ndarray, proba: np.ndarray | None) -> dict:
    """Accuracy, per-class precision/recall/F1 (sklearn average=None, zero_division=0) with macro
    and support-weighted means, confusion matrix, and ROC AUC of the positive class.

    `labels`/`predictions` are string arrays without nulls (classes are compared as strings, so
    a label 1 and a prediction 1.0 would differ: the unpack job writes both with the model's type)."""
    n = labels.shape[0]
    if n == 0:
        return {}
    classes, inverse = np.unique(np.concatenate((labels, predictions)), return_inverse=True)
    y, p = inverse[:n], inverse[n:]
    k = classes.shape[0]
    cm = np.bincount(p * k + y, minlength=k * k).reshape(k, k)  # rows: prediction, cols: label
    tp = np.diag(cm).astype(np.float64)
    predicted = cm.sum(axis=1).astype(np.float64)
    support = cm.sum(axis=0).astype(np.float64)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros(k), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(k), where=denom > 0)
    # sklearn's macro/weighted means run over the labels present in y_true or y_pred: all of `classes`.
    weights = support / support.sum()

    def per_class(values: np.ndarray) -> dict:
        return {
            "one_vs_all": [(str(c), float(v)) for c, v in zip(classes, values, strict=True)],
            "macro": float(values.mean()),
            "weighted": float(np.sum(values * weights)),
        }

    result = {
        "accuracy_score": float(tp.sum() / n),
        "precision": per_class(precision),
        "recall": per_class(recall),
        "f1_score": per_class(f1),
        "confusion_matrix": [
            {"prediction": str(classes[i]), "label": str(classes[j]), "count": int(cm[i, j])}
            for i in range(k)
            for j in range(k)
            if cm[i, j]
        ],
        "num_labeled": int(n),
    }
    if proba is not None:
        result["roc_auc_score"] = roc_auc(labels, proba)
    return result


def positive_class(values: np.ndarray) -> str | None:
    """The class whose probability `prediction_proba` gives: "1"/"true"/..., else the larger one."""
    distinct = sorted(set(values.tolist()))
    for name in distinct:
        if name.lower() in POSITIVE_NAMES:
            return name
    return distinct[-1] if distinct else None


def roc_auc(labels: np.ndarray, proba: np.ndarray) -> float | None:
    """Binary ROC AUC = Mann-Whitney U / (n_pos * n_neg), ties counted half (as sklearn's
    trapezoid rule). None when only one class occurs or a probability is not finite."""
    ok = np.isfinite(proba)
    labels, proba = labels[ok], proba[ok]
    distinct = np.unique(labels)
    if distinct.shape[0] != 2:
        return None
    positive = labels == positive_class(distinct)
    n_pos = int(positive.sum())
    n_neg = int(positive.shape[0] - n_pos)
    ranks = _average_ranks(proba)
    u = ranks[positive].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


def regression_metrics(y: np.ndarray, p: np.ndarray) -> dict:
    """MAE, MSE, RMSE, MAPE and R2 as sklearn.metrics defines them, over finite pairs."""
    ok = np.isfinite(y) & np.isfinite(p)
    y, p = y[ok], p[ok]
    n = y.shape[0]
    if n == 0:
        return {}
    err = y - p
    mse = float(np.mean(err**2))
    eps = np.finfo(np.float64).eps
    result = {
        "mean_absolute_error": float(np.mean(np.abs(err))),
        "mean_squared_error": mse,
        "root_mean_squared_error": float(np.sqrt(mse)),
        "mean_absolute_percentage_error": float(np.mean(np.abs(err) / np.maximum(np.abs(y), eps))),
        "num_labeled": int(n),
    }
    if n >= 2:
        ss_res = float(np.sum(err**2))
        ss_tot = float(np.sum((y - y.mean()) ** 2))
        if ss_tot == 0:
            result["r2_score"] = 1.0 if ss_res == 0 else 0.0  # sklearn's force_finite convention
        else:
            result["r2_score"] = 1.0 - ss_res / ss_tot
    return result


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank (scipy.stats.rankdata's default)."""
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts)
    average = upper - (counts - 1) / 2.0
    return average[inverse]
