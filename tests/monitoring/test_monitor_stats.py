"""Every drift statistic against scipy, or against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon

from lakemon_jobs.monitor_engine.stats import (
    SortedSample,
    _ks_and_w1,
    categorical_drift,
    category_table,
    ks_test,
    numeric_drift,
    psi,
    wasserstein,
)

RNG = np.random.default_rng(7)


def _pair(n, m, kind):
    a = RNG.normal(0, 1, n)
    b = RNG.normal(0.2, 1.3, m)
    if kind == "ties":
        a, b = np.round(a * 2) / 2, np.round(b * 2) / 2
    if kind == "shared":  # many values equal across the two samples
        a = RNG.integers(0, 5, n).astype(float)
        b = RNG.integers(2, 7, m).astype(float)
    return a, b


@pytest.mark.parametrize("kind", ["continuous", "ties", "shared"])
@pytest.mark.parametrize("n,m", [(1, 1), (1, 7), (9, 1), (40, 300), (500, 50), (12_000, 11_000), (30_000, 400)])
def test_ks_and_wasserstein_equal_scipy(n, m, kind):
    ref, cur = _pair(n, m, kind)
    got_ks = ks_test(SortedSample.from_unsorted(cur), SortedSample.from_unsorted(ref))
    want = sps.ks_2samp(cur, ref)
    assert got_ks[0] == pytest.approx(float(want.statistic), abs=1e-15)
    assert got_ks[1] == pytest.approx(float(want.pvalue), rel=1e-12, abs=1e-300)
    got_w = wasserstein(SortedSample.from_unsorted(cur), SortedSample.from_unsorted(ref))
    assert got_w == pytest.approx(sps.wasserstein_distance(cur, ref), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("method", ["search", "merge"])
@pytest.mark.parametrize("kind", ["continuous", "ties", "shared"])
@pytest.mark.parametrize("n,m", [(1, 1), (1, 7), (9, 1), (40, 300), (500, 50), (3_000, 2_500)])
def test_both_exact_methods_equal_scipy(n, m, kind, method):
    """The binary-search and the merge method each give scipy's KS statistic and W1."""
    ref, cur = _pair(n, m, kind)
    d, w1 = _ks_and_w1(SortedSample.from_unsorted(cur), SortedSample.from_unsorted(ref), method)
    assert d == pytest.approx(float(sps.ks_2samp(cur, ref).statistic), abs=1e-15)
    assert w1 == pytest.approx(sps.wasserstein_distance(cur, ref), rel=1e-9, abs=1e-12)


def test_wasserstein_hand_worked():
    # scipy's own docstring example: moving {0,1,3} to {5,6,8} costs 5 per point.
    assert wasserstein(SortedSample.from_unsorted(np.array([0.0, 1, 3])), SortedSample.from_unsorted(np.array([5.0, 6, 8]))) == pytest.approx(5.0)


def test_large_sample_uses_asymptotic_pvalue_like_scipy():
    ref, cur = _pair(20_000, 15_000, "continuous")
    res = numeric_drift(SortedSample.from_unsorted(cur), SortedSample.from_unsorted(ref))
    want = sps.ks_2samp(cur, ref, method="auto")
    assert res.ks_statistic == pytest.approx(want.statistic, abs=1e-15)
    assert res.ks_pvalue == pytest.approx(want.pvalue, rel=1e-10)


def _psi_reference(cur, ref):
    edges = np.unique(np.quantile(ref, np.arange(1, 10) / 10))
    c = np.bincount(np.searchsorted(edges, cur, "right"), minlength=edges.size + 1) / cur.size
    r = np.bincount(np.searchsorted(edges, ref, "right"), minlength=edges.size + 1) / ref.size
    c, r = np.maximum(c, 1e-4), np.maximum(r, 1e-4)
    return float(np.sum((c - r) * np.log(c / r)))


