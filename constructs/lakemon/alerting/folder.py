"""`AlertFolder`: the workspace folder the stack's SQL alerts live in (`databricks_directory`).

Why every alert names a folder the stack declares: `databricks_alert_v2.parent_path` is Optional
and not Computed (provider v1.99.0, `internal/service/sql_tf/model.go`, AlertV2
ApplySchemaCustomizations: `attrs["parent_path"].SetOptional()`), and create stores what the API
answers (`internal/providers/pluginfw/products/alert_v2/resource_alert_v2.go`, Create). Left unset,
an API that echoes the default folder (the creator's home) ends the apply in "Provider produced
inconsistent result" (open provider issue #4867 shows that symptom). The attribute "can only be
set on create, and cannot be updated" (`docs/resources/alert_v2.md`), so the folder is chosen at
create time, by the stack, and the alert references the directory so that Terraform creates the
folder first.

The path is written without the `/Workspace` prefix, the form of the provider's own alert_v2
example (`parent_path = "/Users/user@example.com"`) and of `databricks_directory.path`. Whether the
API echoes that exact form for alert_v2 is NOT settled by any source we found (the legacy
`databricks_alert` resource strips a `/Workspace` prefix the API may add, `sql/resource_alert.go`,
Read): a guess, recorded in docs/deploy.md.
"""

from __future__ import annotations

from cdktf_cdktf_provider_databricks.directory import Directory

from constructs import Construct

from ..errors import LakemonConstructError


def alert_folder_path(env_name: str) -> str:
    """The default folder of an environment's alerts: `/Shared/lakemon/<env>/alerts`."""
    return f"/Shared/lakemon/{env_name}/alerts"


class AlertFolder(Construct):
    """A workspace folder for SQL alerts, owned by the stack.

    Props: path (absolute workspace path, e.g. `alert_folder_path(env.name)`; no `/Workspace`
    prefix, see the module docstring). `folder.path` is the directory's `path` attribute, so an
    alert that uses it depends on the folder.
    """

    def __init__(self, scope: Construct, id: str, *, path: str) -> None:
        super().__init__(scope, id)
        if not path.startswith("/") or path.startswith("/Workspace/") or path.rstrip("/") != path or "//" in path:
            raise LakemonConstructError(
                self.node.path,
                f"alert folder {path!r} must be an absolute workspace path without the /Workspace prefix "
                "and without a trailing slash, e.g. /Shared/lakemon/prod/alerts",
            )
        self.directory = Directory(self, "directory", path=path)
        self.path: str = self.directory.path
