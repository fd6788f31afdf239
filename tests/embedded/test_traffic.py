"""Rehearsal traffic: day plans, request bodies in every format, labels keyed as unpack joins them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lakemon.config import load_environment
from lakemon_jobs.embedded.traffic import FORMATS, LABEL_DELAY, label_rows, plan_days, request_body
from lakemon_jobs.payloads import unpack_payload

ENV = load_environment(Path(__file__).resolve().parents[2] / "envs" / "dev.yml")
MODEL = ENV.model()
FEATURES = MODEL.feature_names()


def frame(n: int, offset: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(offset)
    return pd.DataFrame(
        {
            "id": [f"id{i + offset}" for i in range(n)],
            "align": [None if i % 7 == 0 else "Good Characters" for i in range(n)],
            "eye": ["Blue Eyes"] * n,
            "hair": ["Black Hair"] * n,
            "sex": ["Male Characters"] * n,
            "gsm": [None] * n,
            "appearances": [float("nan") if i % 5 == 0 else float(i) for i in range(n)],
            "year": rng.uniform(1940, 2010, n).round(),
            "alive": rng.integers(0, 2, n),
        }
    )


def test_days_follow_each_other_source_by_source_without_reusing_rows():
    marvel, dc = frame(100), frame(90, offset=1000)
    plans = plan_days(
        [("marvel", marvel, 3), ("dc", dc, 2)],
        rows_per_day=30,
        batch_size=7,
        first_day=date(2026, 1, 1),
        seed=3,
    )
    assert [(p.day, p.source) for p in plans] == [
        (date(2026, 1, 1), "marvel"), (date(2026, 1, 2), "marvel"), (date(2026, 1, 3), "marvel"),
        (date(2026, 1, 4), "dc"), (date(2026, 1, 5), "dc"),
    ]  # fmt: skip
    assert all(p.row_count == 30 for p in plans)
    assert [len(r.rows) for r in plans[0].requests] == [7, 7, 7, 7, 2]
    ids = [i for p in plans for r in p.requests for i in r.rows["id"]]
    assert len(ids) == len(set(ids)) == 150
    assert all(
        i.startswith("id") and int(i[2:]) < 100 for p in plans[:3] for r in p.requests for i in r.rows["id"]
    )
    assert all(int(i[2:]) >= 1000 for p in plans[3:] for r in p.requests for i in r.rows["id"])
    for p in plans:
        midnight = datetime(p.day.year, p.day.month, p.day.day, tzinfo=UTC)
        times = [r.request_time for r in p.requests]
        assert times == sorted(times)
        assert all(midnight <= t < midnight + timedelta(days=1) for t in times)
    assert {r.request_format for p in plans for r in p.requests} == set(FORMATS)
    client_ids = [r.client_request_id for p in plans for r in p.requests]
    assert len(set(client_ids)) == len(client_ids)


def test_plans_are_reproducible_from_the_seed():
    a = plan_days(
        [("marvel", frame(50), 2)], rows_per_day=20, batch_size=5, first_day=date(2026, 1, 1), seed=7
    )
    b = plan_days(
        [("marvel", frame(50), 2)], rows_per_day=20, batch_size=5, first_day=date(2026, 1, 1), seed=7
    )
    assert [list(r.rows["id"]) for p in a for r in p.requests] == [
        list(r.rows["id"]) for p in b for r in p.requests
    ]


def test_too_few_rows_names_what_to_lower():
    with pytest.raises(
        ValueError, match=r"dc has 10 rows, fewer than 2 days x 8 rows/day = 16; lower --rows-per-day"
    ):
        plan_days([("dc", frame(10), 2)], rows_per_day=8, batch_size=4, first_day=date(2026, 1, 1), seed=0)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_request_format_unpacks_to_the_rows_that_were_sent(fmt):
    plan = plan_days(
        [("marvel", frame(12), 1)], rows_per_day=12, batch_size=12, first_day=date(2026, 1, 1), seed=0
    )
    request = plan[0].requests[0]
    request = type(request)(**{**request.__dict__, "request_format": fmt})
    body = request_body(request, FEATURES)
    assert fmt in body and body["client_request_id"] == request.client_request_id
    json.dumps(body, allow_nan=False)  # valid JSON: missing values are null, never NaN
    body.pop("client_request_id")  # the logging layer strips it before the model sees it
    payload = {
        "status_code": 200,
        "request": json.dumps(body),
        "response": json.dumps({"predictions": [{"prediction": 1, "prediction_proba": 0.5}] * 12}),
        "served_entity_id": "alive_classifier-1",
        "request_time": request.request_time,
        "databricks_request_id": "r",
        "client_request_id": request.client_request_id,
    }
    rows = unpack_payload(payload, MODEL)
    sent = request.rows.reset_index(drop=True)
    assert [r["row_index"] for r in rows] == list(range(12))
    for i, row in enumerate(rows):
        for f in FEATURES:
            expected = sent.loc[i, f]
            if expected is None or (isinstance(expected, float) and np.isnan(expected)):
                assert row[f] is None
            else:
                assert row[f] == expected


def test_labels_are_keyed_by_client_request_id_and_row_index():
    plans = plan_days(
        [("marvel", frame(20), 1)], rows_per_day=20, batch_size=8, first_day=date(2026, 1, 1), seed=0
    )
    labels = label_rows(plans, "alive")
    assert list(labels.columns) == ["client_request_id", "row_index", "alive", "label_time"]
    assert len(labels) == 20
    first = plans[0].requests[0]
    mine = labels[labels["client_request_id"] == first.client_request_id]
    assert list(mine["row_index"]) == list(range(8))
    assert list(mine["alive"]) == list(first.rows["alive"])
    assert (mine["label_time"] == first.request_time + LABEL_DELAY).all()
