"""The bundled comic-characters data: shipped with its license, cleaned as documented, split reproducibly."""

from __future__ import annotations

import gzip
import hashlib
import re
from importlib import resources

import pandas as pd
import pytest

from lakemon_jobs.datasets import COLUMNS, load_comic, split_train_test, unescape

DATA = resources.files("lakemon_jobs.datasets") / "comic_characters"


def test_license_and_attribution_ship_with_the_data():
    license_text = (DATA / "LICENSE").read_text()
    readme = (DATA / "README.md").read_text()
    assert "Attribution 4.0 International" in license_text
    assert "CC BY 4.0" in readme and "FiveThirtyEight" in readme


@pytest.mark.parametrize("publisher", ["marvel", "dc"])
def test_compressed_files_are_byte_identical_to_the_attributed_source(publisher):
    """The README lists the sha256 of the unchanged source files; gzip must not change a byte."""
    readme = (DATA / "README.md").read_text()
    filename = f"{publisher}-wikia-data.csv"
    expected = re.search(rf"\| {re.escape(filename)} \| [\d,]+ \| ([0-9a-f]{{64}}) \|", readme).group(1)
    raw = gzip.decompress((DATA / f"{filename}.gz").read_bytes())
    assert hashlib.sha256(raw).hexdigest() == expected


@pytest.mark.parametrize(("publisher", "rows", "living"), [("marvel", 16373, 12608), ("dc", 6893, 5200)])
def test_load_comic_keeps_labelled_rows_with_the_config_columns(publisher, rows, living):
    # 16,376 / 6,896 rows in the files, 3 each without ALIVE; living counts from the raw files.
    df = load_comic(publisher)
    assert list(df.columns) == COLUMNS
    assert len(df) == rows
    assert int(df["alive"].sum()) == living
    assert set(df["alive"].unique()) == {0, 1}
    assert df["page_id"].is_unique


def test_year_and_YEAR_both_become_year_and_missing_values_stay_null():
    marvel, dc = load_comic("marvel"), load_comic("dc")
    assert marvel["year"].notna().sum() > 15000 and dc["year"].notna().sum() > 6000
    spider_man = marvel.loc[marvel["page_id"] == 1678].iloc[0]
    assert spider_man["year"] == 1962.0 and spider_man["gsm"] is None
    assert marvel["gsm"].isna().sum() > 16000  # almost always missing, kept as None (its own category)
    assert dc.loc[dc["page_id"] == 1422, "year"].item() == 1939.0  # Batman, from the YEAR column


def test_escaped_quotes_slashes_and_unicode_are_undone():
    marvel = load_comic("marvel")
    assert marvel.loc[marvel["page_id"] == 64786, "name"].item() == 'Wolverine (James "Logan" Howlett)'
    assert not marvel["name"].str.contains("\\\\", regex=False).any()
    assert unescape(r"Jess\u00e1n") == "Jessán"
    assert unescape(r"\/wiki\/Batman") == "/wiki/Batman"
    assert unescape(None) is None


def test_split_is_reproducible_disjoint_and_complete():
    df = load_comic("marvel")
    train, test = split_train_test(df, 0.2, 42)
    again_train, again_test = split_train_test(df, 0.2, 42)
    pd.testing.assert_frame_equal(test, again_test)
    pd.testing.assert_frame_equal(train, again_train)
    assert len(test) == round(len(df) * 0.2)
    assert set(train["page_id"]).isdisjoint(test["page_id"])
    assert set(train["page_id"]) | set(test["page_id"]) == set(df["page_id"])
    other_seed = split_train_test(df, 0.2, 7)[1]
    assert set(other_seed["page_id"]) != set(test["page_id"])


def test_bad_split_arguments_are_refused():
    df = load_comic("dc")
    with pytest.raises(ValueError):
        split_train_test(df, 1.0, 1)
    with pytest.raises(ValueError, match="unknown publisher"):
        load_comic("image")  # type: ignore[arg-type]
