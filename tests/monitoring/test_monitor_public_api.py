"""The statistics use public scipy/numpy/sklearn API only, and run on the versions pyproject allows.

A private scipy ufunc or a copy of numpy internals can break silently when a resolver
picks another release. The ranges in pyproject.toml are narrowed to the tested minor versions;
these tests fail when the installed (tested) versions fall outside them, or when the lowest
allowed minor is not the one tested, or when a private name comes back.
"""

from __future__ import annotations

import ast
import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "scripts" / "lakemon_jobs" / "monitor_engine"
STATISTICS_DEPENDENCIES = ("numpy", "scipy", "scikit-learn")


def _jobs_requirements() -> dict[str, str]:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    found = {}
    for requirement in extras["jobs"]:
        name = re.split(r"[<>=!~ \[]", requirement, maxsplit=1)[0]
        found[name] = requirement[len(name):]
    return found


@pytest.mark.parametrize("name", STATISTICS_DEPENDENCIES)
def test_allowed_range_is_the_tested_minor_version(name):
    spec = _jobs_requirements()[name]
    lowest = re.search(r">=\s*(\d+)\.(\d+)", spec)
    below = re.search(r"<\s*(\d+)\.(\d+)", spec)
    assert lowest and below, f"{name}{spec}: needs a lower and an upper bound"
    installed = tuple(int(p) for p in version(name).split(".")[:2])
    low = (int(lowest[1]), int(lowest[2]))
    assert installed == low, f"tests run on {name} {version(name)}, but pyproject allows from {low}"
    assert (int(below[1]), int(below[2])) == (low[0], low[1] + 1), f"{name}{spec} allows untested minor versions"


@pytest.mark.parametrize("module", [
    "stats.py", "quality.py", "columns.py", "engine.py", "incremental.py",
    "groups.py", "baselines.py", "plans.py", "column_task.py", "rows.py", "scheduling.py",
])
def test_statistics_call_no_private_library_api(module):
    tree = ast.parse((MONITORING / module).read_text())
    private = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ("numpy", "scipy", "sklearn"):
            names = node.module.split(".") + [a.name for a in node.names]
            private += [node.module + ":" + a for a in names if a.startswith("_")]
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            base = node.value
            if isinstance(base, ast.Name) and base.id in ("np", "numpy", "scipy", "sps", "special", "metrics", "stats"):
                private.append(f"{base.id}.{node.attr}")
        if isinstance(node, ast.Attribute) and node.attr == "setswitchinterval":
            private.append("sys.setswitchinterval (global interpreter state)")
    assert private == []
