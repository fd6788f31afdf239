"""compute_metrics: table shapes and schemas, windows, slices, model ids, and every edge case."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from monitor_fixtures import DAY_US, T0, baseline, settings, table
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon

from lakemon_jobs.monitor_engine.engine import compute_metrics
from lakemon_jobs.monitor_engine.schema import DRIFT_METRICS_SCHEMA, PROFILE_METRICS_SCHEMA
from lakemon_jobs.monitor_engine.settings import ColumnSpec, MonitorSettings

DOCUMENTED_PROFILE = {
    "window", "log_type", "logging_table_commit_version", "monitor_version", "granularity", "slice_key",
    "slice_value", "column_name", "model_version", "data_type",
    "count", "num_nulls", "num_nan", "num_inf", "num_zeros", "distinct_count", "percent_null", "percent_nan",
    "percent_zeros", "percent_distinct", "non_null_columns", "avg", "stddev", "min", "max", "median", "quantiles",
    "min_length", "max_length", "avg_length", "frequent_items", "accuracy_score", "precision", "recall",
    "f1_score", "roc_auc_score", "confusion_matrix", "mean_absolute_error", "mean_squared_error",
    "root_mean_squared_error", "mean_absolute_percentage_error", "r2_score", "num_labeled",
}
DOCUMENTED_DRIFT = {
    "window", "window_cmp", "drift_type", "monitor_version", "granularity", "slice_key", "slice_value", "column_name",
    "model_version",
    "data_type", "count_delta", "avg_delta", "percent_null_delta", "percent_zeros_delta", "percent_distinct_delta",
    "non_null_columns_delta", "js_distance", "chi_squared_test", "tv_distance", "l_infinity_distance", "ks_test",
    "wasserstein_distance", "population_stability_index",
}


def rows(t: pa.Table, **eq) -> list[dict]:
    mask = None
    for k, v in eq.items():
        m = pc.is_null(t[k]) if v is None else pc.equal(t[k], v)
        mask = m if mask is None else pc.and_(mask, m)
    return t.filter(mask).to_pylist()


def one(t: pa.Table, **eq) -> dict:
    found = rows(t, **eq)
    assert len(found) == 1, (eq, len(found))
    return found[0]


def test_schemas_are_the_documented_columns():
    assert set(PROFILE_METRICS_SCHEMA.names) == DOCUMENTED_PROFILE
    assert set(DRIFT_METRICS_SCHEMA.names) == DOCUMENTED_DRIFT
    assert PROFILE_METRICS_SCHEMA.field("quantiles").type == pa.list_(pa.float64())
    assert DRIFT_METRICS_SCHEMA.field("ks_test").type == pa.struct([("statistic", pa.float64()), ("pvalue", pa.float64())])


def test_windows_statistics_and_types_match_scipy():
    inf, base = table(900, shift=0.5), baseline()
    profile, drift = compute_metrics(inf, base, settings())
    assert profile.schema.equals(PROFILE_METRICS_SCHEMA) and drift.schema.equals(DRIFT_METRICS_SCHEMA)
    ts = inf["timestamp"].cast(pa.int64()).to_numpy()
    day1 = (ts >= T0 + DAY_US) & (ts < T0 + 2 * DAY_US)
    x_cur, x_ref = inf["x"].to_numpy()[day1], base["x"].to_numpy()
    start = pa.scalar(T0 + DAY_US, pa.timestamp("us", tz="UTC")).as_py()
    got = [r for r in rows(drift, column_name="x", drift_type="BASELINE", model_version="*") if r["window"]["start"] == start][0]
    ks = sps.ks_2samp(x_cur, x_ref)
    assert got["ks_test"]["statistic"] == pytest.approx(ks.statistic, abs=1e-15)
    assert got["ks_test"]["pvalue"] == pytest.approx(ks.pvalue, rel=1e-10)
    assert got["wasserstein_distance"] == pytest.approx(sps.wasserstein_distance(x_cur, x_ref), rel=1e-9)
    assert got["avg_delta"] == pytest.approx(x_cur.mean() - x_ref.mean())
    assert got["count_delta"] == day1.sum() - 400
    assert got["js_distance"] is None and got["chi_squared_test"] is None
    # categorical: counts of red/green/blue (+ no nulls)
    cat = [r for r in rows(drift, column_name="color", drift_type="BASELINE", model_version="*") if r["window"]["start"] == start][0]
    vals = ["red", "green", "blue"]
    c = np.array([np.sum(np.array(inf["color"].to_pylist())[day1] == v) for v in vals])
    r = np.array([np.sum(np.array(base["color"].to_pylist()) == v) for v in vals])
    assert cat["js_distance"] == pytest.approx(jensenshannon(c / c.sum(), r / r.sum(), base=2))
    assert cat["chi_squared_test"]["pvalue"] == pytest.approx(sps.chi2_contingency(np.vstack([c, r]), correction=False).pvalue)
    assert cat["ks_test"] is None
    # three daily windows, two CONSECUTIVE comparisons, window_cmp = previous day
    windows = {r["window"]["start"] for r in rows(profile, log_type="INPUT", column_name=":table", model_version="*")}
    assert len(windows) == 3
    cons = rows(drift, column_name="x", drift_type="CONSECUTIVE", model_version="*")
    assert len(cons) == 2 and all(r["window_cmp"]["end"] == r["window"]["start"] for r in cons)
    # profile: quantiles and frequent items for the report's distribution plots
    prof = [r for r in rows(profile, column_name="x", log_type="INPUT", model_version="*") if r["window"]["start"] == start][0]
    assert prof["quantiles"] == pytest.approx(list(np.quantile(x_cur, np.linspace(0, 1, 101))), rel=1e-12)
    assert prof["median"] == pytest.approx(np.median(x_cur)) and prof["stddev"] == pytest.approx(np.std(x_cur, ddof=1))
    base_color = one(profile, column_name="color", log_type="BASELINE", model_version="*")
    assert base_color["window"] is None
    assert {i["item"]: i["count"] for i in base_color["frequent_items"]} == dict(zip(vals, r.tolist(), strict=True))
    assert base_color["min_length"] == 3 and base_color["max_length"] == 5


def test_table_rows_have_quality_and_baseline_quality_matches_sklearn():
    from sklearn import metrics as skm

    base = baseline()
    profile, drift = compute_metrics(table(300), base, settings())
    row = one(profile, column_name=":table", log_type="BASELINE", model_version="*")
    y, p = base["label"].to_numpy(), base["prediction"].to_numpy()
    assert row["count"] == 400 and row["num_labeled"] == 400
    assert row["accuracy_score"] == pytest.approx(skm.accuracy_score(y, p))
    assert row["roc_auc_score"] == pytest.approx(skm.roc_auc_score(y, base["prediction_proba"].to_numpy()))
    assert dict(row["f1_score"]["one_vs_all"])["1"] == pytest.approx(skm.f1_score(y, p))
    table_drift = rows(drift, column_name=":table", drift_type="BASELINE", model_version="*")
    assert table_drift and all(r["non_null_columns_delta"] == {"added": 0, "missing": 0} for r in table_drift)


def test_slices_and_model_ids():
    inf = table(600, models=("1", "2"))
    s = settings(slicing_exprs=("color", "x > 0"))
    profile, drift = compute_metrics(inf, baseline(), s)
    keys = {(r["slice_key"], r["slice_value"]) for r in rows(profile, column_name=":table", log_type="INPUT")}
    assert keys == {(None, None), ("color", "red"), ("color", "green"), ("color", "blue"), ("x > 0", "true"), ("x > 0", "false")}
    models = {r["model_version"] for r in rows(profile, column_name=":table", log_type="INPUT", slice_key=None)}
    assert models == {"*", "1", "2"}
    # counts add up: per-model rows of a window sum to the '*' row
    tab = rows(profile, column_name=":table", log_type="INPUT", slice_key=None)
    for start in {r["window"]["start"] for r in tab}:
        per = {r["model_version"]: r["count"] for r in tab if r["window"]["start"] == start}
        assert per["1"] + per["2"] == per["*"]
    # the slice x > 0 = true really holds only positive x
    pos = rows(profile, column_name="x", log_type="INPUT", slice_key="x > 0", slice_value="true", model_version="*")
    assert pos and all(r["min"] > 0 for r in pos)
    # baseline has only model "1": model "2" compares with all baseline rows
    assert rows(drift, column_name="x", drift_type="BASELINE", model_version="2", slice_key=None)


def test_bad_slicing_expression_fails_clearly():
    with pytest.raises(ValueError, match="slicing expression 'no_such_col > 1'"):
        compute_metrics(table(50), baseline(), settings(slicing_exprs=("no_such_col > 1",)))


def test_edge_cases_never_crash():
    n = 40
    inf = pa.table(
        {
            "x": pa.array([None] * n, pa.float64()),  # all null
            "c": pa.array([7.0] * n),  # constant
            "w": pa.array([np.nan, np.inf, -np.inf, 0.0] * 10),  # NaN and infinities
            "s": pa.array(["new"] * n),  # unseen category
            "timestamp": pa.array([T0] * (n - 1) + [T0 + DAY_US], pa.timestamp("us", tz="UTC")),  # one-row window
            "added": pa.array(np.arange(n, dtype=float)),  # not in baseline
        }
    )
    base = pa.table({"x": [1.0, 2.0], "c": [7.0, 7.0], "w": [1.0, 2.0], "s": ["old", None], "gone": [1.0, 2.0]})
    s = MonitorSettings(
        granularities=("1 day", "1 week", "1 month"),
        timestamp_col="timestamp",
        model_id_col="model_version",
        columns=(ColumnSpec("x", "numeric", "double"), ColumnSpec("c", "numeric", "double"),
                 ColumnSpec("w", "numeric", "double"), ColumnSpec("s", "categorical", "string")),
        problem_type="classification",
    )
    profile, drift = compute_metrics(inf, base, s)
    day0 = T0
    def d(col, gran="1 day"):
        return [r for r in rows(drift, column_name=col, drift_type="BASELINE", granularity=gran)
                if r["window"]["start"] == pa.scalar(day0, pa.timestamp("us", tz="UTC")).as_py()][0]
    assert d("x")["ks_test"] is None and d("x")["wasserstein_distance"] is None  # all null: no statistic
    xp = [r for r in rows(profile, column_name="x", log_type="INPUT", granularity="1 day")][0]
    assert xp["num_nulls"] == xp["count"] and xp["avg"] is None and xp["percent_null"] == 100.0
    assert d("c")["ks_test"] == {"statistic": 0.0, "pvalue": 1.0} and d("c")["population_stability_index"] == 0.0
    wp = [r for r in rows(profile, column_name="w", log_type="INPUT", granularity="1 day")][0]
    assert (wp["num_nan"], wp["num_inf"], wp["num_zeros"], wp["distinct_count"]) == (10, 20, 9, 4)  # first window: 39 of the 40 rows
    assert wp["avg"] == 0.0  # finite values only
    assert d("s")["tv_distance"] == 1.0 and d("s")["js_distance"] == pytest.approx(1.0)
    assert d("added")["ks_test"] is None and d("added")["count_delta"] is None  # column absent from baseline
    assert not rows(drift, column_name="gone")  # column absent from inference: no input rows...
    assert one(profile, column_name="gone", log_type="BASELINE", granularity="1 day")["count"] == 2  # ...but profiled
    tab = d(":table")
    assert tab["non_null_columns_delta"] == {"added": 1, "missing": 2}  # +added; -x (all null now), -gone
    one_row = [r for r in rows(drift, column_name="c", drift_type="CONSECUTIVE", granularity="1 day")]
    assert len(one_row) == 1 and one_row[0]["ks_test"]["statistic"] == 0.0  # one-row window vs previous
    assert len(rows(profile, column_name=":table", log_type="INPUT", granularity="1 month")) == 1


def test_empty_inference_and_no_baseline():
    empty = table(10).slice(0, 0)
    profile, drift = compute_metrics(empty, baseline(), settings())
    assert drift.num_rows == 0
    assert set(profile["log_type"].to_pylist()) == {"BASELINE"}
    profile, drift = compute_metrics(table(50), None, settings())
    assert set(drift["drift_type"].to_pylist()) == {"CONSECUTIVE"}


def test_high_cardinality_column():
    n = 3000
    inf = table(n).append_column("uid", pa.array([f"id{i}" for i in range(n)]))
    base = baseline().append_column("uid", pa.array([f"id{i}" for i in range(400)]))
    profile, drift = compute_metrics(inf, base, settings())
    r = rows(profile, column_name="uid", log_type="INPUT", model_version="*")[0]
    assert len(r["frequent_items"]) == 100 and r["distinct_count"] == r["count"]
    dr = rows(drift, column_name="uid", drift_type="BASELINE", model_version="*")[0]
    assert 0 < dr["js_distance"] <= 1


def test_parquet_read_as_dictionaries_gives_the_same_tables(tmp_path):
    """read_parquet returns string columns as dictionaries (fast); the tables must not change,
    also when several row groups (chunks) carry different dictionaries and nulls."""
    import pyarrow.parquet as pq

    from lakemon_jobs.monitor_engine.prepare import read_parquet

    inf = table(900, shift=0.5, models=("1", "2"))
    color = inf["color"].to_pylist()
    color[::7] = [None] * len(color[::7])
    inf = inf.set_column(inf.schema.get_field_index("color"), "color", pa.array(color))
    s = settings(slicing_exprs=("color",))
    pq.write_table(inf, tmp_path / "inf.parquet", row_group_size=200)
    pq.write_table(baseline(), tmp_path / "base.parquet", row_group_size=150)
    read_inf, read_base = read_parquet(tmp_path / "inf.parquet"), read_parquet(tmp_path / "base.parquet")
    assert pa.types.is_dictionary(read_inf.schema.field("color").type) and read_inf["color"].num_chunks > 1
    want = compute_metrics(inf, baseline(), s)
    got = compute_metrics(read_inf, read_base, s)
    for w, g in zip(want, got, strict=True):
        assert g.to_pylist() == w.to_pylist()


def test_calendar_window_starts_equal_numpy_datetime_conversion():
    """Month/year starts come from a per-day lookup; they must equal numpy's conversion, also
    before 1970, at month ends, and for a range too wide for the lookup."""
    from lakemon_jobs.monitor_engine.windows import window_starts

    rng = np.random.default_rng(3)
    ts = np.concatenate([rng.integers(-40 * 365 * DAY_US, 60 * 365 * DAY_US, 5000),
                         [0, -1, DAY_US - 1, 31 * DAY_US, 31 * DAY_US - 1]]).astype(np.int64)
    for gran, kind in (("1 month", "M"), ("1 year", "Y")):
        want = ts.astype("datetime64[us]").astype(f"datetime64[{kind}]").astype("datetime64[us]").astype(np.int64)
        assert window_starts(ts, gran).tolist() == want.tolist()
    wide = np.array([-3000 * 365 * DAY_US, 5, 2000 * 365 * DAY_US], dtype=np.int64)
    want = wide.astype("datetime64[us]").astype("datetime64[M]").astype("datetime64[us]").astype(np.int64)
    assert window_starts(wide, "1 month").tolist() == want.tolist()


def test_row_order_does_not_change_the_tables():
    """Time-ordered logs take a no-sort path for windows and model ids; shuffled ones are sorted."""
    inf = table(900, shift=0.3, models=("1", "2"))
    by_time = inf.take(pc.sort_indices(inf, sort_keys=[("timestamp", "ascending")]))
    one_model = by_time.set_column(by_time.schema.get_field_index("model_version"), "model_version",
                                   pa.array(["1"] * by_time.num_rows))
    shuffled_one_model = one_model.take(pa.array(np.random.default_rng(5).permutation(one_model.num_rows)))
    s = settings(granularities=("1 day", "1 month"), slicing_exprs=("color",))
    def keyed(t: pa.Table) -> list:  # rows in a canonical order (codes follow first appearance)
        return sorted(t.to_pylist(), key=lambda r: repr([r.get(k) for k in ("window", "window_cmp", "log_type",
                      "drift_type", "granularity", "slice_key", "slice_value", "model_version", "column_name")]))

    for a, b in ((inf, by_time), (one_model, shuffled_one_model)):
        for x, y in zip(compute_metrics(a, baseline(), s), compute_metrics(b, baseline(), s), strict=True):
            assert keyed(x) == keyed(y)


def test_model_id_column_is_named_after_the_monitors_model_id_col():
    # Databricks' documented schemas list the grouping column as `model_id_col`: the column is
    # named after the monitor's model_id_col (docs/monitoring.md), so a model whose model-id
    # column is `serving_version` gets metrics tables with a `serving_version` column.
    inf = table(300).rename_columns(["serving_version" if c == "model_version" else c for c in table(300).column_names])
    base = baseline().rename_columns(["serving_version" if c == "model_version" else c for c in baseline().column_names])
    profile, drift = compute_metrics(inf, base, settings(model_id_col="serving_version"))
    for t in (profile, drift):
        assert "serving_version" in t.schema.names and "model_id" not in t.schema.names and "model_version" not in t.schema.names
    assert {r["serving_version"] for r in rows(profile, column_name=":table", log_type="INPUT")} == {"*", "1"}


@pytest.mark.parametrize("granularity", ["1 day", "1 week", "1 month", "1 year"])
@pytest.mark.parametrize("unit", ["s", "ms", "us"])
def test_timestamps_whose_windows_cannot_be_written_are_one_clear_error(granularity, unit):
    """Before: an OverflowError from pyarrow (day/week windows) or wrapped month/year windows."""
    from lakemon_jobs.monitor_engine.windows import TimestampRangeError

    inf = table(60)
    per = {"s": 1_000_000, "ms": 1_000, "us": 1}[unit]
    raw = inf["timestamp"].cast(pa.int64()).to_numpy() // per
    raw[:4] = 600_000_000_000 * 1_000_000 // per  # about year 21000
    raw[4] = -70_000_000_000 * 1_000_000 // per  # before year 1
    bad = inf.set_column(inf.schema.get_field_index("timestamp"), "timestamp", pa.array(raw, pa.timestamp(unit, tz="UTC")))
    with pytest.raises(TimestampRangeError, match=r"timestamp column 'timestamp': 5 row\(s\) lie outside 0001-02-01..9998-12-31 UTC"):
        compute_metrics(bad, baseline(), settings(granularities=(granularity,)))
    # the last microsecond of 9998 and the first of February, year 1, are still fine
    edge = raw.copy()
    edge[:4] = 253_370_764_799_999_999 // per
    edge[4] = -(62_132_918_400_000_000 // per)
    ok = inf.set_column(inf.schema.get_field_index("timestamp"), "timestamp", pa.array(edge, pa.timestamp(unit, tz="UTC")))
    profile, _ = compute_metrics(ok, baseline(), settings(granularities=(granularity,)))
    starts = [r["window"]["start"] for r in profile.to_pylist() if r["window"]]
    assert max(s.year for s in starts) == 9998 and min(s.year for s in starts) == 1


def test_frequent_items_ties_at_the_100_cut_are_by_value_whatever_the_row_order():
    """150 categories: 50 seen 3 times, 100 seen twice; the cut at 100 falls among the ties,
    which are taken in order of value, whatever order the rows (and so the codes) arrived in."""
    frequent = [f"f{i:03d}" for i in range(50)]
    tied = [f"t{i:03d}" for i in range(100)]
    values = frequent * 3 + tied * 2
    expected = [{"item": v, "count": 3} for v in frequent] + [{"item": v, "count": 2} for v in tied[:50]]
    rng = np.random.default_rng(7)
    seen = []
    for seed in range(4):
        order = values if seed == 0 else list(rng.permutation(values))
        n = len(order)
        inf = pa.table({
            "color": pa.array(order),
            "model_version": pa.array(["1"] * n),
            "timestamp": pa.array(np.full(n, T0), pa.timestamp("us", tz="UTC")),
        })
        profile, _ = compute_metrics(inf, None, settings(columns=(ColumnSpec("color", "categorical", "string"),)))
        row = one(profile, column_name="color", log_type="INPUT", model_version="*")
        seen.append(row["frequent_items"])
    assert all(items == expected for items in seen)


def test_the_other_bucket_of_the_drift_statistics_does_not_depend_on_row_order():
    """108 categories, so 8 share "other". x (window 3, baseline 1) and y (2 and 2) tie at the
    cut (same summed share): which one keeps its own column changes JS and chi-squared, and used
    to follow the order in which values were first seen. Ties now go by value: x keeps its own."""
    big = [f"b{i:02d}" for i in range(99)]
    cur = big * 10 + ["x"] * 3 + ["y"] * 2 + [f"f{i}" for i in range(5)]
    ref = big * 10 + ["x"] + ["y"] * 2 + [f"f{i}" for i in range(5)] + ["g0", "g1"]
    assert len(cur) == len(ref) == 1000

    def drift_of(ref_values):
        inf = pa.table({
            "color": pa.array(cur),
            "model_version": pa.array(["1"] * len(cur)),
            "timestamp": pa.array(np.full(len(cur), T0), pa.timestamp("us", tz="UTC")),
        })
        base = pa.table({"color": pa.array(ref_values), "model_version": pa.array(["1"] * len(ref_values))})
        _, drift = compute_metrics(inf, base, settings(columns=(ColumnSpec("color", "categorical", "string"),)))
        return one(drift, column_name="color", drift_type="BASELINE", model_version="*")

    x_first = drift_of(["x", *[v for v in ref if v != "x"]])  # x seen before y: x had the lower code
    y_first = drift_of(["y", "y", *[v for v in ref if v != "y"]])
    for stat in ("js_distance", "tv_distance", "l_infinity_distance"):
        assert x_first[stat] == pytest.approx(y_first[stat], rel=1e-12), stat
    assert x_first["chi_squared_test"]["statistic"] == pytest.approx(y_first["chi_squared_test"]["statistic"], rel=1e-12)
    # and it is the table that keeps x: the 100 kept columns are b00..b98 and x
    from lakemon_jobs.monitor_engine.stats import category_table

    names = big + ["x", "y"] + [f"f{i}" for i in range(5)] + ["g0", "g1"]
    cur_counts = np.array([cur.count(n) for n in names] + [0])
    ref_counts = np.array([ref.count(n) for n in names] + [0])
    rank = np.argsort(np.argsort(np.array(names, dtype=object)))
    kept = category_table(cur_counts, ref_counts, rank=rank)  # the null column is empty: dropped
    assert kept.shape == (2, 101) and kept[:, 99].tolist() == [3.0, 1.0]  # x's own column
    assert kept[:, 100].tolist() == [7.0, 9.0]  # "other": y and the f, g categories
