"""retrain reads the drift verdicts of the first granularity from a verdicts table that holds
several, written as analyze-drift writes it (the engine's create and replace_rows).

On the embedded default the deltalake MERGE stores the string columns as string_view, and a
string filter DuckDB pushes into the pyarrow dataset scan then fails once the row group's
statistics cannot settle it (two granularities in the table): `lakemon retrain` of an env with
`granularities: ["1 hour", "1 day"]` stopped with a "table damaged" error instead of finding the
drift (seen in `lakemon run-local` with that env). The local engine now reads such tables with
DuckDB's read_parquet (LocalEngine.to_duckdb)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from lakemon.contract.verdicts import (
    DRIFT_SUBJECT,
    VERDICT_KEYS,
    WINDOW_END,
    WINDOW_START,
    Verdict,
    VerdictRow,
    verdicts_columns,
)
from lakemon_jobs.context import JobContext
from lakemon_jobs.retrain import confirmed_drift
from lakemon_jobs.table_engines import engine_for
from lakemon_jobs.table_engines.engine import Bound

REPO = Path(__file__).resolve().parents[2]
DEV_LINE = 'granularities: ["1 day"]'
MIDNIGHT = datetime(2026, 11, 24, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def _row(granularity: str, start: datetime, length: timedelta, feature: str, result: Verdict) -> dict:
    return VerdictRow(
        subject=DRIFT_SUBJECT, granularity=granularity, window_start=start, window_end=start + length,
        feature=feature, kind="numeric", statistic="ks_test", value=0.5, adjusted=0.5, threshold=0.1,
        pvalue=None, alpha=None, verdict=result.value, reason=None, row_count=100, min_rows=30,
        rule_version="test", run_id="r1", judged_at=MIDNIGHT,
    ).as_dict()  # fmt: skip


@pytest.mark.parametrize(("first", "expected"), [("1 hour", ["sex"]), ("1 day", ["year"])])
def test_retrain_finds_the_drift_of_the_first_granularity_among_several(first, expected, tmp_path):
    other = "1 day" if first == "1 hour" else "1 hour"
    text = (REPO / "envs" / "dev.yml").read_text(encoding="utf-8")
    assert text.count(DEV_LINE) == 1
    env_file = tmp_path / "multi.yml"
    env_file.write_text(text.replace(DEV_LINE, f'granularities: ["{first}", "{other}"]'), encoding="utf-8")
    ctx = JobContext.load(env_file, "alive_classifier", tmp_path / "home")
    rows = [
        _row("1 day", MIDNIGHT, DAY, "year", Verdict.DRIFT),
        _row("1 day", MIDNIGHT, DAY, "hair", Verdict.OK),
        _row("1 hour", MIDNIGHT + 5 * HOUR, HOUR, "sex", Verdict.DRIFT),
        _row("1 hour", MIDNIGHT + 6 * HOUR, HOUR, "hair", Verdict.OK),
    ]
    engine, columns = engine_for(ctx), verdicts_columns()
    engine.create_if_missing(ctx.tables.drift_verdicts, columns)
    scope = [Bound(WINDOW_END, ">", MIDNIGHT - DAY), Bound(WINDOW_START, "<=", MIDNIGHT + DAY)]
    engine.replace_rows(ctx.tables.drift_verdicts, pd.DataFrame(rows), columns, VERDICT_KEYS, scope)

    evidence = confirmed_drift(ctx, engine_for(ctx))

    assert evidence is not None
    assert [v.split(":")[-2] for v in evidence.verdict_ids] == expected
    assert all(f":{first}:" in v for v in evidence.verdict_ids)
