"""Custom metrics on the local engine: every value equals a pandas/numpy hand computation of the
same definition, per window, slice and model id, in the profile and drift tables; and the
incremental refresh keeps them equal to a full recompute."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from deltalake import write_deltalake
from monitor_fixtures import DAY_US, T0

from lakemon_jobs.monitor_engine.engine import compute_metrics
from lakemon_jobs.monitor_engine.incremental import refresh_paths
from lakemon_jobs.monitor_engine.settings import ColumnSpec, CustomMetricSpec, MonitorSettings

METRICS = (
    CustomMetricSpec("ape", "aggregate", "avg(abs({{prediction_col}} - {{label_col}}) / abs({{label_col}}))", (":table",)),
    CustomMetricSpec("bias", "aggregate", "avg({{prediction_col}} - {{label_col}})", (":table",)),
    CustomMetricSpec("squared_avg", "aggregate", "avg(`{{input_column}}` * `{{input_column}}`)", ("x", "prediction")),
    CustomMetricSpec("n_big", "aggregate", "count_if({{input_column}} > 1)", ("x",), "bigint"),
    CustomMetricSpec("root_mean_square", "derived", "sqrt(squared_avg)", ("x", "prediction")),
    CustomMetricSpec("ape_pct", "derived", "100 * ape", (":table",)),
    CustomMetricSpec("ape_delta", "drift", "{{current_df}}.ape_pct - {{base_df}}.ape_pct", (":table",)),
    CustomMetricSpec("rms_ratio", "drift", "{{current_df}}.root_mean_square / {{base_df}}.root_mean_square", ("x",)),
)


def _settings(**over) -> MonitorSettings:
    base = dict(
        granularities=("1 day",), timestamp_col="timestamp", model_id_col="model_version",
        columns=(ColumnSpec("x", "numeric", "double"), ColumnSpec("horizon", "numeric", "bigint"),
                 ColumnSpec("prediction", "numeric", "double"), ColumnSpec("label", "numeric", "double")),
        problem_type="regression", prediction_col="prediction", label_col="label",
        slicing_exprs=("horizon",), custom_metrics=METRICS,
    )
    return MonitorSettings(**(base | over))


def _table(n: int, seed: int, days: int = 3, with_time: bool = True, day0: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    label = rng.uniform(5, 15, n)
    cols = {
        "x": rng.normal(0.5, 1.2, n),
        "horizon": rng.integers(1, 4, n),
        "prediction": label * rng.uniform(0.8, 1.25, n),
        "label": np.where(rng.random(n) < 0.15, np.nan, label),  # late labels: some still missing
        "model_version": pa.array(rng.choice(["1", "2"], n)),
    }
    t = pa.table(cols)
    # null, not NaN, for the missing labels (what unpack writes)
    t = t.set_column(3, "label", pa.array(cols["label"], from_pandas=True))
    if with_time:
        ts = T0 + day0 * DAY_US + rng.integers(0, days * DAY_US, n)
        t = t.append_column("timestamp", pa.array(ts, pa.timestamp("us", tz="UTC")))
    return t


def _hand(df: pd.DataFrame) -> dict:
    """The definitions of METRICS, written with pandas/numpy (nulls skipped as SQL avg does)."""
    lab = df["label"]
    ok = lab.notna()
    ape = float((np.abs(df.prediction[ok] - lab[ok]) / np.abs(lab[ok])).mean()) if ok.any() else None
    out = {
        ":table": {"ape": ape, "bias": float((df.prediction[ok] - lab[ok]).mean()) if ok.any() else None,
                   "ape_pct": None if ape is None else 100 * ape},
        "x": {"squared_avg": float((df.x ** 2).mean()), "n_big": int((df.x > 1).sum())},
        "prediction": {"squared_avg": float((df.prediction ** 2).mean())},
    }
    for c in ("x", "prediction"):
        out[c]["root_mean_square"] = math.sqrt(out[c]["squared_avg"])
    return out


def _groups(df: pd.DataFrame):
    """(slice_key, slice_value, model id) -> rows, as the engine groups them."""
    yield (None, None, "*"), df
    for mid, part in df.groupby("model_version"):
        yield (None, None, mid), part
    for h, part in df.groupby("horizon"):
        yield ("horizon", str(h), "*"), part
        for mid, sub in part.groupby("model_version"):
            yield ("horizon", str(h), mid), sub


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


@pytest.fixture(scope="module")
def tables():
    inf, base = _table(900, seed=1), _table(500, seed=2, with_time=False)
    profile, drift = compute_metrics(inf, base, _settings())
    return inf, base, profile, drift


def _key(r: dict) -> tuple:
    return (r["log_type"], r["window"]["start"] if r["window"] else None, r["slice_key"], r["slice_value"],
            r["model_version"], r["column_name"])


def test_profile_rows_hold_each_custom_metric_equal_to_a_hand_computation(tables):
    inf, base, profile, _ = tables
    rows = {_key(r): r for r in profile.to_pylist()}
    df = inf.to_pandas()
    df["day"] = df["timestamp"].dt.floor("D")
    checked = 0
    for (day, part) in df.groupby("day"):
        for (sk, sv, mid), rows_ in _groups(part):
            hand = _hand(rows_)
            for column, metrics in hand.items():
                row = rows[("INPUT", day.to_pydatetime(), sk, sv, mid, column)]
                for name, value in metrics.items():
                    assert _close(row[name], value), (day, sk, sv, mid, column, name, row[name], value)
                    checked += 1
    bdf = base.to_pandas()
    for (sk, sv, mid), rows_ in _groups(bdf):
        for column, metrics in _hand(rows_).items():
            row = rows[("BASELINE", None, sk, sv, mid, column)]
            for name, value in metrics.items():
                assert _close(row[name], value), ("BASELINE", sk, sv, mid, column, name)
                checked += 1
    assert checked > 300
    # a metric is stored only in the rows of its input columns
    other = rows[("INPUT", df["day"].min().to_pydatetime(), None, None, "*", "label")]
    assert other["ape"] is None and other["squared_avg"] is None
    assert profile.schema.field("n_big").type == pa.int64()


def test_drift_rows_compare_current_with_baseline_and_previous_window(tables):
    inf, base, profile, drift = tables
    prof = {_key(r): r for r in profile.to_pylist()}
    checked = 0
    for r in drift.to_pylist():
        column = r["column_name"]
        if column not in (":table", "x"):
            assert r["ape_delta"] is None and r["rms_ratio"] is None
            continue
        cur = prof[("INPUT", r["window"]["start"], r["slice_key"], r["slice_value"], r["model_version"], column)]
        if r["drift_type"] == "BASELINE":
            ref = prof.get(("BASELINE", None, r["slice_key"], r["slice_value"], r["model_version"], column)) or \
                prof[("BASELINE", None, r["slice_key"], r["slice_value"], "*", column)]
        else:
            ref = prof[("INPUT", r["window_cmp"]["start"], r["slice_key"], r["slice_value"], r["model_version"], column)]
        if column == ":table":
            want = None if cur["ape_pct"] is None or ref["ape_pct"] is None else cur["ape_pct"] - ref["ape_pct"]
            assert _close(r["ape_delta"], want)
            assert r["rms_ratio"] is None
        else:
            assert _close(r["rms_ratio"], cur["root_mean_square"] / ref["root_mean_square"])
            assert r["ape_delta"] is None
        checked += 1
    kinds = {r["drift_type"] for r in drift.to_pylist()}
    assert kinds == {"BASELINE", "CONSECUTIVE"} and checked > 50


def test_tables_without_custom_metrics_keep_the_built_in_schema():
    inf, base = _table(200, seed=3), _table(100, seed=4, with_time=False)
    profile, drift = compute_metrics(inf, base, _settings(custom_metrics=()))
    assert "ape" not in profile.column_names and "ape_delta" not in drift.column_names


def test_a_definition_the_engine_cannot_evaluate_names_the_metric():
    bad = (CustomMetricSpec("oops", "aggregate", "avg(x) + 'text'", (":table",)),)
    with pytest.raises(ValueError, match="custom metric 'oops' cannot be evaluated"):
        compute_metrics(_table(100, seed=5), None, _settings(custom_metrics=bad))


def test_incremental_refresh_with_custom_metrics_equals_full_recompute(tmp_path):
    s = _settings()
    paths = dict(inference_path=tmp_path / "inf", baseline_path=tmp_path / "base", profile_path=tmp_path / "p",
                 drift_path=tmp_path / "d", state_dir=tmp_path / "state")
    first, late = _table(600, seed=7, days=3), _table(120, seed=8, days=1, day0=2)  # rows for the last day only
    write_deltalake(str(paths["inference_path"]), first)
    write_deltalake(str(paths["baseline_path"]), _table(300, seed=9, with_time=False))
    refresh_paths(s, **paths)
    write_deltalake(str(paths["inference_path"]), late, mode="append")
    result = refresh_paths(s, **paths)  # the stored baseline profile is reused: custom aggregates read its rows
    assert not result.baseline_recomputed and result.windows_recomputed < result.windows_total
    from deltalake import DeltaTable

    full_p, full_d = compute_metrics(pa.concat_tables([first, late]), _table(300, seed=9, with_time=False), s)
    got_p = DeltaTable(str(paths["profile_path"])).to_pyarrow_table()
    got_d = DeltaTable(str(paths["drift_path"])).to_pyarrow_table()
    names = [m.name for m in METRICS]

    def canon(t: pa.Table, keys: list[str]) -> list[tuple]:
        return sorted(
            (tuple(str(r[k]) for k in keys), tuple(None if r.get(n) is None else round(r[n], 9) for n in names if n in r))
            for r in t.to_pylist()
        )

    pk = ["log_type", "window", "granularity", "slice_key", "slice_value", "model_version", "column_name"]
    dk = ["drift_type", "window", "window_cmp", "granularity", "slice_key", "slice_value", "model_version", "column_name"]
    assert canon(got_p, pk) == canon(full_p, pk)
    assert canon(got_d, dk) == canon(full_d, dk)
