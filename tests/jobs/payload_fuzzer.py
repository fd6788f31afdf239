"""A seeded payload fuzzer for `lakemon unpack` (hostile input): hostile and odd payload rows, each
with its expected outcome, written to a payload table and unpacked.

Every case is built from values whose expected inference-log value the generator knows (so the
oracle does not re-implement the parser), or is a mutation that must be quarantined. After the
runs each case is classified:

- clean: quarantined with a reason (not an internal error) when quarantine was expected, or
  unpacked into exactly the expected rows when rows were expected;
- traceback: unpack raised, or the payload was quarantined as an internal error ("unexpected ...");
- wrong: quarantined although valid, unpacked although invalid, or rows that differ;
- lost: in neither the inference log nor the quarantine.

`python tests/jobs/payload_fuzzer.py [--seed N] [--cases N]` prints the counts (docs/reliability.md).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

STRING_FEATURES = ["id", "align", "eye", "hair", "sex", "gsm"]
DOUBLE_FEATURES = ["appearances", "year"]
FEATURES = STRING_FEATURES + DOUBLE_FEATURES
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
NOW = pd.Timestamp("2026-06-01", tz="UTC")
SERVED = "alive_classifier-3"

# (JSON value, expected inference-log value)
STRING_VALUES: list[tuple[Any, Any]] = [
    ("Good Characters", "Good Characters"), ("", ""), ("ünïcødé ✓", "ünïcødé ✓"), ("😀 \u2028 \t", "😀 \u2028 \t"),
    (None, None), (5, "5"), (2.5, "2.5"), (True, "true"), (10**400, str(10**400)),
    ("x" * 5000, "x" * 5000), ("' OR 1=1; --", "' OR 1=1; --"), ("${var.secret}", "${var.secret}"),
]
DOUBLE_VALUES: list[tuple[Any, Any]] = [
    (0, 0.0), (-1, -1.0), (3.25, 3.25), (1e300, 1e300), (-1e-300, -1e-300), (None, None),
    (2**53, float(2**53)), (10**20, 1e20), (0.1, 0.1),
]


@dataclass
class Case:
    kind: str
    request: str | None
    response: str | None
    expected: list[dict[str, Any]] | None
    """Expected inference-log rows (feature/output/model_version values by row), or None: quarantine."""
    reason: str | None = None
    """A text the quarantine reason must contain (None: any clean reason)."""
    status: int = 200
    served: str | None = SERVED
    request_time: dt.datetime | None = None
    request_id: str | None = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _records(rng: random.Random, n: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """n records as sent and as expected (feature name -> value)."""
    sent, expected = [], []
    for _ in range(n):
        s, e = {}, {}
        for name in STRING_FEATURES:
            s[name], e[name] = rng.choice(STRING_VALUES)
        for name in DOUBLE_FEATURES:
            s[name], e[name] = rng.choice(DOUBLE_VALUES)
        sent.append(s)
        expected.append(e)
    return sent, expected


def _predictions(rng: random.Random, n: int, scalar: bool) -> tuple[list[Any], list[dict[str, Any]]]:
    classes = [rng.choice([0, 1]) for _ in range(n)]
    if scalar:
        return classes, [{"prediction": c, "prediction_proba": None} for c in classes]
    probas = [rng.random() for _ in range(n)]
    sent = [{"prediction": c, "prediction_proba": p} for c, p in zip(classes, probas, strict=True)]
    return sent, [{"prediction": c, "prediction_proba": p} for c, p in zip(classes, probas, strict=True)]


def _encode(rng: random.Random, fmt: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    if fmt == "dataframe_records":
        return {fmt: records}
    if fmt == "dataframe_split":
        return {fmt: {"columns": FEATURES, "data": [[r[c] for c in FEATURES] for r in records]}}
    if fmt == "positional":
        return {rng.choice(["instances", "inputs"]): [[r[c] for c in FEATURES] for r in records]}
    if fmt == "columnar":
        return {rng.choice(["instances", "inputs"]): {c: [r[c] for r in records] for c in FEATURES}}
    return {rng.choice(["instances", "inputs"]): records}


def valid(rng: random.Random, *, fmt: str | None = None, n: int | None = None, scalar: bool | None = None,
          version: str | None = SERVED) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """A valid request, response and the expected rows."""
    n = n or rng.randint(1, 6)
    fmt = fmt or rng.choice(["dataframe_records", "dataframe_split", "positional", "columnar", "records_list"])
    scalar = rng.random() < 0.3 if scalar is None else scalar
    sent, expected = _records(rng, n)
    preds, expected_preds = _predictions(rng, n, scalar)
    rows = [{**e, **p, "model_version": version} for e, p in zip(expected, expected_preds, strict=True)]
    return _encode(rng, fmt, sent), {"predictions": preds}, rows


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=rng_ascii.random() < 0.5, allow_nan=True)


rng_ascii = random.Random(0)  # reset by generate(): whether a case escapes non-ASCII (both must work)


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def _with_raw(body: dict[str, Any], path: str, raw: str) -> str:
    """body as JSON with the placeholder string `path` replaced by raw JSON text."""
    return _dump(body).replace(json.dumps(path), raw)


MutationFn = Callable[[random.Random], Case]
MUTATIONS: dict[str, MutationFn] = {}


def mutation(fn: MutationFn) -> MutationFn:
    MUTATIONS[fn.__name__] = fn
    return fn


@mutation
def valid_any_format(rng):
    req, resp, rows = valid(rng)
    return Case("valid_any_format", _dump(req), _dump(resp), rows)


@mutation
def valid_extra_and_missing_keys(rng):
    req, resp, rows = valid(rng, fmt="dataframe_records")
    dropped = rng.choice(FEATURES)
    for record, row in zip(req["dataframe_records"], rows, strict=True):
        record.pop(dropped)
        record["unknown_" + dropped] = [1, {"a": None}]
        record["__SURROGATE_KEY__"] = "\u00e9"
        row[dropped] = None
    # an unknown key that is a lone surrogate is ignored like any unknown key
    text = _dump(req).replace('"__SURROGATE_KEY__"', '"\\udfff"')
    return Case("valid_extra_and_missing_keys", text, _dump(resp), rows)


@mutation
def valid_many_records(rng):
    req, resp, rows = valid(rng, n=rng.choice([300, 1000]))
    return Case(f"valid_many_records:{len(rows)}", _dump(req), _dump(resp), rows)


@mutation
def valid_bool_prediction(rng):
    req, resp, rows = valid(rng, n=2, scalar=True)
    resp["predictions"] = [True, False]
    rows[0]["prediction"], rows[1]["prediction"] = 1, 0
    return Case("valid_bool_prediction", _dump(req), _dump(resp), rows)


@mutation
def valid_version_from_request(rng):
    where = rng.choice(["top", "params", "params_list", "params_text"])
    req, resp, rows = valid(rng, version=None)
    if where == "top":
        req["model_version"] = "7"
    elif where == "params":
        req["params"] = {"model_version": 8}
    else:
        req["params"] = [1] if where == "params_list" else "model_version"
    expected = {"top": "7", "params": "8"}.get(where)
    for row in rows:
        row["model_version"] = expected
    return Case(f"valid_version_from_request:{where}", _dump(req), _dump(resp), rows, served=None)


@mutation
def valid_nan_becomes_null(rng):
    req, resp, rows = valid(rng, fmt="dataframe_records", scalar=False)
    req["dataframe_records"][0]["year"] = "__NAN__"
    resp["predictions"][0]["prediction_proba"] = "__NAN__"
    rows[0]["year"] = rows[0]["prediction_proba"] = None
    return Case("valid_nan_becomes_null", _dump(req).replace('"__NAN__"', "NaN"), _dump(resp).replace('"__NAN__"', "NaN"), rows)


@mutation
def valid_old_request_time(rng):
    req, resp, rows = valid(rng)
    return Case("valid_old_request_time", _dump(req), _dump(resp), rows, request_time=dt.datetime(1970, 1, 2, tzinfo=dt.UTC))


@mutation
def valid_big_text(rng):
    req, resp, rows = valid(rng, fmt="dataframe_records", n=1)
    req["dataframe_records"][0]["id"] = rows[0]["id"] = "é" * 200_000
    return Case("valid_big_text", _dump(req), _dump(resp), rows)


@mutation
def lone_surrogate(rng):
    req, resp, _ = valid(rng, fmt="dataframe_records")
    target = rng.choice(["feature", "version"])
    if target == "feature":
        req["dataframe_records"][-1][rng.choice(STRING_FEATURES)] = "__SURROGATE__"
        return Case("lone_surrogate:feature", _dump(req).replace('"__SURROGATE__"', '"a\\udc80b"'), _dump(resp), None,
                    reason="not valid Unicode")
    req["model_version"] = "__SURROGATE__"
    return Case("lone_surrogate:version", _dump(req).replace('"__SURROGATE__"', '"\\ud800"'), _dump(resp), None,
                reason="not valid Unicode", served=None)


@mutation
def deep_nesting(rng):
    req, resp, _ = valid(rng, fmt="dataframe_records", n=1)
    depth = rng.choice([50, 5_000, 100_000, 400_000])
    where = rng.choice(["request", "response", "value"])
    if where == "request":
        return Case(f"deep_nesting:request:{depth}", '{"dataframe_records": ' + _deep(depth) + "}", _dump(resp), None)
    if where == "response":
        return Case(f"deep_nesting:response:{depth}", _dump(req), '{"predictions": ' + _deep(depth) + "}", None)
    req["dataframe_records"][0]["align"] = "__X__"
    return Case(f"deep_nesting:value:{depth}", _with_raw(req, "__X__", _deep(depth)), _dump(resp), None)


@mutation
def split_bad_columns(rng):
    columns = rng.choice([[["id"]], [{"id": 1}], [1], ["id", "id"], "id", None])
    body = {"dataframe_split": {"columns": columns, "data": [["a"] * (len(columns) if isinstance(columns, list) else 1)]}}
    return Case(f"split_bad_columns:{json.dumps(columns)}", _dump(body), _dump({"predictions": [1]}), None)


@mutation
def huge_integer(rng):
    req, resp, _ = valid(rng, fmt="dataframe_records", n=1, scalar=False)
    digits = rng.choice([30, 400, 5000])
    big = "9" * digits
    where = rng.choice(["double", "prediction", "proba"])
    if where == "double":
        req["dataframe_records"][0]["appearances"] = "__BIG__"
    elif where == "prediction":
        resp["predictions"][0]["prediction"] = "__BIG__"
    else:
        resp["predictions"][0]["prediction_proba"] = "__BIG__"
    request, response = _dump(req).replace('"__BIG__"', big), _dump(resp).replace('"__BIG__"', big)
    if where == "double" and digits == 30:  # 1e30 fits a double: a correct result
        return Case("huge_integer:double:30", request, response, _expected_from(req, resp, {"appearances": float(big)}))
    if where == "proba" and digits == 30:
        return Case("huge_integer:proba:30", request, response, _expected_from(req, resp, {"prediction_proba": float(big)}))
    return Case(f"huge_integer:{where}:{digits}", request, response, None)


def _expected_from(req: dict[str, Any], resp: dict[str, Any], override: dict[str, Any]) -> list[dict[str, Any]]:
    """Expected rows for a one-record dataframe_records request built by valid() (values looked
    up in the generator's tables, not parsed)."""
    record = req["dataframe_records"][0]
    row = {}
    for name in STRING_FEATURES:
        row[name] = dict((json.dumps(v), e) for v, e in STRING_VALUES)[json.dumps(record[name])]
    for name in DOUBLE_FEATURES:
        value = record[name]
        row[name] = None if value is None or value == "__BIG__" else float(value)
    pred = resp["predictions"][0]
    row.update({"prediction": pred["prediction"], "prediction_proba": pred["prediction_proba"], "model_version": SERVED})
    row.update(override)
    return [row]


@mutation
def bad_prediction(rng):
    req, resp, _ = valid(rng, fmt="dataframe_records", n=1, scalar=False)
    value = rng.choice(["1e30", "1.5", '"1"', "[1]", "{}", "Infinity", "-Infinity", "true_proba_text"])
    if value == "true_proba_text":
        resp["predictions"][0]["prediction_proba"] = "high"
        return Case("bad_prediction:proba_text", _dump(req), _dump(resp), None, reason="expected a number")
    if value in ("Infinity", "-Infinity"):
        resp["predictions"][0]["prediction_proba"] = "__V__"
        return Case(f"bad_prediction:proba_{value}", _dump(req), _dump(resp).replace('"__V__"', value), None,
                    reason="not a finite number")
    if value == "{}":
        resp["predictions"][0] = {}
        return Case("bad_prediction:no_key", _dump(req), _dump(resp), None, reason="has no 'prediction' key")
    resp["predictions"][0]["prediction"] = "__V__"
    return Case(f"bad_prediction:{value}", _dump(req), _dump(resp).replace('"__V__"', value), None)


@mutation
def bad_feature_value(rng):
    req, resp, _ = valid(rng, fmt="dataframe_records", n=1)
    name, value = rng.choice([("appearances", "many"), ("year", True), ("align", {"a": 1}), ("sex", [1, 2]),
                              ("year", "__INF__")])
    req["dataframe_records"][0][name] = value
    return Case(f"bad_feature_value:{name}", _dump(req).replace('"__INF__"', "Infinity"), _dump(resp), None,
                reason=f"column {name}")


@mutation
def shape_mismatch(rng):
    req, resp, _ = valid(rng, fmt="dataframe_records", n=3)
    kind = rng.choice(["fewer_predictions", "empty", "positional_length", "columnar_lengths", "row_not_record"])
    if kind == "fewer_predictions":
        resp["predictions"].pop()
    elif kind == "empty":
        req, resp = {"dataframe_records": []}, {"predictions": []}
    elif kind == "positional_length":
        req = {"instances": [[1, 2, 3]] * 3}
    elif kind == "columnar_lengths":
        req = {"inputs": {"id": ["a", "b"], "align": ["c"]}}
    else:
        req = {"dataframe_records": [1, 2, 3]}
    return Case(f"shape_mismatch:{kind}", _dump(req), _dump(resp), None)


@mutation
def not_a_request(rng):
    text = rng.choice(["", "null", "42", "[1, 2]", '"text"', "{", '{"records": []}',
                       '{"instances": [], "inputs": []}', '{"dataframe_records": {"id": 1}}', None, "\x00\x01"])
    return Case(f"not_a_request:{text!r}", text, _dump({"predictions": [1]}), None)


@mutation
def not_a_response(rng):
    req, _, _ = valid(rng, n=1)
    text = rng.choice(["", "null", '{"predictions": 1}', '{"prediction": [1]}', "[1]", None, '{"predictions": [[1]]}'])
    return Case(f"not_a_response:{text!r}", _dump(req), text, None)


@mutation
def error_status(rng):
    req, resp, _ = valid(rng)
    status = rng.choice([400, 404, 429, 500, 503])
    return Case(f"error_status:{status}", _dump(req), rng.choice([_dump(resp), '{"error_code": "BAD"}', None]), None,
                reason=f"status_code {status}", status=status)


@mutation
def bad_request_time(rng):
    req, resp, _ = valid(rng)
    when = rng.choice([None, dt.datetime(2100, 1, 1, tzinfo=dt.UTC), dt.datetime(9999, 12, 31, tzinfo=dt.UTC),
                       NOW.to_pydatetime() + dt.timedelta(hours=2)])
    reason = ("request_time is null" if when is None else
              "is outside the years 1678-2261" if when.year > 2261 else "is in the future")
    return Case(f"bad_request_time:{when}", _dump(req), _dump(resp), None, reason=reason, request_time=when)


@mutation
def no_request_id(rng):
    req, resp, _ = valid(rng)
    return Case("no_request_id", _dump(req), _dump(resp), None, reason="databricks_request_id is null", request_id=None)


def generate(seed: int, cases: int) -> list[Case]:
    """`cases` cases: every mutation at least once, then mutations drawn at random."""
    rng = random.Random(seed)
    rng_ascii.seed(seed)
    names = sorted(MUTATIONS)
    chosen = names + [rng.choice(names) for _ in range(max(0, cases - len(names)))]
    out = []
    for i, name in enumerate(chosen):
        case = MUTATIONS[name](rng)
        if case.request_id == "":
            case.request_id = f"fuzz-{i:04d}"
        if case.request_time is None and "request_time" not in case.kind:
            case.request_time = T0 + dt.timedelta(minutes=i)
        case.extra["index"] = i
        out.append(case)
    return out


def payload_row(case: Case) -> dict[str, Any]:
    i = case.extra["index"]
    return {
        "databricks_request_id": case.request_id,
        "client_request_id": f"client-{i:04d}",
        "request_date": (case.request_time or T0).date(),
        "request_time": case.request_time,
        "status_code": case.status,
        "sampling_fraction": 1.0,
        "execution_duration_ms": 3,
        "request": case.request,
        "response": case.response,
        "logging_error_codes": [],
        "served_entity_id": case.served,
        "requester": "fuzzer",
    }


def _same(actual: Any, expected: Any) -> bool:
    if expected is None:
        return actual is None or (isinstance(actual, float) and math.isnan(actual)) or actual is pd.NA
    if isinstance(expected, float):
        return isinstance(actual, float) and actual == expected
    return actual == expected


def classify(cases: list[Case], log: pd.DataFrame, quarantine: pd.DataFrame) -> dict[str, list[str]]:
    """Each case -> clean / traceback / wrong / lost (lists of case descriptions)."""
    outcome: dict[str, list[str]] = {"clean": [], "traceback": [], "wrong": [], "lost": []}
    for case in cases:
        i = case.extra["index"]
        label = f"{i}:{case.kind}"
        if case.request_id is None:
            rows = log.iloc[0:0]
            held = quarantine[quarantine["databricks_request_id"].isna() & (quarantine["client_request_id"] == f"client-{i:04d}")]
            if held.empty:  # a null-id row is identified by its request time; the client id shows which one was kept
                held = quarantine[quarantine["databricks_request_id"].isna()
                                  & (quarantine["request_time"] == pd.Timestamp(case.request_time))]
        else:
            rows = log[log["databricks_request_id"] == case.request_id].sort_values("row_index")
            held = quarantine[quarantine["databricks_request_id"] == case.request_id]
        if rows.empty and held.empty:
            outcome["lost"].append(label)
        elif not held.empty:
            reason = str(held["reason"].iloc[0])
            if reason.startswith("unexpected"):
                outcome["traceback"].append(f"{label}: {reason}")
            elif case.expected is not None or not rows.empty:
                outcome["wrong"].append(f"{label}: quarantined although valid: {reason}")
            elif case.reason is not None and case.reason not in reason:
                outcome["wrong"].append(f"{label}: reason {reason!r} lacks {case.reason!r}")
            else:
                outcome["clean"].append(label)
        elif case.expected is None:
            outcome["wrong"].append(f"{label}: unpacked although invalid")
        else:
            problems = _compare(rows, case)
            outcome["wrong" if problems else "clean"].append(f"{label}: {problems}" if problems else label)
    return outcome


def _compare(rows: pd.DataFrame, case: Case) -> str:
    if list(rows["row_index"]) != list(range(len(case.expected))):
        return f"row_index {list(rows['row_index'])}, expected {len(case.expected)} rows"
    for actual, expected in zip(rows.to_dict("records"), case.expected, strict=True):
        for name, value in expected.items():
            got = actual[name]
            got = None if got is pd.NA or got is None else (got.item() if hasattr(got, "item") else got)
            if not _same(got, value):
                return f"{name}: {str(got)[:60]!r} != expected {str(value)[:60]!r}"
        if pd.Timestamp(actual["timestamp"]) != pd.Timestamp(case.request_time):
            return f"timestamp {actual['timestamp']} != {case.request_time}"
    return ""


def run(home, seed: int = 17, cases: int = 150, commits: int = 3) -> tuple[dict[str, list[str]], list[Case]]:
    """Generate, write in `commits` commits (unpack after each: the incremental path), classify."""
    import pyarrow as pa
    from deltalake import write_deltalake
    from jobs_helpers import DEV_ENV, quiet

    from lakemon.contract.payload import PAYLOAD_TABLE_PROPERTIES
    from lakemon_jobs.context import JobContext
    from lakemon_jobs.payload_table import PAYLOAD_SCHEMA
    from lakemon_jobs.table_engines import engine_for
    from lakemon_jobs.unpack import unpack_payloads

    ctx = JobContext.load(DEV_ENV, home=home)
    generated = generate(seed, cases)
    path = str(ctx.runtime.table_path(ctx.tables.payload))
    crashed: str | None = None
    for part in range(commits):
        chunk = generated[part::commits]
        table = pa.Table.from_pylist([payload_row(c) for c in chunk], schema=PAYLOAD_SCHEMA)
        write_deltalake(path, table, mode="append", configuration=PAYLOAD_TABLE_PROPERTIES)
        try:
            unpack_payloads(ctx, progress=quiet, now=NOW)
        except Exception as exc:  # noqa: BLE001 - counted: every case of a crashed run is a traceback
            crashed = f"{type(exc).__name__}: {exc}"
            break
    engine = engine_for(ctx)
    if crashed:
        return {"clean": [], "traceback": [f"unpack raised {crashed}"] * len(generated), "wrong": [], "lost": []}, generated
    return classify(generated, engine.read_table(ctx.tables.inference_log), engine.read_table(ctx.tables.quarantine)), generated


if __name__ == "__main__":
    import argparse
    import sys
    import tempfile
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--cases", type=int, default=150)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        outcome, generated = run(Path(tmp) / "home", args.seed, args.cases)
    expected_rows = sum(1 for c in generated if c.expected is not None)
    print(json.dumps({"seed": args.seed, "tried": len(generated), "valid": expected_rows,
                      "invalid": len(generated) - expected_rows, **{k: len(v) for k, v in outcome.items()}}))
    for kind in ("traceback", "wrong", "lost"):
        for item in outcome[kind]:
            print(kind, item)
