"""The Databricks serverless environment versions lakemon knows, and the one its jobs declare.

Each serverless environment version fixes a Python version and the Databricks Connect client
preinstalled with it; the jobs' own dependencies (`lakemon[jobs]`) are installed on top, so they
must resolve together with that client. Source, read 2026-12-07: Databricks' "Serverless
environment versions" page (https://docs.databricks.com/gcp/release-notes/serverless/environment-version
and https://learn.microsoft.com/azure/databricks/release-notes/serverless/environment-version/),
which lists per version its system environment: operating system, Python, Databricks Connect.

Why version 4: environment 2 (Python 3.11) ships Databricks Connect 15.4.5, and environment 3
ships 16.4.2; both require `numpy<2` (their PyPI metadata), which contradicts the numpy 2.4
lakemon's statistics are tested with. Environment 4 (Python 3.12.3, Databricks Connect 17.2.3,
supported until 2028-08-13) resolves with `lakemon[jobs]` (tests/delivery, the resolution test).
Environment 5 (Python 3.12.3, "Databricks Connect: 18", released 2026-02-25) names no patch
release, so its client cannot be pinned exactly: not chosen until the page does.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServerlessEnvironment:
    version: str
    python: str
    databricks_connect: str
    end_of_support: str

    @property
    def python_minor(self) -> str:
        return ".".join(self.python.split(".")[:2])


SERVERLESS_ENVIRONMENTS = {
    env.version: env
    for env in (
        ServerlessEnvironment("2", python="3.11.10", databricks_connect="15.4.5", end_of_support="2027-11-21"),
        ServerlessEnvironment("3", python="3.12.3", databricks_connect="16.4.2", end_of_support="2028-06-13"),
        ServerlessEnvironment("4", python="3.12.3", databricks_connect="17.2.3", end_of_support="2028-08-13"),
    )
}
"""Environment versions as the page lists them (version, Python, Databricks Connect, end of support)."""

ENVIRONMENT_VERSION = "4"
"""The serverless environment version every lakemon job declares (module docstring: why)."""
JOBS_ENVIRONMENT = SERVERLESS_ENVIRONMENTS[ENVIRONMENT_VERSION]
