"""One wheel and one installed virtual environment per test session, shared by the delivery
tests (wheel contents, the documented example app, the `lakemon init` starter), so CI builds and
installs lakemon once.

The venv is fresh (no system site packages, no editable install, no PYTHONPATH) and outside the
repository; the wheel is installed with the [jobs] extra, as a team installs it. `-c
requirements.lock` only pins the versions the resolver picks (and lets uv reuse its warm cache);
the dependencies come from the wheel's own metadata, so a missing dependency in pyproject.toml
fails the tests that use it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from ado_pipeline import REPO
from wheel_build import build_wheel, uv_executable

INSTALL_TIMEOUT_S = 600


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def installed(tmp_path_factory, built_wheel):
    """(python of a fresh venv with `lakemon[jobs]` installed from the wheel, the wheel, its site-packages)."""
    root = tmp_path_factory.mktemp("installed-lakemon")
    venv = root / "venv"
    uv = uv_executable()
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    done = subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", str(python), "-c", str(REPO / "requirements.lock"),
         f"lakemon[jobs] @ {built_wheel.as_uri()}"],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
    )
    assert done.returncode == 0, f"installing the wheel failed:\n{done.stderr[-3000:]}"
    site = subprocess.run(
        [python, "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    return python, built_wheel, Path(site)
