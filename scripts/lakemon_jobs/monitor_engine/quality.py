"""Model-quality metrics of each group, computed by sklearn.metrics (public API).

sklearn.metrics is imported where a quality window is computed (about a second of one core),
so a drift-only refresh does not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:  # annotations only: model_steps imports this module for the metrics alone
    from .groups import Group, Rows
    from .settings import MonitorSettings
    from .sources import ColumnSource

POSITIVE_NAMES = ("1", "true", "1.0", "yes")


def classification_metrics(labels: np.ndarray, predictions: np.ndarray, proba: np.ndarray | None) -> dict:
    """Accuracy, per-class precision/recall/F1 (sklearn average=None, zero_division=0) with macro
    and support-weighted means, confusion matrix, and ROC AUC of the positive class.

    `labels`/`predictions` are string arrays without nulls (classes are compared as strings, so
    a label 1 and a prediction 1.0 would differ: the unpack job writes both with the model's type)."""
    from sklearn import metrics  # lazy: scikit-learn (1 s) only for labelled windows

    n = labels.shape[0]
    if n == 0:
        return {}
    # sklearn's macro/weighted means run over the labels present in y_true or y_pred: all of `classes`.
    classes = np.unique(np.concatenate((labels, predictions)))
    cm = metrics.confusion_matrix(labels, predictions, labels=classes)  # rows: label, cols: prediction

    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        labels, predictions, labels=classes, average=None, zero_division=0
    )

    def per_class(values: np.ndarray) -> dict:
        # sklearn's average="macro"/"weighted" are these two means of the average=None scores
        # (one call instead of six: each sklearn call re-validates and re-encodes the labels).
        return {
            "one_vs_all": [(str(c), float(v)) for c, v in zip(classes, values, strict=True)],
            "macro": float(np.average(values)),
            "weighted": float(np.average(values, weights=support)) if support.sum() else 0.0,
        }

    scores = {"precision": per_class(precision), "recall": per_class(recall), "f1_score": per_class(f1)}
    k = classes.shape[0]
    result = {
        "accuracy_score": float(metrics.accuracy_score(labels, predictions)),
        **scores,
        "confusion_matrix": [
            {"prediction": str(classes[i]), "label": str(classes[j]), "count": int(cm[j, i])}
            for i in range(k)
            for j in range(k)
            if cm[j, i]
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
    """Binary ROC AUC (sklearn.metrics.roc_auc_score) of the positive class. None when only one
    class occurs (sklearn would raise: undefined); rows with a non-finite probability are left out."""
    ok = np.isfinite(proba)
    labels, proba = labels[ok], proba[ok]
    distinct = np.unique(labels)
    if distinct.shape[0] != 2:
        return None
    from sklearn import metrics  # lazy: scikit-learn (1 s) only for labelled windows

    return float(metrics.roc_auc_score(labels == positive_class(distinct), proba))


def regression_metrics(y: np.ndarray, p: np.ndarray) -> dict:
    """MAE, MSE, RMSE, MAPE and R2 by sklearn.metrics, over finite pairs."""
    ok = np.isfinite(y) & np.isfinite(p)
    y, p = y[ok], p[ok]
    n = y.shape[0]
    if n == 0:
        return {}
    from sklearn import metrics  # lazy: scikit-learn (1 s) only for labelled windows

    result = {
        "mean_absolute_error": float(metrics.mean_absolute_error(y, p)),
        "mean_squared_error": float(metrics.mean_squared_error(y, p)),
        "root_mean_squared_error": float(metrics.root_mean_squared_error(y, p)),
        "mean_absolute_percentage_error": float(metrics.mean_absolute_percentage_error(y, p)),
        "num_labeled": int(n),
    }
    if n >= 2:  # sklearn's r2 of one sample is undefined (nan and a warning)
        result["r2_score"] = float(metrics.r2_score(y, p))  # force_finite: 1.0 / 0.0 for constant y
    return result


def _take(column: pa.ChunkedArray, rows: Rows) -> pa.ChunkedArray:
    if isinstance(rows, slice):
        return column.slice(rows.start, rows.stop - rows.start)
    return column.take(pa.array(rows))


def quality_rows(settings: MonitorSettings, source: ColumnSource, groups: list[Group]) -> list[dict]:
    """Quality metrics of each group (label and prediction columns read once), in order."""
    s = settings
    names = source.column_names
    if not s.label_col or not s.prediction_col or s.label_col not in names or s.prediction_col not in names:
        return [{} for _ in groups]
    label_all, pred_all = source.column(s.label_col), source.column(s.prediction_col)
    # Rows with both a label and a prediction, once for the table: an inference log is mostly
    # unlabelled (labels arrive later, if at all), and a group without such rows has no metrics.
    labelled = pc.and_(label_all.is_valid(), pred_all.is_valid())
    if not pc.any(labelled).as_py():
        return [{} for _ in groups]
    labelled = np.asarray(labelled.to_numpy(zero_copy_only=False), dtype=bool)
    proba_all = source.column(s.prediction_proba_col) if s.prediction_proba_col and s.prediction_proba_col in names else None
    out = []
    for g in groups:
        if not labelled[g.rows].any():
            out.append({})
            continue
        label, pred = _take(label_all, g.rows), _take(pred_all, g.rows)
        ok = np.asarray(label.is_valid().to_numpy(zero_copy_only=False) & pred.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        if s.problem_type == "regression":
            y = np.asarray(label.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)[ok]
            p = np.asarray(pred.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)[ok]
            out.append(regression_metrics(y, p))
        else:
            y = np.asarray(label.cast(pa.string()).to_numpy(zero_copy_only=False), dtype=object)[ok].astype(str)
            p = np.asarray(pred.cast(pa.string()).to_numpy(zero_copy_only=False), dtype=object)[ok].astype(str)
            proba = None
            if proba_all is not None:
                pr = _take(proba_all, g.rows).cast(pa.float64())
                proba = np.asarray(pr.to_numpy(zero_copy_only=False), dtype=np.float64)[ok]
            out.append(classification_metrics(y, p, proba))
    return out
