"""Where a job runs: on Databricks, or on the embedded default (one machine, no workspace).

Job scripts ask this module for locations instead of hard-coding them, so the same script
runs in both places. The embedded default keeps everything under one root folder:

    <root>/mlflow.db                     MLflow tracking + registry store (SQLite)
    <root>/mlartifacts/                  MLflow artifacts
    <root>/tables/<catalog>/<schema>/<table>/   local Delta tables (three-part names)
    <root>/deployments/<endpoint>.json   what the local "serving endpoint" serves
    <root>/reports/                      drift reports

The root is `$LAKEMON_HOME`, or `.lakemon` in the current directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def on_databricks() -> bool:
    """True inside a Databricks job or notebook (the runtime sets DATABRICKS_RUNTIME_VERSION)."""
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


@dataclass(frozen=True)
class LocalRuntime:
    root: Path

    @classmethod
    def from_env(cls, root: str | Path | None = None) -> LocalRuntime:
        base = Path(root or os.environ.get("LAKEMON_HOME") or ".lakemon").resolve()
        base.mkdir(parents=True, exist_ok=True)
        return cls(base)

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.root / 'mlflow.db'}"

    @property
    def artifact_root(self) -> Path:
        return self.root / "mlartifacts"

    def table_path(self, full_name: str) -> Path:
        parts = full_name.split(".")
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"{full_name!r} is not a three-part table name (catalog.schema.table)")
        return self.root / "tables" / Path(*parts)

    def deployment_path(self, endpoint: str) -> Path:
        return self.root / "deployments" / f"{endpoint}.json"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"
