"""Time windows per granularity, as Databricks monitors (Spark's window()) cut them.

Fixed-length granularities (minutes, hours, days, weeks) are aligned to the Unix epoch, as
Spark's `window()` is (so "1 week" windows start on Thursdays, "2 weeks" every other Thursday
from 1970-01-01); "1 month" and "1 year" are calendar months and years. All times are UTC.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import JobError
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


MIN_US = -62_132_918_400_000_000
"""0001-02-01T00:00:00Z in microseconds since the epoch."""
MAX_US = 253_370_764_799_999_999
"""9998-12-31T23:59:59.999999Z. A window's start and end are written as timestamps, which
Python and therefore every reader of the tables can only hold for years 1-9999 (before: an
OverflowError from pyarrow, or numpy's calendar arithmetic wrapping month/year windows). A
timestamp in this range has windows of every granularity (epoch-aligned weeks start up to 27
days earlier, a year window ends on the next 1 January) inside years 1-9999."""
RANGE_TEXT = "0001-02-01..9998-12-31 UTC"
_US_PER = {"s": 1_000_000, "ms": 1_000, "us": 1, "D": 86_400_000_000}


class TimestampRangeError(JobError):
    """Rows whose timestamp lies outside RANGE_TEXT: the refresh stops before writing anything."""


def timestamps_us(column: pa.ChunkedArray | pa.Array, name: str = "timestamp") -> tuple[np.ndarray, np.ndarray]:
    """(microseconds since epoch as int64, valid mask). Naive timestamps are taken as UTC;
    dates as midnight UTC. Raises TypeError for other types, so a wrong column fails clearly,
    and TimestampRangeError naming the column and the number of rows outside RANGE_TEXT
    (checked in the column's own unit, before any conversion could overflow or wrap)."""
    t = column.type
    if pa.types.is_date(t):
        unit = "D"
        raw = pc.cast(pc.cast(column, pa.date32()), pa.int32())
    elif pa.types.is_timestamp(t):
        unit = t.unit
        raw = pc.cast(column, pa.int64())
    else:
        raise TypeError(f"timestamp column {name!r} has type {t}, expected timestamp or date")
    if unit != "ns":  # nanoseconds span 1677-2262 only: always in range
        per = _US_PER[unit]
        lo, hi = -(-MIN_US // per), MAX_US // per
        outside = pc.sum(pc.cast(pc.or_(pc.less(raw, lo), pc.greater(raw, hi)), pa.int64())).as_py() or 0
        if outside:
            raise TimestampRangeError(
                f"timestamp column {name!r}: {outside} row(s) lie outside {RANGE_TEXT}, where their windows "
                "cannot be written; correct or delete those rows and refresh again (tables were left as they were)"
            )
    if unit == "D":
        column = pc.cast(column, pa.timestamp("us"))
    elif unit != "us":  # in range (checked above); ns -> us truncates sub-microseconds
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
