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
- `tv_distance` (categorical, a guard): the same bootstrap draws as JS; TV is the share of rows
  that moved between categories, and the adjusted value is sqrt(max(0, tv^2 - E0[tv^2])).
- `ks_test` (numeric, a guard): under no drift sqrt(nm/(n+m)) D tends to the Kolmogorov
  distribution, whose second moment is pi^2/12 (continuous data; ties make D smaller, so this
  over-estimates the noise of integer columns). Adjusted D = sqrt(max(0, D^2 - E0[D^2])).
- `wasserstein_distance` (numeric, a guard): for each x, F_n(x) - G_m(x) is about normal with
  variance F(1-F)(1/n + 1/m), so E0[W1] = sqrt(2/pi) sqrt(1/n + 1/m) * integral of
  sqrt(F(1-F)) dx, the integral taken over the baseline's 101 percentiles. Adjusted W1 =
  sqrt(max(0, W1^2 - E0[W1]^2)) (an approximation: it uses E0[W1]^2 for E0[W1^2]).
Their p-value is the matching test's (KS, chi-squared), never the calibration's.
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
    pvalue: float | None
    """P(noise alone >= observed); None for a model that only takes the noise out (a guard's,
    whose p-value is its test's: noise.py)."""
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
def _multinomial_null(counts: tuple[int, ...], n: int, draws: int) -> dict[str, tuple[np.ndarray, float]]:
    """Sorted null draws and mean square of the JS and TV distances (the same draws for both)."""
    base = np.asarray(counts, dtype=np.float64)
    m = int(base.sum())
    p = base / m
    rng = np.random.default_rng(SEED)
    window = rng.multinomial(n, p, size=draws) / n
    baseline = rng.multinomial(m, p, size=draws) / m
    js = np.sort(_js_rows(window, baseline))
    tv = np.sort(0.5 * np.abs(window - baseline).sum(axis=-1))
    return {"js": (js, float(np.mean(js * js))), "tv": (tv, float(np.mean(tv * tv)))}


def _bootstrap(name: str, observed: float, baseline_counts: list[int], n: int, alpha: float) -> NullCalibration | None:
    counts = tuple(int(c) for c in baseline_counts if c > 0)
    if n < 1 or sum(counts) < 1:
        return None
    if len(counts) == 1:  # one category: every window is identical to the baseline
        return NullCalibration(0.0, observed, 0.0 if observed > 0 else 1.0, "bootstrap")
    draws = draws_for(alpha)
    null, mean_sq = _multinomial_null(counts, int(n), draws)[name]
    exceed = null.shape[0] - int(np.searchsorted(null, observed - 1e-12, side="left"))
    pvalue = (1 + exceed) / (draws + 1)
    adjusted = math.sqrt(max(0.0, observed * observed - mean_sq))
    return NullCalibration(mean_sq, adjusted, pvalue, "bootstrap")


def calibrate_js(observed: float, baseline_counts: list[int], n: int, alpha: float) -> NullCalibration | None:
    """Bootstrap null of the JS distance for a window of `n` rows against this baseline."""
    return _bootstrap("js", observed, baseline_counts, n, alpha)


def calibrate_tv(observed: float, baseline_counts: list[int], n: int, alpha: float) -> NullCalibration | None:
    """Bootstrap null of the TV distance (share of rows moved), from the same draws as JS."""
    return _bootstrap("tv", observed, baseline_counts, n, alpha)


KOLMOGOROV_SECOND_MOMENT = math.pi**2 / 12
"""E[K^2] of the Kolmogorov distribution (the limit of sqrt(nm/(n+m)) D under no drift)."""


def ks_adjusted(d: float, n: int, m: int) -> float | None:
    """The KS statistic D with the noise expected from sampling alone taken out (see above)."""
    if n < 1 or m < 1:
        return None
    return math.sqrt(max(0.0, d * d - KOLMOGOROV_SECOND_MOMENT * (1.0 / n + 1.0 / m)))


def wasserstein_noise(quantiles: list[float] | None, n: int, m: int) -> float | None:
    """E0[W1] for a window of n and a baseline of m values, from the baseline's 101 percentiles:
    sqrt(2/pi) sqrt(1/n + 1/m) sum over the 100 percentile steps of sqrt(p(1-p)) * step width,
    p the step's middle percentile. None without percentiles."""
    if not quantiles or len(quantiles) != 101 or n < 1 or m < 1:
        return None
    q = np.asarray(quantiles, dtype=np.float64)
    if not np.all(np.isfinite(q)):
        return None
    mid = (np.arange(100) + 0.5) / 100
    integral = float(np.sum(np.sqrt(mid * (1 - mid)) * np.diff(q)))
    return math.sqrt(2 / math.pi) * math.sqrt(1.0 / n + 1.0 / m) * integral


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
