"""refresh: incremental equals full recompute, only changed windows recomputed, atomic writes."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from monitor_fixtures import baseline, settings, table

from lakemon_jobs.monitor_engine import incremental as refresh_mod
from lakemon_jobs.monitor_engine.engine import compute_metrics
from lakemon_jobs.monitor_engine.incremental import refresh_local, refresh_paths

SORT_KEYS = ["granularity", "log_type", "slice_key", "slice_value", "model_version", "column_name"]


def _paths(tmp: Path) -> dict:
    return dict(
        inference_path=tmp / "inf", baseline_path=tmp / "base", profile_path=tmp / "profile",
        drift_path=tmp / "drift", state_dir=tmp / "state",
    )


def _canon(t: pa.Table) -> list[dict]:
    """Rows as comparable dicts, in a fixed order (table row order is not part of the contract),
    without `logging_table_commit_version`: a kept row names the older commit it was computed from."""
    out = [{k: v for k, v in r.items() if k != "logging_table_commit_version"} for r in t.to_pylist()]
    key = lambda r: tuple(str(r.get(k)) for k in ["window", "window_cmp", "drift_type", *SORT_KEYS])  # noqa: E731
    return sorted(out, key=key)


def test_incremental_refresh_equals_full_and_recomputes_only_changed(tmp_path):
    s = settings(slicing_exprs=("color",))
    p = _paths(tmp_path)
    inf = table(600, days=4)
    write_deltalake(str(p["inference_path"]), inf)
    write_deltalake(str(p["baseline_path"]), baseline())
    first = refresh_paths(s, **p)
    assert first.baseline_recomputed and first.windows_recomputed == first.windows_total == 4

    again = refresh_paths(s, **p)
    assert again.windows_recomputed == 0 and not again.baseline_recomputed

    late = table(50, seed=5, days=1, day0=3)  # rows for the last day only
    write_deltalake(str(p["inference_path"]), late, mode="append")
    third = refresh_paths(s, **p)
    assert third.windows_recomputed == 1 and not third.baseline_recomputed

    newday = table(40, seed=6, days=1, day0=5)  # a new window after a gap
    write_deltalake(str(p["inference_path"]), newday, mode="append")
    fourth = refresh_paths(s, **p)
    assert fourth.windows_recomputed == 1 and fourth.windows_total == 5

    full_p, full_d = compute_metrics(pa.concat_tables([inf, late, newday]), baseline(), s)
    got_p = DeltaTable(str(p["profile_path"])).to_pyarrow_table()
    got_d = DeltaTable(str(p["drift_path"])).to_pyarrow_table()
    assert _canon(got_p) == _canon(full_p)
    assert _canon(got_d) == _canon(full_d)
    # each row names the inference-log commit it was computed from: versions 0 (first three days),
    # 1 (the late rows made day 3 recompute) and 2 (the new day); baseline rows the newest
    versions = {}
    for r in got_p.to_pylist():
        key = "BASELINE" if r["window"] is None else r["window"]["start"].day
        versions.setdefault(key, set()).add(r["logging_table_commit_version"])
    assert versions == {"BASELINE": {2}, 8: {0}, 9: {0}, 10: {0}, 11: {1}, 13: {2}}
    assert set(got_p["monitor_version"].to_pylist()) == {0} and set(got_d["monitor_version"].to_pylist()) == {0}


def test_changed_baseline_recomputes_everything(tmp_path):
    p = _paths(tmp_path)
    write_deltalake(str(p["inference_path"]), table(200))
    write_deltalake(str(p["baseline_path"]), baseline())
    refresh_paths(settings(), **p)
    write_deltalake(str(p["baseline_path"]), baseline(seed=1), mode="overwrite")
    res = refresh_paths(settings(), **p)
    assert res.baseline_recomputed and res.windows_recomputed == res.windows_total


def test_failed_drift_write_leaves_previous_tables(tmp_path, monkeypatch):
    p = _paths(tmp_path)
    write_deltalake(str(p["inference_path"]), table(300))
    write_deltalake(str(p["baseline_path"]), baseline())
    refresh_paths(settings(), **p)
    before_p = DeltaTable(str(p["profile_path"])).to_pyarrow_table()
    before_d = DeltaTable(str(p["drift_path"])).to_pyarrow_table()

    write_deltalake(str(p["inference_path"]), table(80, seed=8, day0=1, days=1), mode="append")
    real = refresh_mod._overwrite

    def failing(path, t):
        if Path(path) == p["drift_path"]:
            raise OSError("disk full")
        return real(path, t)

    monkeypatch.setattr(refresh_mod, "_overwrite", failing)
    with pytest.raises(OSError, match="disk full"):
        refresh_paths(settings(), **p)
    assert _canon(DeltaTable(str(p["profile_path"])).to_pyarrow_table()) == _canon(before_p)
    assert _canon(DeltaTable(str(p["drift_path"])).to_pyarrow_table()) == _canon(before_d)

    monkeypatch.setattr(refresh_mod, "_overwrite", real)
    res = refresh_paths(settings(), **p)  # tables changed behind the state: the next refresh redoes all
    assert res.windows_recomputed == res.windows_total
    full_p, _ = compute_metrics(DeltaTable(str(p["inference_path"])).to_pyarrow_table(), baseline(), settings())
    assert _canon(DeltaTable(str(p["profile_path"])).to_pyarrow_table()) == _canon(full_p)


def test_bad_input_fails_clearly_and_leaves_tables(tmp_path):
    p = _paths(tmp_path)
    write_deltalake(str(p["inference_path"]), table(100))
    write_deltalake(str(p["baseline_path"]), baseline())
    refresh_paths(settings(), **p)
    version = DeltaTable(str(p["profile_path"])).version()
    with pytest.raises(ValueError, match="slicing expression"):
        refresh_paths(settings(slicing_exprs=("nope +",)), **p)
    assert DeltaTable(str(p["profile_path"])).version() == version
    with pytest.raises(refresh_mod.InferenceLogMissing, match="inference-log"):  # a JobError: exit 1
        refresh_paths(settings(), **{**p, "inference_path": tmp_path / "missing"})


def test_timestamps_out_of_range_fail_clearly_and_leave_tables(tmp_path):
    """The window fingerprints run in a thread beside the baseline profile and the engine's
    window plan: an error there still stops the refresh before anything is written."""
    from lakemon_jobs.monitor_engine.windows import TimestampRangeError

    p = _paths(tmp_path)
    write_deltalake(str(p["inference_path"]), table(100))
    write_deltalake(str(p["baseline_path"]), baseline())
    refresh_paths(settings(), **p)
    version = DeltaTable(str(p["profile_path"])).version()
    bad = table(100, day0=4)
    raw = bad["timestamp"].cast(pa.int64()).to_numpy().copy()
    raw[:3] = 600_000_000_000 * 1_000_000  # about year 21000
    bad = bad.set_column(bad.schema.get_field_index("timestamp"), "timestamp", pa.array(raw, pa.timestamp("us", tz="UTC")))
    write_deltalake(str(p["inference_path"]), bad, mode="append")
    with pytest.raises(TimestampRangeError, match=r"3 row\(s\) lie outside"):
        refresh_paths(settings(), **p)
    assert DeltaTable(str(p["profile_path"])).version() == version
    assert DeltaTable(str(p["drift_path"])).version() == version


def test_refresh_local_uses_model_tables(tmp_path):
    from lakemon.config.loader import load_environment
    from lakemon.contract.tables import ModelTables
    from lakemon_jobs.local.runtime import LocalRuntime

    env = load_environment(Path(__file__).resolve().parents[2] / "envs" / "dev.yml")
    model = env.model()
    runtime = LocalRuntime.from_env(tmp_path)
    names = ModelTables(env, model)
    n = 200
    import numpy as np

    rng = np.random.default_rng(0)
    cols = {}
    for c in model.features:
        cols[c.name] = rng.normal(size=n) if c.type == "double" else pa.array(rng.choice(["a", "b"], n))
    cols[model.prediction.name] = rng.integers(0, 2, n)
    cols[model.label.name] = rng.integers(0, 2, n)
    cols[model.model_id_column] = pa.array(["1"] * n)
    base = pa.table(cols)
    inf = base.append_column(model.timestamp_column, pa.array(rng.integers(0, 2 * 86_400_000_000, n), pa.timestamp("us", tz="UTC")))
    write_deltalake(str(runtime.table_path(names.inference_log)), inf)
    write_deltalake(str(runtime.table_path(names.baseline)), base)
    messages = []
    res = refresh_local(runtime, env, model, progress=messages.append)
    assert res.windows_total == 2 and messages
    assert DeltaTable(str(runtime.table_path(names.drift_metrics))).to_pyarrow_table().num_rows == res.drift_rows


def _with_colors(t: pa.Table, colors: list, seed: int) -> pa.Table:
    import numpy as np

    rng = np.random.default_rng(seed)
    values = pa.array([colors[i] for i in rng.integers(0, len(colors), t.num_rows)], pa.string())
    return t.set_column(t.schema.get_field_index("color"), "color", values)


def test_refresh_with_categories_unseen_in_baseline_matches_full_and_scipy(tmp_path):
    """A stored baseline profile must line up with categories the baseline never saw (and nulls)."""
    import numpy as np
    from scipy.spatial.distance import jensenshannon

    s = settings()
    p = _paths(tmp_path)
    base = _with_colors(baseline(), ["red", "green", None], seed=1)
    inf = _with_colors(table(300, days=1), ["purple", "red", "green", None, "teal"], seed=2)
    write_deltalake(str(p["inference_path"]), inf)
    write_deltalake(str(p["baseline_path"]), base)
    refresh_paths(s, **p)
    got = DeltaTable(str(p["drift_path"])).to_pyarrow_table().to_pylist()
    _full_p, full_d = compute_metrics(inf, base, s)
    assert _canon(DeltaTable(str(p["drift_path"])).to_pyarrow_table()) == _canon(full_d)

    row = next(
        r for r in got
        if r["column_name"] == "color" and r["drift_type"] == "BASELINE" and r["slice_key"] is None and r["model_version"] == "*"
    )
    cats = ["red", "green", None, "purple", "teal"]
    b = np.array([base.column("color").to_pylist().count(c) for c in cats], float)
    c = np.array([inf.column("color").to_pylist().count(c) for c in cats], float)
    assert row["js_distance"] == pytest.approx(jensenshannon(b / b.sum(), c / c.sum(), base=2), abs=1e-9)
