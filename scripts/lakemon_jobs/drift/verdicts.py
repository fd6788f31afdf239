"""From the two metrics tables to verdicts: `analyze(env, model, drift, profile) -> DriftReport`.

Reads only the rows the rule is about: drift_type BASELINE, the whole table (no slice), all
model versions ('*' in the model-id column, which is named after the model's model_id_column),
windows ending within the last `lookback_days`. The window's row
count comes from the profile table (INPUT row of that window and column), the baseline's
frequencies (for the calibrated null) from its BASELINE row.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lakemon.config.model import Environment, Model
from lakemon.contract.statistics import EVIDENCE_TEST, QUALITY_METRIC, statistic

from ..monitor_engine.schema import ALL_MODELS, TABLE_COLUMN
from .custom import CustomJudgement, custom_judgements
from .noise import calibrate, guards
from .null import psi_bins
from .rule import (
    Evidence,
    FeatureRule,
    Signal,
    Verdict,
    decide,
    feature_rules,
    judge_quality,
    threshold_for,
    window_alpha,
)

OTHER_BUCKET = "<other>"
NULL_BUCKET = "<null>"


@dataclass(frozen=True)
class Judgement:
    granularity: str
    window_start: datetime
    window_end: datetime
    feature: str
    kind: str
    statistic: str
    value: float | None
    adjusted: float | None
    """The value with the calibrated noise taken out (what is compared with the threshold)."""
    threshold: float
    pvalue: float | None
    """The evidence: the larger of the test's p-value and the calibrated null's."""
    test_pvalue: float | None
    null_pvalue: float | None
    alpha: float
    count: int | None
    verdict: Verdict
    reason: str
    signals: tuple[Signal, ...] = ()
    """Every statistic's view of this window and feature, the configured statistic first (see
    rule.Signal). `statistic`, `value`, `adjusted`, `threshold` and `pvalue` above are those of
    the signal that decided a drift or warn verdict (a guard's, when the configured statistic
    was blind to the change), else the configured statistic's."""


@dataclass(frozen=True)
class QualityJudgement:
    granularity: str
    window_start: datetime
    window_end: datetime
    metric: str
    value: float | None
    threshold: float
    labelled: int | None
    min_rows: int
    verdict: Verdict
    reason: str


@dataclass
class DriftReport:
    env: str
    model: str
    generated_at: datetime
    as_of: datetime
    since: datetime
    rules: list[FeatureRule]
    settings: dict[str, Any]
    judgements: list[Judgement]
    quality: list[dict[str, Any]] = field(default_factory=list)
    """Model quality per window (':table' INPUT rows), oldest first."""
    profile: pa.Table | None = field(default=None, repr=False)
    """Whole-table, all-models profile rows, kept for the HTML report's distribution plots;
    never serialized."""
    quality_judgements: list[QualityJudgement] = field(default_factory=list)
    """The model-quality verdict of each window (quality metric against quality_threshold)."""
    custom_judgements: list[CustomJudgement] = field(default_factory=list)
    """Verdicts of the custom metrics that carry a threshold (drift/custom.py), per window and slice."""
    basis: dict[str, Any] = field(default_factory=dict)
    """What the windows were judged against: baseline table and version, champion, analysis run,
    run folder (sources.judged_against); empty when the caller did not say (unit tests)."""

    @property
    def status(self) -> str:
        verdicts = {j.verdict for j in self.judgements}
        for status in (Verdict.DRIFT, Verdict.WARN, Verdict.OK):
            if status in verdicts:
                return str(status)
        return "no_data"

    @property
    def drifted(self) -> list[Judgement]:
        return [j for j in self.judgements if j.verdict is Verdict.DRIFT]

    @property
    def drifted_features(self) -> list[str]:
        return sorted({j.feature for j in self.drifted})

    def windows(self) -> list[tuple[str, datetime, datetime]]:
        return sorted({(j.granularity, j.window_start, j.window_end) for j in self.judgements}, key=lambda w: (w[0], w[1]))


def _rows(table: pa.Table | None) -> list[dict[str, Any]]:
    return [] if table is None else table.to_pylist()


