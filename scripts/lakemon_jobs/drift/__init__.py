"""analyze-drift: judge drift per window and feature, report it, alert on it.

Python API (the end-to-end loop and tests use it; the CLI is a thin layer over it):
- `analyze(env, model, drift, profile, *, now=None) -> DriftReport`   (pure: tables in, verdicts out)
- `write_report(report, out_dir) -> ReportPaths`                       (HTML + JSON summary)
- `write_verdicts(engine, tables, report, run_id) -> rows`                (the verdicts table)
- `fire_local_alerts(engine, env, model, *, outbox_dir, ...)`         (the alert SQL, locally)
- `read_tables(engine, tables, since) -> (drift, profile)`                (through the TableEngine)
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "DriftReport",
    "Judgement",
    "Verdict",
    "analyze",
    "write_report",
    "write_verdicts",
    "fire_local_alerts",
    "evaluate_alert",
    "read_tables",
]

_HOMES = {
    "DriftReport": "verdicts",
    "Judgement": "verdicts",
    "analyze": "verdicts",
    "Verdict": "rule",
    "write_report": "report",
    "write_verdicts": "store",
    "fire_local_alerts": "alerts",
    "evaluate_alert": "alerts",
    "read_tables": "sources",
}


def __getattr__(name: str) -> Any:  # lazy, so `lakemon --help` does not import matplotlib
    module = _HOMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
