"""Turn a principal name from config into the right Databricks access-control field.

Config lists principals as plain strings; Databricks needs to know whether each is a group,
a user or a service principal. The rule is the one Databricks itself uses for names:
an application id (UUID) is a service principal, an e-mail address is a user, anything else
is a group.
"""

from __future__ import annotations

import re

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

# Names that mean "every user of the workspace/account": never granted endpoint access.
ALL_USERS = frozenset({"users", "account users", "all users"})


def names_every_user(principal: str) -> bool:
    """True when `principal` is one of ALL_USERS, in any case, with spaces around: the one test
    the env file's validation, the ServingEndpoint construct and policy rule LM-SERVE-2 share."""
    return principal.strip().lower() in ALL_USERS


def opens_to_everyone(principal: str) -> str | None:
    """The one-line refusal when `principal` names every user (`names_every_user`), else None:
    the env file's validation and the ServingEndpoint construct both refuse with it."""
    if names_every_user(principal):
        return f"{principal!r} would open the endpoint to every user; name a group instead"
    return None


def principal_field(principal: str) -> str:
    """`group_name`, `user_name` or `service_principal_name` for a databricks_permissions entry."""
    if _UUID.match(principal):
        return "service_principal_name"
    if "@" in principal:
        return "user_name"
    return "group_name"