def _whole(row: dict[str, Any], model_id_col: str) -> bool:
    return row.get("slice_key") is None and row.get(model_id_col, ALL_MODELS) == ALL_MODELS


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def analyze(env: Environment, model: Model, drift: pa.Table, profile: pa.Table | None, *, now: datetime | None = None) -> DriftReport:
    """Judge every (granularity, window, feature) of the lookback period. Pure: no I/O."""
    settings = env.monitoring.drift
    rules = feature_rules(model, settings)
    as_of = _as_utc(now or datetime.now(UTC))
    since = as_of - timedelta(days=settings.lookback_days)

    mid = model.model_id_column
    whole_profile = None if profile is None else _whole_rows(profile, mid)
    profile_rows = _rows(whole_profile)
    baseline = {r["column_name"]: r for r in profile_rows if r["log_type"] == "BASELINE"}
    inputs = {
        (r["granularity"], _as_utc(r["window"]["start"]), r["column_name"]): r
        for r in profile_rows
        if r["log_type"] == "INPUT" and r.get("window")
    }

    by_window: dict[tuple[str, datetime, datetime], dict[str, dict]] = defaultdict(dict)
    for row in _rows(drift):
        if row.get("drift_type") != "BASELINE" or not _whole(row, mid) or not row.get("window"):
            continue
        start, end = _as_utc(row["window"]["start"]), _as_utc(row["window"]["end"])
        if end <= since or start > as_of:
            continue
        by_window[(row["granularity"], start, end)][row["column_name"]] = row

    judgements: list[Judgement] = []
    for (granularity, start, end), columns in sorted(by_window.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        evidence: dict[str, tuple[Evidence, dict | None]] = {}
        window_rules = [_ks_fallback(rule, baseline.get(rule.feature), settings) for rule in rules]
        for rule in window_rules:
            row = columns.get(rule.feature)
            window = inputs.get((granularity, start, rule.feature))
            base = baseline.get(rule.feature)
            count = _window_count(row, window or inputs.get((granularity, start, TABLE_COLUMN)), base)
            value = None if row is None else statistic(rule.statistic).value_in(row)
            pvalue = None if row is None else EVIDENCE_TEST[rule.kind].pvalue_in(row)
            evidence[rule.feature] = (Evidence(count, value, pvalue), window)
        judged = sum(
            1 for e, _ in evidence.values() if e.value is not None and e.count is not None and e.count >= settings.min_rows
        )
        alpha = window_alpha(settings, judged)
        for rule in window_rules:
            ev, window = evidence[rule.feature]
            if ev.value is not None:
                base = baseline.get(rule.feature)
                ev = Evidence(ev.count, ev.value, ev.test_pvalue,
                              calibrate(statistic(rule.statistic), ev.value, window, base, alpha),
                              guards(rule, columns.get(rule.feature), window, base, settings, alpha))
            decision = decide(rule, ev, settings, alpha)
            reason = decision.reason
            if rule.fallback_from:
                reason = f"{reason} ({rule.statistic} instead of {rule.fallback_from}: the baseline has < 2 distinct deciles)"
            cal = ev.calibration
            pvalues = [p for p in (ev.test_pvalue, cal.pvalue if cal else None) if p is not None]
            shown = decision.signal
            judgements.append(
                Judgement(
                    granularity=granularity, window_start=start, window_end=end, feature=rule.feature,
                    kind=rule.kind, statistic=shown.statistic if shown else rule.statistic,
                    value=shown.value if shown else ev.value,
                    adjusted=shown.adjusted if shown else (cal.adjusted if cal else ev.value),
                    threshold=shown.threshold if shown else rule.threshold,
                    pvalue=shown.pvalue if shown else (max(pvalues) if pvalues else None),
                    test_pvalue=ev.test_pvalue, null_pvalue=cal.pvalue if cal else None, alpha=alpha,
                    count=ev.count, verdict=decision.verdict, reason=reason, signals=decision.signals,
                )
            )

    quality = sorted(
        (
            _quality(r)
            for r in profile_rows
            if r["log_type"] == "INPUT" and r["column_name"] == TABLE_COLUMN and r.get("window")
            and _as_utc(r["window"]["end"]) > since and _as_utc(r["window"]["start"]) <= as_of
        ),
        key=lambda q: (q["granularity"], q["window_start"]),
    )
    quality_judgements = [
        _quality_judgement(r, model, env)
        for r in profile_rows
        if r["log_type"] == "INPUT" and r["column_name"] == TABLE_COLUMN and r.get("window")
        and _as_utc(r["window"]["end"]) > since and _as_utc(r["window"]["start"]) <= as_of
    ]
    quality_judgements.sort(key=lambda q: (q.granularity, q.window_start))
    return DriftReport(
        env=env.name, model=model.name, generated_at=datetime.now(UTC), as_of=as_of, since=since,
        rules=rules, settings=settings.model_dump(mode="json"), judgements=judgements,
        quality=[q for q in quality if len(q) > 3], profile=whole_profile,
        quality_judgements=quality_judgements,
        custom_judgements=custom_judgements(env, model, drift, profile, since=since, as_of=as_of),
    )


def _whole_rows(table: pa.Table, model_id_col: str) -> pa.Table:
    """The whole-table rows of all model versions together (what the rule and report read)."""
    mask = pc.is_null(table["slice_key"]) if "slice_key" in table.column_names else None
    if model_id_col in table.column_names:
        models = pc.equal(table[model_id_col], ALL_MODELS)
        mask = models if mask is None else pc.and_(mask, models)
    return table if mask is None else table.filter(mask)


def _ks_fallback(rule: FeatureRule, base: dict | None, settings) -> FeatureRule:
    """A statistic on the baseline's decile bins (PSI) cannot see a change when the baseline has
    fewer than 2 distinct decile edges (a constant, or nearly constant, baseline): every window
    falls into one or two bins however far it moved (5 against 7 scores 0). Such a feature is
    judged by its kind's evidence test instead (KS), whose statistic is 1 for two different
    constants. See docs/drift.md, "Constant baselines"."""
    if not statistic(rule.statistic).decile_bins or base is None:
        return rule
    quantiles = base.get("quantiles")
    if not quantiles or len(quantiles) != 101 or psi_bins(quantiles) >= 3:
        return rule
    test = EVIDENCE_TEST[rule.kind].name
    threshold, source = threshold_for(settings, rule.feature, test)
    return FeatureRule(rule.feature, rule.kind, test, threshold, source, fallback_from=rule.statistic)


def _quality_judgement(row: dict[str, Any], model: Model, env: Environment) -> QualityJudgement:
    metric = QUALITY_METRIC[model.problem_type.value]
    value = row.get(metric)
    labelled = row.get("num_labeled")
    min_rows = env.monitoring.drift.min_rows
    threshold = model.quality_threshold if model.quality_threshold is not None else env.monitoring.quality_threshold
    verdict, reason = judge_quality(None if value is None else float(value), labelled, threshold, min_rows)
    return QualityJudgement(
        granularity=row["granularity"], window_start=_as_utc(row["window"]["start"]),
        window_end=_as_utc(row["window"]["end"]), metric=metric, value=None if value is None else float(value),
        threshold=float(threshold), labelled=None if labelled is None else int(labelled), min_rows=min_rows,
        verdict=verdict, reason=reason,
    )


def _window_count(row: dict | None, window: dict | None, base: dict | None) -> int | None:
    """Rows in the window: the profile's INPUT count; else baseline count + the drift row's count_delta."""
    if window is not None and window.get("count") is not None:
        return int(window["count"])
    if row is not None and base is not None and row.get("count_delta") is not None and base.get("count") is not None:
        return int(round(base["count"] + row["count_delta"]))
    return None


QUALITY_FIELDS = {
    "accuracy": lambda r: r.get("accuracy_score"),
    "f1_macro": lambda r: (r.get("f1_score") or {}).get("macro"),
    "roc_auc": lambda r: r.get("roc_auc_score"),
    "mae": lambda r: r.get("mean_absolute_error"),
    "rmse": lambda r: r.get("root_mean_squared_error"),
    "r2": lambda r: r.get("r2_score"),
}


def _quality(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "granularity": row["granularity"],
        "window_start": _as_utc(row["window"]["start"]),
        "window_end": _as_utc(row["window"]["end"]),
    }
    for name, get in QUALITY_FIELDS.items():
        value = get(row)
        if value is not None:
            out[name] = float(value)
    return out
