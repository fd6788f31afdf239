"""parse_payloads builds a batch's frame a column at a time (per-row values concatenated,
per-payload values repeated, float columns as arrays): it must give exactly the frame of the
row-by-row route (each payload's rows as dicts, framed by typed_frame's from_records path), for
every payload the fuzzer makes and for batches that mix good and quarantined payloads."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest
from payload_fuzzer import NOW, generate, payload_row
from unpack_helpers import REC, REC2, payload, response

from lakemon_jobs import payloads
from lakemon_jobs.payload_table import PAYLOAD_SCHEMA


def _row_by_row(batch: pd.DataFrame, model) -> pd.DataFrame:
    """The independent route: one row dict per output row (unpack_columns' values, or the
    quarantine row), framed together."""
    rows = []
    for record in batch.to_dict("records"):
        record = {k: (None if payloads._is_missing(v) else v) for k, v in record.items()}
        one = payloads._parsed_or_quarantined(record, model, NOW)
        rows.extend(payloads._rows(one.rows, one.columns(model)))
    return payloads.writable_frame(rows, payloads.unpacked_columns(model))


@pytest.mark.parametrize("seed", [17, 2026])
def test_batch_frame_equals_the_row_by_row_frame_on_the_fuzzer_corpus(uctx, seed):
    cases = generate(seed, 150)
    batch = pa.Table.from_pylist([payload_row(c) for c in cases], schema=PAYLOAD_SCHEMA).to_pandas()
    fast = payloads.parse_payloads(batch, uctx.model, NOW)
    assert fast["reason"].notna().sum() >= 30 and fast["reason"].isna().sum() >= 30  # both kinds are in the batch
    pd.testing.assert_frame_equal(fast, _row_by_row(batch, uctx.model), check_exact=True)


def test_float_columns_keep_nulls_and_values_exactly(uctx):
    """NaN sent as a value and a missing value are both null; integers become their float."""
    records = [{**REC, "appearances": None}, {**REC2, "appearances": 2**53 + 1, "year": float("nan")}]
    batch = pd.DataFrame([
        payload(1, {"dataframe_records": records}, response(0.25, 0.75)),
        payload(2, {"dataframe_records": [REC]}, None, status=503),
        payload(3, {"dataframe_records": [REC2]}, response(0.5)),
    ])
    fast = payloads.parse_payloads(batch, uctx.model, NOW)
    pd.testing.assert_frame_equal(fast, _row_by_row(batch, uctx.model), check_exact=True)
    assert fast["appearances"].isna().tolist() == [True, False, True, False]
    assert fast["appearances"].iloc[1] == float(2**53 + 1) and fast["year"].isna().iloc[1]
    assert fast["prediction_proba"].tolist()[:2] == [0.25, 0.75] and pd.isna(fast["prediction_proba"].iloc[2])
    assert fast["row_index"].tolist() == [0, 1, pd.NA, 0]
    assert fast["reason"].tolist() == [None, None, "status_code 503", None]
