"""The job scripts name the shared columns through the contract, never by a string literal.

The request keys and the payload columns the jobs read are spelled once, in `lakemon.contract`
(tables.py, payload.py); unpack, the payload parser, retention, the monitor engine and the
rehearsal's logging layer and traffic use those constants, also inside their SQL (f-strings).
A literal would compile and pass every test until the name changes in one place only. Docstrings
may name the columns (they explain, they are not read by the code); comments are not in the AST.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from lakemon.contract.payload import REQUEST_TIME, SERVED_ENTITY_ID, STATUS_CODE
from lakemon.contract.tables import CLIENT_REQUEST_ID, LABEL_TIME, REQUEST_ID, ROW_INDEX

JOBS = Path(__file__).resolve().parents[2] / "scripts" / "lakemon_jobs"

GUARDED = (REQUEST_ID, CLIENT_REQUEST_ID, ROW_INDEX, LABEL_TIME, REQUEST_TIME, STATUS_CODE, SERVED_ENTITY_ID)
"""Contract column names that are not also plain words (`request`, `response`, `reason` are
constants too, but a message may say "the request")."""
NAME = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, GUARDED)) + r")(?![A-Za-z0-9_])")


def spelled_names(source: str) -> list[tuple[int, str]]:
    """(line, name) of every guarded name in a string constant of `source` that is not a docstring
    (a bare string statement: a module, class or function docstring, or an attribute's). The
    constant parts of f-strings count: SQL built with f-strings must use the constants."""
    tree = ast.parse(source)
    docs = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
    }
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
    return f"SELECT request_time FROM {log} WHERE status_code = 200 AND x.served_entity_id_2 IS NULL"
'''
    assert spelled_names(source) == [
        (3, "databricks_request_id"),
        (3, "row_index"),
        (8, "request_time"),
        (8, "status_code"),
    ]
