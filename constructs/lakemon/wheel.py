"""Find (or build) the lakemon wheel that the Databricks jobs install from the model's volume.

Why here and not in CI only: `cdktf synth` must produce a stack whose jobs reference the wheel
it uploads, so synthesis needs the file. In this repository the wheel is built on demand
(hatchling builds reproducibly, in well under a second with uv). A `lakemon init` project keeps
the release wheel it installed in `wheels/` (docs/using-lakemon.md), and synth uploads that very
file. Only with `jobs.package_index` set may there be no file (`lakemon.jobs.artifacts`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ._version import __version__

WHEEL_NAME = f"lakemon-{__version__}-py3-none-any.whl"
PROJECT_WHEELS = "wheels"
"""Folder of a `lakemon init` project that holds the release wheel (the one `requirements.txt` installs)."""
BUILD_TIMEOUT_S = 300


class WheelNotFoundError(FileNotFoundError):
    """A named wheel (`wheel=`, $LAKEMON_WHEEL) does not exist, or building one from the source tree failed."""


def source_root() -> Path | None:
    """The repository root when lakemon runs from its source tree (editable install), else None."""
    root = Path(__file__).resolve().parents[2]
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and 'name = "lakemon"' in pyproject.read_text(encoding="utf-8"):
        return root
    return None


def _newest_source_mtime(root: Path) -> float:
    newest = (root / "pyproject.toml").stat().st_mtime
    for package in (root / "constructs" / "lakemon", root / "scripts" / "lakemon_jobs"):
        for path in package.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                newest = max(newest, path.stat().st_mtime)
    return newest


def _build_command(out_dir: Path) -> list[str]:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv:
        return [uv, "build", "--wheel", "--out-dir", str(out_dir)]
    return [sys.executable, "-m", "build", "--wheel", "--outdir", str(out_dir)]


def build_wheel(root: Path) -> Path:
    """Build the wheel into `<root>/dist/` (atomically: a half-written wheel is never seen)."""
    dist = root / "dist"
    dist.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lakemon-wheel-", dir=dist) as tmp:
        command = _build_command(Path(tmp))
        try:
            subprocess.run(
                command, cwd=root, check=True, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            detail = getattr(exc, "stderr", None) or str(exc)
            raise WheelNotFoundError(
                f"building the lakemon wheel failed ({' '.join(command[:3])} ...): {detail.strip()[-800:]}\n"
                "Build it by hand with `uv build --wheel` (or `python -m build --wheel`) in the repository root."
            ) from None
        built = Path(tmp) / WHEEL_NAME
        if not built.is_file():
            raise WheelNotFoundError(
                f"the build did not produce {WHEEL_NAME}; found {sorted(os.listdir(tmp))}"
            )
        os.replace(built, dist / WHEEL_NAME)
    return dist / WHEEL_NAME


def locate_wheel(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The wheel to upload: `explicit`, else $LAKEMON_WHEEL, else `<repo>/dist/<wheel>` built when
    missing or older than the sources, else (outside a source tree) `./wheels/<wheel>` of this
    lakemon's version when it exists, else None (the jobs then need `jobs.package_index`).
    Raises WheelNotFoundError when a named wheel does not exist."""
    chosen = explicit or os.environ.get("LAKEMON_WHEEL")
    if chosen:
        path = Path(chosen)
        if not path.is_file():
            raise WheelNotFoundError(f"lakemon wheel {path} does not exist; build it with `uv build --wheel`")
        return path
    root = source_root()
    if root is None:
        project_wheel = Path(PROJECT_WHEELS) / WHEEL_NAME
        return project_wheel if project_wheel.is_file() else None
    wheel = root / "dist" / WHEEL_NAME
    if not wheel.is_file() or wheel.stat().st_mtime < _newest_source_mtime(root):
        wheel = build_wheel(root)
    return wheel
