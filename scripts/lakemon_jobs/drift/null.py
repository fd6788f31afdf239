"""Calibrated null: how large a drift statistic gets from sampling noise alone.

A window of n rows drawn from exactly the baseline's distribution still shows a positive
distance, and the smaller the window and the more categories a column has, the larger it is
(../shared/notes/drift.md: JS 0.11 for EYE at 300 rows with no drift at all). Comparing a raw
distance with a fixed threshold therefore raises false alarms on small windows. This module
estimates, for one column, window size and baseline, (a) the expected noise so it can be taken
out of the observed value and (b) the probability that noise alone reaches the observed value
(a p-value that, unlike the chi-squared approximation, stays valid for sparse categories).

- `js_distance` (categorical): parametric bootstrap. Window counts ~ Multinomial(n, p) and
  baseline counts ~ Multinomial(m, p), p = the baseline's frequencies (its frequent items, nulls
  as a category, the rest as "other", as the engine buckets them); the JS distance of each pair
  is the null distribution. Squared JS (the divergence) is what adds up: noise and a real shift
  contribute roughly additively, so the adjusted distance is sqrt(max(0, d^2 - E0[d^2])).
- `population_stability_index` (numeric): PSI is a symmetric KL divergence; for B bins with
  equal-ish baseline mass, PSI / (1/n + 1/m) is asymptotically chi-squared with B - 1 degrees of
  freedom under no drift. So E0[PSI] = (B - 1)(1/n + 1/m), adjusted PSI = max(0, PSI - E0), and
  the null p-value is the chi-squared tail.
Other statistics are not calibrated (their test p-value is the only evidence).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import stats

MIN_DRAWS = 2000
MAX_DRAWS = 200_000
SEED = 20_240_601
"""Fixed seed: the same tables give the same verdicts on every run."""


@dataclass(frozen=True)
class NullCalibration:
    expected: float
    """Expected value of the calibrated quantity under no drift (JS: of d^2; PSI: of PSI)."""
    adjusted: float
    """The observed statistic with the expected noise taken out (never below 0)."""
    pvalue: float
    """P(noise alone >= observed)."""
    method: str


def _js_rows(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Row-wise Jensen-Shannon distance, base 2 (= scipy.spatial.distance.jensenshannon)."""
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(p > 0, p * np.log2(p / m), 0.0).sum(axis=-1)
        b = np.where(q > 0, q * np.log2(q / m), 0.0).sum(axis=-1)
    return np.sqrt(np.maximum((a + b) / 2, 0.0))


def draws_for(alpha: float) -> int:
    """Enough bootstrap draws that a p-value below `alpha` is reachable with some margin."""
    return int(min(MAX_DRAWS, max(MIN_DRAWS, math.ceil(20 / alpha))))


@lru_cache(maxsize=512)
def _js_null(counts: tuple[int, ...], n: int, draws: int) -> tuple[np.ndarray, float]:
    base = np.asarray(counts, dtype=np.float64)
    m = int(base.sum())
    p = base / m
    rng = np.random.default_rng(SEED)
    window = rng.multinomial(n, p, size=draws) / n
    baseline = rng.multinomial(m, p, size=draws) / m
    d = np.sort(_js_rows(window, baseline))
    return d, float(np.mean(d * d))


def calibrate_js(observed: float, baseline_counts: list[int], n: int, alpha: float) -> NullCalibration | None:
    """Bootstrap null of the JS distance for a window of `n` rows against this baseline."""
    counts = tuple(int(c) for c in baseline_counts if c > 0)
    if n < 1 or sum(counts) < 1:
        return None
    if len(counts) == 1:  # one category: every window is identical to the baseline
        return NullCalibration(0.0, observed, 0.0 if observed > 0 else 1.0, "bootstrap")
    draws = draws_for(alpha)
    null, mean_sq = _js_null(counts, int(n), draws)
    exceed = null.shape[0] - int(np.searchsorted(null, observed - 1e-12, side="left"))
    pvalue = (1 + exceed) / (draws + 1)
    adjusted = math.sqrt(max(0.0, observed * observed - mean_sq))
    return NullCalibration(mean_sq, adjusted, pvalue, "bootstrap")


def calibrate_psi(observed: float, bins: int, n: int, m: int) -> NullCalibration | None:
    """Chi-squared approximation of the PSI null for `bins` bins, window n, baseline m values."""
    if n < 1 or m < 1 or bins < 2:
        return None
    scale = 1.0 / n + 1.0 / m
    expected = (bins - 1) * scale
    pvalue = float(stats.chi2.sf(observed / scale, bins - 1))
    return NullCalibration(expected, max(0.0, observed - expected), pvalue, "chi2-approximation")


def psi_bins(quantiles: list[float] | None) -> int:
    """Number of PSI bins the engine used: 10 deciles of the baseline, duplicate edges merged.
    `quantiles` are the profile's 101 percentiles; without them assume 10 bins."""
    if not quantiles or len(quantiles) != 101:
        return 10
    deciles = [quantiles[i] for i in range(10, 100, 10)]
    return len(set(deciles)) + 1
