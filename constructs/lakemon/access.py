"""Permission entries for the constructs: a principal name from config -> `PermissionsAccessControl`.

The naming rule itself (group, user or service principal) is part of the contract
(`lakemon.contract.principals`); this module only wraps it in the provider's type, which the job
scripts never load.
"""

from __future__ import annotations

from cdktf_cdktf_provider_databricks.permissions import PermissionsAccessControl

from .contract.principals import principal_field


def access_control(principal: str, level: str) -> PermissionsAccessControl:
    """A `PermissionsAccessControl` entry granting `level` to `principal`."""
    return PermissionsAccessControl(**{principal_field(principal): principal, "permission_level": level})
