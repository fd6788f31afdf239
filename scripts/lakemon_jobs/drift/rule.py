"""The decision rule: one window, one feature -> ok / warn / drift / too_few_rows / unavailable.

Pure functions of config and numbers, so the rule is easy to test and to read next to
docs/drift.md, which states it in words. `analyze.py` gathers the numbers from the tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from lakemon.config.model import Drift, Model
from lakemon.contract.statistics import NUMERIC, feature_kind, statistic_names
from lakemon.contract.verdicts import Verdict

from ..errors import UsageError
from .null import NullCalibration

RULE_VERSION = "lakemon-drift-3"
"""Written with every verdict row: bump it when the rule below (or docs/drift.md's statement of
it) changes, so a verdicts table shows which rule judged each window."""


class RuleError(UsageError):
    """The drift settings do not fit the model (a usage/config error, exit code 2)."""


@dataclass(frozen=True)
class FeatureRule:
    """Which statistic judges one feature, against which threshold."""

    feature: str
    kind: str  # NUMERIC or CATEGORICAL (lakemon.contract.statistics)
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
class Signal:
    """One statistic's view of a (window, feature): its noise-corrected effect, on the scale its
    threshold is on, and the p-value that backs it.

    The configured statistic is always the first signal. Guards follow: other statistics of the
    same drift-metrics row that see what the configured one can be blind to (PSI's decile bins
    merge a repeated value, such as 75% zeros, into one bin with its neighbours, and its open top
    bin swallows any growth of the tail). Guards are on scales a data scientist reads directly:
    `ks_test` and `tv_distance` as the share of rows that moved, `wasserstein_distance` as how
    far values moved on average, in baseline standard deviations."""

    statistic: str
    value: float | None
    """The raw value in the drift metrics table (Wasserstein: in the feature's units)."""
    adjusted: float
    """The value with sampling noise taken out, on the threshold's scale (Wasserstein: in sd)."""
    threshold: float
    pvalue: float | None
    unit: str = ""
    """How to read `adjusted`: "" (the statistic itself), "of rows" or "sd"."""

    def describe(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.statistic} {self.adjusted:.4g}{unit}"


@dataclass(frozen=True)
class Evidence:
    """What the tables say about one feature in one window."""

    count: int | None
    value: float | None
    test_pvalue: float | None
    calibration: NullCalibration | None = None
    guards: tuple[Signal, ...] = ()
    """The other statistics' signals (see Signal); empty when the tables cannot give them."""


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str
    signal: Signal | None
    """The signal that decided (drift or warn), else the configured statistic's; None when the
    window was not judged (too_few_rows, unavailable)."""
    signals: tuple[Signal, ...] = ()


def share_to_sd(share: float) -> float:
    """The mean shift, in standard deviations, that moves `share` of a normal feature's rows past
    its middle value: the KS statistic of N(delta, 1) against N(0, 1) is 2 Phi(delta/2) - 1, so
    delta = 2 Phi^-1((1 + share) / 2). 0.05 -> 0.125 sd, 0.1 -> 0.251 sd, 0.2 -> 0.506 sd."""
    return 2.0 * NormalDist().inv_cdf((1.0 + min(share, 0.999)) / 2.0)


def judge(rule: FeatureRule, evidence: Evidence, drift: Drift, alpha: float) -> tuple[Verdict, str]:
    """The verdict and a one-line reason (see `decide`)."""
    decision = decide(rule, evidence, drift, alpha)
    return decision.verdict, decision.reason


def decide(rule: FeatureRule, evidence: Evidence, drift: Drift, alpha: float) -> Decision:
    """THE rule: verdicts, alerts (through the verdicts table) and the report all come from here.

    `alpha` is the p-value bound for drift in this window (max_pvalue divided by the number of
    features judged in it, see `window_alpha`); warnings use warn_max_pvalue divided the same way.
    Every signal (the configured statistic, then the guards) is judged alike:
    - drift: effect >= threshold and p < alpha;
    - warn: effect >= threshold and p < warn alpha, or effect >= warn_ratio * threshold and
      p < alpha, or (the configured statistic only) effect >= threshold with no p-value at all;
    and the verdict is the strongest any signal reaches, so what any statistic sees with
    overwhelming evidence is never `ok`. Every verdict needs its p-value, so a window without
    drift gets drift with probability at most max_pvalue and any verdict other than ok with
    probability at most warn_max_pvalue (docs/drift.md, "The decision rule")."""
    if evidence.count is not None and evidence.count < drift.min_rows:
        return Decision(Verdict.TOO_FEW_ROWS, f"{evidence.count} rows < min_rows {drift.min_rows}", None)
    if evidence.value is None:
        return Decision(Verdict.UNAVAILABLE, f"{rule.statistic} is null or missing for this window", None)
    if evidence.count is None:
        return Decision(Verdict.TOO_FEW_ROWS, "row count unknown (no profile row for this window)", None)
    primary = Signal(
        rule.statistic, evidence.value,
        evidence.calibration.adjusted if evidence.calibration else evidence.value,
        rule.threshold, combined_pvalue(evidence),
    )
    signals = (primary, *(g for g in evidence.guards if g.statistic != rule.statistic))
    warn_alpha = alpha * drift.warn_max_pvalue / drift.max_pvalue

    def below(p: float | None, level: float) -> bool:
        return p is not None and p < level

    def seen_by(s: Signal) -> str:
        return "" if s is primary else f" ({s.statistic} saw it; {primary.describe()} did not)"

    def ratio(s: Signal) -> float:
        return s.adjusted / s.threshold if s.threshold > 0 else math.inf

    # the signal furthest past its threshold is the one shown (the configured statistic on ties)
    ranked = sorted(signals, key=ratio, reverse=True)
    for s in ranked:
        if s.adjusted >= s.threshold and below(s.pvalue, alpha):
            reason = f"{s.describe()} >= {s.threshold:.3g} and p {s.pvalue:.3g} < {alpha:.3g}{seen_by(s)}"
            return Decision(Verdict.DRIFT, reason, s, signals)
    for s in ranked:
        if s.adjusted >= s.threshold and below(s.pvalue, warn_alpha):
            reason = (f"{s.describe()} >= {s.threshold:.3g}, p {s.pvalue:.3g} < {warn_alpha:.3g} "
                      f"but not < {alpha:.3g}{seen_by(s)}")
            return Decision(Verdict.WARN, reason, s, signals)
        if s.adjusted >= drift.warn_ratio * s.threshold and below(s.pvalue, alpha):
            reason = (f"{s.describe()} >= warn_ratio * threshold = {drift.warn_ratio * s.threshold:.3g} "
                      f"and p {s.pvalue:.3g} < {alpha:.3g}{seen_by(s)}")
            return Decision(Verdict.WARN, reason, s, signals)
    if primary.adjusted >= primary.threshold and primary.pvalue is None:
        # no test in the table to tell noise from drift: show it, never alert on it
        reason = f"{primary.adjusted:.4g} >= {primary.threshold:g} but p missing"
        return Decision(Verdict.WARN, reason, primary, signals)
    if primary.adjusted >= primary.threshold:
        reason = (f"{primary.adjusted:.4g} >= {primary.threshold:g} but p {primary.pvalue:.3g} is not < "
                  f"{warn_alpha:.3g}: within sampling noise")
    else:
        reason = f"{primary.adjusted:.4g} < {primary.threshold:g}"
    return Decision(Verdict.OK, reason, primary, signals)


def combined_pvalue(evidence: Evidence) -> float | None:
    """Both the test and the calibrated null must find the window unlikely under no drift:
    the larger of the two p-values counts."""
    values = [p for p in (evidence.test_pvalue, evidence.calibration and evidence.calibration.pvalue) if p is not None]
    return max(values) if values else None


def window_alpha(drift: Drift, judged_features: int) -> float:
    """Bonferroni over the features judged in one window: `max_pvalue` bounds the chance that a
    window without drift raises a drift alert on ANY feature, not on each one."""
    return drift.max_pvalue / max(1, judged_features)
