"""run-local's console output: one small reporter that every line of the run goes through.

Why one class: the step headings, their numbering and wall times, the indented detail lines and
the closing table of times are one format; the steps say *what* to report, the reporter decides
*how*, so the format is the same in every step and the steps hold no print statements.

The jobs run-local calls in process (`lakemon train`, `unpack`, ...) are the same CLI functions
that run on Databricks and print to stdout; `JobOutput` indents that output under the step it
belongs to (see job_runner.py for when it is installed).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TextIO

INDENT = "      "
JOB_PREFIX = "      | "


@dataclass(frozen=True)
class StepTiming:
    number: int
    title: str
    seconds: float


class Reporter:
    """Numbered step headings with their wall time, indented detail lines, a closing table of
    times; flushes every line (the run is watched live)."""

    def __init__(self, out: TextIO | None = None, *, clock: Callable[[], float] = time.perf_counter) -> None:
        self.out = out if out is not None else sys.stdout
        self.clock = clock
        self.timings: list[StepTiming] = []
        self.started = clock()

    def say(self, message: str = "") -> None:
        """A line at the left margin (run-level messages)."""
        print(message, file=self.out, flush=True)

    def info(self, message: object) -> None:
        """Detail lines of the current step, indented under its heading."""
        for line in str(message).splitlines() or [""]:
            self.say(f"{INDENT}{line}")

    def table(self, caption: str, lines: list[str]) -> None:
        """A caption and the lines of a (markdown) table, indented under the current step."""
        self.info(caption)
        for line in lines:
            self.info(line)

    @staticmethod
    def heading(number: int, total: int, title: str) -> str:
        return f"[{number}/{total}] {title}"

    @contextlib.contextmanager
    def step(self, number: int, total: int, title: str) -> Iterator[None]:
        """The heading, the step's own lines, then `done in X s`; the time is recorded even when
        the step fails (the closing table shows where a failed run spent its time)."""
        self.say(f"\n{self.heading(number, total, title)}")
        start = self.clock()
        try:
            yield
        finally:
            seconds = self.clock() - start
            self.timings.append(StepTiming(number, title, seconds))
        self.info(f"done in {seconds:.1f}s")

    def resume(self, number: int, total: int, title: str, what: str) -> None:
        """A heading for a background step reporting later (e.g. synthesis, after training)."""
        self.say(f"\n{self.heading(number, total, title)}: {what}")

    def retime(self, number: int, seconds: float, note: str) -> None:
        """Replace a step's recorded time (a background step's real wall time) and mark it."""
        self.timings = [
            StepTiming(t.number, f"{t.title} {note}", seconds) if t.number == number else t
            for t in self.timings
        ]

    @property
    def total(self) -> float:
        return self.clock() - self.started

    def print_timings(self) -> None:
        self.say("\nwall time per step:")
        for t in self.timings:
            self.say(f"  [{t.number}] {t.seconds:6.1f}s  {t.title}")
        self.say(f"  total {self.total:.1f}s")


class JobOutput:
    """A text stream that indents a job's output under the step it belongs to (`      | `)."""

    def __init__(self, out: TextIO, prefix: str = JOB_PREFIX) -> None:
        self.out, self.prefix, self.at_line_start = out, prefix, True

    def write(self, text: str) -> int:
        for piece in text.splitlines(keepends=True):
            if self.at_line_start:
                self.out.write(self.prefix)
            self.out.write(piece)
            self.at_line_start = piece.endswith("\n")
        return len(text)

    def flush(self) -> None:
        self.out.flush()

    def isatty(self) -> bool:
        return False
