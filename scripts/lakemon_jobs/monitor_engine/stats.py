"""Drift statistics, exact, computed from SORTED samples so a baseline is sorted once and reused.

Each function states the scipy function it equals; tests/monitoring check them against scipy.
Why not just call scipy? `ks_2samp` and `wasserstein_distance` re-sort and merge both samples
on every call (O((n + m) log(n + m))). Here the reference side is sorted once (and stored by a
refresh), and every comparison costs O(m log n) in the size m of the window: a 1M-row baseline
compared with 30 daily windows is 30 binary searches, not 30 merges of a million rows.
"""

from __future__ import annotations

import importlib
import math
import threading
from dataclasses import dataclass, field

import numpy as np

from lakemon.contract.statistics import KINDS, statistics_of

# scipy (special and stats) is imported lazily, where a statistic needs it: importing scipy.stats
# takes about 1 s of one core, longer than the statistics of a large window take to compute.
_preload: list[threading.Thread] = []


def _import_slow_modules() -> None:
    # The process's switch interval is left alone (changing it is global to the interpreter).
    importlib.import_module("scipy.special")
    import pyarrow as pa  # lazy: the background preload itself

    pa.array([0])  # pyarrow imports pandas (if installed) on its first conversion of Python objects


def preload_slow_imports() -> None:
    """Start importing scipy.special and pandas in a background thread (once per process).

    scipy.special (0.3 s of one core) serves the categorical tests and the KS p-values; pandas
    (0.4 s) because pyarrow imports it the first time it converts Python objects (the metrics
    rows). Callers start this before reading Parquet and sorting, which release the GIL, so the
    imports overlap that work. scipy.stats (1 s) is imported only where a p-value needs it
    (samples of at most 10,000 rows, rare kstwo branches): see `ks_pvalue`."""
    if not _preload:
        thread = threading.Thread(target=_import_slow_modules, daemon=True)
        _preload.append(thread)
        thread.start()


PSI_BINS = 10
PSI_QUANTILES = np.arange(1, PSI_BINS) / PSI_BINS
"""Where the PSI bins are cut: the reference's deciles."""
PSI_FLOOR = 1e-4
TOP_CATEGORIES = 100
KS_EXACT_MAX_N = 10_000
"""scipy's ks_2samp(method='auto') computes the exact p-value up to this many rows per sample."""


def sorted_quantiles(v: np.ndarray, qs: np.ndarray) -> np.ndarray:
    """numpy.quantile(v, qs) (method 'linear') of a sorted v.

    Public numpy only: numpy partitions a copy of v, which on sorted input costs one linear
    pass; a hand copy of numpy's private interpolation (`_lerp`) saved that pass but could
    drift from numpy silently."""
    return np.quantile(v, qs)


