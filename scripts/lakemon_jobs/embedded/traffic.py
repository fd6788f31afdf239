"""Rehearsal traffic: real HTTP requests to the serving endpoint, spread over simulated days.

The plan is what a production week looks like for the Marvel model: first days of held-out
Marvel characters (the same test split training held out: same seed and fraction from the env
config, so none of them was trained on and no drift is expected), then days of DC characters
(another publisher: real distribution shift). Each request carries several rows in one of the
four request formats Databricks accepts (rotating), a `client_request_id`, and the rehearsal
clock header that puts it at a random time of its simulated day, so each 1-day monitor window
fills with one publisher's rows.

The known labels (ALIVE) are written afterwards to the labels table, keyed by
(client_request_id, row_index), as a labelling process would deliver them later.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import requests

from lakemon.contract.tables import CLIENT_REQUEST_ID, LABEL_TIME, ROW_INDEX

from .logging_layer import REQUEST_TIME_HEADER

FORMATS = ("dataframe_records", "dataframe_split", "instances", "inputs")
LABEL_DELAY = timedelta(hours=1)
"""Labels 'arrive' this long after their request (label_time)."""


@dataclass(frozen=True)
class Request:
    client_request_id: str
    day: date
    source: str
    request_time: datetime
    request_format: str
    rows: pd.DataFrame
    """Feature columns plus the label column (the label is never sent)."""


@dataclass(frozen=True)
class DayPlan:
    day: date
    source: str
    requests: list[Request]

    @property
    def row_count(self) -> int:
        return sum(len(r.rows) for r in self.requests)


@dataclass
class TrafficResult:
    """What was sent, what came back."""

    requests_sent: int = 0
    rows_sent: int = 0
    status_counts: dict[int, int] = field(default_factory=dict)
    rows_by_source: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def failed(self) -> int:
        return sum(n for status, n in self.status_counts.items() if status != 200)


def plan_days(
    sources: list[tuple[str, pd.DataFrame, int]],
    *,
    rows_per_day: int,
    batch_size: int,
    first_day: date,
    seed: int,
) -> list[DayPlan]:
    """Cut each source into `days` consecutive days of `rows_per_day` rows, in the given order.

    `sources` is [(name, frame, days)]. Rows are drawn without replacement (shuffled with
    `seed`); a source with too few rows is an error naming what to reduce.
    """
    rng = np.random.default_rng(seed)
    plans: list[DayPlan] = []
    day = first_day
    for name, frame, days in sources:
        needed = rows_per_day * days
        if needed > len(frame):
            raise ValueError(
                f"{name} has {len(frame)} rows, fewer than {days} days x {rows_per_day} rows/day = {needed}; "
                "lower --rows-per-day or the number of days"
            )
        shuffled = frame.iloc[rng.permutation(len(frame))[:needed]].reset_index(drop=True)
        for d in range(days):
            day_rows = shuffled.iloc[d * rows_per_day : (d + 1) * rows_per_day].reset_index(drop=True)
            n_requests = math.ceil(len(day_rows) / batch_size)
            seconds = np.sort(rng.uniform(0, 86_400, size=n_requests))
            midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
            reqs = [
                Request(
                    client_request_id=f"{name}-{day.isoformat()}-{i:05d}",
                    day=day,
                    source=name,
                    request_time=midnight + timedelta(seconds=float(seconds[i])),
                    request_format=FORMATS[(len(plans) + i) % len(FORMATS)],
                    rows=day_rows.iloc[i * batch_size : (i + 1) * batch_size],
                )
                for i in range(n_requests)
            ]
            plans.append(DayPlan(day, name, reqs))
            day += timedelta(days=1)
    return plans


def _json_values(values: list) -> list:
    """NaN/NA -> None (JSON has no NaN); numpy scalars -> Python."""
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            out.append(None)
        elif isinstance(v, np.generic):
            out.append(v.item())
        else:
            out.append(v)
    return out


def request_body(request: Request, features: list[str]) -> dict:
    """The JSON body in the request's format, plus its client_request_id."""
    columns = {f: _json_values(request.rows[f].tolist()) for f in features}
    records = [dict(zip(features, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    fmt = request.request_format
    if fmt == "dataframe_records":
        body: dict = {"dataframe_records": records}
    elif fmt == "dataframe_split":
        body = {"dataframe_split": {"columns": features, "data": [list(r.values()) for r in records]}}
    elif fmt == "instances":
        body = {"instances": records}
    elif fmt == "inputs":
        body = {"inputs": columns}  # column-oriented: {feature: [values]}
    else:
        raise ValueError(f"unknown request format {fmt!r}")
    body[CLIENT_REQUEST_ID] = request.client_request_id
    return body


def send_traffic(
    url: str,
    plans: list[DayPlan],
    features: list[str],
    *,
    workers: int = 4,
    timeout_s: float = 30.0,
    progress: Callable[[str], None] = print,
) -> TrafficResult:
    """POST every planned request to `url` (a thread pool per day), day by day, in order."""
    local = threading.local()

    def post(request: Request) -> int:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        try:
            resp = session.post(
                url,
                json=request_body(request, features),
                headers={REQUEST_TIME_HEADER: request.request_time.isoformat()},
                timeout=timeout_s,
            )
            return resp.status_code
        except requests.RequestException:
            return -1  # no answer at all (counted as failed)

    result = TrafficResult()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="traffic") as pool:
        for plan in plans:
            day_start = time.perf_counter()
            statuses = list(pool.map(post, plan.requests))
            for status in statuses:
                result.status_counts[status] = result.status_counts.get(status, 0) + 1
            result.requests_sent += len(plan.requests)
            result.rows_sent += plan.row_count
            result.rows_by_source[plan.source] = result.rows_by_source.get(plan.source, 0) + plan.row_count
            bad = sum(1 for s in statuses if s != 200)
            progress(
                f"{plan.day.isoformat()} {plan.source:<6} {plan.row_count:>5} rows in {len(plan.requests):>4} requests"
                f" ({time.perf_counter() - day_start:.1f}s){f', {bad} failed' if bad else ''}"
            )
    result.seconds = time.perf_counter() - started
    return result


def label_rows(plans: list[DayPlan], label: str) -> pd.DataFrame:
    """The labels table rows (lakemon.contract.tables.labels_columns) for every planned request."""
    frames = []
    for plan in plans:
        for request in plan.requests:
            frames.append(
                pd.DataFrame(
                    {
                        CLIENT_REQUEST_ID: request.client_request_id,
                        ROW_INDEX: np.arange(len(request.rows), dtype="int64"),
                        label: request.rows[label].to_numpy(),
                        LABEL_TIME: request.request_time + LABEL_DELAY,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)