def test_psi_hand_worked():
    ref = np.arange(100, dtype=float)  # deciles 9.9, 19.8, ...: ten bins of 10 rows each
    cur = np.concatenate([np.full(50, 1.0), np.full(50, 95.0)])  # half in the first bin, half in the last
    # bins: 0.5, 0 (floored 1e-4) x 8, 0.5 against 0.1 each
    want = 2 * (0.5 - 0.1) * np.log(0.5 / 0.1) + 8 * (1e-4 - 0.1) * np.log(1e-4 / 0.1)
    assert psi(SortedSample.from_unsorted(cur), SortedSample.from_unsorted(ref)) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("kind", ["continuous", "ties", "shared"])
def test_psi_matches_reference_definition(kind):
    ref, cur = _pair(3000, 2000, kind)
    assert psi(SortedSample.from_unsorted(cur), SortedSample.from_unsorted(ref)) == pytest.approx(_psi_reference(cur, ref), rel=1e-12)


def test_psi_merges_duplicate_edges_for_discrete_columns():
    ref = np.array([0.0] * 85 + [1.0] * 15)  # deciles 1-8 are 0, decile 9 is 1: edges {0, 1}
    sample = SortedSample.from_unsorted(ref)
    assert list(sample.psi_edges()) == [0.0, 1.0]
    assert psi(sample, sample) == 0.0


def test_constant_and_identical_samples_have_no_drift():
    const = SortedSample.from_unsorted(np.full(50, 3.0))
    res = numeric_drift(const, const)
    assert (res.ks_statistic, res.ks_pvalue, res.wasserstein, res.psi) == (0.0, 1.0, 0.0, 0.0)


def test_non_finite_values_are_left_out_and_empty_sides_give_none():
    cur = SortedSample.from_unsorted(np.array([np.nan, np.inf, -np.inf, 1.0, 2.0]))
    assert list(cur.values) == [1.0, 2.0]
    empty = SortedSample.from_unsorted(np.array([np.nan, np.inf]))
    assert numeric_drift(empty, cur) is None and numeric_drift(cur, empty) is None
    ref = np.array([1.5, 2.5, 3.0])
    assert wasserstein(cur, SortedSample.from_unsorted(ref)) == pytest.approx(sps.wasserstein_distance([1.0, 2.0], ref))


# --- categorical ----------------------------------------------------------------------------------


def test_categorical_statistics_equal_scipy():
    cur = np.array([30, 10, 0, 5, 5])  # last entry = nulls, a category of their own
    ref = np.array([20, 20, 10, 0, 10])
    res = categorical_drift(cur, ref)
    table = np.array([[30, 10, 0, 5, 5], [20, 20, 10, 0, 10]], dtype=float)
    want = sps.chi2_contingency(table, correction=False)
    p, q = table[0] / 50, table[1] / 60
    assert res.chi2_statistic == pytest.approx(want.statistic, rel=1e-12)
    assert res.chi2_pvalue == pytest.approx(want.pvalue, rel=1e-12)
    assert res.js == pytest.approx(jensenshannon(p, q, base=2), rel=1e-12)
    assert res.tv == pytest.approx(0.5 * np.abs(p - q).sum(), rel=1e-12)
    assert res.l_infinity == pytest.approx(np.abs(p - q).max(), rel=1e-12)


def test_two_by_two_table_has_no_continuity_correction():
    res = categorical_drift(np.array([10, 30, 0]), np.array([20, 20, 0]))
    want = sps.chi2_contingency(np.array([[10, 30], [20, 20]]), correction=False)
    assert res.chi2_statistic == pytest.approx(want.statistic)
    # hand-worked: expected 15/25 per cell row-wise; chi2 = 2*(25/15 + 25/25) = 5.333...
    assert res.chi2_statistic == pytest.approx(16 / 3)


