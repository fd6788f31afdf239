"""`lakemon[jobs]` resolves on the Databricks serverless environment the jobs declare.

A serverless job installs its dependencies into an environment version that comes with a fixed
Python and Databricks Connect client (`lakemon.serverless`, which cites Databricks' environment
version page). The jobs install the uploaded lakemon wheel with its [jobs] extra, so the wheel's
whole requirement set must resolve together with that client, on that Python, for Linux x86_64,
from wheels only. `uv pip compile` checks exactly that (PyPI, or uv's cache).

The check can fail: environment 2's client (databricks-connect 15.4.5 requires numpy<2) against
the numpy 2.4 lakemon's statistics are tested with is reported as a conflict.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from wheel_build import uv_executable

from lakemon.serverless import (
    ENVIRONMENT_VERSION,
    JOBS_ENVIRONMENT,
    SERVERLESS_ENVIRONMENTS,
    ServerlessEnvironment,
)

RESOLVE_TIMEOUT_S = 600
PLATFORM = {"2": "x86_64-manylinux_2_35", "3": "x86_64-manylinux_2_39", "4": "x86_64-manylinux_2_39"}
"""glibc of each environment's Ubuntu (22.04: 2.35, 24.04: 2.39, per the same page's OS column)."""


def resolve(wheel: Path, environment: ServerlessEnvironment, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    requirements = tmp_path / f"env{environment.version}.in"
    requirements.write_text(
        f"lakemon[jobs] @ {wheel.as_uri()}\ndatabricks-connect=={environment.databricks_connect}\n", encoding="utf-8"
    )
    return subprocess.run(
        [
            uv_executable(), "pip", "compile", "--quiet", "--no-python-downloads", "--only-binary", ":all:",
            "--python-version", environment.python_minor, "--python-platform", PLATFORM[environment.version],
            str(requirements),
        ],
        capture_output=True, text=True, timeout=RESOLVE_TIMEOUT_S,
    )  # fmt: skip


def pinned(output: str) -> dict[str, str]:
    return dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", output, re.MULTILINE))


def test_the_jobs_declare_the_environment_with_the_python_lakemon_supports():
    import tomllib

    from ado_pipeline import REPO
    from packaging.specifiers import SpecifierSet

    assert ENVIRONMENT_VERSION in SERVERLESS_ENVIRONMENTS
    requires = SpecifierSet(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"])
    assert JOBS_ENVIRONMENT.python in requires
    assert "3.11.7" in requires  # CI's and the lock's Python (requirements.lock is compiled for 3.11)


def test_lakemon_jobs_resolves_with_the_chosen_environments_databricks_connect(built_wheel, tmp_path):
    done = resolve(built_wheel, JOBS_ENVIRONMENT, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    versions = pinned(done.stdout)
    assert versions["databricks-connect"] == JOBS_ENVIRONMENT.databricks_connect
    assert versions["numpy"].startswith("2.4.")  # the numpy the statistics are tested with
    assert "mlflow" in versions and "cdktf" in versions  # the jobs install the wheel's base dependencies too


def test_the_check_reports_environment_2s_numpy_conflict(built_wheel, tmp_path):
    """Environment 2 (Python 3.11, databricks-connect 15.4.5) cannot hold numpy 2.4: the check
    says so, which is why the jobs do not declare it."""
    done = resolve(built_wheel, SERVERLESS_ENVIRONMENTS["2"], tmp_path)
    assert done.returncode != 0
    message = " ".join(done.stderr.split())
    assert "databricks-connect==15.4.5 depends on numpy" in message and "unsatisfiable" in message, message[-2000:]


@pytest.mark.parametrize("version", sorted(SERVERLESS_ENVIRONMENTS))
def test_every_listed_environment_names_an_exact_client(version):
    environment = SERVERLESS_ENVIRONMENTS[version]
    assert re.fullmatch(r"\d+\.\d+\.\d+", environment.databricks_connect)
    assert re.fullmatch(r"3\.\d+\.\d+", environment.python)