@dataclass
class SortedSample:
    """The finite values of one numeric column in one window (or the baseline), sorted.

    The helpers below (prefix sums, runs of equal values, decile edges) are built lazily and
    kept, because a reference sample (the baseline) is compared with many windows."""

    values: np.ndarray
    _prefix: np.ndarray | None = field(default=None, repr=False)
    _shift: float = 0.0
    _runs: tuple[np.ndarray] | None = field(default=None, repr=False)
    _edges: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def from_unsorted(cls, values: np.ndarray) -> SortedSample:
        finite = values[np.isfinite(values)]
        finite.sort()
        return cls(finite)

    @property
    def n(self) -> int:
        return int(self.values.shape[0])

    def prefix(self) -> tuple[np.ndarray, float]:
        """Cumulative sums of (values - shift), with a leading 0."""
        if self._prefix is None:
            a = self.values
            # Shifting by the median keeps partial sums small, so P(x) below keeps its precision.
            self._shift = float(a[a.shape[0] // 2]) if a.shape[0] else 0.0
            self._prefix = np.concatenate(([0.0], np.cumsum(a - self._shift)))
        return self._prefix, self._shift

    def run_starts(self) -> np.ndarray | None:
        """Start index of every run of equal values, or None when all values are distinct.

        Kept instead of per-position arrays: its size is the number of distinct values, so a
        tie-heavy column (integers, rounded values) costs little memory."""
        if self._runs is None:
            a = self.values
            n = a.shape[0]
            if n < 2 or not np.any(a[1:] == a[:-1]):
                self._runs = (np.empty(0, np.int64),)
            else:
                is_start = np.empty(n, dtype=bool)
                is_start[0] = True
                np.not_equal(a[1:], a[:-1], out=is_start[1:])
                self._runs = (np.flatnonzero(is_start),)
        starts = self._runs[0]
        return starts if starts.shape[0] else None

    def run_bounds(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(first index, one past the last index) of the run of equal values at each position;
        the same as searchsorted(values, values[positions], 'left'/'right')."""
        starts = self.run_starts()
        if starts is None:
            return positions, positions + 1
        k = np.searchsorted(starts, positions, "right")
        ends = np.append(starts[1:], self.n)
        return starts[k - 1], ends[k - 1]

    def psi_edges(self) -> np.ndarray:
        """Inner bin edges at this sample's deciles (numpy linear quantiles), duplicates merged."""
        if self._edges is None:
            self.set_deciles(sorted_quantiles(self.values, PSI_QUANTILES) if self.n else np.empty(0))
        return self._edges

    def set_deciles(self, deciles: np.ndarray) -> None:
        """Keep `sorted_quantiles(values, PSI_QUANTILES)` computed by a caller that needed other
        quantiles of the same values too (one numpy.quantile pass instead of two: numpy computes
        each quantile on its own, so the values are the same)."""
        self._edges = np.unique(deciles)


@dataclass(frozen=True)
class NumericDrift:
    ks_statistic: float
    ks_pvalue: float
    wasserstein: float
    psi: float


def numeric_drift(cur: SortedSample, ref: SortedSample) -> NumericDrift | None:
    """KS test, Wasserstein distance and PSI of `cur` against `ref`; None when either is empty.

    KS and Wasserstein come from one pass over the two sorted samples (see `_ks_and_w1`)."""
    if cur.n == 0 or ref.n == 0:
        return None
    d, w1 = _ks_and_w1(cur, ref)
    return NumericDrift(d, ks_pvalue(cur, ref, d), w1, _psi(cur, ref))


def ks_test(cur: SortedSample, ref: SortedSample) -> tuple[float, float] | None:
    """Two-sided scipy.stats.ks_2samp(cur, ref) with method='auto': (statistic, p-value)."""
    if cur.n == 0 or ref.n == 0:
        return None
    d = _ks_and_w1(cur, ref)[0]
    return d, ks_pvalue(cur, ref, d)


def wasserstein(cur: SortedSample, ref: SortedSample) -> float | None:
    """scipy.stats.wasserstein_distance(cur, ref)."""
    if cur.n == 0 or ref.n == 0:
        return None
    return _ks_and_w1(cur, ref)[1]


def psi(cur: SortedSample, ref: SortedSample) -> float | None:
    """Population stability index of `cur` against `ref` (see `_psi`)."""
    if cur.n == 0 or ref.n == 0:
        return None
    return _psi(cur, ref)


MERGE_RATIO = 8
"""Merge the two samples when the window has more than 1/MERGE_RATIO as many distinct values
as both samples have values: a binary search per window value then costs more than one
linear pass over both (measured: about 190 ns per searched value, 40 ns per merged value)."""


def _ks_and_w1(cur: SortedSample, ref: SortedSample, method: str | None = None) -> tuple[float, float]:
    """(KS statistic, Wasserstein-1 distance) of two non-empty sorted samples.

    Two exact methods, chosen by cost: a small window against a large reference binary-searches
    its distinct values in the reference (O(m log n), `_Steps`); a window about as large as the
    reference merges both samples in one linear pass (O(n + m), `_merged`)."""
    if method is None:
        distinct = cur.n if cur.run_starts() is None else cur.run_starts().shape[0]
        method = "merge" if distinct * MERGE_RATIO > cur.n + ref.n else "search"
    if method == "merge":
        return _merged(cur, ref)
    steps = _Steps(cur, ref)
    return _ks_statistic(cur, ref, steps), _wasserstein(cur, ref, steps)


SEARCH_BLOCK = 4096


def searchsorted_sorted(a: np.ndarray, keys: np.ndarray, side: str) -> np.ndarray:
    """np.searchsorted(a, keys, side) for SORTED keys, a third faster on large inputs: each
    block of keys is searched only within the slice of `a` its first and last key bound
    (a shallower search that stays in cache)."""
    if keys.shape[0] <= 4 * SEARCH_BLOCK:
        return np.searchsorted(a, keys, side)
    starts = np.arange(0, keys.shape[0], SEARCH_BLOCK)
    lo = np.searchsorted(a, keys[starts], side)
    hi = np.searchsorted(a, keys[np.minimum(starts + SEARCH_BLOCK, keys.shape[0]) - 1], side)
    out = np.empty(keys.shape[0], dtype=np.intp)
    for start, first, last in zip(starts.tolist(), lo.tolist(), hi.tolist(), strict=True):
        block = out[start:start + SEARCH_BLOCK]
        block[:] = np.searchsorted(a[first:last], keys[start:start + SEARCH_BLOCK], side)
        block += first
    return out


MERGE_BLOCK = 1 << 16
"""Merged positions processed per block: temporaries stay in the CPU cache and memory stays
flat (a 1M + 1M merge would otherwise hold several 16 MB arrays per column and thread)."""


def _merged(cur: SortedSample, ref: SortedSample) -> tuple[float, float]:
    """Both ECDFs over the merged sample, exactly as scipy evaluates them.

    The merge needs no sort: a window value lands after the reference values <= it
    (searchsorted 'right') and after the window values before it. At the last element of each
    run of equal values, the running counts are the ECDFs there (what scipy's searchsorted over
    the union gives), so KS is the largest gap at run ends and Wasserstein the sum of gaps
    times the distance to the next merged value (zero inside a run), as in
    scipy.stats.wasserstein_distance (summed per block: equal to ~1e-15 relative)."""
    a, b = ref.values, cur.values
    n, m = a.shape[0], b.shape[0]
    total = n + m
    pos = searchsorted_sorted(a, b, "right")
    for start in range(0, m, MERGE_BLOCK):  # pos += arange(m), without an m-long temporary
        stop = min(m, start + MERGE_BLOCK)
        pos[start:stop] += np.arange(start, stop)
    from_cur = np.zeros(total, dtype=bool)
    from_cur[pos] = True
    merged = np.empty(total)
    merged[pos] = b
    del pos
    np.place(merged, ~from_cur, a)  # in order into the free slots: half the time of mask assignment
    d, w_parts, cur_before = 0.0, [], 0
    for start in range(0, total, MERGE_BLOCK):
        stop = min(total, start + MERGE_BLOCK)
        cur_count = np.cumsum(from_cur[start:stop], dtype=np.int64)
        cur_count += cur_before
        cur_before = int(cur_count[-1])
        ref_count = np.arange(start + 1, stop + 1, dtype=np.int64)
        ref_count -= cur_count
        gap = cur_count / m
        gap -= ref_count / n
        np.abs(gap, out=gap)
        here, after = merged[start:min(stop, total - 1)], merged[start + 1:stop + 1]
        run_end = np.ones(stop - start, dtype=bool)  # the last merged value ends its run
        np.not_equal(here, after, out=run_end[: here.shape[0]])
        d = max(d, float(np.max(gap, where=run_end, initial=0.0)))
        deltas = after - here
        deltas *= gap[: here.shape[0]]
        w_parts.append(np.sum(deltas))
    return d, float(np.sum(w_parts))


class _Steps:
    """Where the window's ECDF steps, and the reference's counts there.

    Only the window's DISTINCT values matter (an ECDF is flat between them), so a column with
    ties (integers, rounded values) costs as many operations as it has distinct values.
    `u`: distinct window values; `lb`/`rb`: window counts < u and <= u;
    `la`/`ra`: reference counts < u and <= u."""

    def __init__(self, cur: SortedSample, ref: SortedSample) -> None:
        b, a = cur.values, ref.values
        starts = cur.run_starts()
        if starts is None:
            self.u = b
            self.lb = np.arange(cur.n, dtype=np.int64)
            self.rb = self.lb + 1
        else:
            self.u = b[starts]
            self.lb = starts
            self.rb = np.append(starts[1:], cur.n)
        self.ra = np.searchsorted(a, self.u, "right")
        prev = np.maximum(self.ra - 1, 0)
        tie = np.flatnonzero((self.ra > 0) & (a[prev] == self.u))
        self.la = self.ra
        if tie.shape[0]:
            self.la = self.ra.copy()
            self.la[tie] = np.searchsorted(a, self.u[tie], "left")


def _ks_statistic(cur: SortedSample, ref: SortedSample, st: _Steps) -> float:
    """D = sup |F_cur - F_ref|. Both ECDFs are step functions, so the supremum is reached at a
    window value or just before one; the counts there are exactly the differences scipy
    evaluates at every point of the union."""
    m, n = cur.n, ref.n
    return float(max(np.max(np.abs(st.rb / m - st.ra / n)), np.max(np.abs(st.lb / m - st.la / n))))


def ks_pvalue(cur: SortedSample, ref: SortedSample, d: float) -> float:
    """The p-value of scipy.stats.ks_2samp(method='auto'): exact up to 10,000 rows per side
    (scipy's own code, it needs the samples), else scipy.stats.kstwo.sf(D, round(n*m/(n+m))).

    kstwo.sf picks one of several methods by n and D (scipy.stats._ksstats._kolmogn, scipy
    1.17, which pyproject.toml pins). The three that large samples reach are evaluated here, so
    that a refresh of large windows does not run scipy's term-by-term loop (holding the GIL):
    Smirnov's exact sum (`smirnov_sf`), the Pelz-Good series (`pelz_good_sf`) and the exact 0
    of strong drift (`_underflows`). Tests check them against kstwo.sf over grids of n and D;
    every other case calls kstwo.sf itself."""
    m, n = cur.n, ref.n
    if max(m, n) <= KS_EXACT_MAX_N:
        from scipy import stats as sps  # lazy: scipy loads in the background (preload_slow_imports)

        return float(sps.ks_2samp(cur.values, ref.values).pvalue)
    big, small = (float(m), float(n)) if m >= n else (float(n), float(m))
    en = int(np.round(big * small / (big + small)))
    if _uses_smirnov_sum(en, d):
        return float(np.clip(2.0 * smirnov_sf(en, d), 0, 1))
    if _uses_pelz_good(en, d):
        return float(np.clip(pelz_good_sf(en, d), 0, 1))
    if _underflows(en, d):
        return 0.0
    from scipy import stats as sps  # lazy: scipy loads in the background (preload_slow_imports)

    return float(np.clip(sps.kstwo.sf(d, en), 0, 1))


def _underflows(n: int, x: float) -> bool:
    """True where scipy's kstwo.sf(x, n) returns exactly 0 without computing: n > 140,
    1 < n*x, x < 0.5 and n*x*x >= 370 (strong drift in a large sample)."""
    t = n * x
    return n > 140 and 0 < x < 0.5 and 1 < t < n - 1 and t * x >= 370


def _uses_pelz_good(n: int, x: float) -> bool:
    """True where scipy's kstwo.sf(x, n) is 1 - the Pelz-Good approximation of the CDF:
    n > 140, 1 < n*x, x < 0.5, n*x*x < 2.2, and not Durbin's matrix method (n <= 100,000 and
    n * x**1.5 <= 1.4)."""
    t = n * x
    durbin = n <= 100_000 and n * x**1.5 <= 1.4
    return n > 140 and 0 < x < 0.5 and 1 < t < n - 1 and t * x < 2.2 and not durbin


def pelz_good_sf(n: int, x: float) -> float:
    """1 - P(D_n <= x) by the Pelz-Good (1976) asymptotic series, in the form given by
    Simard and L'Ecuyer (2011, J. Stat. Software 39(11), section 2.1):
    P(D_n <= x) ~ K0(z) + K1(z)/sqrt(n) + K2(z)/n + K3(z)/n^(3/2), z = x sqrt(n), each K_i a
    theta-type series over odd multiples of pi/(2z) (plus, for K2 and K3, one over integer
    multiples of pi/z). Sums run to ceil(16 z / pi) terms, beyond which terms are below 1e-50
    of the first."""
    z = x * math.sqrt(n)
    z2 = z * z
    if -math.pi**2 / (8 * z2) < -708:  # every term underflows: the CDF is 0
        return 1.0
    terms = int(math.ceil(16 * z / math.pi))
    h2 = (np.arange(1, terms + 1, dtype=np.float64) - 0.5) ** 2 * math.pi**2  # (pi (k - 1/2))^2
    e_odd = np.exp(-h2 / (2 * z2))
    j2 = np.arange(1, terms + 1, dtype=np.float64) ** 2 * math.pi**2  # (pi k)^2
    e_int = np.exp(-j2 / (2 * z2))
    z4, z6 = z2 * z2, z2 * z2 * z2
    root = math.sqrt(2 * math.pi)
    k0 = root / z * np.sum(e_odd)
    k1 = root / (6 * z**4) * np.sum((h2 - z2) * e_odd)
    k2 = (root / (72 * z**7) * np.sum((6 * z6 + 2 * z4 + (2 * z4 - 5 * z2) * h2 + (1 - 2 * z2) * h2 * h2) * e_odd)
          - root / (36 * z**3) * np.sum(j2 * e_int))
    k3 = (root / (6480 * z**10) * np.sum((-30 * z6 - 90 * z6 * z2 + (135 * z4 - 96 * z6) * h2
                                          + (212 * z4 - 60 * z2) * h2 * h2 + (5 - 30 * z2) * h2 * h2 * h2) * e_odd)
          + root / (216 * z**6) * np.sum((3 * z2 - j2) * j2 * e_int))
    cdf = k0 + k1 / math.sqrt(n) + k2 / n + k3 / n**1.5
    return float(1.0 - cdf)


def _uses_smirnov_sum(n: int, x: float) -> bool:
    """True where scipy's kstwo.sf(x, n) is 2 * scipy.special.smirnov(n, x) computed by the
    exact sum (scipy.stats._ksstats._kolmogn, scipy 1.17): n > 140, 1 < n*x, x < 0.5 and
    2.2 <= n*x*x < 370; and where that sum neither underflows (n*x*x > ~354) nor is replaced
    by an approximation (n > 1,000,000). Elsewhere kstwo.sf is cheap and is called as it is."""
    t = n * x
    return 140 < n <= 1_000_000 and 0 < x < 0.5 and 1 < t < n - 1 and 2.2 <= t * x <= 350


def smirnov_sf(n: int, x: float) -> float:
    """scipy.special.smirnov(n, x) = P(D+_n >= x), Smirnov's exact finite sum, vectorised.

    x * sum over j = 0 .. ceil(n(1-x)) - 1 of C(n, j) (x + j/n)^(j-1) (1 - x - j/n)^(n-j).
    With p_j = x + j/n each term is binom.pmf(j, n, p_j) / p_j, and scipy's binomial pmf
    (Boost, accurate to a few ulps) gives it without overflow. scipy sums the same terms one at
    a time in double-double arithmetic, about 1 us each: 30 ms for n = 32,000, 0.5 s for
    n = 500,000, holding the GIL. One vectorised call is 10x faster, releases the GIL, and
    agrees with scipy to about 1e-13 relative (tests check 1e-10 over a grid).

    The pmf is scipy.stats.binom.pmf (public API; the same Boost ufunc underneath)."""
    from scipy.stats import binom  # lazy: scipy loads in the background (preload_slow_imports)

    last = int(math.ceil(n * (1.0 - x))) - 1  # the term at 1 - x - j/n = 0 is zero
    j = np.arange(last + 1, dtype=np.float64)
    p = j / n
    p += x
    terms = binom.pmf(j, n, p)
    terms /= p
    return float(x * np.sum(terms))


def _wasserstein(cur: SortedSample, ref: SortedSample, st: _Steps) -> float:
    """Integral of |F_cur - F_ref| over the line, as scipy.stats.wasserstein_distance.

    Between consecutive distinct window values F_cur is a constant c and F_ref is
    non-decreasing, so the integral of |F_ref - c| splits where F_ref reaches c. The integral
    of F_ref up to x, P(x) = sum over ref values a <= x of (x - a) / n, comes from prefix sums."""
    a, u, ra = ref.values, st.u, st.ra
    m, n = cur.n, ref.n
    S, shift = ref.prefix()

    def P(x: np.ndarray, k: np.ndarray) -> np.ndarray:
        return (k * (x - shift) - S[k]) / n

    Pu = P(u, ra)
    head = Pu[0]
    k_last = ra[-1]
    tail = ((S[n] - S[k_last]) - (n - k_last) * (u[-1] - shift)) / n
    if u.shape[0] == 1:
        return float(max(head + tail, 0.0))
    lo, hi = u[:-1], u[1:]
    counts = st.rb[:-1]
    c = counts / m
    need = (counts * n + m - 1) // m  # smallest count of ref values at which F_ref >= c
    at = np.minimum(need, n) - 1
    t = np.where(need <= n, a[at], np.inf)
    below, above = t < lo, t > hi
    k_t = np.where(below, ra[:-1], np.where(above, ra[1:], 0))
    inside = np.flatnonzero(~(below | above))
    if inside.shape[0]:
        k_t[inside] = ref.run_bounds(at[inside])[1]
    xs = np.clip(t, lo, hi)
    Px = P(xs, k_t)
    # c*(xs-lo) - (Px-P(lo)) + (P(hi)-Px) - c*(hi-xs), regrouped
    body = c * (2 * xs - lo - hi) - 2 * Px + Pu[:-1] + Pu[1:]
    return float(max(head + np.sum(body) + tail, 0.0))


def _psi(cur: SortedSample, ref: SortedSample) -> float:
    """sum((c - r) * ln(c / r)) over bins cut at ref's deciles.

    Bins are left-closed [e_i, e_i+1), the outer two open-ended; equal deciles merge bins (a
    column with few distinct values gets fewer bins); proportions below 1e-4 are raised to 1e-4
    so an empty bin gives a large but finite contribution."""
    edges = ref.psi_edges()
    c = _bin_proportions(cur.values, edges)
    r = _bin_proportions(ref.values, edges)
    return float(np.sum((c - r) * np.log(c / r)))


def _bin_proportions(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    n = sorted_values.shape[0]
    cuts = np.searchsorted(sorted_values, edges, "left")
    counts = np.diff(np.concatenate(([0], cuts, [n])))
    return np.maximum(counts / n, PSI_FLOOR)


# --- categorical ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoricalDrift:
    js: float
    chi2_statistic: float
    chi2_pvalue: float
    tv: float
    l_infinity: float


def category_table(
    cur: np.ndarray, ref: np.ndarray, top: int = TOP_CATEGORIES, rank: np.ndarray | None = None
) -> np.ndarray:
    """2 x k count table from two count vectors over the same codes (the LAST code is null).

    The `top` most frequent non-null codes (by the sum of both sides' proportions) keep their own
    column; the other non-null codes share one "other" column; null is its own column. Columns
    empty on both sides are dropped. Ties at the cut go to the lower `rank` (the rank of each
    code's value in value order, so the choice does not depend on the order rows arrived in);
    without one, to the lower code."""
    k = max(cur.shape[0], ref.shape[0])
    cur = np.pad(cur, (0, k - cur.shape[0])) if cur.shape[0] < k else cur
    ref = np.pad(ref, (0, k - ref.shape[0])) if ref.shape[0] < k else ref
    cur_vals, ref_vals = cur[:-1], ref[:-1]
    if cur_vals.shape[0] > top:
        weight = cur_vals / max(cur.sum(), 1) + ref_vals / max(ref.sum(), 1)
        tiebreak = np.arange(weight.shape[0]) if rank is None else rank[: weight.shape[0]]
        order = np.lexsort((tiebreak, -weight))
        keep, rest = order[:top], order[top:]
        cur_cols = np.concatenate((cur_vals[keep], [cur_vals[rest].sum()], cur[-1:]))
        ref_cols = np.concatenate((ref_vals[keep], [ref_vals[rest].sum()], ref[-1:]))
    else:
        cur_cols, ref_cols = cur, ref
    table = np.vstack((cur_cols, ref_cols)).astype(np.float64)
    return table[:, table.sum(axis=0) > 0]


def categorical_drift(cur: np.ndarray, ref: np.ndarray, rank: np.ndarray | None = None) -> CategoricalDrift | None:
    """JS distance (base 2), chi-squared contingency test, TV and L-infinity distances of two
    count vectors over the same codes (last code = null). None when either side is empty.
    `rank`: value rank of each code, for ties at the "other" cut (see `category_table`)."""
    if cur.sum() == 0 or ref.sum() == 0:
        return None
    table = category_table(cur, ref, rank=rank)
    p = table[0] / table[0].sum()
    q = table[1] / table[1].sum()
    diff = np.abs(p - q)
    js = jensenshannon_base2(p, q)
    if table.shape[1] < 2:
        stat, pvalue = 0.0, 1.0  # one category on both sides: identical distributions
    else:
        stat, pvalue = chi2_contingency_test(table)
    return CategoricalDrift(
        js=js if math.isfinite(js) else 0.0,
        chi2_statistic=stat,
        chi2_pvalue=pvalue,
        tv=float(0.5 * diff.sum()),
        l_infinity=float(diff.max()),
    )


def jensenshannon_base2(p: np.ndarray, q: np.ndarray) -> float:
    """scipy.spatial.distance.jensenshannon(p, q, base=2), the same operations in numpy."""
    p = p / np.sum(p)
    q = q / np.sum(q)
    m = (p + q) / 2.0
    from scipy import special  # lazy: scipy loads in the background (preload_slow_imports)

    js = np.sum(special.rel_entr(p, m)) + np.sum(special.rel_entr(q, m))
    return float(np.sqrt(js / np.log(2.0) / 2.0))


def chi2_contingency_test(table: np.ndarray) -> tuple[float, float]:
    """scipy.stats.chi2_contingency(table, correction=False) for a 2 x k table with no empty
    column: Pearson's statistic against the independence expectation, p = chi2.sf(stat, k - 1)."""
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    stat = float(np.sum((table - expected) ** 2 / expected))
    dof = (table.shape[0] - 1) * (table.shape[1] - 1)
    from scipy import special  # lazy: scipy loads in the background (preload_slow_imports)

    return stat, float(special.chdtrc(dof, stat))


# --- the drift metrics table's columns --------------------------------------------------------------

_BY_KIND = {kind: statistics_of(kind) for kind in KINDS}


def statistic_fields(result: NumericDrift | CategoricalDrift, kind: str) -> dict:
    """The drift-metrics columns of one comparison: one per statistic of `kind` in the registry
    (lakemon.contract.statistics), read from `result` by the attribute its descriptor names, a
    test as its struct {statistic, pvalue}. So a new statistic is one descriptor plus its
    computation here; the engine names none."""
    return {
        s.name: {"statistic": getattr(result, s.engine_value), "pvalue": getattr(result, s.engine_pvalue)}
        if s.is_test else getattr(result, s.engine_value)
        for s in _BY_KIND[kind]
    }
