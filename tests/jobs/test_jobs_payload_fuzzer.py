"""The seeded payload fuzzer (payload_fuzzer.py) as a test: every case is a clean quarantine with
its reason or the correct inference-log rows; nothing raises, nothing is lost. Counts for the
docs: `python tests/jobs/payload_fuzzer.py` (docs/reliability.md, "Payload fuzzer")."""

from __future__ import annotations

import pytest
from payload_fuzzer import MUTATIONS, run


@pytest.mark.parametrize("seed", [17, 2026])
def test_payload_fuzzer_finds_no_traceback_wrong_or_lost_row(tmp_path, seed):
    outcome, generated = run(tmp_path / "home", seed=seed, cases=150)
    assert len(generated) >= 100
    assert {c.kind.split(":")[0] for c in generated} == set(MUTATIONS)  # every mutation was tried
    valid = sum(c.expected is not None for c in generated)
    assert 30 <= valid <= len(generated) - 30  # both outcomes are exercised
    assert outcome["traceback"] == [] and outcome["wrong"] == [] and outcome["lost"] == []
    assert len(outcome["clean"]) == len(generated)
