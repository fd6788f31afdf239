"""One registry of statistics and feature kinds (lakemon.contract.statistics): every statistic name and
feature kind is spelled in exactly one source file, and config, schema and rule follow it."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from lakemon.config.model import CategoricalStatistic, ColumnType, NumericStatistic, Statistic
from lakemon.contract.statistics import (
    CATEGORICAL,
    FEATURE_KINDS,
    KINDS,
    NUMERIC,
    STATISTICS,
    statistic_names,
)
from lakemon_jobs.drift.rule import feature_rules
from lakemon_jobs.monitor_engine.schema import DRIFT_STATISTIC_FIELDS, TEST_TYPE

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = ROOT / "constructs" / "lakemon" / "contract" / "statistics.py"
SOURCES = [
    p for folder in ("constructs", "scripts", "stacks", "benchmarks") for p in (ROOT / folder).rglob("*.py")
    if "peers" not in p.parts and not any(part.startswith(".venv") for part in p.parts)
]
"""benchmarks/.venv-peers holds the peers' own installs once a benchmark has run: not our source."""
CONFIG_KEYS = {ROOT / "scripts" / "lakemon_jobs" / "train.py",
               ROOT / "scripts" / "lakemon_jobs" / "model_code" / "served_model.py"}
"""They use "numeric"/"categorical" as keys of the served model's own config (the pyfunc cannot
import lakemon), not as kinds: train.py fills them from `lakemon.contract.statistics.is_numeric`."""


def files_spelling(word: str) -> set[Path]:
    pattern = re.compile(rf"[\"']{re.escape(word)}[\"']")
    return {p for p in SOURCES if pattern.search(p.read_text(encoding="utf-8"))}


def test_each_statistic_name_is_spelled_only_in_the_registry():
    assert len(SOURCES) > 50
    for s in STATISTICS:
        assert files_spelling(s.name) == {REGISTRY}, s.name


def test_each_feature_kind_is_spelled_only_in_the_registry():
    for kind in KINDS:
        assert files_spelling(kind) - CONFIG_KEYS == {REGISTRY}, kind


def test_config_schema_and_rule_follow_the_registry():
    assert typing.get_args(NumericStatistic) == statistic_names(NUMERIC)
    assert typing.get_args(CategoricalStatistic) == statistic_names(CATEGORICAL)
    assert typing.get_args(Statistic) == statistic_names()
    assert typing.get_args(ColumnType) == tuple(FEATURE_KINDS)
    assert [(f.name, f.type == TEST_TYPE) for f in DRIFT_STATISTIC_FIELDS] == [(s.name, s.is_test) for s in STATISTICS]
    from drift_fixtures import dev_env

    env = dev_env()
    kinds = {r.feature: r.kind for r in feature_rules(env.model(), env.monitoring.drift)}
    assert kinds == {c.name: FEATURE_KINDS[c.type] for c in env.model().features if FEATURE_KINDS[c.type]}
