"""Progress lines of the long job steps (lakemon_jobs.progress): counts, elapsed seconds, and at
most one line per interval, so a 10M-row run shows it moves without flooding the log."""

from __future__ import annotations

from lakemon_jobs.progress import Ticker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_ticker_prints_at_most_one_line_per_interval_with_counts_and_elapsed():
    clock, lines = Clock(), []
    ticker = Ticker(lines.append, "unpack: parsed {done} of {total} payloads", total=10_000, every_s=5.0, clock=clock)
    for _ in range(40):  # 40 batches over 10 seconds, 0.25 s apart (exact in binary)
        clock.now += 0.25
        ticker.add(250, rows=25_000, quarantined=1)
    ticker.finish()
    assert lines == [
        "unpack: parsed 5,000 of 10,000 payloads (500,000 rows, 20 quarantined), 5.0s",
        "unpack: parsed 10,000 of 10,000 payloads (1,000,000 rows, 40 quarantined), 10.0s",
    ]


def test_ticker_finish_reports_what_was_done_once_and_nothing_when_idle():
    clock, lines = Clock(), []
    ticker = Ticker(lines.append, "parsed {done}", every_s=5.0, clock=clock)
    ticker.finish()
    assert lines == []  # nothing done: no line
    clock.now += 1
    ticker.add(3)
    ticker.finish()
    ticker.finish()
    assert lines == ["parsed 3, 1.0s"]
