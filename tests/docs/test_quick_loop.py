"""The quick loop leaves the slow tests out; CI and the README's test command still run them all.

`slow` is a registered marker (pytest refuses unknown ones: `--strict-markers`), nothing deselects
it by default, and README's "Contributing" section gives the quick loop's command and its measured
time, away from the first screen (which keeps exactly the two commands, test_readme.py).
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")
PYTEST = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]
QUICK_LOOP = '.venv/bin/python -m pytest -m "not slow"'


def test_slow_is_a_registered_marker_and_nothing_deselects_it_by_default():
    assert any(m.split(":")[0].strip() == "slow" for m in PYTEST["markers"])
    addopts = shlex.split(PYTEST["addopts"])
    assert "--strict-markers" in addopts
    assert not [a for a in addopts if a.startswith(("-m", "--deselect", "--ignore", "-k"))]


def test_ci_and_the_readme_run_every_test():
    run = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    [command] = re.findall(r"\.venv/bin/python -m pytest[^\n]*", run)
    assert command.strip() == ".venv/bin/python -m pytest"
    pipeline = (REPO / "azure-pipelines.yml").read_text(encoding="utf-8")
    assert "not slow" not in pipeline and "not slow" not in run


def test_the_contributing_section_gives_the_quick_loop_and_its_time():
    section = README.split("\n## Contributing\n")[1].split("\n## ")[0]
    assert QUICK_LOOP in section
    assert re.search(r"\d+(\.\d+)? ?(s|min)\b", section), "the quick loop's measured time"
    first_screen = "\n".join(README.splitlines()[:25])
    assert "not slow" not in first_screen and "## Contributing" not in first_screen


def test_the_slowest_tests_are_marked_slow():
    """The four that took 41% of the suite (run-local end to end twice, the 1M-row job benchmark
    smoke test, the retraining fixture) are among what tests/conftest.py marks."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("lakemon_tests_root_conftest", REPO / "tests" / "conftest.py")
    root = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(root)
    for path in ("tests/e2e/test_run_local.py", "tests/jobs/test_jobs_benchmark_smoke.py", "tests/jobs/test_jobs_retrain.py"):
        assert path in root.SLOW_PATHS
    assert len(root.SLOW_TESTS) >= 10
