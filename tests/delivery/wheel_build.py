"""Build the lakemon wheel from this checkout into a directory, the way the pipeline does.

Shared by the wheel test and the example-app test. uv (installed into .venv by .ci/setup) is
used when present, `python -m build` otherwise; both build with hatchling from pyproject.toml.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from ado_pipeline import REPO

BUILD_TIMEOUT_S = 300


def uv_executable() -> str:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if not uv:
        raise AssertionError("uv not found next to the test interpreter or on PATH; run `bash .ci/setup`")
    return uv


def build_wheel(out_dir: Path, root: Path = REPO) -> Path:
    command = [uv_executable(), "build", "--wheel", "--out-dir", str(out_dir), str(root)]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    assert done.returncode == 0, f"wheel build failed:\n{done.stdout}\n{done.stderr}"
    wheels = sorted(out_dir.glob("lakemon-*.whl"))
    assert len(wheels) == 1, f"expected one wheel, got {wheels}"
    return wheels[0]