def test_unseen_category_and_single_category():
    # a category only the current window has: JS and TV see the whole mass moved
    res = categorical_drift(np.array([0, 10, 0]), np.array([10, 0, 0]))
    assert res.tv == 1.0 and res.l_infinity == 1.0
    assert res.js == pytest.approx(1.0)
    same = categorical_drift(np.array([5, 0]), np.array([9, 0]))
    assert (same.chi2_statistic, same.chi2_pvalue, same.js, same.tv) == (0.0, 1.0, 0.0, 0.0)
    assert categorical_drift(np.array([0, 0]), np.array([3, 1])) is None


def test_high_cardinality_keeps_top_100_and_an_other_bucket():
    k = 1000
    cur = np.concatenate([np.arange(k, 0, -1), [7]])  # code 0 most frequent, nulls = 7
    ref = np.concatenate([np.arange(k, 0, -1), [0]])
    table = category_table(cur, ref)
    assert table.shape == (2, 100 + 1 + 1)
    assert table[0, :100].tolist() == list(range(k, k - 100, -1))
    assert table[0, 100] == cur[100:k].sum() and table[0, 101] == 7
    assert table[1, 101] == 0  # the null column stays although only one side has nulls


SMIRNOV_CASES = [(n, nx2) for n in (141, 500, 8_571, 32_000, 300_000) for nx2 in (2.2, 3.0, 10.0, 100.0, 349.0)
                 if nx2 / n < 0.25]  # x < 0.5: above it scipy takes another branch


@pytest.mark.parametrize("n,nx2", SMIRNOV_CASES)
def test_smirnov_sum_equals_scipy_kstwo(n, nx2):
    """The vectorised Smirnov sum gives scipy's kstwo.sf wherever scipy itself uses that sum."""
    from lakemon_jobs.monitor_engine.stats import _uses_smirnov_sum, smirnov_sf

    x = float(np.sqrt(nx2 / n)) * 1.0001
    assert _uses_smirnov_sum(n, x)
    assert 2 * smirnov_sf(n, x) == pytest.approx(float(sps.kstwo.sf(x, n)), rel=1e-10, abs=1e-300)


def test_smirnov_sum_is_used_only_in_its_branch():
    from lakemon_jobs.monitor_engine.stats import _uses_smirnov_sum

    assert not _uses_smirnov_sum(32_000, 0.001)  # n x^2 < 2.2: Pelz-Good / Durbin in scipy
    assert not _uses_smirnov_sum(32_000, 0.2)  # n x^2 >= 370: scipy returns 0
    assert not _uses_smirnov_sum(100, 0.3)  # n <= 140: scipy's small-n methods
    assert not _uses_smirnov_sum(5_000_000, 0.001)  # n > 1e6: scipy approximates


@pytest.mark.parametrize("shift", [0.0, 0.02, 0.05, 0.3])
def test_ks_pvalue_of_large_samples_equals_scipy_in_every_branch(shift):
    """From no drift (Pelz-Good) through moderate (Smirnov sum) to strong (underflow to 0)."""
    cur, ref = RNG.normal(shift, 1, 20_000), RNG.normal(0, 1, 60_000)
    got = ks_test(SortedSample.from_unsorted(cur), SortedSample.from_unsorted(ref))
    want = sps.ks_2samp(cur, ref)
    assert got[0] == pytest.approx(float(want.statistic), abs=1e-15)
    assert got[1] == pytest.approx(float(want.pvalue), rel=1e-10, abs=1e-300)


@pytest.mark.parametrize("n", [1, 2, 3, 10, 999, 10_001])
def test_sorted_quantiles_are_numpy_quantiles_bit_for_bit(n):
    """PSI bin edges must be numpy's deciles exactly: a value on an edge changes its bin."""
    from lakemon_jobs.monitor_engine.stats import sorted_quantiles

    for values in (np.sort(RNG.normal(0, 1, n)), np.sort(np.round(RNG.normal(0, 3, n)))):
        qs = np.linspace(0.0, 1.0, 101)
        assert sorted_quantiles(values, qs).tolist() == np.quantile(values, qs).tolist()
        sample = SortedSample(values)
        assert sample.psi_edges().tolist() == np.unique(np.quantile(values, np.arange(1, 10) / 10)).tolist()


