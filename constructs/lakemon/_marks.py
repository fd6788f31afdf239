"""Markers that constructs leave on resources so that policy rules can recognise them.

Why metadata and not resource names: a rule must not guess from naming conventions which
table holds inference logs; the construct that created the table knows, and says so.
"""

from __future__ import annotations

from constructs import IConstruct

DATA_ROLE = "lakemon:data-role"
"""Metadata key: what data a resource holds (inference_log, baseline, labels, metrics, schema)."""

PROTECTED_ROLES = ("inference_log", "baseline", "labels", "metrics", "schema")


def mark_data_role(resource: IConstruct, role: str) -> None:
    resource.node.add_metadata(DATA_ROLE, role)


def data_role(resource: IConstruct) -> str | None:
    for entry in resource.node.metadata:
        if entry.type == DATA_ROLE:
            return str(entry.data)
    return None


def protect(enabled: bool) -> dict | None:
    """Terraform lifecycle for data that a deploy must never destroy (None when not protected)."""
    return {"prevent_destroy": True} if enabled else None
