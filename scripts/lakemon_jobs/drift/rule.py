"""The decision rule: one window, one feature -> ok / warn / drift / too_few_rows / unavailable.

Pure functions of config and numbers, so the rule is easy to test and to read next to
docs/drift.md, which states it in words. `analyze.py` gathers the numbers from the tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from lakemon.config.model import Drift, Model
from lakemon.statistics import NUMERIC, feature_kind, statistic_names
from lakemon.tables import Verdict

from .null import NullCalibration

RULE_VERSION = "lakemon-drift-2"
"""Written with every verdict row: bump it when the rule below (or docs/drift.md's statement of
it) changes, so a verdicts table shows which rule judged each window."""


class RuleError(ValueError):
    """The drift settings do not fit the model (a usage/config error, exit code 2)."""


@dataclass(frozen=True)
class FeatureRule:
    """Which statistic judges one feature, against which threshold."""

    feature: str
    kind: str  # NUMERIC or CATEGORICAL (lakemon.statistics)
    statistic: str
    threshold: float
    threshold_source: str  # "feature" | "statistic" | "default"
    fallback_from: str | None = None
    """Set when this rule replaces the configured statistic for a window (PSI on a constant
    baseline is judged by KS instead); the configured statistic's name."""


def feature_rules(model: Model, drift: Drift) -> list[FeatureRule]:
    """Statistic and threshold per feature: the feature's override, else the statistic's
    threshold, else `drift.threshold`. Raises RuleError for overrides that cannot apply."""
    features = {c.name: c.type for c in model.features}
    unknown = sorted(set(drift.features) - set(features))
    if unknown:
        raise RuleError(
            f"monitoring.drift.features names {', '.join(unknown)}, not features of model {model.name} "
            f"(features: {', '.join(features)})"
        )
    rules = []
    for name, type_name in features.items():
        kind = feature_kind(type_name)
        if kind is None:
            continue
        override = drift.features.get(name)
        default = drift.numeric_statistic if kind == NUMERIC else drift.categorical_statistic
        statistic = (override.statistic if override and override.statistic else None) or default
        allowed = statistic_names(kind)
        if statistic not in allowed:
            raise RuleError(
                f"monitoring.drift.features.{name}.statistic: {statistic} does not apply to the {kind} "
                f"feature {name}; allowed: {', '.join(allowed)}"
            )
        threshold, source = threshold_for(drift, name, statistic)
        rules.append(FeatureRule(name, kind, statistic, threshold, source))
    return rules


def threshold_for(drift: Drift, feature: str, statistic: str) -> tuple[float, str]:
    """(threshold, where it came from): the feature's override, else the statistic's threshold,
    else `drift.threshold`."""
    override = drift.features.get(feature)
    if override and override.threshold is not None:
        return float(override.threshold), "feature"
    if statistic in drift.statistic_thresholds:
        return float(drift.statistic_thresholds[statistic]), "statistic"
    return float(drift.threshold), "default"


def judge_quality(value: float | None, labelled: int | None, threshold: float, min_rows: int) -> tuple[Verdict, str]:
    """Model quality of one window: degraded when the metric is below the threshold, judged only
    with at least `min_rows` labelled rows (the same minimum as drift)."""
    if labelled is None or labelled < min_rows:
        return Verdict.TOO_FEW_ROWS, f"{labelled or 0} labelled rows < min_rows {min_rows}"
    if value is None:
        return Verdict.UNAVAILABLE, "no quality metric for this window"
    if value < threshold:
        return Verdict.DEGRADED, f"{value:.4g} < quality_threshold {threshold:g}"
    return Verdict.OK, f"{value:.4g} >= quality_threshold {threshold:g}"


@dataclass(frozen=True)
class Evidence:
    """What the tables say about one feature in one window."""

    count: int | None
    value: float | None
    test_pvalue: float | None
    calibration: NullCalibration | None = None


def judge(rule: FeatureRule, evidence: Evidence, drift: Drift, alpha: float) -> tuple[Verdict, str]:
    """The verdict and a one-line reason. `alpha` is the p-value bound for this window
    (max_pvalue divided by the number of features judged in it, see `window_alpha`)."""
    if evidence.count is not None and evidence.count < drift.min_rows:
        return Verdict.TOO_FEW_ROWS, f"{evidence.count} rows < min_rows {drift.min_rows}"
    if evidence.value is None:
        return Verdict.UNAVAILABLE, f"{rule.statistic} is null or missing for this window"
    if evidence.count is None:
        return Verdict.TOO_FEW_ROWS, "row count unknown (no profile row for this window)"
    distance = evidence.calibration.adjusted if evidence.calibration else evidence.value
    pvalue = combined_pvalue(evidence)
    significant = pvalue is not None and pvalue < alpha
    if distance >= rule.threshold and significant:
        return Verdict.DRIFT, f"{distance:.4g} >= {rule.threshold:g} and p {pvalue:.3g} < {alpha:.3g}"
    if distance >= rule.threshold:
        shown = "missing" if pvalue is None else f"{pvalue:.3g}"
        return Verdict.WARN, f"{distance:.4g} >= {rule.threshold:g} but p {shown} is not < {alpha:.3g}"
    if distance >= drift.warn_ratio * rule.threshold:
        return Verdict.WARN, f"{distance:.4g} >= warn_ratio * threshold = {drift.warn_ratio * rule.threshold:.4g}"
    return Verdict.OK, f"{distance:.4g} < {drift.warn_ratio * rule.threshold:.4g}"


def combined_pvalue(evidence: Evidence) -> float | None:
    """Both the test and the calibrated null must find the window unlikely under no drift:
    the larger of the two p-values counts."""
    values = [p for p in (evidence.test_pvalue, evidence.calibration and evidence.calibration.pvalue) if p is not None]
    return max(values) if values else None


def window_alpha(drift: Drift, judged_features: int) -> float:
    """Bonferroni over the features judged in one window: `max_pvalue` bounds the chance that a
    window without drift raises a drift alert on ANY feature, not on each one."""
    return drift.max_pvalue / max(1, judged_features)
