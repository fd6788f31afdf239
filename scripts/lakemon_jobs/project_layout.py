"""Where a lakemon project keeps its CDKTF app and env files.

Two layouts exist: this repository (`stacks/app.py`, `envs/*.yml`) and a project written by
`lakemon init` (`app.py` next to `cdktf.json`, `envs/*.yml`). `lakemon diff` and run-local's
synth both need to find the app from an env file, so the rule lives here, once.
"""

from __future__ import annotations

from pathlib import Path


def find_app(env_file: Path) -> Path | None:
    """The CDKTF app of the project the env file lives in (envs/<env>.yml), else of the current
    directory (an env file kept elsewhere), else None: `stacks/app.py` (this repository) or
    `app.py` next to `cdktf.json` (a project written by `lakemon init`)."""
    for root in (env_file.resolve().parent.parent, Path.cwd()):
        candidate = root / "stacks" / "app.py"
        if candidate.is_file():
            return candidate
        if (root / "app.py").is_file() and (root / "cdktf.json").is_file():
            return root / "app.py"
    return None


def project_root(app: Path) -> Path:
    """Where the app runs (as `cdktf synth` runs it): the folder holding cdktf.json."""
    return app.parent.parent if app.parent.name == "stacks" else app.parent


def stack_names(app: Path) -> list[str]:
    """The stacks the app synthesizes: one per env file in the project's `envs/` folder (the
    convention of stacks/app.py and the starter's app.py), sorted by name."""
    return sorted(p.stem for p in (project_root(app) / "envs").glob("*.yml"))
