"""Errors the constructs raise at synth time, and how they reach the user: as one clear block.

Why a dedicated type: a refused construct must name *where* it was declared (its construct
path) and *what* is allowed, so the person reading `cdktf synth` output can fix the call without
reading lakemon's source.

Why an exception hook: an app calls `app.synth()` itself (the five-line app has no try block),
and an error raised inside synth (policy aspects run in a jsii callback) comes back from Node as a
`RuntimeError` chained to a JavaScript stack trace, with only the message of the original
(jsii's `_callback_till_result` sends `str(exc)` to Node). `install_excepthook()` prints lakemon's
own errors, wrapped or not, as their message alone and exits with code 1. Any other error from
the jsii kernel (e.g. a binding refusing a value) keeps a Python traceback of the user's own
lines, without the JavaScript stack (LAKEMON_DEBUG=1 shows it); every other exception keeps
Python's normal traceback.

Why not on `import lakemon`: importing a library must not change the interpreter (a notebook or
a test runner that imports lakemon keeps its own hook). The app installs it where it starts:
`LakemonStack` does when it is created, the starter's `app.py` first thing (a config error is
raised before any stack exists), and any app can call `install_excepthook()` itself.
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .policy.rules import Finding

SUPPRESS_HINT = (
    'To accept a finding instead, with a reason reviewers see: '
    'lakemon.suppress(<construct>, "<rule id>", reason="<why, at least 10 characters>")'
)


class LakemonConstructError(ValueError):
    """A construct was given props that contradict each other or Databricks' rules."""

    def __init__(self, path: str, problem: str):
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class PolicyViolation(Exception):
    """Policy findings stop the synth; the message lists every unsuppressed finding of the synth,
    each with its rule, construct path, problem and what to change.

    It is raised inside `app.synth()` (the policy aspects run in a jsii callback), so what
    reaches the app is a RuntimeError with this message: `is_report` tells it by its header."""

    HEADER = re.compile(r"lakemon policy: \d+ findings? stop the synth\n")

    def __init__(self, findings: Sequence[Finding]):
        self.findings = list(findings)
        count = len(self.findings)
        header = f"lakemon policy: {count} finding{'s' if count != 1 else ''} stop the synth"
        body = "\n".join(f.message() for f in self.findings)
        super().__init__(f"{header}\n{body}\n{SUPPRESS_HINT}")

    @classmethod
    def is_report(cls, text: str) -> bool:
        """True for the message of a PolicyViolation (also after jsii kept only the message)."""
        return cls.HEADER.match(text) is not None

    @property
    def finding(self) -> Finding:
        """The first finding (kept for callers written when synth stopped at the first one)."""
        return self.findings[0]


def user_message(error: BaseException) -> str | None:
    """The clear message for a lakemon error (also when jsii wrapped it in a RuntimeError), or
    None when `error` is not one of lakemon's (then it is a bug and deserves its traceback)."""
    from .config import ConfigError
    from .wheel import WheelNotFoundError

    if isinstance(error, ConfigError):
        return f"lakemon: configuration error:\n{error}"
    if isinstance(error, PolicyViolation) or (_from_javascript(error) and PolicyViolation.is_report(str(error))):
        return str(error)
    if isinstance(error, LakemonConstructError | WheelNotFoundError):
        return f"lakemon: {error}"
    return None


def _from_javascript(error: BaseException) -> bool:
    """True for an error that came back from the jsii kernel (Node): it chains a JavaScriptError."""
    return isinstance(error, RuntimeError) and type(error.__cause__).__name__ == "JavaScriptError"


def javascript_free_traceback(error: BaseException, trace: TracebackType | None) -> str:
    """The traceback of an error from the jsii kernel without the JavaScript stack and without
    jsii's own frames: the user's lines and the message. LAKEMON_DEBUG=1 shows everything."""
    frames = [f for f in traceback.extract_tb(trace) if f"{os.sep}jsii{os.sep}" not in f.filename]
    return (
        "Traceback (most recent call last, jsii and JavaScript frames hidden; LAKEMON_DEBUG=1 shows them):\n"
        + "".join(traceback.format_list(frames))
        + f"{type(error).__name__}: {error}"
    )


def _hook(previous):
    def excepthook(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
        message = user_message(error)
        if message is not None:
            print(message, file=sys.stderr)
        elif _from_javascript(error) and not os.environ.get("LAKEMON_DEBUG"):
            print(javascript_free_traceback(error, trace), file=sys.stderr)
        else:
            previous(kind, error, trace)

    excepthook.lakemon = True  # type: ignore[attr-defined]
    return excepthook


def install_excepthook() -> None:
    """Print lakemon's errors without a traceback (idempotent; other errors are untouched)."""
    if not getattr(sys.excepthook, "lakemon", False):
        sys.excepthook = _hook(sys.excepthook)
