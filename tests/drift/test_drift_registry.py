"""One registry of statistics and feature kinds (lakemon.contract.statistics): every statistic name and
feature kind is spelled in exactly one source file, config, schema, engine and rule follow it, and
adding a statistic is adding its descriptor (the count is stated below and checked end to end)."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import typing
from pathlib import Path

from new_statistic import DESCRIPTOR, NAME

import lakemon.contract.statistics as registry
from lakemon.config.model import CategoricalStatistic, ColumnType, NumericStatistic, Statistic
from lakemon.contract.statistics import (
    CATEGORICAL,
    FEATURE_KINDS,
    KINDS,
    NUMERIC,
    STATISTICS,
    statistic_names,
)
from lakemon_jobs.drift.noise import NOISE_MODELS
from lakemon_jobs.drift.rule import feature_rules
from lakemon_jobs.monitor_engine.schema import DRIFT_STATISTIC_FIELDS, TEST_TYPE
from lakemon_jobs.monitor_engine.stats import CategoricalDrift, NumericDrift

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = ROOT / "constructs" / "lakemon" / "contract" / "statistics.py"
SOURCES = [
    p for folder in ("constructs", "scripts", "stacks", "benchmarks") for p in (ROOT / folder).rglob("*.py")
    if "peers" not in p.parts and not any(part.startswith(".venv") for part in p.parts)
]
"""benchmarks/.venv-peers holds the peers' own installs once a benchmark has run: not our source."""
PRODUCT = [p for p in SOURCES if p.relative_to(ROOT).parts[0] != "benchmarks"]
"""lakemon, the jobs and the stacks: what behaves. The benchmarks may name a statistic: they compare
lakemon's values with other libraries' own statistics, one by one."""
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


def _constant(s) -> str:
    """The registry's constant bound to descriptor `s` (KS_TEST, ...)."""
    (name,) = [k for k, v in vars(registry).items() if v is s and k.isupper()]
    return name


def test_no_behaviour_picks_a_statistic_by_name():
    """Verdicts, rule, null calibration, report and engine read the descriptors' fields: no file of
    lakemon, the jobs or the stacks but the registry names a statistic, by its string or its
    constant."""
    for s in STATISTICS:
        pattern = re.compile(rf"[\"']{s.name}[\"']|\b{_constant(s)}\b")
        assert {p for p in PRODUCT if pattern.search(p.read_text(encoding="utf-8"))} == {REGISTRY}, s.name


def test_each_descriptor_names_what_exists():
    """A descriptor's engine attributes are fields of its kind's engine result, its noise model is
    one drift/noise.py has, and each kind has one default and one evidence test."""
    results = {NUMERIC: NumericDrift, CATEGORICAL: CategoricalDrift}
    for s in STATISTICS:
        fields = {f.name for f in dataclasses.fields(results[s.kind])}
        assert {s.engine_value, s.engine_pvalue} - {None} <= fields, s.name
        assert s.noise is None or s.noise in NOISE_MODELS, s.name
    for flag in ("default", "evidence"):
        assert sorted(s.kind for s in STATISTICS if getattr(s, flag)) == sorted(KINDS), flag


PLACES_TO_ADD_A_STATISTIC = 1
"""Adding a statistic whose value the engine computes, with a noise model lakemon has, touches ONE
place: its descriptor in the registry. (A statistic the engine does not compute yet also needs its
computation in monitor_engine/stats.py; a new noise model, its function in drift/noise.py:
docs/drift.md, "Adding a statistic".)"""


def test_adding_a_statistic_touches_one_place():
    """new_statistic.py adds one descriptor to the registry's source, edits nothing else, and
    config validation, the rule, the schema, the engine and the verdicts all take it up."""
    script = Path(__file__).with_name("new_statistic.py")
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got["edit"]["files"] == ["constructs/lakemon/contract/statistics.py"]
    assert len(got["edit"]["files"]) == PLACES_TO_ADD_A_STATISTIC
    assert [line[2:].strip() for line in got["edit"]["lines"]] == [DESCRIPTOR + ","]
    assert got["config_accepts_for_categorical"] and got["config_refuses_for_numeric"]
    assert got["rule"] == [[CATEGORICAL, NAME], [NUMERIC, registry.DEFAULT_STATISTIC[NUMERIC].name]]
    assert got["schema_type"] == "double"
    assert got["engine_rows"] > 100 and got["engine_equals_tv"]
    # judged on every categorical feature's windows, with its noise taken out (calibrated=True)
    assert got["judged"] > 0 and got["calibrated"] == got["judged"]
    assert "drift" in got["verdicts"] and "ok" in got["verdicts"]
