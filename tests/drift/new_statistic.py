"""Run as a script by test_drift_registry: add ONE descriptor to the statistics registry, the way a
developer would (one more line in its STATISTICS tuple, nothing else edited), then go through
config validation, the rule, the metrics schema, the local engine and the verdicts, and print
what each did with the new statistic as JSON.

The new statistic, `share_moved`, is categorical, calibrated with the bootstrap noise model, and
its value is one the engine already computes (CategoricalDrift.tv, the share of rows that moved):
a statistic the engine does not compute yet also needs its computation in
monitor_engine/stats.py (docs/drift.md, "Adding a statistic").

It runs in its own process because the registry is read at import time (the config's Literal
types, the schema's columns): a patched registry must be in place before anything imports it.
"""

from __future__ import annotations

import json
import sys
import types
from datetime import timedelta
from pathlib import Path

NAME = "share_moved"
DESCRIPTOR = (f'Statistic("{NAME}", CATEGORICAL, "share moved", "tv", noise="bootstrap_tv", '
              'calibrated=True)')
END_OF_TUPLE = "    POPULATION_STABILITY_INDEX,\n)"


def install_registry_with_new_statistic() -> dict:
    """Import the registry from its source with the descriptor added; return the edit: the files
    it changed and the lines it added (difflib over the original and edited source)."""
    import difflib

    import lakemon.contract

    assert "lakemon.contract.statistics" not in sys.modules, "the registry was imported before the edit"
    path = Path(lakemon.contract.__file__).parent / "statistics.py"
    source = path.read_text(encoding="utf-8")
    assert source.count(END_OF_TUPLE) == 1, "the STATISTICS tuple's end moved: update END_OF_TUPLE"
    edited = source.replace(END_OF_TUPLE, f"    POPULATION_STABILITY_INDEX,\n    {DESCRIPTOR},\n)")
    module = types.ModuleType("lakemon.contract.statistics")
    module.__file__ = str(path)
    sys.modules[module.__name__] = module
    exec(compile(edited, str(path), "exec"), module.__dict__)
    lakemon.contract.statistics = module
    diff = difflib.ndiff(source.splitlines(), edited.splitlines())
    changed = [line for line in diff if line[:2] in ("+ ", "- ")]
    return {"files": [path.relative_to(path.parents[3]).as_posix()], "lines": changed}


def main() -> dict:
    edit = install_registry_with_new_statistic()
    sys.path[:0] = [str(Path(__file__).parent)]
    from drift_fixtures import START, dev_env
    from pydantic import ValidationError
    from test_drift_marvel_dc import _inference_and_baseline

    from lakemon.config.model import Drift
    from lakemon_jobs.drift import analyze
    from lakemon_jobs.drift.rule import feature_rules
    from lakemon_jobs.monitor_engine.engine import compute_metrics
    from lakemon_jobs.monitor_engine.schema import drift_metrics_schema
    from lakemon_jobs.monitor_engine.settings import MonitorSettings

    out: dict = {"edit": edit}
    out["config_accepts_for_categorical"] = Drift(categorical_statistic=NAME).categorical_statistic == NAME
    try:
        Drift(numeric_statistic=NAME)
        out["config_refuses_for_numeric"] = False
    except ValidationError:
        out["config_refuses_for_numeric"] = True
    env = dev_env(categorical_statistic=NAME)
    model = env.model()
    out["rule"] = sorted({(r.kind, r.statistic) for r in feature_rules(model, env.monitoring.drift)})
    out["schema_type"] = str(drift_metrics_schema().field(NAME).type)

    inference, baseline = _inference_and_baseline()
    profile, drift = compute_metrics(inference, baseline, MonitorSettings.from_config(env, model))
    rows = [r for r in drift.to_pylist() if r.get("tv_distance") is not None]
    out["engine_rows"] = len(rows)
    out["engine_equals_tv"] = all(r[NAME] == r["tv_distance"] for r in rows)

    report = analyze(env, model, drift, profile, now=START + timedelta(days=9))
    own = [j for j in report.judgements if j.signals and j.signals[0].statistic == NAME]
    out["judged"] = len(own)
    out["calibrated"] = sum(j.null_pvalue is not None for j in own)
    out["verdicts"] = sorted({str(j.verdict) for j in own})
    return out


if __name__ == "__main__":
    print(json.dumps(main()))
