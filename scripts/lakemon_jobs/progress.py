"""Progress lines for the long parts of a job (unpack's parsing, refresh's windows, analyze-drift's
stages): counts and elapsed seconds, at most one line every few seconds, so a 10M-row run shows
it is moving without flooding the job log. Lines go through the job's `progress` callable (stdout
by default; run-local indents them under its step, as it does every job line)."""

from __future__ import annotations

import time
from collections.abc import Callable

EVERY_S = 5.0
"""Seconds between two progress lines of one loop (the first and last lines always print)."""


class Ticker:
    """Counts work done in a loop and reports it, rate-limited.

    `what` says what was done, with `{done}` and `{total}` in it ("parsed {done} of {total}
    payloads"; numbers get thousands separators). `add(n, **counts)` adds n units and any named
    counts (`rows=100` shows as "100 rows"); a line is printed when `every_s` seconds have passed
    since the last one. `finish()` prints the final line unless nothing was done. `clock` is
    injectable for tests."""

    def __init__(
        self,
        say: Callable[[str], None],
        what: str,
        *,
        total: int | None = None,
        every_s: float = EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.say, self.what, self.total = say, what, total
        self.every_s, self.clock = every_s, clock
        self.started = clock()
        self.last_line: float | None = None
        self.done = 0
        self.done_at_last_line = 0
        self.counts: dict[str, int] = {}
        self.lines = 0

    def add(self, n: int = 1, **counts: int) -> None:
        self.done += n
        for name, value in counts.items():
            self.counts[name] = self.counts.get(name, 0) + value
        now = self.clock()
        if now - (self.last_line if self.last_line is not None else self.started) >= self.every_s:
            self._line(now)

    def finish(self) -> None:
        if self.done and self.done != self.done_at_last_line:
            self._line(self.clock())

    def elapsed(self) -> float:
        return self.clock() - self.started

    def _line(self, now: float) -> None:
        text = self.what.format(done=f"{self.done:,}", total=f"{self.total:,}" if self.total is not None else "?")
        extra = ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in self.counts.items())
        self.say(text + (f" ({extra})" if extra else "") + f", {now - self.started:.1f}s")
        self.last_line = now
        self.done_at_last_line = self.done
        self.lines += 1
