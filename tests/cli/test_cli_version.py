"""`lakemon --version`: the installed version (its source: tests/delivery/test_delivery_version.py),
printed without slowing `--help`, and named at the start of every job run on Databricks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import lakemon

REPO = Path(__file__).resolve().parents[2]


def _run(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env or dict(os.environ), capture_output=True, text=True, timeout=180
    )


def test_version_prints_the_lakemon_version():
    done = _run("from lakemon_jobs import cli; cli.main(['--version'])")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"lakemon {lakemon.__version__}\n"


def test_help_computes_no_version_and_imports_no_cdk():
    """`--help` stays fast: the version (a git call in a checkout) and cdktf are never loaded."""
    code = (
        "import sys\nfrom lakemon_jobs import cli\n"
        "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('lakemon._version', 'cdktf', 'jsii') if m in sys.modules))"
    )
    done = _run(code)
    assert done.returncode == 0, done.stderr
    assert "--version" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_a_job_run_on_databricks_names_the_version_first():
    env = {**os.environ, "DATABRICKS_RUNTIME_VERSION": "client.4.0"}
    done = _run("from lakemon_jobs import cli; cli.main(['unpack', '--help'])", env)
    assert done.stderr.splitlines()[0] == f"lakemon {lakemon.__version__}: unpack"
    local = _run("from lakemon_jobs import cli; cli.main(['unpack', '--help'])")
    assert "lakemon " + lakemon.__version__ not in local.stderr  # not on the embedded default
