"""Training data shipped inside the wheel: FiveThirtyEight's comic characters (CC BY 4.0).

The Marvel file trains `alive_classifier`; the DC file has the same columns from another
publisher, so scoring the Marvel model on DC characters gives real distribution shift (the
end-to-end loop and the drift tests use it). The CSVs sit gzip-compressed next to their
LICENSE and attribution README in `comic_characters/`, so a Databricks job that installs the
wheel trains on exactly the data the tests train on, with no download.

Cleaning is the same for both files, and deliberately small: lower-case column names that
match the model config (`Year`/`YEAR` -> `year`), undo the JSON-style escapes the scrape left in
text (`\\"`, `\\/`, `\\u00e1`), keep missing values as nulls (the model treats a missing
category as a category of its own), and turn ALIVE into the 0/1 label `alive`.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import UsageError

PUBLISHER_FILES = {"marvel": "marvel-wikia-data.csv.gz", "dc": "dc-wikia-data.csv.gz"}
LABELS = {"Living Characters": 1, "Deceased Characters": 0}
"""ALIVE text -> label. Rows with any other value (three per file are empty) are dropped."""

CATEGORICAL = ["id", "align", "eye", "hair", "sex", "gsm"]
NUMERIC = ["appearances", "year"]
IDENTIFYING = ["page_id", "name"]
LABEL = "alive"
LOG_APPEARANCES = "log_appearances"
"""ln(1 + appearances): the regression template's label (appearances_regressor in envs/dev.yml).
Appearances are heavy-tailed (1 to 4,000+), so a squared error on the raw count is dominated by
a few stars; on the log scale RMSE and R2 describe the typical character."""
COLUMNS = [*IDENTIFYING, *CATEGORICAL, *NUMERIC, LABEL, LOG_APPEARANCES]
"""Columns of `load_comic`: identifying columns, the features of envs/*.yml, the labels."""

_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|[\"/\\])")


def unescape(text: str | float | None) -> str | float | None:
    """Undo the JSON-style escapes in the scraped text (`\\"` -> `"`, `\\/` -> `/`,
    `\\u00e1` -> `á`); anything else is left as it is, and missing values stay missing."""
    if not isinstance(text, str):
        return text

    def replace(match: re.Match[str]) -> str:
        token = match.group(1)
        return chr(int(token[1:], 16)) if token.startswith("u") else token

    return _ESCAPE.sub(replace, text)


class TrainingDataError(UsageError, ValueError):
    """The training data cannot be used as configured: an unknown bundled data set, no time
    column to split on, too few rows or times to split. Exit 2, nothing was fitted or logged.
    Also a ValueError: these functions are called outside the jobs too (tests, notebooks)."""


def _read_raw(publisher: str) -> pd.DataFrame:
    try:
        filename = PUBLISHER_FILES[publisher]
    except KeyError:
        raise TrainingDataError(f"unknown publisher {publisher!r}; known: {', '.join(PUBLISHER_FILES)}") from None
    with resources.files(__package__).joinpath("comic_characters", filename).open("rb") as fh:
        return pd.read_csv(fh, compression="gzip", keep_default_na=False, na_values=[""])


def load_comic(publisher: Literal["marvel", "dc"]) -> pd.DataFrame:
    """The cleaned characters of one publisher, one row per character with a known ALIVE value.

    Columns: page_id, name (identifying, not features), id, align, eye, hair, sex, gsm
    (strings, None where missing), appearances, year (float, NaN where missing), alive (int 0/1),
    log_appearances (float, ln(1 + appearances), NaN where appearances is missing).
    """
    raw = _read_raw(publisher)
    raw.columns = [c.strip().lower() for c in raw.columns]  # Year (Marvel) and YEAR (DC) -> year
    raw = raw[raw["alive"].isin(LABELS)].copy()
    out = pd.DataFrame(index=raw.index)
    out["page_id"] = raw["page_id"].astype("int64")
    out["name"] = raw["name"].map(unescape)
    for col in CATEGORICAL:
        out[col] = raw[col].map(unescape).astype(object).where(raw[col].notna(), None)
    for col in NUMERIC:
        out[col] = pd.to_numeric(raw[col], errors="coerce").astype("float64")
    out[LABEL] = raw["alive"].map(LABELS).astype("int64")
    out[LOG_APPEARANCES] = np.log1p(out["appearances"])
    return out.reset_index(drop=True)[COLUMNS]


def split_by_time(df: pd.DataFrame, test_fraction: float, time_column: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Chronological split (a backtest): the rows of the latest `test_fraction` of the distinct
    values of `time_column` are the test set, the earlier ones the training set; rows of one time
    value (a forecast's horizons) stay together. Rows keep their order within each part."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    if time_column not in df.columns:
        raise TrainingDataError(f"the training data has no time column {time_column!r} (training.time_column)")
    times = np.sort(pd.unique(df[time_column].dropna()))
    n_test = int(round(len(times) * test_fraction))
    if n_test == 0 or n_test == len(times):
        raise TrainingDataError(f"{len(times)} distinct {time_column} values cannot be split with test_fraction={test_fraction}")
    data = df.reset_index(drop=True)
    test_mask = (data[time_column] >= times[-n_test]).to_numpy()
    return data[~test_mask].reset_index(drop=True), data[test_mask].reset_index(drop=True)


def split_train_test(df: pd.DataFrame, test_fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reproducible random split: the same frame, fraction and seed give the same rows, in the
    same order. Rows keep their positional order within each part, so the split does not depend
    on how the caller's index looks."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    n_test = int(round(len(df) * test_fraction))
    if n_test == 0 or n_test == len(df):
        raise TrainingDataError(f"{len(df)} rows cannot be split with test_fraction={test_fraction}")
    order = np.random.default_rng(seed).permutation(len(df))
    test_mask = np.zeros(len(df), dtype=bool)
    test_mask[order[:n_test]] = True
    data = df.reset_index(drop=True)
    return data[~test_mask].reset_index(drop=True), data[test_mask].reset_index(drop=True)
