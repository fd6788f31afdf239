"""The decision rule on hand-built metric rows (no calibration: the profile has no baseline
rows, so the raw statistic is what the threshold sees). Every expected verdict is worked by hand
from the numbers in the row."""

from __future__ import annotations

import pytest
from drift_fixtures import START, count_row, dev_env, drift_row, tables

from lakemon.config.model import FeatureDrift
from lakemon_jobs.drift import Verdict, analyze
from lakemon_jobs.drift.rule import (  # noqa: I001
    Evidence,
    FeatureRule,
    RuleError,
    feature_rules,
    judge,
    window_alpha,
)

NOW = START.replace(day=5)


def one_window(statistics: dict[str, dict], count: int = 500, env=None):
    env = env or dev_env()
    drift, profile = tables(
        [drift_row(0, col, **stats) for col, stats in statistics.items()],
        [count_row(0, col, count) for col in statistics],
    )
    report = analyze(env, env.model(), drift, profile, now=NOW)
    return {j.feature: j for j in report.judgements}, report


def cat(js: float, p: float) -> dict:
    return {"js_distance": js, "chi_squared_test": {"statistic": 10.0, "pvalue": p}, "tv_distance": js / 2,
            "l_infinity_distance": js / 3}


def num(psi: float, p: float, ks: float = 0.05, wd: float = 1.0) -> dict:
    return {"population_stability_index": psi, "ks_test": {"statistic": ks, "pvalue": p}, "wasserstein_distance": wd}


def test_each_verdict_from_threshold_and_pvalue():
    # dev: threshold 0.1, warn_ratio 0.5, max_pvalue 0.01 over 4 judged features -> alpha 0.01/4
    got, _ = one_window({"align": cat(0.12, 1e-6), "eye": cat(0.07, 1e-6), "id": cat(0.07, 0.5),
                         "sex": cat(0.03, 1e-9)})
    assert got["align"].verdict is Verdict.DRIFT and got["align"].alpha == pytest.approx(0.01 / 4)
    assert got["eye"].verdict is Verdict.WARN  # 0.07 >= 0.5 * 0.1 and p < alpha
    assert got["id"].verdict is Verdict.OK  # the same distance as eye, but p 0.5: sampling noise
    assert got["sex"].verdict is Verdict.OK  # small distance: significance alone is not drift
    assert got["hair"].verdict is Verdict.UNAVAILABLE  # no row for hair in this window


def test_over_threshold_with_weaker_significance_is_a_warning():
    got, _ = one_window({"align": cat(0.3, 0.01), "id": cat(0.3, 0.001)})
    # alpha = 0.01 / 2 = 0.005, warn alpha = warn_max_pvalue 0.03 / 2 = 0.015: p 0.01 warns, p 0.001 drifts
    assert got["align"].verdict is Verdict.WARN and "but not < 0.005" in got["align"].reason
    assert got["id"].verdict is Verdict.DRIFT
    got, _ = one_window({"align": cat(0.3, 0.02), "id": cat(0.3, 0.001)})
    assert got["align"].verdict is Verdict.OK and "sampling noise" in got["align"].reason  # p 0.02 >= 0.015


def test_bonferroni_over_the_features_judged_in_the_window():
    p = 0.004  # < 0.01 / 2 but > 0.01 / 3
    two, _ = one_window({"align": cat(0.3, p), "id": cat(0.01, 0.9)})
    three, _ = one_window({"align": cat(0.3, p), "id": cat(0.01, 0.9), "sex": cat(0.01, 0.9)})
    assert two["align"].verdict is Verdict.DRIFT
    assert three["align"].verdict is Verdict.WARN


def test_min_rows_gives_too_few_rows_whatever_the_distance():
    got, report = one_window({"align": cat(0.9, 1e-30)}, count=99)
    assert got["align"].verdict is Verdict.TOO_FEW_ROWS and got["align"].count == 99
    assert report.status == "no_data"
    got, _ = one_window({"align": cat(0.9, 1e-30)}, count=100)  # min_rows is inclusive
    assert got["align"].verdict is Verdict.DRIFT


def test_row_count_falls_back_to_baseline_count_plus_count_delta():
    env = dev_env()
    drift, profile = tables(
        [drift_row(0, "align", count_delta=-950.0, **cat(0.5, 1e-9))],
        [{"window": None, "log_type": "BASELINE", "granularity": "1 day", "slice_key": None, "slice_value": None,
          "model_version": "*", "column_name": "align", "count": 1000, "num_nulls": 0}],
    )
    got = {j.feature: j for j in analyze(env, env.model(), drift, profile, now=NOW).judgements}
    assert got["align"].count == 50 and got["align"].verdict is Verdict.TOO_FEW_ROWS


