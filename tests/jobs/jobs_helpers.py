"""Helpers of the job-script tests (a uniquely named module: several test folders have a conftest)."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
DEV_ENV = REPO / "envs" / "dev.yml"
WEAK_PARAMS = {"max_iter": 1, "max_leaf_nodes": 2, "learning_rate": 0.01}
"""One stump: a deliberately worse classifier than the defaults (the champion gate must refuse it)."""


def quiet(_message: str) -> None:
    """progress callback that drops messages (the jobs print progress by default)."""


def write_env(folder: Path, *, name: str = "alive_classifier", **overrides) -> Path:
    """A copy of envs/dev.yml with another model name / catalog / schema / training params."""
    data = yaml.safe_load(DEV_ENV.read_text())
    model = data["models"][0]
    model["name"] = name
    if "params" in overrides:
        model["training"]["params"] = overrides.pop("params")
    data.update(overrides)
    # the loader requires the file name to be the env name: keep 'dev' in a subfolder per variant
    path = folder / f"{name}_{data['catalog']}" / "dev.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
