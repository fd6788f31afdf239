"""Each statistic's sampling noise, from the profile rows: what analyze-drift takes out before a
value meets its threshold (docs/drift.md, step 4).

The registry (lakemon.contract.statistics) says which noise model a statistic has (`noise`),
whether it is taken out when the statistic judges a feature (`calibrated`) and whether the
statistic is a guard (`guard`, in `unit`). This module holds the models, keyed by those names,
and applies them as the descriptors say: nothing here, nor in verdicts.py, picks a statistic by
its name. The arithmetic of each model is in null.py (checked against scipy there).
"""

from __future__ import annotations

from collections.abc import Callable

from lakemon.contract.statistics import EVIDENCE_TEST, SD, Statistic, statistics_of

from .null import (
    KOLMOGOROV_SECOND_MOMENT,
    NullCalibration,
    calibrate_js,
    calibrate_psi,
    calibrate_tv,
    ks_adjusted,
    psi_bins,
    wasserstein_noise,
)
from .rule import FeatureRule, Signal, share_to_sd, threshold_for

NoiseModel = Callable[[float, dict, dict, float], "NullCalibration | None"]
"""(observed value, window profile row, baseline profile row, alpha) -> the value with its noise
taken out (and the noise model's p-value, if it has one), or None when the rows cannot say."""


def baseline_counts(row: dict) -> list[int]:
    """The baseline's category counts as the engine buckets them: frequent items, nulls, other."""
    items = row.get("frequent_items") or []
    counts = [int(i["count"]) for i in items]
    nulls = int(row.get("num_nulls") or 0)
    other = int(row.get("count") or 0) - nulls - sum(counts)
    return [*counts, nulls, max(0, other)]


def finite(row: dict) -> int:
    """Finite values of a numeric column in a profile row (what the numeric statistics use)."""
    return int(row.get("count") or 0) - sum(int(row.get(k) or 0) for k in ("num_nulls", "num_nan", "num_inf"))


def _bootstrap_js(value: float, window: dict, base: dict, alpha: float) -> NullCalibration | None:
    return calibrate_js(value, baseline_counts(base), int(window.get("count") or 0), alpha)


def _bootstrap_tv(value: float, window: dict, base: dict, alpha: float) -> NullCalibration | None:
    return calibrate_tv(value, baseline_counts(base), int(window.get("count") or 0), alpha)


def _psi_chi2(value: float, window: dict, base: dict, alpha: float) -> NullCalibration | None:
    return calibrate_psi(value, psi_bins(base.get("quantiles")), finite(window), finite(base))


def _kolmogorov(value: float, window: dict, base: dict, alpha: float) -> NullCalibration | None:
    n, m = finite(window), finite(base)
    adjusted = ks_adjusted(value, n, m)
    if adjusted is None:
        return None
    return NullCalibration(KOLMOGOROV_SECOND_MOMENT * (1.0 / n + 1.0 / m), adjusted, None, "kolmogorov")


def _quantiles(value: float, window: dict, base: dict, alpha: float) -> NullCalibration | None:
    """Wasserstein: the noise from the baseline's percentiles, the result in baseline sd."""
    sd = base.get("stddev")
    noise = wasserstein_noise(base.get("quantiles"), finite(window), finite(base))
    if not (sd and sd > 0) or noise is None:
        return None
    # `** 0.5`, not math.sqrt: the verdicts stay bit for bit what they were
    return NullCalibration(noise, (max(0.0, value**2 - noise**2)) ** 0.5 / float(sd), None, "quantiles")


NOISE_MODELS: dict[str, NoiseModel] = {
    "bootstrap_js": _bootstrap_js,
    "bootstrap_tv": _bootstrap_tv,
    "psi_chi2": _psi_chi2,
    "kolmogorov": _kolmogorov,
    "quantiles": _quantiles,
}
"""Statistic.noise -> its model (null.py's docstring states each)."""


def calibrate(statistic: Statistic, value: float, window: dict | None, base: dict | None,
              alpha: float) -> NullCalibration | None:
    """The configured statistic's value with its noise taken out, if it is calibrated and both
    profile rows are there; None: the raw value decides."""
    if not statistic.calibrated or window is None or base is None:
        return None
    return NOISE_MODELS[statistic.noise](value, window, base, alpha)


def guards(rule: FeatureRule, row: dict | None, window: dict | None, base: dict | None, settings,
           alpha: float) -> tuple[Signal, ...]:
    """The guard signals of one (window, feature) from the same drift-metrics row (rule.Signal):
    every guard statistic of the feature's kind, in table order, noise taken out.

    p-value: the kind's evidence test's (and the noise model's, if it has one: the larger counts);
    without the test's p-value there is no guard. Threshold: a guard read as a share of rows gets
    its own (threshold_for: the feature's override, else the statistic's, else `threshold`); a
    guard read in sd gets the mean shift that moves the evidence test's share of a normal
    feature's rows (rule.share_to_sd). Each needs the baseline and window profile rows for its
    noise; without them there is no guard."""
    if row is None or window is None or base is None:
        return ()
    evidence = EVIDENCE_TEST[rule.kind]
    test_pvalue = evidence.pvalue_in(row)
    if test_pvalue is None:
        return ()
    signals: list[Signal] = []
    for s in statistics_of(rule.kind):
        value = s.value_in(row) if s.guard else None
        calibration = None if value is None else NOISE_MODELS[s.noise](value, window, base, alpha)
        if calibration is None:
            continue
        share, _ = threshold_for(settings, rule.feature, evidence.name if s.unit == SD else s.name)
        threshold = share_to_sd(share) if s.unit == SD else share
        pvalue = max(p for p in (test_pvalue, calibration.pvalue) if p is not None)
        signals.append(Signal(s.name, value, calibration.adjusted, threshold, pvalue, s.unit))
    return tuple(signals)
