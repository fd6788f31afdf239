"""One engine scenario in its own process (run by drift_benchmark.py, which measures it).

Prints one JSON line: wall seconds from start to both tables built (Parquet read included),
peak RSS, and the statistics the peers are compared on. Both tables are read from their
Parquet files a column at a time (sources.ParquetColumns), as the engine reads them.
LAKEMON_BENCH_PROGRESS=1 prints the engine's progress lines on stderr.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

T_START = time.perf_counter()
# The engine does no BLAS work; OpenBLAS starting (and at exit joining) a thread per core costs
# 0.1-0.2 s per process. Set before numpy loads; a refresh job process should do the same.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pyarrow.compute as pc  # noqa: E402

from lakemon.contract import statistics as kinds  # noqa: E402
from lakemon.contract.statistics import statistic_names  # noqa: E402
from lakemon_jobs.monitor_engine import engine, state  # noqa: E402
from lakemon_jobs.monitor_engine.baselines import BaselineTable, build_baseline  # noqa: E402
from lakemon_jobs.monitor_engine.prepare import Vocabulary, monitored_columns  # noqa: E402
from lakemon_jobs.monitor_engine.scheduling import pool_size  # noqa: E402
from lakemon_jobs.monitor_engine.settings import ColumnSpec, MonitorSettings  # noqa: E402
from lakemon_jobs.monitor_engine.sources import ParquetColumns  # noqa: E402
from lakemon_jobs.monitor_engine.stats import preload_slow_imports  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_data import CATEGORICAL, NUMERIC  # noqa: E402


def settings(granularity: str) -> MonitorSettings:
    cols = [ColumnSpec(c, kinds.NUMERIC, "double") for c in NUMERIC] + [ColumnSpec(c, kinds.CATEGORICAL, "string") for c in CATEGORICAL]
    return MonitorSettings(
        granularities=(granularity,), timestamp_col="timestamp", model_id_col="model_version",
        columns=tuple(cols), problem_type="classification",
    )


def floor(base_path: Path, cur_path: Path) -> None:
    """The work no exact statistic can skip: read every column pair and sort the finite values
    (numeric) or count the values (categorical), a column at a time on the engine's threads."""
    import numpy as np

    from lakemon_jobs.monitor_engine.arrow_numpy import float_values

    sources = ParquetColumns(base_path), ParquetColumns(cur_path)

    def one(name: str) -> None:
        for source in sources:
            col = source.column(name)
            if name in NUMERIC:
                values = float_values(col)[0]
                finite = values[np.isfinite(values)]
                finite.sort()
            else:
                pc.value_counts(col)

    with ThreadPoolExecutor(pool_size()) as pool:
        list(pool.map(one, NUMERIC + CATEGORICAL))
    print(json.dumps({"seconds": time.perf_counter() - T_START,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> None:
    preload_slow_imports()  # as compute_metrics and refresh_paths do, first thing
    scenario, base_path, cur_path, state_dir = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
    if scenario == "floor":
        floor(base_path, cur_path)
        return
    granularity = "1 day" if scenario.startswith("windows30") else "1 month"
    s = settings(granularity)
    progress = (lambda msg: print(f"[engine] {msg}", file=sys.stderr, flush=True)) if os.environ.get("LAKEMON_BENCH_PROGRESS") else None
    if scenario == "store-baseline":  # preparation for 'stored', not timed
        base = ParquetColumns(base_path)
        writer = state.BaselineWriter(state_dir, "bench")
        with ThreadPoolExecutor(pool_size()) as pool:
            profile = build_baseline(base, s, monitored_columns(s, base), pool, sink=writer.add_column)
        writer.commit(profile)
        print(json.dumps({"stored": True}))
        return
    with ThreadPoolExecutor(pool_size()) as pool:
        if scenario in ("stored", "windows30-stored"):
            profile = state.load_baseline(state_dir, "bench")
            assert profile is not None, "run store-baseline first"
            specs = profile.specs
            vocabs = {k: Vocabulary(list(v.values), v.is_string) for k, v in profile.vocabs.items()}
        else:
            # The baseline is profiled column by column alongside the current table.
            base = ParquetColumns(base_path)
            specs = monitored_columns(s, base)
            profile = BaselineTable.checked(base, s, specs)
            vocabs = {}
        cur = ParquetColumns(cur_path)
        prof, drift = engine.run(cur, profile, engine.RunSettings(s, specs, vocabs, progress=progress), pool)
    seconds = time.perf_counter() - T_START
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    stats, baseline = {}, {}
    if not scenario.startswith("windows30"):
        rows = drift.filter(pc.and_(pc.equal(drift["drift_type"], "BASELINE"), pc.equal(drift[s.model_id_col], "*")))
        for r in rows.to_pylist():
            if r["column_name"] == ":table":
                continue
            stats[r["column_name"]] = {k: r[k] for k in statistic_names()}
        base_rows = prof.filter(pc.and_(pc.equal(prof["log_type"], "BASELINE"), pc.equal(prof[s.model_id_col], "*")))
        for r in base_rows.to_pylist():
            if r["column_name"].startswith("num_"):
                baseline[r["column_name"]] = {"stddev": r["stddev"], "n": r["count"] - r["num_nulls"]}
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "profile_rows": prof.num_rows,
                      "scipy_stats_imported": "scipy.stats" in sys.modules,
                      "drift_rows": drift.num_rows, "stats": stats, "baseline": baseline}))


if __name__ == "__main__":
    main()
