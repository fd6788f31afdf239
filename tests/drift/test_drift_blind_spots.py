"""Changes the default numeric statistic (PSI on baseline deciles) cannot see, judged end to end:
the monitor engine computes the drift metrics, analyze-drift judges them.

PSI cuts its bins at the baseline's deciles and merges repeated deciles, so a feature that is 75%
zeros has one bin holding the zeros and everything up to its 80th percentile: zeros that all
become 1.0 stay in that bin (PSI about 0). Its top bin is open, so a top decile that grows tenfold
stays in it too. The guards (KS as the share of rows moved, Wasserstein in baseline standard
deviations) see both, and say so in the reason.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyarrow as pa
import pytest
from drift_fixtures import START, dev_env

from lakemon_jobs.drift import Verdict, analyze
from lakemon_jobs.monitor_engine.engine import compute_metrics
from lakemon_jobs.monitor_engine.settings import MonitorSettings

DAY_US = 86_400_000_000
WINDOWS = 5


def judge_windows(column: str, baseline: np.ndarray, windows: list[np.ndarray], env=None):
    """Judgements of `column` per window (day 1..), from the engine's own metrics tables."""
    env = env or dev_env()
    model = env.model()
    t0 = int(START.timestamp() * 1_000_000)
    values = np.concatenate(windows)
    stamps = np.concatenate([np.full(w.shape[0], t0 + d * DAY_US + 3_600_000_000) for d, w in enumerate(windows)])
    inference = pa.table({
        column: values,
        model.model_id_column: pa.array(["1"] * values.shape[0]),
        model.timestamp_column: pa.array(stamps, pa.timestamp("us", tz="UTC")),
    })
    base = pa.table({column: baseline, model.model_id_column: pa.array(["1"] * baseline.shape[0])})
    settings = replace(MonitorSettings.from_config(env, model), slicing_exprs=())
    profile, drift = compute_metrics(inference, base, settings)
    report = analyze(env, model, drift, profile, now=START.replace(day=len(windows) + 1))
    got = sorted((j for j in report.judgements if j.feature == column), key=lambda j: j.window_start)
    assert len(got) == len(windows)
    return got


def zero_inflated(rng: np.random.Generator, n: int) -> np.ndarray:
    """75% zeros, the rest lognormal(3, 1) (mean 33)."""
    return np.where(rng.random(n) < 0.75, 0.0, rng.lognormal(3.0, 1.0, n))


def test_zeros_that_all_move_to_one_are_drift_seen_by_ks():
    rng = np.random.default_rng(7)
    baseline = zero_inflated(rng, 20_000)
    windows = []
    for _ in range(WINDOWS):
        w = zero_inflated(rng, 2_000)
        windows.append(np.where(w == 0.0, 1.0, w))
    for j in judge_windows("year", baseline, windows):
        psi = j.signals[0]
        assert psi.statistic == "population_stability_index" and psi.adjusted < 0.01  # the blind spot
        assert j.verdict is Verdict.DRIFT, j.reason
        assert j.statistic == "ks_test" and j.value == pytest.approx(0.75, abs=0.03)  # 75% of rows moved
        assert "ks_test saw it" in j.reason and j.pvalue < j.alpha


def test_a_top_decile_ten_times_larger_is_drift_seen_by_wasserstein():
    rng = np.random.default_rng(11)
    baseline = rng.lognormal(3.0, 1.0, 20_000)
    cut = np.quantile(baseline, 0.9)
    windows = []
    for _ in range(WINDOWS):
        w = rng.lognormal(3.0, 1.0, 2_000)
        windows.append(np.where(w > cut, 10 * w, w))
    for j in judge_windows("year", baseline, windows):
        assert j.signals[0].adjusted < 0.05  # PSI: the top decile stays in the open top bin
        assert j.verdict is Verdict.DRIFT, j.reason
        # the window mean moves from about 33 to about 150: over 2 baseline sd on average
        assert j.statistic == "wasserstein_distance" and j.adjusted > 2.0 and "wasserstein_distance saw it" in j.reason


def test_clean_windows_of_the_same_families_stay_quiet():
    """The guards need their p-value like the configured statistic: the same families without a
    change raise no drift (20 windows of 200 rows each)."""
    rng = np.random.default_rng(3)
    for make in (zero_inflated, lambda r, n: r.lognormal(3.0, 1.0, n)):
        baseline = make(rng, 20_000)
        got = judge_windows("year", baseline, [make(rng, 200) for _ in range(20)])
        assert not [j for j in got if j.verdict is Verdict.DRIFT]


def test_a_quarter_sd_mean_shift_at_5000_rows_is_drift_at_the_prod_threshold():
    rng = np.random.default_rng(5)
    baseline = rng.normal(0.0, 1.0, 20_000)
    windows = [rng.normal(0.25, 1.0, 5_000) for _ in range(3)]
    for j in judge_windows("year", baseline, windows, env=dev_env(threshold=0.05)):
        assert j.verdict is Verdict.DRIFT, j.reason


def test_ten_percent_of_rows_moving_between_two_categories_at_5000_rows_is_drift_at_the_prod_threshold():
    rng = np.random.default_rng(9)
    labels = np.array(["a", "b", "c", "d"])
    p = np.array([0.4, 0.3, 0.2, 0.1])
    moved = p + np.array([-0.1, 0.1, 0.0, 0.0])  # 10% of all rows go from a to b
    baseline = labels[rng.choice(4, 20_000, p=p)]
    windows = [labels[rng.choice(4, 5_000, p=moved)] for _ in range(3)]
    for j in judge_windows("align", baseline, windows, env=dev_env(threshold=0.05)):
        assert j.verdict is Verdict.DRIFT, j.reason
        tv = {s.statistic: s for s in j.signals}["tv_distance"]
        assert tv.value == pytest.approx(0.1, abs=0.02)  # TV: the share of rows that moved


def test_the_report_says_which_statistic_saw_it_and_what_the_threshold_means():
    from lakemon_jobs.drift.report import render_html

    rng = np.random.default_rng(7)
    baseline = zero_inflated(rng, 20_000)
    windows = [np.where((w := zero_inflated(rng, 2_000)) == 0.0, 1.0, w) for _ in range(2)]
    env = dev_env()
    model = env.model()
    t0 = int(START.timestamp() * 1_000_000)
    values = np.concatenate(windows)
    stamps = np.concatenate([np.full(w.shape[0], t0 + d * DAY_US + 3_600_000_000) for d, w in enumerate(windows)])
    inference = pa.table({"year": values, model.model_id_column: pa.array(["1"] * values.shape[0]),
                          model.timestamp_column: pa.array(stamps, pa.timestamp("us", tz="UTC"))})
    base = pa.table({"year": baseline, model.model_id_column: pa.array(["1"] * baseline.shape[0])})
    profile, drift = compute_metrics(inference, base, replace(MonitorSettings.from_config(env, model), slicing_exprs=()))
    html = render_html(analyze(env, model, drift, profile, now=START.replace(day=3)))
    assert "ks_test saw it" in html
    # dev threshold 0.1: 10% of rows, and the normal mean shift that moves 10% of rows (2 Phi^-1(0.55) sd)
    assert "0.1 = 10% of rows moved, or a mean shift of 0.25 sd of a normal feature" in html
