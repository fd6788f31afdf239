"""Validators for values whose rules come from Databricks, not from Python types.

Kept separate from the config models so that constructs can reuse them on typed props
(a team that builds constructs in Python, without YAML, gets the same checks).
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Unity Catalog folds names to lower case; accepting upper case would make Terraform see a
# perpetual diff between what we declare and what the workspace reports back.
# Always used with fullmatch: `$` alone would accept a trailing newline.
IDENTIFIER_RE = re.compile(r"[a-z_][a-z0-9_]{0,254}")
# Serving endpoint names: letters, digits, dashes and underscores, at most 63 characters.
ENDPOINT_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")

# The granularities Databricks quality monitors accept.
GRANULARITIES = (
    "5 minutes",
    "30 minutes",
    "1 hour",
    "1 day",
    "1 week",
    "2 weeks",
    "3 weeks",
    "4 weeks",
    "1 month",
    "1 year",
)


def _check_name(value: str, pattern: re.Pattern, what: str) -> str:
    """`value` if the whole of it matches `pattern`, else ValueError "<value> is not <what>"."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValueError(f"{value!r} is not {what}")
    return value


def check_identifier(value: str) -> str:
    return _check_name(
        value, IDENTIFIER_RE, "a valid Unity Catalog identifier: use lower-case letters, digits and "
        "underscores, starting with a letter or underscore (at most 255 characters)",
    )


def check_endpoint_name(value: str) -> str:
    return _check_name(
        value, ENDPOINT_NAME_RE, "a valid serving endpoint name: use letters, digits, '-' and '_', "
        "at most 63 characters, starting with a letter or digit",
    )


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{value!r} is not an IANA time zone (for example 'UTC' or 'Europe/Amsterdam')") from exc
    return value


def check_granularity(value: str) -> str:
    if value not in GRANULARITIES:
        raise ValueError(f"{value!r} is not a monitor granularity; allowed: {', '.join(GRANULARITIES)}")
    return value


# --- Quartz cron -------------------------------------------------------------------------------
# Databricks schedules (jobs, monitors, alerts) take Quartz cron: seconds minutes hours
# day-of-month month day-of-week [year], with '?' in exactly one of the two day fields.

_MONTHS = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()
_DAYS = "SUN MON TUE WED THU FRI SAT".split()
_FIELDS = (
    # name, low, high, names, extra special characters allowed
    ("seconds", 0, 59, (), ""),
    ("minutes", 0, 59, (), ""),
    ("hours", 0, 23, (), ""),
    ("day-of-month", 1, 31, (), "?LW"),
    ("month", 1, 12, _MONTHS, ""),
    ("day-of-week", 1, 7, _DAYS, "?L#"),
    ("year", 1970, 2099, (), ""),
)


def _check_value(token: str, low: int, high: int, names: tuple[str, ...], field: str) -> None:
    upper = token.upper()
    if upper in names:
        return
    if not token.isdigit():
        raise ValueError(f"{field} field: {token!r} is not a number" + (f" or one of {', '.join(names)}" if names else ""))
    if not low <= int(token) <= high:
        raise ValueError(f"{field} field: {token} is outside {low}-{high}")


def _check_field(text: str, low: int, high: int, names: tuple[str, ...], special: str, field: str) -> None:
    if text == "?":
        if "?" not in special:
            raise ValueError(f"{field} field: '?' is only allowed in day-of-month or day-of-week")
        return
    for part in text.split(","):
        if not part:
            raise ValueError(f"{field} field: empty list element in {text!r}")
        base, _, step = part.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            raise ValueError(f"{field} field: step {step!r} must be a positive number")
        if base in ("*",):
            continue
        if "L" in special and base.upper() in ("L", "LW"):
            continue
        if "W" in special and base.upper().endswith("W"):
            _check_value(base[:-1], low, high, names, field)
            continue
        if "#" in special and "#" in base:
            day, _, nth = base.partition("#")
            _check_value(day, low, high, names, field)
            if not nth.isdigit() or not 1 <= int(nth) <= 5:
                raise ValueError(f"{field} field: '#{nth}' must be 1-5")
            continue
        if "L" in special and base.upper().endswith("L") and len(base) > 1:
            _check_value(base[:-1], low, high, names, field)
            continue
        start, dash, end = base.partition("-")
        _check_value(start, low, high, names, field)
        if dash:
            _check_value(end, low, high, names, field)


def check_quartz_cron(expression: str) -> str:
    """Validate a Quartz cron expression, raising ValueError that says which field is wrong."""
    if not isinstance(expression, str):
        raise ValueError("a Quartz cron expression must be a string")
    fields = expression.split()
    if len(fields) not in (6, 7):
        raise ValueError(
            f"{expression!r} is not a Quartz cron expression: it needs 6 or 7 fields "
            "(seconds minutes hours day-of-month month day-of-week [year]), for example '0 0 2 * * ?'"
        )
    for text, (name, low, high, names, special) in zip(fields, _FIELDS, strict=False):
        _check_field(text, low, high, names, special, name)
    dom, dow = fields[3], fields[5]
    if (dom == "?") == (dow == "?"):
        raise ValueError(
            f"{expression!r}: exactly one of day-of-month and day-of-week must be '?' (Quartz rule)"
        )
    return expression
