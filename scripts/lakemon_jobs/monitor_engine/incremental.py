"""Incremental, atomic refresh of the local profile and drift metrics tables.

A refresh
1. reads the inference log (and, only if its stored profile is stale, the baseline) from the
   local Delta tables;
2. fingerprints each window's rows (DuckDB's row hash, summed per window) and chains it with
   the previous window's fingerprint, because CONSECUTIVE drift depends on both;
3. recomputes only windows whose fingerprint changed, keeps the other rows of the previous
   tables, and drops windows that no longer have rows;
4. overwrites each metrics table in one Delta commit; if the second write fails, the first table
   is restored to its previous version, then the state is saved. A failure at any point
   therefore leaves the previous tables (and the state that describes them) as they were.

`refresh_paths` runs these as named steps: `_baseline_profile` (1), `_judge_windows` (2, on a
thread of its own beside the rest), `_run_settings` and the engine (3), `_with_kept_rows` (3)
and `_publish` (4).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError

from lakemon.contract.tables import ModelTables

from ..errors import JobError
from ..table_engines.integrity import check_version, damaged, storage_errors
from . import engine, state, stats
from .baselines import BaselineProfile, NoBaseline, build_baseline
from .prepare import Vocabulary, monitored_columns
from .rows import MetricTables
from .scheduling import pool_size
from .schema import drift_metrics_schema, profile_metrics_schema
from .settings import MonitorSettings, SettingsMismatch
from .sources import ColumnSource, delta_columns, scan_view
from .windows import timestamps_us, window_starts


class WindowJudgement(NamedTuple):
    """Which windows a refresh recomputes, from their fingerprints and the previous state."""

    fingerprints: dict
    old_tables: MetricTables | None
    """The previous profile and drift tables, to keep rows of (None: recompute everything)."""
    recompute: dict[str, set[int]]
    keep: dict[str, set[int]]

    @property
    def windows_total(self) -> int:
        """Windows with rows, summed over granularities."""
        return sum(len(v) for v in self.fingerprints.values())

    @property
    def windows_recomputed(self) -> int:
        return sum(len(v) for v in self.recompute.values())


@dataclass(frozen=True)
class RefreshResult:
    windows_total: int
    """Windows with rows, summed over granularities."""
    windows_recomputed: int
    baseline_recomputed: bool
    profile_rows: int
    drift_rows: int
    profile_version: int
    drift_version: int
    seconds: float


def read_delta(path: Path, what: str) -> tuple[pa.Table, str] | None:
    """(table, '<delta table id>@<version>') or None when no Delta table is at `path`."""
    try:
        dt = DeltaTable(str(path))
    except TableNotFoundError:
        return None
    return dt.to_pyarrow_table(), f"{dt.metadata().id}@{dt.version()}"


def delta_identity(path: Path) -> str | None:
    try:
        dt = DeltaTable(str(path))
    except TableNotFoundError:
        return None
    return f"{dt.metadata().id}@{dt.version()}"


class InferenceLogMissing(JobError):
    """The inference log does not exist yet (nothing unpacked): an expected state, one line, exit 1."""


def refresh_local(runtime, env, model, *, progress: Callable[[str], None] | None = None) -> RefreshResult:
    """Refresh `<inference_log>_profile_metrics` and `_drift_metrics` of `model` in `env` on the
    embedded default (`runtime`: lakemon_jobs.local.runtime.LocalRuntime)."""
    tables = ModelTables(env, model)
    settings = MonitorSettings.from_config(env, model)
    named = {t: runtime.table_path(t) for t in (tables.inference_log, tables.baseline, tables.profile_metrics, tables.drift_metrics)}
    check_versions(named)
    result = refresh_paths(
        settings,
        inference_path=runtime.table_path(tables.inference_log),
        baseline_path=runtime.table_path(tables.baseline),
        profile_path=runtime.table_path(tables.profile_metrics),
        drift_path=runtime.table_path(tables.drift_metrics),
        state_dir=runtime.root / "monitor_state" / tables.inference_log,
        progress=progress,
    )
    check_versions(named)  # records the versions just written
    return result


def check_versions(named: dict[str, Path]) -> None:
    """tables.integrity.check_version for each existing Delta table (name -> path): TableDamaged
    if one went back to an older version than lakemon saw, or its log cannot be read."""
    for name, path in named.items():
        try:
            dt = DeltaTable(str(path))
            table_id, version = dt.metadata().id, dt.version()
        except TableNotFoundError:
            continue
        except storage_errors() as exc:
            raise damaged(name, None, exc, "opening") from None
        check_version(path, name, table_id, version)


def window_fingerprints(inference: ColumnSource, settings: MonitorSettings, salt: str) -> dict[str, dict[str, str]]:
    """granularity -> {window start (us, as str): fingerprint}, chained with the previous window.

    DuckDB streams the table (all columns, a row group at a time, `read_parquet` over a plain
    Delta table's files: sources.scan_view) and returns each row's hash beside its timestamp,
    so the sums per window need no second read and no row order."""
    if inference.num_rows == 0 or settings.timestamp_col not in inference.column_names:
        return {g: {} for g in settings.granularities}
    con = duckdb.connect()
    try:
        scan_view(con, "t", inference)
        cols = ", ".join(f'"{c}"' for c in inference.column_names)
        result = con.execute(f'SELECT hash({cols}) AS h, "{settings.timestamp_col}" AS ts FROM t').arrow()
    finally:
        con.close()
    if not isinstance(result, pa.Table):
        result = result.read_all()
    row_hash = result.column("h").to_numpy().astype(np.uint64, copy=False)
    ts, valid = timestamps_us(result.column("ts"), settings.timestamp_col)
    del result
    import pandas as pd  # lazy: pandas loads in the background (stats.preload_slow_imports)

    ts, row_hash = ts[valid], row_hash[valid]
    out: dict[str, dict[str, str]] = {}
    for granularity in settings.granularities:
        # Each row's window by hashing (pandas.factorize), not sorting: 10M rows in 0.25 s, not
        # 2.2 s; the sums wrap around at 2**64 either way (numpy's unsigned arithmetic).
        codes, uniq = pd.factorize(window_starts(ts, granularity), sort=True)
        counts = np.bincount(codes, minlength=uniq.shape[0])
        sums = np.zeros(uniq.shape[0], dtype=np.uint64)
        np.add.at(sums, codes, row_hash)
        chained, prev = {}, ""
        for start, s, c in zip(uniq.tolist(), sums.tolist(), counts.tolist(), strict=True):
            fp = hashlib.sha256(f"{salt}|{prev}|{start}|{c}|{s}".encode()).hexdigest()[:24]
            chained[str(start)] = fp
            prev = f"{start}:{fp}"
        out[granularity] = chained
    return out


def _keep_rows(table: pa.Table, keep: dict[str, set[int]], with_baseline: bool) -> pa.Table:
    """Rows of a previous metrics table for windows in `keep` (and BASELINE rows if asked)."""
    if table.num_rows == 0:
        return table
    starts = pc.cast(pc.struct_field(table.column("window"), "start"), pa.int64()).to_numpy(zero_copy_only=False)
    grans = table.column("granularity").to_pylist()
    mask = np.zeros(table.num_rows, dtype=bool)
    is_baseline_row = (
        np.asarray(pc.equal(table.column("log_type"), "BASELINE").to_numpy(zero_copy_only=False), dtype=bool)
        if "log_type" in table.column_names
        else np.zeros(table.num_rows, dtype=bool)
    )
    for i, (g, s) in enumerate(zip(grans, starts.tolist(), strict=True)):
        if is_baseline_row[i]:
            mask[i] = with_baseline
        elif g in keep and s is not None and not np.isnan(s) and int(s) in keep[g]:
            mask[i] = True
    return table.filter(pa.array(mask))


def refresh_paths(
    settings: MonitorSettings,
    *,
    inference_path: Path,
    baseline_path: Path,
    profile_path: Path,
    drift_path: Path,
    state_dir: Path,
    progress: Callable[[str], None] | None = None,
) -> RefreshResult:
    """Refresh the two metrics tables at `profile_path` and `drift_path` from the Delta tables at
    `inference_path` and `baseline_path`, recomputing only the windows whose rows changed (the
    module doc gives the steps and why a failure leaves everything as it was)."""
    say = _Say(progress)
    stats.preload_slow_imports()
    if delta_identity(inference_path) is None:
        raise InferenceLogMissing(
            f"no inference-log table at {inference_path}: nothing has been unpacked here yet "
            "(run `lakemon unpack` first)"
        )
    baseline_id = delta_identity(baseline_path)
    baseline_fp = _baseline_fingerprint(settings, baseline_id)
    # The inference log is read a column at a time by the engine, never whole.
    inference, inference_id = delta_columns(inference_path)
    # The fingerprints (DuckDB's scan of every column) are computed beside the baseline profile
    # and the engine's groups and windows: the engine waits for them only when it asks which
    # windows to emit.
    with ThreadPoolExecutor(1) as side, ThreadPoolExecutor(pool_size()) as pool:
        judged = side.submit(_judge_windows, inference, settings, baseline_fp, state_dir, (profile_path, drift_path), say)
        profile, baseline_recomputed = _baseline_profile(settings, baseline_path, baseline_id, baseline_fp,
                                                         state_dir, pool, say)
        if inference.num_rows and settings.timestamp_col not in inference.column_names:
            raise SettingsMismatch(f"inference log has no timestamp column {settings.timestamp_col!r}; tables left as they were")
        say(f"read inference log: {inference.num_rows} rows")
        job = _run_settings(settings, inference, profile, inference_id, judged, say)
        computed = engine.run(inference, NoBaseline() if profile is None else profile, job, pool)
        judgement = judged.result()
    tables = _with_kept_rows(computed, judgement)
    say(f"computed {tables.profile.num_rows} profile rows, {tables.drift.num_rows} drift rows; writing both tables")
    profile_version, drift_version = _publish(tables, profile_path, drift_path, state_dir, judgement)
    say(f"wrote {tables.profile.num_rows} profile rows, {tables.drift.num_rows} drift rows")
    return RefreshResult(
        windows_total=judgement.windows_total,
        windows_recomputed=judgement.windows_recomputed,
        baseline_recomputed=baseline_recomputed,
        profile_rows=tables.profile.num_rows,
        drift_rows=tables.drift.num_rows,
        profile_version=profile_version,
        drift_version=drift_version,
        seconds=say.elapsed(),
    )


class _Say:
    """A refresh's progress lines, each with the seconds since the refresh started: the steps
    run on several threads, and the times show which one a slow refresh waited for."""

    def __init__(self, progress: Callable[[str], None] | None) -> None:
        self.t0 = time.perf_counter()
        self.report = progress or (lambda _msg: None)

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def __call__(self, message: str) -> None:
        self.report(f"refresh: {message}, {self.elapsed():.1f}s")


def _baseline_fingerprint(settings: MonitorSettings, baseline_id: str | None) -> str:
    """What the stored baseline profile and every window's fingerprint are valid for: these
    settings and this version of the baseline table (BASELINE drift of every window changes with
    either, so a change to one recomputes everything)."""
    return hashlib.sha256(f"{settings.fingerprint()}|{baseline_id}".encode()).hexdigest()[:24]


def _judge_windows(inference: ColumnSource, settings: MonitorSettings, salt: str, state_dir: Path,
                   old: tuple[Path, Path], say: Callable[[str], None]) -> WindowJudgement:
    """Which windows to recompute: those whose fingerprint differs from the one stored with the
    previous tables (`old`: their paths). Every window is recomputed when those tables are not
    the ones the state describes, since their rows could not be trusted to be kept."""
    fingerprints = window_fingerprints(inference, settings, salt)
    previous = state.load_windows(state_dir)
    old_tables = _previous_tables(previous, settings, *old)
    old_fps = previous.get("windows", {}) if old_tables is not None else {}
    recompute: dict[str, set[int]] = {}
    keep: dict[str, set[int]] = {}
    for g, fps in fingerprints.items():
        before = old_fps.get(g, {})
        recompute[g] = {int(s) for s, fp in fps.items() if before.get(s) != fp}
        keep[g] = {int(s) for s, fp in fps.items() if before.get(s) == fp}
    judgement = WindowJudgement(fingerprints, old_tables, recompute, keep)
    say(f"{judgement.windows_recomputed} of {judgement.windows_total} windows to recompute")
    return judgement


def _previous_tables(previous: dict, settings: MonitorSettings, profile_path: Path, drift_path: Path) -> MetricTables | None:
    """The tables the previous refresh wrote, when they are still the Delta versions its state
    names (not changed behind it, e.g. by a failed write or by hand) and still have this
    monitor's schema (a changed custom metric changes the columns); else None."""
    if not (previous.get("tables") == [delta_identity(profile_path), delta_identity(drift_path)] and previous.get("tables")[0]):
        return None
    tables = MetricTables(read_delta(profile_path, "profile")[0], read_delta(drift_path, "drift")[0])
    mid, custom = settings.model_id_col, settings.custom_metrics
    if not (tables.profile.schema.equals(profile_metrics_schema(mid, custom))
            and tables.drift.schema.equals(drift_metrics_schema(mid, custom))):
        return None
    return tables


def _baseline_profile(settings: MonitorSettings, baseline_path: Path, baseline_id: str | None, fingerprint: str,
                      state_dir: Path, pool: ThreadPoolExecutor, say: Callable[[str], None]
                      ) -> tuple[BaselineProfile | None, bool]:
    """(the baseline's stored profile, whether it was profiled now). The profile is reused while
    the baseline table and the settings are unchanged (`fingerprint`), so a steady-state refresh
    neither reads nor sorts the baseline; else it is profiled a column at a time and stored
    before use, its arrays then memory-mapped back. With custom metrics it carries its table
    too: their aggregates need the baseline's rows, which a profile does not keep. None without
    a baseline table."""
    if baseline_id is None:
        return None, False
    profile = state.load_baseline(state_dir, fingerprint)
    recomputed = profile is None
    if recomputed:
        baseline, _ = delta_columns(baseline_path)
        say(f"profiling baseline: {baseline.num_rows} rows, one column at a time")
        specs = monitored_columns(settings, baseline)
        writer = state.BaselineWriter(state_dir, fingerprint)
        try:
            built = build_baseline(baseline, settings, specs, pool, sink=writer.add_column, progress=say)
            writer.commit(built)
        except BaseException:
            writer.discard()
            raise
        profile = state.load_baseline(state_dir, fingerprint)  # its arrays memory-mapped, read per column
    if profile is not None and settings.custom_metrics:
        profile.source = delta_columns(baseline_path)[0]
    return profile, recomputed


def _run_settings(settings: MonitorSettings, inference: ColumnSource, profile: BaselineProfile | None,
                  inference_id: str, judged: Future, say: Callable[[str], None]) -> engine.RunSettings:
    """What the engine computes: the inference log's columns and the stored profile's (a column
    only the baseline has still gets its BASELINE rows), vocabularies seeded from the profile
    (its category codes are the stored counts' positions), and only the windows the judgement
    (still running in `judged`) says to recompute."""
    specs = monitored_columns(settings, inference)
    vocabs: dict[str, Vocabulary] = {}
    if profile is not None:
        names = {s.name for s in specs}
        specs += [s for s in profile.specs if s.name not in names]
        vocabs = {k: Vocabulary(list(v.values), v.is_string) for k, v in profile.vocabs.items()}
    return engine.RunSettings(
        settings, specs, vocabs,
        emit=lambda g, s: s in judged.result().recompute.get(g, ()),
        progress=say,  # the engine rate-limits its own lines (columns profiled: k/n)
        commit_version=int(inference_id.rsplit("@", 1)[1]),
    )


def _with_kept_rows(computed: MetricTables, judgement: WindowJudgement) -> MetricTables:
    """The recomputed rows after the previous tables' rows of unchanged windows (their BASELINE
    rows are not kept: the run wrote them again)."""
    if judgement.old_tables is None:
        return computed
    old, keep = judgement.old_tables, judgement.keep
    return MetricTables(pa.concat_tables([_keep_rows(old.profile, keep, with_baseline=False), computed.profile]),
                        pa.concat_tables([_keep_rows(old.drift, keep, with_baseline=False), computed.drift]))


def _publish(tables: MetricTables, profile_path: Path, drift_path: Path, state_dir: Path,
             judgement: WindowJudgement) -> tuple[int, int]:
    """Write both tables (`write_both`), then the state that describes them: saved last, so a
    failed write leaves a state naming the old tables' versions, and the next refresh, finding
    other versions, recomputes everything."""
    versions = write_both(profile_path, tables.profile, drift_path, tables.drift)
    state.save_windows(state_dir, {
        "windows": judgement.fingerprints,
        "tables": [delta_identity(profile_path), delta_identity(drift_path)],
    })
    return versions


def _overwrite(path: Path, table: pa.Table) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_deltalake(str(path), table, mode="overwrite", schema_mode="overwrite")
    return DeltaTable(str(path)).version()


def write_both(profile_path: Path, profile: pa.Table, drift_path: Path, drift: pa.Table) -> tuple[int, int]:
    """Overwrite both tables, each in one commit; if the drift write fails, restore the profile
    table to the version it had before, so the two never describe different refreshes."""
    before = delta_identity(profile_path)
    previous_version = DeltaTable(str(profile_path)).version() if before else None
    profile_version = _overwrite(profile_path, profile)
    try:
        drift_version = _overwrite(drift_path, drift)
    except BaseException:
        if previous_version is not None:
            DeltaTable(str(profile_path)).restore(previous_version)
        raise
    return profile_version, drift_version
