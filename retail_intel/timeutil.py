"""Parsing of timestamps and durations given by users (pure, no I/O)."""

from __future__ import annotations

import datetime as dt
import re

from retail_intel.errors import InputError, TimeError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def require_aware(value: object, name: str) -> dt.datetime:
    """``value`` in UTC when it is a ``datetime`` with a timezone, else :class:`TimeError` naming ``name``.

    A naive time would be read as the machine's local time by ``astimezone``:
    the same call would give other results on a server in another timezone.
    """
    if not isinstance(value, dt.datetime):
        raise TimeError(f"{name} must be a datetime.datetime with a timezone, got {value!r} ({type(value).__name__})")
    if value.tzinfo is None or value.utcoffset() is None:
        raise TimeError(f"{name} must carry a timezone, got {value.isoformat()} which has none")
    return value.astimezone(dt.UTC)


def parse_datetime(text: str) -> dt.datetime:
    """ISO 8601 with a timezone (``Z`` or ``+01:00``), returned as aware UTC."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise TimeError(f"expected an ISO 8601 time such as 2026-02-08T10:00:00+00:00, got {text!r}") from exc
    if parsed.tzinfo is None:
        raise TimeError(f"expected a time with a timezone (append Z or +HH:MM), got {text!r} which has none")
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError as exc:  # year 1 or 9999 pushed past the calendar by its offset
        raise TimeError(f"expected a time between the years 1 and 9999 in UTC, got {text!r}") from exc


def parse_duration(text: str, *, default_unit: str = "s", flag: str | None = None, zero: bool = False) -> float:
    """``"60m"`` -> 3600.0 seconds; a bare number takes ``default_unit``.

    ``flag`` (e.g. ``"--flush"``) starts the error message, so the user knows which value was wrong.
    ``zero`` allows a zero duration in any spelling (``0m``, ``0.0s``): a time into a video, where
    the start is as good a time as any.
    """
    where = f"{flag}: " if flag else ""
    match = _DURATION.match(text)
    if not match:
        raise InputError(f"{where}expected a duration such as 90s, 60m or 1h, got {text!r}")
    number, unit = match.groups()
    seconds = float(number) * _UNIT_SECONDS[unit or default_unit]
    if seconds < 0 or (seconds == 0 and not zero):
        raise InputError(f"{where}expected a positive duration, got {text!r}")
    return seconds
