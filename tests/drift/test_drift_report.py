"""The HTML report opens offline and shows what matters; the JSON summary follows its schema."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from functools import lru_cache

import jsonschema
from drift_fixtures import FEATURES, START, dc, dev_env, marvel_split
from scipy_drift_metrics import build_tables

from lakemon_jobs.drift import analyze, write_report
from lakemon_jobs.drift.summary import SUMMARY_SCHEMA

EXTERNAL = re.compile(r"""(?:src|href|url)\s*[=(]\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


@lru_cache(maxsize=1)
def _report():
    env = dev_env()
    train, held_out = marvel_split()
    windows = [held_out.sample(400, random_state=1), held_out.sample(400, random_state=2), dc().sample(400, random_state=3)]
    quality = [{"accuracy_score": 0.8, "roc_auc_score": 0.75}, {"accuracy_score": 0.79, "roc_auc_score": 0.74},
               {"accuracy_score": 0.6, "roc_auc_score": 0.55}]
    drift, profile = build_tables(train, windows, FEATURES, START, quality=quality)
    return analyze(env, env.model(), drift, profile, now=START + timedelta(days=3))


def test_html_is_self_contained_and_names_the_drifted_features(tmp_path):
    report = _report()
    assert report.status == "drift" and {"id", "align"} <= set(report.drifted_features)
    paths = write_report(report, tmp_path / "out")
    html = paths.html.read_text(encoding="utf-8")
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert "<script" not in html.lower() and "<link" not in html.lower()
    assert "<?xml" not in html and "<!DOCTYPE svg" not in html
    # one drift-over-time plot per feature, distributions for the drifted ones, quality over time
    assert html.count("<svg") >= len(FEATURES) + len(report.drifted_features) + 1
    for feature in report.drifted_features:
        assert f"{feature}: window 2026-01-03" in html  # distribution plot title of the DC window
    assert "model quality per window" in html
    assert "Drifted features: <b>" in html and "align" in html
    assert "population_stability_index" in html and "js_distance" in html  # thresholds table
    assert list(tmp_path.joinpath("out").glob("*.tmp")) == []


def test_json_summary_follows_the_schema(tmp_path):
    report = _report()
    summary = json.loads(write_report(report, tmp_path).json.read_text())
    jsonschema.validate(summary, SUMMARY_SCHEMA)
    assert summary["env"] == "dev" and summary["model"] == "alive_classifier" and summary["status"] == "drift"
    assert {t["feature"]: t["statistic"] for t in summary["thresholds"]}["year"] == "population_stability_index"
    assert {t["feature"]: t["threshold"] for t in summary["thresholds"]}["eye"] == 0.1
    drifted = [j for j in summary["judgements"] if j["verdict"] == "drift"]
    assert drifted and all(j["window_start"].startswith("2026-01-03") for j in drifted)
    assert all(j["adjusted"] <= j["value"] and j["pvalue"] < j["alpha"] for j in drifted)
    assert [q["accuracy"] for q in summary["quality"]] == [0.8, 0.79, 0.6]
    # a broken summary is caught by the schema (the schema is not vacuous)
    summary["judgements"][0]["verdict"] = "maybe"
    try:
        jsonschema.validate(summary, SUMMARY_SCHEMA)
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("schema accepted an unknown verdict")
