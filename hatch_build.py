"""Hatchling metadata hook: the wheel's and sdist's version comes from git (the rule lives in
constructs/lakemon/_version.py, loaded here by path because the build environment has neither
lakemon's dependencies nor lakemon itself)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from hatchling.metadata.plugin.interface import MetadataHookInterface


def _version_module(root: Path):
    spec = importlib.util.spec_from_file_location("_lakemon_version_rule", root / "constructs" / "lakemon" / "_version.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class LakemonVersionHook(MetadataHookInterface):
    """Sets `version` (declared dynamic in pyproject.toml)."""

    def update(self, metadata: dict) -> None:
        metadata["version"] = _version_module(Path(self.root)).source_version(Path(self.root), strict=True)
