"""The forecasting template on the embedded default: the bundled CO2 series becomes (origin,
horizon) rows exactly as documented, the split is chronological, and train + register leave a
backtest baseline (the test period scored out of sample) for the dev env's co2_forecaster."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from jobs_helpers import DEV_ENV, quiet

from lakemon.config import load_environment
from lakemon_jobs.context import JobContext
from lakemon_jobs.datasets import split_by_time
from lakemon_jobs.datasets.co2 import FEATURES, HORIZONS, LABEL, load_co2_series, regime_change, supervised
from lakemon_jobs.model_steps import split_for
from lakemon_jobs.register import register_model
from lakemon_jobs.table_engines import engine_for
from lakemon_jobs.train import train_model


def test_the_series_is_statsmodels_weekly_co2_with_gaps_filled():
    from statsmodels.datasets import co2

    raw = co2.load_pandas().data["co2"]
    series = load_co2_series()
    assert len(series) == len(raw) == 2284 and series.index.freqstr == "W-SAT"
    assert raw.isna().sum() == 59 and series.isna().sum() == 0
    known = raw.notna()
    assert (series[known] == raw[known]).all()  # observed weeks untouched
    gap = raw.index[raw.isna()][0]
    i = raw.index.get_loc(gap)
    before, after = raw.iloc[:i].last_valid_index(), raw.iloc[i:].first_valid_index()
    share = (gap - before) / (after - before)
    assert series[gap] == pytest.approx(raw[before] + share * (raw[after] - raw[before]))


def test_supervised_rows_hold_the_documented_lags_and_label():
    series = load_co2_series()
    rows = supervised(series)
    y = series.to_numpy()
    assert set(rows["horizon"]) == set(HORIZONS) and rows.groupby("horizon").size().nunique() == 1
    rng = np.random.default_rng(0)
    for _, r in rows.iloc[rng.integers(0, len(rows), 50)].iterrows():
        t = series.index.get_loc(r["origin"])
        h = int(r["horizon"])
        assert r["target_week"] == series.index[t + h]
        assert (r["lag_1"], r["lag_2"], r["lag_4"]) == (y[t], y[t - 1], y[t - 3])
        assert r["last_year"] == y[t + h - 52] and r[LABEL] == y[t + h]
        week = series.index[t + h].isocalendar().week
        assert r["week_sin"] == pytest.approx(np.sin(2 * np.pi * week / 52.1775))
    assert set(FEATURES) <= set(rows.columns)


def test_regime_change_multiplies_every_move_after_the_start():
    series = load_co2_series()
    start = series.index[2000]
    changed = regime_change(series, start, 3.0)
    assert (changed[:start].iloc[:-1] == series[:start].iloc[:-1]).all()
    moves = changed[start:].diff().dropna() / series[start:].diff().dropna()
    assert np.allclose(moves[series[start:].diff().dropna() != 0], 3.0)


def test_the_split_is_chronological_and_keeps_an_origins_horizons_together():
    rows = supervised(load_co2_series())
    train, test = split_by_time(rows, 0.4, "origin")
    assert train["origin"].max() < test["origin"].min()
    assert len(test["origin"].unique()) == round(0.4 * rows["origin"].nunique())
    assert (test.groupby("origin").size() == len(HORIZONS)).all()
    env = load_environment(DEV_ENV)
    a, b = split_for(env.model("co2_forecaster").training, rows)
    pd.testing.assert_frame_equal(b, test)


@pytest.fixture(scope="module")
def fctx(tmp_path_factory) -> JobContext:
    return JobContext.load(DEV_ENV, "co2_forecaster", tmp_path_factory.mktemp("forecast_home"))


def test_train_and_register_leave_a_backtest_baseline(fctx):
    trained = train_model(fctx, progress=quiet)
    assert trained.metrics["mean_absolute_percentage_error"] < 0.005  # weekly CO2 is very predictable
    result = register_model(fctx, run_id=trained.run_id, progress=quiet)
    assert result.promoted
    baseline = engine_for(fctx).read_table(fctx.tables.baseline)
    _, test = split_for(fctx.model.training, supervised(load_co2_series()))
    assert len(baseline) == len(test)  # the test period, not the training rows
    pd.testing.assert_series_equal(baseline[LABEL].reset_index(drop=True), test[LABEL].reset_index(drop=True),
                                   check_names=False)
    ape = (baseline["prediction"] - baseline[LABEL]).abs() / baseline[LABEL]
    assert ape.mean() == pytest.approx(trained.metrics["mean_absolute_percentage_error"], rel=1e-9)