def test_numeric_default_is_psi_with_ks_pvalue():
    got, _ = one_window({"year": num(0.25, 1e-8, ks=0.01), "appearances": num(0.25, 0.3)})
    assert got["year"].statistic == "population_stability_index" and got["year"].value == 0.25
    assert got["year"].verdict is Verdict.DRIFT and got["year"].test_pvalue == 1e-8
    assert got["appearances"].verdict is Verdict.OK  # p 0.3: what noise does at this size
    got, _ = one_window({"year": num(0.25, 1e-8, ks=0.01), "appearances": num(0.25, 0.01)})
    assert got["appearances"].verdict is Verdict.WARN  # 0.01 < 0.03 / 2 but not < 0.01 / 2


def test_statistic_threshold_override():
    env = dev_env(statistic_thresholds={"js_distance": 0.2})
    got, report = one_window({"align": cat(0.15, 1e-9), "id": cat(0.25, 1e-9)}, env=env)
    assert got["align"].threshold == 0.2 and got["align"].verdict is Verdict.WARN  # 0.15 >= 0.1 warn level
    assert got["id"].verdict is Verdict.DRIFT
    assert {r.feature: r.threshold_source for r in report.rules}["align"] == "statistic"


def test_feature_override_of_statistic_and_threshold():
    env = dev_env(
        statistic_thresholds={"js_distance": 0.2},
        features={"align": FeatureDrift(statistic="tv_distance", threshold=0.04),
                  "year": FeatureDrift(statistic="wasserstein_distance", threshold=5.0),
                  "id": FeatureDrift(threshold=0.5)},
    )
    got, report = one_window({"align": cat(0.1, 1e-9), "year": num(0.01, 1e-9, wd=6.0), "id": cat(0.3, 1e-9)}, env=env)
    assert got["align"].statistic == "tv_distance" and got["align"].value == pytest.approx(0.05)
    assert got["align"].verdict is Verdict.DRIFT  # tv 0.05 >= 0.04
    assert got["year"].statistic == "wasserstein_distance" and got["year"].verdict is Verdict.DRIFT
    assert got["id"].threshold == 0.5 and got["id"].verdict is Verdict.WARN  # 0.3 >= 0.25
    assert {r.feature: r.threshold_source for r in report.rules}["id"] == "feature"


def test_test_statistic_as_distance_uses_its_statistic_field():
    env = dev_env(features={"year": FeatureDrift(statistic="ks_test", threshold=0.2)})
    got, _ = one_window({"year": num(0.01, 1e-6, ks=0.25)}, env=env)
    assert got["year"].value == 0.25 and got["year"].verdict is Verdict.DRIFT


def test_override_that_cannot_apply_is_a_rule_error():
    with pytest.raises(RuleError, match="does not apply to the numeric feature year"):
        feature_rules(dev_env().model(), dev_env(features={"year": FeatureDrift(statistic="js_distance")}).monitoring.drift)
    with pytest.raises(RuleError, match="not features of model"):
        feature_rules(dev_env().model(), dev_env(features={"nope": FeatureDrift(threshold=0.2)}).monitoring.drift)


def test_lookback_and_non_baseline_rows_are_ignored():
    env = dev_env(lookback_days=2)
    rows = [drift_row(i, "align", **cat(0.5, 1e-9)) for i in range(5)]
    rows.append({**drift_row(4, "id", **cat(0.5, 1e-9)), "drift_type": "CONSECUTIVE"})
    rows.append({**drift_row(4, "sex", **cat(0.5, 1e-9)), "slice_key": "sex", "slice_value": "x"})
    rows.append({**drift_row(4, "hair", **cat(0.5, 1e-9)), "model_version": "3"})
    drift, profile = tables(rows, [count_row(i, "align", 500) for i in range(5)])
    report = analyze(env, env.model(), drift, profile, now=START.replace(day=6))  # windows ending after Jan 4
    assert sorted({j.window_start.day for j in report.judgements}) == [4, 5]
    assert {j.feature for j in report.judgements if j.verdict is not Verdict.UNAVAILABLE} == {"align"}


