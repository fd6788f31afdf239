"""The job scripts name the shared columns through the contract, never by a string literal.

The request keys, the payload columns the jobs read, the quarantine's and the unpack-runs
columns are spelled once, in `lakemon.contract` (tables.py, payload.py); unpack, the payload
parser, retention, the monitor engine and the rehearsal's logging layer and traffic use those
constants, also inside their SQL (f-strings). A literal would compile and pass every test until
the name changes in one place only. Docstrings may name the columns (they explain, they are not
read by the code); comments are not in the AST.

The verdicts table's columns (`subject`, `value`, `feature`, ...) are common words that also key
analyze-drift's settings and JSON summary, the metrics tables and the Databricks alert API, so no
check can look for them everywhere. Instead: the table IS a typed row (`VerdictRow`, which
analyze-drift builds every row through), each column has a constant equal to its field, and two
narrower checks find a literal column name in the SQL of a module that names the verdicts table,
and in the row keys of the functions that read verdict rows.
"""

from __future__ import annotations

import ast
import re
from dataclasses import fields
from pathlib import Path

import pytest

from lakemon.contract import payload, verdicts
from lakemon.contract.payload import (
    FINISHED_AT,
    INFERENCE_ROWS_WRITTEN,
    PAYLOAD_NAMES,
    PAYLOAD_ROWS,
    PAYLOAD_TABLE,
    PAYLOAD_TABLE_ID,
    PAYLOAD_VERSION,
    QUARANTINE_COLUMNS,
    QUARANTINED_AT,
    READ_MODE,
    REQUEST_TIME,
    SERVED_ENTITY_ID,
    STARTED_AT,
    STATUS_CODE,
    UNPACK_RUN_COLUMNS,
)
from lakemon.contract.tables import CLIENT_REQUEST_ID, LABEL_TIME, REQUEST_ID, ROW_INDEX
from lakemon.contract.verdicts import (
    VERDICT_COLUMNS,
    VERDICT_KEYS,
    WINDOW_START,
    VerdictRow,
    verdicts_columns,
)

ROOT = Path(__file__).resolve().parents[2]
JOBS = ROOT / "scripts" / "lakemon_jobs"
CONTRACT = ROOT / "constructs" / "lakemon" / "contract"

GUARDED = (
    REQUEST_ID, CLIENT_REQUEST_ID, ROW_INDEX, LABEL_TIME, REQUEST_TIME, STATUS_CODE, SERVED_ENTITY_ID,
    PAYLOAD_TABLE, PAYLOAD_TABLE_ID, PAYLOAD_VERSION, READ_MODE, PAYLOAD_ROWS, INFERENCE_ROWS_WRITTEN,
    STARTED_AT, FINISHED_AT, QUARANTINED_AT,
)
"""Contract column names that are not also plain words (`request`, `response`, the quarantine's
`reason` and the unpack-runs columns `unpacked`, `quarantined` are constants too, but a message
may say "the request", "the reason" or "5 unpacked")."""
NAME = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, GUARDED)) + r")(?![A-Za-z0-9_])")


