"""Time windows per granularity, as Databricks monitors (Spark's window()) cut them.

Fixed-length granularities (minutes, hours, days, weeks) are aligned to the Unix epoch, as
Spark's `window()` is (so "1 week" windows start on Thursdays, "2 weeks" every other Thursday
from 1970-01-01); "1 month" and "1 year" are calendar months and years. All times are UTC.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .arrow_numpy import int_values

_US = {"minute": 60_000_000, "minutes": 60_000_000, "hour": 3_600_000_000, "hours": 3_600_000_000,
       "day": 86_400_000_000, "days": 86_400_000_000, "week": 7 * 86_400_000_000, "weeks": 7 * 86_400_000_000}


def parse_granularity(granularity: str) -> tuple[int, str]:
    """'1 day' -> (1, 'day'). Raises ValueError naming the granularity when it is not understood."""
    parts = granularity.split()
    if len(parts) != 2 or not parts[0].isdigit() or int(parts[0]) < 1:
        raise ValueError(f"granularity {granularity!r} is not '<n> <unit>', e.g. '1 day'")
    n, unit = int(parts[0]), parts[1].lower()
    if unit in _US:
        return n, unit
    if unit in ("month", "months", "year", "years") and n == 1:
        return n, unit.rstrip("s")
    raise ValueError(f"granularity {granularity!r}: unit must be minutes, hours, days, weeks, 1 month or 1 year")


def timestamps_us(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(microseconds since epoch as int64, valid mask). Naive timestamps are taken as UTC;
    dates as midnight UTC. Raises TypeError for other types, so a wrong column fails clearly."""
    t = column.type
    if pa.types.is_date(t):
        column = pc.cast(column, pa.timestamp("us"))
    elif not pa.types.is_timestamp(t):
        raise TypeError(f"timestamp column has type {t}, expected timestamp or date")
    elif t.unit != "us":
        column = pc.cast(column, pa.timestamp("us", tz=t.tz), safe=False)
    return int_values(pc.cast(column, pa.int64()), np.int64, fill=0)


def window_starts(ts_us: np.ndarray, granularity: str) -> np.ndarray:
    """Start (microseconds since epoch) of the window each timestamp falls in."""
    n, unit = parse_granularity(granularity)
    if unit in _US:
        width = n * _US[unit]
        return ts_us - np.mod(ts_us, width)
    return _calendar_starts(ts_us, "M" if unit == "month" else "Y")


_DAY_US = 86_400_000_000
_MAX_LOOKUP_DAYS = 1_000_000


def _calendar_starts(ts_us: np.ndarray, kind: str) -> np.ndarray:
    """Month or year start of each timestamp. numpy's datetime64 unit conversion costs about
    0.3 s per million rows, so it is done once per DAY in the data's range (a lookup table),
    then each row looks up its day; a range over 1,000,000 days (2,700 years) converts rows."""

    def convert(us: np.ndarray) -> np.ndarray:
        return us.astype("datetime64[us]").astype(f"datetime64[{kind}]").astype("datetime64[us]").astype(np.int64)

    if ts_us.shape[0] == 0:
        return ts_us.copy()
    days = ts_us // _DAY_US
    first, last = int(days.min()), int(days.max())
    if last - first >= _MAX_LOOKUP_DAYS:
        return convert(ts_us)
    table = convert(np.arange(first, last + 1, dtype=np.int64) * _DAY_US)
    days -= first
    return table[days]


def window_end(start_us: int, granularity: str) -> int:
    n, unit = parse_granularity(granularity)
    if unit in _US:
        return start_us + n * _US[unit]
    kind = "M" if unit == "month" else "Y"
    start = np.array([start_us], dtype="datetime64[us]").astype(f"datetime64[{kind}]")
    return int((start + 1).astype("datetime64[us]").astype(np.int64)[0])
