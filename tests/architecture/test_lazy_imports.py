"""Every import inside a function of `lakemon_jobs` says why it is not at module level.

Module-level imports show a module's dependencies at a glance and fail at import, not minutes
into a run. An import stays inside a function only for a reason, written on its line as
`# lazy: <reason>`: an optional heavy dependency needed on one path (pyspark and databricks-sdk on
Databricks only), a module the CLI imports before it parses the options (`--help` stays fast), or
an import circle (docs/architecture.md, "Imports").
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
JOBS = REPO / "scripts" / "lakemon_jobs"
MARK = "# lazy:"

NOT_REVIEWED: dict[str, str] = {}
"""Files (relative to scripts/lakemon_jobs) whose in-function imports have not been reviewed yet,
with why they are left out. Empty: every file is checked."""


def unexplained_imports(source: str) -> list[int]:
    """Line numbers of the imports inside a function (nested ones included) that carry no
    `# lazy: <reason>` on any of their lines. An empty reason does not count."""
    lines = source.splitlines()

    def explained(node: ast.stmt) -> bool:
        text = " ".join(lines[node.lineno - 1 : node.end_lineno])
        return MARK in text and text.split(MARK, 1)[1].strip() != ""

    found: list[int] = []

    def walk(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if in_function and isinstance(child, ast.Import | ast.ImportFrom) and not explained(child):
                found.append(child.lineno)
            walk(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda))

    walk(ast.parse(source), False)
    return found


def test_the_check_finds_an_unexplained_import_and_accepts_a_reason():
    source = '''
import json

def plain():
    import os
    return os

def reasoned():
    import databricks  # lazy: Databricks only
    from pyspark.sql import (  # lazy: pyspark only on Databricks
        SparkSession,
    )
    return databricks, SparkSession

def empty_reason():
    import csv  # lazy:
    return csv

class Engine:
    def method(self):
        def nested():
            import math
            return math
        return nested

if True:
    import sys  # module level: no reason needed
'''
    assert unexplained_imports(source) == [5, 16, 22]


def test_every_import_inside_a_function_says_why():
    problems = []
    for file in sorted(JOBS.rglob("*.py")):
        relative = file.relative_to(JOBS).as_posix()
        if relative in NOT_REVIEWED:
            continue
        lines = file.read_text(encoding="utf-8").splitlines()
        for number in unexplained_imports(file.read_text(encoding="utf-8")):
            problems.append(f"scripts/lakemon_jobs/{relative}:{number}: {lines[number - 1].strip()}")
    assert not problems, (
        "imports inside functions without a `# lazy: <reason>` on their line: move them to module level, "
        "or say why they wait (docs/architecture.md, Imports):\n" + "\n".join(problems)
    )


def test_the_files_left_out_exist():
    missing = [name for name in NOT_REVIEWED if not (JOBS / name).is_file()]
    assert not missing, f"NOT_REVIEWED names files that are gone: {missing}"
