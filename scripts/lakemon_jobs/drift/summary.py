"""The machine-readable JSON summary of a DriftReport, and its JSON Schema.

Consumers (pipelines, dashboards, the end-to-end test) read `status` and `judgements`; the
schema is published so they can validate what they read.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from .custom import CustomJudgement
from .verdicts import DriftReport, Judgement

SUMMARY_VERSION = 1


def _judgement(j: Judgement | CustomJudgement) -> dict[str, Any]:
    out = asdict(j)
    out["window_start"] = j.window_start.isoformat()
    out["window_end"] = j.window_end.isoformat()
    out["verdict"] = str(j.verdict)
    return out


def to_summary(report: DriftReport) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for j in report.judgements:
        counts[str(j.verdict)] = counts.get(str(j.verdict), 0) + 1
    return {
        "version": SUMMARY_VERSION,
        "env": report.env,
        "model": report.model,
        "generated_at": report.generated_at.isoformat(),
        "as_of": report.as_of.isoformat(),
        "since": report.since.isoformat(),
        "status": report.status,
        "verdict_counts": counts,
        "drifted_features": report.drifted_features,
        "judged_against": report.basis or None,
        "settings": report.settings,
        "thresholds": [
            {"feature": r.feature, "kind": r.kind, "statistic": r.statistic, "threshold": r.threshold,
             "threshold_source": r.threshold_source}
            for r in report.rules
        ],
        "judgements": [_judgement(j) for j in report.judgements],
        "quality": [
            {**q, "window_start": q["window_start"].isoformat(), "window_end": q["window_end"].isoformat()}
            for q in report.quality
        ],
        **({"custom_metrics": [_judgement(c) for c in report.custom_judgements]} if report.custom_judgements else {}),
    }


_NUMBER_OR_NULL = {"type": ["number", "null"]}
SUMMARY_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "lakemon analyze-drift summary",
    "type": "object",
    "required": ["version", "env", "model", "as_of", "since", "status", "settings", "thresholds", "judgements", "quality"],
    "properties": {
        "version": {"const": SUMMARY_VERSION},
        "env": {"type": "string"},
        "model": {"type": "string"},
        "status": {"enum": ["ok", "warn", "drift", "no_data"]},
        "drifted_features": {"type": "array", "items": {"type": "string"}},
        "judged_against": {
            "type": ["object", "null"],
            "properties": {
                "baseline_table": {"type": "string"},
                "baseline_version": {"type": ["integer", "null"]},
                "champion": {"type": ["string", "null"]},
                "analysis_run": {"type": "string"},
                "home": {"type": ["string", "null"]},
            },
        },
        "thresholds": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["feature", "kind", "statistic", "threshold", "threshold_source"],
                "properties": {"threshold": {"type": "number", "exclusiveMinimum": 0},
                               "threshold_source": {"enum": ["feature", "statistic", "default"]}},
            },
        },
        "judgements": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["granularity", "window_start", "window_end", "feature", "statistic", "value",
                             "adjusted", "threshold", "pvalue", "count", "verdict", "reason"],
                "properties": {
                    "verdict": {"enum": ["ok", "warn", "drift", "too_few_rows", "unavailable"]},
                    "value": _NUMBER_OR_NULL,
                    "adjusted": _NUMBER_OR_NULL,
                    "pvalue": _NUMBER_OR_NULL,
                    "threshold": {"type": "number"},
                    "count": {"type": ["integer", "null"]},
                },
            },
        },
        "quality": {"type": "array", "items": {"type": "object", "required": ["granularity", "window_start"]}},
    },
}
