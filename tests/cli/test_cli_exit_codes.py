"""Bad configuration and unusable home folders are one clear message with the
exit code docs/jobs.md gives (2), in every job and in run-local; never a traceback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
JOBS = ("train", "register", "deploy", "unpack", "refresh", "analyze-drift")


def _lakemon(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "LAKEMON_HOME"}
    return subprocess.run(
        [sys.executable, "-m", "lakemon_jobs.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180
    )


@pytest.fixture(scope="module")
def bad_env(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("envs")
    text = (REPO / "envs" / "dev.yml").read_text().replace("retention_days: 90", "retention_days: true")
    assert "retention_days: true" in text
    (folder / "dev.yml").write_text(text)
    return folder / "dev.yml"


@pytest.mark.parametrize("job", [*JOBS, "run-local"])
def test_config_errors_exit_2_in_every_job(job, bad_env, tmp_path):
    done = _lakemon(job, "--env-file", str(bad_env), "--home", str(tmp_path / "home"), cwd=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    out = done.stdout + done.stderr
    assert "inference.retention_days: Input should be a valid integer (got true)" in out
    assert "Traceback" not in out


@pytest.mark.parametrize("job", ["unpack", "run-local"])
def test_home_that_is_a_file_is_named_not_the_env_file(job, tmp_path):
    home = tmp_path / "home.txt"
    home.write_text("not a folder")
    done = _lakemon(job, "--env-file", str(REPO / "envs" / "dev.yml"), "--home", str(home), cwd=tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 2, out
    assert f"the lakemon home {home} is a file, not a folder" in out
    assert "dev.yml" not in out.replace(str(REPO / "envs" / "dev.yml"), "") or "cannot load" not in out
    assert "Traceback" not in out


@pytest.mark.parametrize("job", ["refresh", "run-local"])
def test_home_that_cannot_be_written(job, tmp_path):
    home = Path("/proc/self/lakemon-home")  # a file system nobody can create folders in, not even root
    done = _lakemon(job, "--env-file", str(REPO / "envs" / "dev.yml"), "--home", str(home), cwd=tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 2, out
    assert re.search(r"the lakemon home /proc/(self|\d+)/lakemon-home is not usable", out), out
    assert "writable folder" in out
    assert "Traceback" not in out
