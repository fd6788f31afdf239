"""Errors the constructs raise at synth time.

Why a dedicated type: a refused construct must name *where* it was declared (its construct
path) and *what* is allowed, so the person reading `cdktf synth` output can fix the call without
reading lakemon's source.
"""

from __future__ import annotations


class LakemonConstructError(ValueError):
    """A construct was given props that contradict each other or Databricks' rules."""

    def __init__(self, path: str, problem: str):
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")
