"""A Delta commit conflict: retry the write, then fail with one line.

Delta commits optimistically: a write reads a snapshot, stages its files, and commits only if
no conflicting commit landed in between; otherwise it fails with a concurrent-modification
exception "rather than corrupting the table" (https://docs.delta.io/concurrency-control, and on
Databricks https://docs.databricks.com/aws/en/optimizations/isolation/ with the exception names
ConcurrentAppendException, ConcurrentDeleteReadException, ConcurrentDeleteDeleteException,
MetadataChangedException, ConcurrentTransactionException, ProtocolChangedException).
`deltalake` (delta-rs) raises `deltalake.exceptions.CommitFailedError` for the same conflicts
(its `CommitConflictError` variants carry the same names: docs.rs deltalake-core
kernel::transaction::CommitConflictError).

Every write of the table engines is idempotent (keyed MERGEs, an overwrite, a delete by a
cutoff), so the whole write is simply run again on a fresh snapshot; after ATTEMPTS the job
stops with one line naming the table, and nothing of that write was committed.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import ClassVar, TypeVar

from ..errors import EXIT_FAILED
from .engine import TableError

ATTEMPTS = 4
BACKOFF_S = 0.2
CONFLICT_NAMES = (
    "CommitFailedError",
    "ConcurrentAppendException",
    "ConcurrentDeleteReadException",
    "ConcurrentDeleteDeleteException",
    "MetadataChangedException",
    "ConcurrentTransactionException",
    "ProtocolChangedException",
    "DELTA_CONCURRENT_",
    "DELTA_METADATA_CHANGED",
    "DELTA_PROTOCOL_CHANGED",
)
"""Exception class names (delta-rs, Delta on Spark) and Databricks error classes of a commit
conflict; on Spark Connect the Java class only survives in the message, so both are searched."""

F = TypeVar("F", bound=Callable)


class CommitConflict(TableError):
    """A write kept meeting another writer's commits: nothing of that write was committed
    (exit 1: the job can run again as it is)."""

    exit_code: ClassVar[int] = EXIT_FAILED


def is_commit_conflict(exc: BaseException) -> bool:
    names = {type(c).__name__ for c in type(exc).__mro__ if isinstance(c, type)} | {type(exc).__name__}
    text = str(exc)[:2000]
    return any(n in names or n in text for n in CONFLICT_NAMES)


def retry_on_conflict(method: F) -> F:
    """Decorate an engine write `method(self, name, ...)`: on a commit conflict run it again
    (ATTEMPTS in all, short growing pauses), then raise TableError naming the table."""

    @functools.wraps(method)
    def wrapper(self, name, *args, **kwargs):
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return method(self, name, *args, **kwargs)
            except TableError:
                raise
            except Exception as exc:
                if not is_commit_conflict(exc):
                    raise
                if attempt == ATTEMPTS:
                    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
                    raise CommitConflict(
                        f"another writer kept committing to {name} during this write ({ATTEMPTS} attempts, "
                        f"last: {first}); nothing of this write was committed: run the job again when the "
                        "other writer has finished"
                    ) from None
                time.sleep(BACKOFF_S * attempt)
        raise AssertionError("unreachable")

    return wrapper  # type: ignore[return-value]
