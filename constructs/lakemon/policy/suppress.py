"""Suppress one rule on one construct (and everything under it), with a recorded reason.

The reason is kept in the construct's metadata and written into the synthesized JSON next to
the resource (`"//": {"lakemon_suppressions": [...]}`), so reviewers see every accepted risk.
"""

from __future__ import annotations

from constructs import IConstruct

SUPPRESS = "lakemon:suppress"
MIN_REASON_LENGTH = 10


def suppress(construct: IConstruct, rule_id: str, *, reason: str) -> None:
    """Accept a finding of `rule_id` on `construct` and its children. `reason` is mandatory."""
    from .rules import ALL_RULES

    known = {r.id for r in ALL_RULES}
    if rule_id not in known:
        raise ValueError(f"unknown policy rule {rule_id!r}; known: {', '.join(sorted(known))}")
    if not isinstance(reason, str) or len(reason.strip()) < MIN_REASON_LENGTH:
        raise ValueError(
            f"suppressing {rule_id} on {construct.node.path} needs a reason of at least {MIN_REASON_LENGTH} characters"
        )
    construct.node.add_metadata(SUPPRESS, {"rule": rule_id, "reason": reason.strip()})


def suppressions(construct: IConstruct) -> dict[str, str]:
    """rule id -> reason, for `construct` and its ancestors (nearest wins)."""
    found: dict[str, str] = {}
    for scope in reversed(construct.node.scopes):
        for entry in scope.node.metadata:
            if entry.type == SUPPRESS:
                data = entry.data
                found.setdefault(data["rule"], data["reason"])
    return found
