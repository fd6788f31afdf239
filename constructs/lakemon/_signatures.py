"""Show a construct's real constructor signature in `help()` and `inspect.signature`.

Why: jsii's metaclass defines `__call__(cls, *args, **kwargs)`, and `inspect.signature(cls)`
reports that instead of `__init__`, so `help(MonitoredModel)` showed `(*args, **kwargs)`.
Static checkers (pyright, mypy) already read `__init__` (the metaclass `__call__` returns an
instance of the class); this fixes the runtime view. A descriptor rather than a fixed value, so
a subclass (a team's own construct) shows its own `__init__`, not its parent's.
"""

from __future__ import annotations

import inspect
from typing import Any, TypeVar

T = TypeVar("T", bound=type)


class _InitSignature:
    def __get__(self, instance: Any, owner: type) -> inspect.Signature:
        if instance is not None:
            raise AttributeError("__signature__")
        signature = inspect.signature(owner.__init__)
        return signature.replace(parameters=list(signature.parameters.values())[1:])


def init_signature(cls: T) -> T:
    """Class decorator: `inspect.signature(cls)` and `help(cls)` show `cls.__init__`'s parameters."""
    if "__signature__" not in vars(cls):
        cls.__signature__ = _InitSignature()  # type: ignore[attr-defined]
    return cls
