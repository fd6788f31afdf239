"""The engine writes the same rows, in the same order, as before it became column-at-a-time.

tests/monitoring/golden/engine_rows.json was written by the engine at commit 7ccb299 (every
column of both tables held at once) for the inputs of `golden_case`; each row is compared by
its key fields and a digest of its full content, so one changed bit in any field fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from golden_case import golden_case, row_digest

from lakemon_jobs.monitor_engine.engine import compute_metrics

GOLDEN = json.loads((Path(__file__).parent / "golden" / "engine_rows.json").read_text())


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_rows_equal_the_engine_before_column_at_a_time(name):
    inf, base, s = golden_case()[name]
    profile, drift = compute_metrics(inf, base, s)
    for table, got in (("profile", profile), ("drift", drift)):
        rows = [row_digest(r) for r in got.to_pylist()]
        want = GOLDEN[name][table]
        assert len(rows) == len(want), (table, len(rows), len(want))
        for i, (g, w) in enumerate(zip(rows, want, strict=True)):
            assert g == w, (table, i)