def spelled_names(source: str) -> list[tuple[int, str]]:
    """(line, name) of every guarded name in a string constant of `source` that is not a docstring
    (a bare string statement: a module, class or function docstring, or an attribute's). The
    constant parts of f-strings count: SQL built with f-strings must use the constants."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    return sorted(
        (node.lineno, name)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
        for name in NAME.findall(node.value)
    )


def test_no_job_script_spells_a_contract_column_name():
    offenders = [
        f"{file.relative_to(JOBS)}:{line}: {name!r}"
        for file in sorted(JOBS.rglob("*.py"))
        for line, name in spelled_names(file.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "use the constant of lakemon.contract.tables / lakemon.contract.payload"


def test_the_check_finds_literals_in_code_and_sql_and_spares_docstrings():
    source = '''
"""Module docstring: databricks_request_id is fine here."""
KEYS = ["databricks_request_id", "row_index"]
"""An attribute docstring may say label_time."""

def sql(log):
    """Function docstring: client_request_id."""
    return f"SELECT request_time, reason, now() AS quarantined_at FROM {log} WHERE status_code = 200 AND x.served_entity_id_2 IS NULL"
'''
    assert spelled_names(source) == [  # `reason` is a plain word: a message may say it
        (3, "databricks_request_id"),
        (3, "row_index"),
        (8, "quarantined_at"),
        (8, "request_time"),
        (8, "status_code"),
    ]


def _docstrings(tree: ast.AST) -> set[int]:
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
    }


def test_the_verdicts_table_is_its_typed_row_and_each_column_has_its_constant():
    names = [f.name for f in fields(VerdictRow)]
    assert [c.name for c in verdicts_columns()] == names == list(VERDICT_COLUMNS)
    assert {name: getattr(verdicts, name.upper(), None) for name in names} == {name: name for name in names}
    assert set(VERDICT_KEYS) < set(names)


def test_a_verdict_row_takes_every_column_by_its_name_and_nothing_else():
    every = {name: None for name in VERDICT_COLUMNS}
    assert VerdictRow(**every).as_dict() == every
    misspelt = {**every, "windw_start": None}
    del misspelt[WINDOW_START]
    forgotten = {name: None for name in VERDICT_COLUMNS if name != WINDOW_START}
    for wrong in (misspelt, forgotten):
        with pytest.raises(TypeError):
            VerdictRow(**wrong)
    with pytest.raises(TypeError):  # keyword-only: no row by position, where two columns could swap
        VerdictRow(*every.values())


def test_each_unpack_runs_column_has_its_constant():
    assert {c.name: getattr(payload, c.name.upper(), None) for c in UNPACK_RUN_COLUMNS} == {
        c.name: c.name for c in UNPACK_RUN_COLUMNS
    }


def test_each_quarantine_column_has_its_constant():
    """The payload's columns keep their constants (REQUEST_ID is `databricks_request_id`); the
    quarantine's own, `reason` and `quarantined_at`, are named by theirs in upper case."""
    constants = {value for name, value in vars(payload).items() if name.isupper() and isinstance(value, str)}
    assert [c.name for c in QUARANTINE_COLUMNS if c.name not in constants] == []
    own = [c.name for c in QUARANTINE_COLUMNS if c.name not in PAYLOAD_NAMES]
    assert {name: getattr(payload, name.upper(), None) for name in own} == {name: name for name in own}
    assert own == [payload.REASON, QUARANTINED_AT]


VERDICT_NAME = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, VERDICT_COLUMNS)) + r")(?![A-Za-z0-9_])")
SQL_WORD = re.compile(r"\b(SELECT|FROM|WHERE|JOIN|GROUP BY|ORDER BY|MERGE|INSERT|UPDATE|DELETE|AND|OR|AS|IN)\b")
"""What makes a string SQL: an upper-case keyword (messages and keys are lower case)."""


def names_the_verdicts_table(tree: ast.AST) -> bool:
    """The module imports the verdicts contract (or the alert SQL over it) or names the table
    (`ModelTables.drift_verdicts`): its SQL may be SQL over the verdicts table."""
    return any(
        (isinstance(node, ast.ImportFrom) and (node.module or "").rsplit(".", 1)[-1] in ("verdicts", "alert_queries"))
        or (isinstance(node, ast.Attribute) and node.attr == "drift_verdicts")
        for node in ast.walk(tree)
    )


def verdict_names_in_sql(source: str) -> list[tuple[int, str]]:
    """(line, name) of every verdicts column spelled in a SQL string of `source`, if the module
    names the verdicts table. An f-string counts as a whole (its constant parts), so a column
    list split by interpolations is SQL when any part has a keyword. Docstrings are spared."""
    tree = ast.parse(source)
    if not names_the_verdicts_table(tree):
        return []
    docs = _docstrings(tree)
    in_fstrings = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "\x00".join(v.value for v in node.values if isinstance(v, ast.Constant))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs | in_fstrings:
            text = node.value
        else:
            continue
        if SQL_WORD.search(text):
            found += [(node.lineno, name) for name in VERDICT_NAME.findall(text)]
    return sorted(found)


