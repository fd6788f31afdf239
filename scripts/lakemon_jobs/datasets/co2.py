"""The forecasting template's data: weekly atmospheric CO2 at Mauna Loa, shipped inside statsmodels.

`statsmodels.datasets.co2` (statsmodels 0.14, BSD-3-Clause) holds 2,284 weekly means from
1958-03-29 to 2001-12-29 in ppmv; its own metadata says "This is public domain." and cites
Keeling, C.D. and T.P. Whorf (2004), "Atmospheric CO2 concentrations derived from flask air
samples at sites in the SIO network", Trends: A Compendium of Data on Global Change, CDIAC, Oak
Ridge National Laboratory. No download: the CSV is inside the installed package.

A forecast becomes rows a tabular model learns from: for every origin week t and horizon h (1-4
weeks ahead) one row with lag features known at t (the last observed values), calendar
features of the target week t+h, the same week one year earlier, and the label y[t+h]. The
served model answers one row per (origin, horizon), so the horizon is a column of the inference
log and the monitor slices by it.

`regime_change` makes the rehearsal's changed series: from the change on, the series moves `k`
times as much as it did (growth and seasonal swing alike), a synthetic change on real data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

HORIZONS = (1, 2, 3, 4)
"""Weeks ahead the forecaster predicts; one row per origin and horizon."""
LABEL = "co2_ppm"
FEATURES = ("horizon", "lag_1", "lag_2", "lag_4", "last_year", "week_sin", "week_cos")
"""`lag_k`: the value k-1 weeks before the origin (lag_1 is the origin's own week); `last_year`:
the target week one year (52 weeks) earlier; `week_sin`/`week_cos`: the target's week of the
year on the unit circle."""
TIME = "origin"
"""The week the forecast is made in: the chronological split's column."""
YEAR = 52
REGIME_K = 3.0
"""run-local's regime change: every move of the series three times as large (regime_change)."""


def load_co2_series() -> pd.Series:
    """Weekly CO2 (ppmv), indexed by week (W-SAT); the 59 missing weeks linearly interpolated
    (a lag feature needs every week; the interpolation is a choice of lakemon's, not the source's)."""
    from statsmodels.datasets import co2  # lazy: statsmodels only for the bundled CO2 data

    series = co2.load_pandas().data["co2"].astype("float64")
    return series.interpolate(method="linear", limit_direction="both").rename(LABEL)


def supervised(series: pd.Series, horizons: tuple[int, ...] = HORIZONS) -> pd.DataFrame:
    """One row per (origin, horizon): `origin`, `target_week`, the FEATURES and the label."""
    y = series.to_numpy(dtype="float64")
    weeks = series.index
    n = len(y)
    frames = []
    for h in horizons:
        origins = np.arange(YEAR, n - max(horizons))  # a year of history, every horizon known
        target = origins + h
        week_of_year = weeks[target].isocalendar().week.to_numpy(dtype="float64")
        angle = 2 * np.pi * week_of_year / 52.1775
        frames.append(pd.DataFrame({
            TIME: weeks[origins],
            "target_week": weeks[target],
            "horizon": np.full(len(origins), h, dtype="int64"),
            "lag_1": y[origins],
            "lag_2": y[origins - 1],
            "lag_4": y[origins - 3],
            "last_year": y[target - YEAR],
            "week_sin": np.sin(angle),
            "week_cos": np.cos(angle),
            LABEL: y[target],
        }))
    return pd.concat(frames, ignore_index=True).sort_values([TIME, "horizon"], kind="stable").reset_index(drop=True)


def load_co2() -> pd.DataFrame:
    """The forecaster's training rows (`bundled:co2`)."""
    return supervised(load_co2_series())


def regime_change(series: pd.Series, start: pd.Timestamp, k: float) -> pd.Series:
    """The series with every move after `start` made `k` times as large:
    y'(t) = y(start) + k * (y(t) - y(start)) for t >= start, unchanged before."""
    out = series.copy()
    after = out.index >= start
    anchor = float(series[after].iloc[0])
    out[after] = anchor + k * (series[after] - anchor)
    return out