def test_judge_directly_hand_worked():
    drift = dev_env().monitoring.drift
    rule = FeatureRule("x", "categorical", "js_distance", 0.1, "default")
    assert judge(rule, Evidence(500, 0.1, 0.001), drift, 0.01)[0] is Verdict.DRIFT  # threshold inclusive
    assert judge(rule, Evidence(500, 0.0999, 0.001), drift, 0.01)[0] is Verdict.WARN
    assert judge(rule, Evidence(500, 0.05, 0.001), drift, 0.01)[0] is Verdict.WARN  # warn level inclusive
    assert judge(rule, Evidence(500, 0.0499, 0.001), drift, 0.01)[0] is Verdict.OK
    assert judge(rule, Evidence(500, 0.05, 0.9), drift, 0.01)[0] is Verdict.OK  # no evidence: noise
    # over the threshold: warn alpha = 0.01 * warn_max_pvalue 0.03 / max_pvalue 0.01 = 0.03
    assert judge(rule, Evidence(500, 0.2, 0.029), drift, 0.01)[0] is Verdict.WARN
    assert judge(rule, Evidence(500, 0.2, 0.03), drift, 0.01)[0] is Verdict.OK
    assert judge(rule, Evidence(500, 0.2, None), drift, 0.01)[0] is Verdict.WARN  # no p-value: no drift
    assert window_alpha(drift, 0) == drift.max_pvalue


def test_a_constant_baseline_against_another_constant_is_drift_through_the_ks_fallback():
    """PSI cuts bins at the baseline's deciles: with a constant baseline (one distinct decile)
    every window falls into one or two bins, so 5 against 7 scores PSI 0 (left-closed bins) while
    5 against 3 scores 18.4. analyze-drift judges such a feature by KS instead (D = 1 here)."""
    from dataclasses import replace

    import numpy as np
    import pyarrow as pa

    from lakemon_jobs.monitor_engine.engine import compute_metrics
    from lakemon_jobs.monitor_engine.settings import MonitorSettings

    env = dev_env()
    model = env.model()
    day_us = 86_400_000_000
    t0 = int(START.timestamp() * 1_000_000)
    values = np.concatenate([np.full(200, 7.0), np.full(200, 3.0), np.full(200, 5.0)])
    stamps = np.concatenate([np.full(200, t0 + d * day_us + 3600_000_000) for d in range(3)])
    inference = pa.table({
        "year": values,
        model.model_id_column: pa.array(["1"] * 600),
        model.timestamp_column: pa.array(stamps, pa.timestamp("us", tz="UTC")),
    })
    baseline = pa.table({"year": np.full(500, 5.0), model.model_id_column: pa.array(["1"] * 500)})
    settings = replace(MonitorSettings.from_config(env, model), slicing_exprs=())
    profile, drift = compute_metrics(inference, baseline, settings)
    psi = sorted(
        (r["window"]["start"].day, r["population_stability_index"]) for r in drift.to_pylist()
        if r["column_name"] == "year" and r["drift_type"] == "BASELINE" and r["slice_key"] is None
        and r[model.model_id_column] == "*"
    )
    assert [(d, round(v, 1)) for d, v in psi] == [(1, 0.0), (2, 18.4), (3, 0.0)]  # the blind spot

    report = analyze(env, model, drift, profile, now=START.replace(day=4))
    year = {j.window_start.day: j for j in report.judgements if j.feature == "year"}
    assert year[1].statistic == "ks_test" and year[1].value == 1.0 and year[1].verdict is Verdict.DRIFT
    assert "instead of population_stability_index" in year[1].reason
    assert year[2].verdict is Verdict.DRIFT
    assert year[3].statistic == "ks_test" and year[3].value == 0.0 and year[3].verdict is Verdict.OK


def test_a_varied_baseline_keeps_psi():
    from lakemon_jobs.drift.verdicts import _ks_fallback

    rule = FeatureRule("year", "numeric", "population_stability_index", 0.1, "default")
    spread = {"quantiles": [float(i) for i in range(101)]}
    two_edges = {"quantiles": [0.0] * 50 + [1.0] * 51}  # deciles {0, 1}: 2 distinct edges, 3 bins
    one_edge = {"quantiles": [5.0] * 101}
    assert _ks_fallback(rule, spread, dev_env().monitoring.drift) is rule
    assert _ks_fallback(rule, two_edges, dev_env().monitoring.drift) is rule
    assert _ks_fallback(rule, one_edge, dev_env().monitoring.drift).statistic == "ks_test"