def test_no_sql_over_the_verdicts_table_spells_a_column():
    offenders = [
        f"{file.relative_to(ROOT)}:{line}: {name!r}"
        for file in sorted([*JOBS.rglob("*.py"), *CONTRACT.glob("*.py")])
        for line, name in verdict_names_in_sql(file.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "use the column constants of lakemon.contract.verdicts (SUBJECT, WINDOW_START, ...)"


VERDICT_ROW_READERS = {
    "retrain.py": ("confirmed_drift", "verdict_id"),
    "embedded/rehearsal.py": ("day_views",),
    "embedded/steps_monitor.py": ("analyze_drift", "daily_drift"),
    "drift/alerts.py": ("evaluate_alert", "alert_message"),
}
"""The functions that read verdict rows (or the alert rows selected from them) by column name.
Only these: elsewhere the same words key other things (analyze-drift's settings and JSON summary,
the metrics tables' rows, the Databricks alert API's `threshold`), so a wider check would misfire.
A new reader of the verdicts table belongs here."""


def verdict_names_as_row_keys(source: str, functions: tuple[str, ...]) -> list[tuple[int, str]]:
    """(line, name) of every verdicts column spelled as a key in `functions` of `source`:
    `row["feature"]`, `row.get("feature")`, `{"feature": ...}`. Raises if a function is missing,
    so a rename does not quietly drop it from the check."""
    tree = ast.parse(source)
    defined = {node.name: node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    missing = set(functions) - set(defined)
    assert not missing, f"VERDICT_ROW_READERS names functions that no longer exist: {sorted(missing)}"
    found = []
    for name in functions:
        for node in ast.walk(defined[name]):
            keys = []
            if isinstance(node, ast.Subscript):
                keys = [node.slice]
            elif isinstance(node, ast.Dict):
                keys = [k for k in node.keys if k is not None]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
                keys = node.args[:1]
            found += [
                (key.lineno, key.value)
                for key in keys
                if isinstance(key, ast.Constant) and key.value in VERDICT_COLUMNS
            ]
    return sorted(found)


def test_no_reader_of_verdict_rows_spells_a_column():
    offenders = [
        f"{path}:{line}: {name!r}"
        for path, functions in VERDICT_ROW_READERS.items()
        for line, name in verdict_names_as_row_keys((JOBS / path).read_text(encoding="utf-8"), functions)
    ]
    assert offenders == [], "use the column constants of lakemon.contract.verdicts (SUBJECT, WINDOW_START, ...)"


def test_the_verdict_checks_find_sql_and_row_keys_and_spare_the_rest():
    source = '''
"""Docstring: SELECT feature FROM the verdicts table is fine here."""
from lakemon.contract.verdicts import Verdict, WINDOW_START

def read(engine, tables, granularity):
    """SELECT verdict: a docstring."""
    rows = engine.query(f"SELECT run_id, {WINDOW_START}, feature "
                        f"FROM {tables.drift_verdicts} WHERE granularity = '{granularity}'")
    note = "the value of a feature"
    return [(r["verdict"], r.get("value"), {"subject": 1}, r[WINDOW_START]) for r in rows]

def other(settings):
    return settings["min_rows"]
'''
    assert verdict_names_in_sql(source) == [(7, "feature"), (7, "granularity"), (7, "run_id")]
    # only the listed readers: other()'s settings["min_rows"] is a settings key, not a verdict column
    assert verdict_names_as_row_keys(source, ("read",)) == [(10, "subject"), (10, "value"), (10, "verdict")]
    assert verdict_names_as_row_keys(source, ("read", "other")) == [(10, "subject"), (10, "value"), (10, "verdict"), (13, "min_rows")]
    assert verdict_names_in_sql(source.replace("from lakemon.contract.verdicts", "from elsewhere").replace(
        "tables.drift_verdicts", "table")) == []  # SQL of a module that never names the verdicts table
    with pytest.raises(AssertionError, match="no longer exist"):
        verdict_names_as_row_keys(source, ("gone",))
