"""The `[jobs]` extra: which import names it provides, and which of them are missing here.

`pip install lakemon` is enough for synth, diff and doctor; the job subcommands need the extra.
The CLI checks before a subcommand starts and `doctor` reports it, from this one table.
"""

from __future__ import annotations

import importlib.util

JOBS_EXTRA_MODULES = {
    "databricks": "databricks-sdk",
    "mlflow": "mlflow",
    "sklearn": "scikit-learn",
    "pandas": "pandas",
    "numpy": "numpy",
    "scipy": "scipy",
    "pyarrow": "pyarrow",
    "duckdb": "duckdb",
    "deltalake": "deltalake",
    "statsmodels": "statsmodels",
    "matplotlib": "matplotlib",
    "requests": "requests",
    "jinja2": "jinja2",
}
"""Import name -> distribution of every dependency in the `[jobs]` extra (a test keeps this
equal to pyproject.toml): a missing one means the extra was not installed."""


def missing_jobs_modules() -> list[str]:
    """Import names of the [jobs] extra that cannot be found, without importing anything.

    Why before the subcommand runs: a module imported late (mlflow inside run-local's second
    step, after minutes of work) would otherwise end the run with a ModuleNotFoundError."""
    missing = []
    for module in JOBS_EXTRA_MODULES:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # a module set to None, or one whose finder refuses it
            found = False
        if not found:
            missing.append(module)
    return missing
