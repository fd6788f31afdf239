"""The calibrated null against scipy and hand-worked values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from lakemon_jobs.drift.null import (
    _js_rows,
    calibrate_js,
    calibrate_psi,
    calibrate_tv,
    draws_for,
    ks_adjusted,
    psi_bins,
    wasserstein_noise,
)
from lakemon_jobs.drift.rule import share_to_sd


def test_row_wise_js_equals_scipy():
    rng = np.random.default_rng(1)
    p, q = rng.dirichlet(np.ones(7), size=5), rng.dirichlet(np.ones(7), size=5)
    p[0, 2] = 0.0
    p[0] /= p[0].sum()
    assert _js_rows(p, q) == pytest.approx([jensenshannon(a, b, base=2) for a, b in zip(p, q, strict=True)], abs=1e-12)


def test_js_null_mean_matches_the_chi_squared_approximation():
    # For well-filled categories JSD (bits) ~ chi2_{k-1} (1/n + 1/m) / (8 ln 2).
    counts, n = [2500] * 4, 400
    cal = calibrate_js(0.0, counts, n, alpha=0.01)
    expected = 3 * (1 / n + 1 / 10_000) / (8 * math.log(2))
    assert cal.expected == pytest.approx(expected, rel=0.1)
    assert cal.adjusted == 0.0 and cal.pvalue == 1.0


def test_js_null_pvalue_is_calibrated_on_windows_without_drift():
    """Windows drawn from the baseline's own distribution: the share with p < 0.05 is ~5%."""
    rng = np.random.default_rng(7)
    p = np.array([0.4, 0.2, 0.1, 0.08, 0.07, 0.05, 0.04, 0.03, 0.02, 0.01])
    baseline = rng.multinomial(5000, p)
    pvalues = []
    for _ in range(400):
        window = rng.multinomial(300, p)
        d = jensenshannon(window / 300, baseline / 5000, base=2)
        pvalues.append(calibrate_js(float(d), list(baseline), 300, alpha=0.01).pvalue)
    share = np.mean(np.array(pvalues) < 0.05)
    assert 0.02 <= share <= 0.09, share


def test_js_adjusted_removes_the_expected_noise_and_small_pvalue_for_real_shift():
    counts = [5000, 3000, 2000]
    cal = calibrate_js(0.3, counts, 500, alpha=0.001)
    assert cal.adjusted == pytest.approx(math.sqrt(0.09 - cal.expected))
    assert cal.pvalue == pytest.approx(1 / (draws_for(0.001) + 1))  # beyond every bootstrap draw
    assert draws_for(0.001) == 20_000 and draws_for(0.5) == 2000


def test_psi_null_is_the_chi_squared_tail():
    cal = calibrate_psi(0.05, bins=10, n=500, m=10_000)
    scale = 1 / 500 + 1 / 10_000
    assert cal.expected == pytest.approx(9 * scale)
    assert cal.adjusted == pytest.approx(0.05 - 9 * scale)
    assert cal.pvalue == pytest.approx(stats.chi2.sf(0.05 / scale, 9))


def test_psi_bins_counts_merged_decile_edges():
    assert psi_bins([float(i) for i in range(101)]) == 10
    tied = [0.0] * 55 + [float(i) for i in range(46)]  # deciles 10..50 all 0 -> 5 edges merge into 1
    assert psi_bins(tied) == 6
    assert psi_bins(None) == 10


def test_tv_null_mean_square_is_the_variance_of_a_difference_of_proportions():
    # two categories: TV = |p_window - p_baseline|, whose mean square is p(1-p)(1/n + 1/m)
    counts, n = [3000, 7000], 500
    cal = calibrate_tv(0.0, counts, n, alpha=0.01)
    assert cal.expected == pytest.approx(0.3 * 0.7 * (1 / n + 1 / 10_000), rel=0.05)
    moved = calibrate_tv(0.1, counts, n, alpha=0.01)  # 10% of rows moved: 4.7 standard errors
    assert moved.adjusted == pytest.approx(math.sqrt(0.01 - cal.expected), rel=1e-9) and moved.pvalue < 1e-3


def test_ks_noise_is_the_kolmogorov_second_moment_checked_against_scipy_draws():
    n, m = 400, 2000
    rng = np.random.default_rng(4)
    d2 = [stats.ks_2samp(rng.normal(size=n), rng.normal(size=m)).statistic ** 2 for _ in range(600)]
    expected = math.pi**2 / 12 * (1 / n + 1 / m)
    assert np.mean(d2) == pytest.approx(expected, rel=0.1)
    assert ks_adjusted(math.sqrt(expected), n, m) == 0.0
    assert ks_adjusted(0.75, n, m) == pytest.approx(math.sqrt(0.75**2 - expected))


def test_wasserstein_noise_hand_worked_and_against_scipy_draws():
    # uniform(0, 1): the integral of sqrt(F(1-F)) is pi/8; the midpoint sum over percentiles gets it to 1e-3
    q = [i / 100 for i in range(101)]
    n, m = 300, 3000
    assert wasserstein_noise(q, n, m) == pytest.approx(math.sqrt(2 / math.pi) * math.sqrt(1 / n + 1 / m) * math.pi / 8, rel=2e-3)
    rng = np.random.default_rng(8)
    base = rng.normal(size=m)
    draws = [stats.wasserstein_distance(rng.normal(size=n), rng.normal(size=m)) for _ in range(300)]
    got = wasserstein_noise(list(np.quantile(base, np.arange(101) / 100)), n, m)
    assert got == pytest.approx(np.mean(draws), rel=0.1)
    assert wasserstein_noise(None, n, m) is None and wasserstein_noise(q[:50], n, m) is None


def test_share_to_sd_inverts_the_ks_statistic_of_a_normal_mean_shift():
    assert share_to_sd(0.1) == pytest.approx(2 * stats.norm.ppf(0.55))
    for share in (0.05, 0.1, 0.2):
        delta = share_to_sd(share)
        assert 2 * stats.norm.cdf(delta / 2) - 1 == pytest.approx(share)  # KS D of N(delta, 1) vs N(0, 1)
    assert share_to_sd(0.05) == pytest.approx(0.1254, abs=1e-4) and share_to_sd(0.1) == pytest.approx(0.2513, abs=1e-4)