PELZ_GOOD_CASES = [(n, nx2) for n in (141, 1_000, 8_571, 100_001, 500_000, 5_000_000)
                   for nx2 in (0.05, 0.3, 0.8, 1.5, 2.19)]


@pytest.mark.parametrize("n,nx2", PELZ_GOOD_CASES)
def test_pelz_good_series_equals_scipy_kstwo_where_scipy_uses_it(n, nx2):
    from lakemon_jobs.monitor_engine.stats import _uses_pelz_good, pelz_good_sf

    x = float(np.sqrt(nx2 / n))
    want = float(sps.kstwo.sf(x, n))
    if _uses_pelz_good(n, x):
        assert pelz_good_sf(n, x) == pytest.approx(want, rel=1e-10)
    else:  # small n*x or Durbin's region: scipy's own kstwo.sf is called
        assert n * x <= 1 or (n <= 100_000 and n * x**1.5 <= 1.4)


@pytest.mark.parametrize("n", [141, 10_000, 500_000, 3_000_000])
@pytest.mark.parametrize("nx2", [370.0, 400.0, 5_000.0])
def test_strong_drift_p_value_is_scipys_exact_zero(n, nx2):
    from lakemon_jobs.monitor_engine.stats import _underflows

    x = float(np.sqrt(nx2 / n)) * 1.0001
    if x < 0.5:
        assert _underflows(n, x) and float(sps.kstwo.sf(x, n)) == 0.0
    else:
        assert not _underflows(n, x)


def test_large_sample_p_values_do_not_need_scipy_stats():
    """Large windows without drift or with strong drift never import scipy.stats (1 s of CPU):
    checked in a fresh interpreter, with p-values in the Pelz-Good and underflow branches. (The
    Smirnov branch uses the public scipy.stats.binom.pmf, so it imports it.)"""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from lakemon_jobs.monitor_engine.stats import SortedSample, ks_test\n"
        "r = np.random.default_rng(1)\n"
        "ref = SortedSample.from_unsorted(r.normal(0, 1, 50_000))\n"
        "for shift in (0.0, 0.5):\n"
        "    ks_test(SortedSample.from_unsorted(r.normal(shift, 1, 40_000)), ref)\n"
        "print('scipy.stats' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("side", ["left", "right"])
def test_blocked_searchsorted_equals_numpy(side):
    from lakemon_jobs.monitor_engine.stats import searchsorted_sorted

    a = np.sort(np.round(RNG.normal(0, 50, 200_000)))  # many ties
    for keys in (np.sort(np.round(RNG.normal(3, 60, 50_000))), np.sort(RNG.normal(0, 1, 30_000)),
                 np.full(40_000, a[100]), np.sort(RNG.normal(0, 50, 100))):
        assert np.array_equal(searchsorted_sorted(a, keys, side), np.searchsorted(a, keys, side))


def test_a_profiled_samples_psi_edges_are_its_own_deciles():
    """numeric_state computes the profile quantiles and the PSI deciles in one numpy.quantile
    call; the edges must be those psi_edges computes on its own (ties and tiny samples too)."""
    from lakemon_jobs.monitor_engine.columns import numeric_state
    from lakemon_jobs.monitor_engine.stats import PSI_QUANTILES, SortedSample

    rng = np.random.default_rng(7)
    for n in (1, 2, 9, 10, 11, 1001, 50_000):
        for values in (rng.normal(size=n), np.round(rng.lognormal(3.0, 1.2, n)), rng.integers(0, 2, n).astype(float)):
            state = numeric_state(values, np.zeros(n, dtype=bool))
            alone = SortedSample.from_unsorted(values)
            assert np.array_equal(state.sample.psi_edges(), alone.psi_edges())
            assert np.array_equal(alone.psi_edges(), np.unique(np.quantile(values, PSI_QUANTILES)))
