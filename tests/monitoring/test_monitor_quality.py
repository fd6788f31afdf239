"""Model-quality metrics against sklearn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from lakemon_jobs.monitor_engine.quality import classification_metrics, regression_metrics, roc_auc

RNG = np.random.default_rng(3)


def test_classification_metrics_equal_sklearn():
    y = RNG.integers(0, 3, 400).astype(str)
    p = np.where(RNG.random(400) < 0.7, y, RNG.integers(0, 3, 400).astype(str))
    got = classification_metrics(y, p, None)
    assert got["accuracy_score"] == pytest.approx(skm.accuracy_score(y, p))
    for name, fn in (("precision", skm.precision_score), ("recall", skm.recall_score), ("f1_score", skm.f1_score)):
        per_class = fn(y, p, average=None, zero_division=0)
        assert [v for _, v in got[name]["one_vs_all"]] == pytest.approx(list(per_class))
        assert got[name]["macro"] == pytest.approx(fn(y, p, average="macro", zero_division=0))
        assert got[name]["weighted"] == pytest.approx(fn(y, p, average="weighted", zero_division=0))
    cm = skm.confusion_matrix(y, p, labels=["0", "1", "2"])  # rows: label, columns: prediction
    for cell in got["confusion_matrix"]:
        assert cell["count"] == cm[int(cell["label"]), int(cell["prediction"])]


def test_class_never_predicted_gets_zero_precision():
    got = classification_metrics(np.array(["0", "1", "1"]), np.array(["0", "0", "0"]), None)
    assert dict(got["precision"]["one_vs_all"])["1"] == 0.0


def test_roc_auc_equals_sklearn_with_ties():
    y = RNG.integers(0, 2, 300)
    proba = np.round(RNG.random(300) * 0.5 + y * 0.3, 1)  # rounded: many ties
    assert roc_auc(y.astype(str), proba) == pytest.approx(skm.roc_auc_score(y, proba))
    assert roc_auc(np.array(["1", "1"]), np.array([0.2, 0.9])) is None  # one class: undefined


def test_regression_metrics_equal_sklearn():
    y = RNG.normal(10, 3, 200)
    y[0] = 0.0  # MAPE's epsilon guard
    p = y + RNG.normal(0, 1, 200)
    got = regression_metrics(y, p)
    assert got["mean_absolute_error"] == pytest.approx(skm.mean_absolute_error(y, p))
    assert got["mean_squared_error"] == pytest.approx(skm.mean_squared_error(y, p))
    assert got["root_mean_squared_error"] == pytest.approx(skm.root_mean_squared_error(y, p))
    assert got["mean_absolute_percentage_error"] == pytest.approx(skm.mean_absolute_percentage_error(y, p))
    assert got["r2_score"] == pytest.approx(skm.r2_score(y, p))


def test_regression_edge_cases():
    assert regression_metrics(np.array([]), np.array([])) == {}
    one = regression_metrics(np.array([2.0]), np.array([3.0]))
    assert one["mean_absolute_error"] == 1.0 and "r2_score" not in one
    const = regression_metrics(np.array([1.0, 1.0]), np.array([1.0, 2.0]))
    assert const["r2_score"] == skm.r2_score([1.0, 1.0], [1.0, 2.0])
