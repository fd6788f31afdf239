"""The seeded config fuzzer as a test: 300 mutated env files, each refused with one
clean ConfigError or loaded exactly as written; none escapes as a traceback, none is coerced,
none loses a key. Counts are in docs/reliability.md."""

from __future__ import annotations

import pytest
from config_fuzzer import fuzz


@pytest.mark.parametrize("seed", [17, 2026])
def test_config_fuzzer_finds_nothing(tmp_path, seed):
    counts = fuzz(150, seed, tmp_path)
    print(f"config fuzzer seed {seed}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    assert counts["tried"] == 150
    assert counts["traceback"] == counts["wrong"] == counts["lost"] == counts["hang"] == 0, dict(counts)
    assert sum(v for k, v in counts.items() if k.startswith("hostile:")) >= 15, dict(counts)
    assert counts["clean"] > 100 and counts["correct"] >= 5, dict(counts)  # both paths were exercised
