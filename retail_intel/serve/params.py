"""Query-parameter types and checks shared by the routes.

Everything a client sends is validated here or by FastAPI before any query
runs; a bad value becomes a 422 that names the parameter (see
:mod:`retail_intel.serve.errors`).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from typing import Annotated

from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, AwareDatetime, BeforeValidator

from retail_intel.errors import InputError
from retail_intel.kpis.windows import window_minutes_from

# Footage is never older than photography nor further ahead than anyone
# plans; the bounds keep date arithmetic (a default 30-day range, UTC
# conversion) far from Python's year 1 and 9999 limits.
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(3000, 1, 1, tzinfo=dt.UTC)
MAX_EVENT_SPAN = dt.timedelta(days=3660)
MAX_ID_LENGTH = 200


# RFC 3339 as JSON Schema's "date-time" means it; pydantic alone would also
# take "0.5" or "1700000000" as Unix timestamps.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:\d{2})?$")


# A "+" typed into a URL arrives as a space ("+" encodes one in a query string), so
# "2026-03-29T00:00:00+01:00" pasted as is reads "2026-03-29T00:00:00 01:00": a time
# then a space then HH:MM can only have been that offset.
_SPACED_OFFSET = re.compile(r"^(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?) (\d{2}:\d{2})$")


def _rfc3339_text(value: object) -> object:
    if not isinstance(value, str):
        return value
    if spaced := _SPACED_OFFSET.match(value.strip()):
        value = f"{spaced[1]}+{spaced[2]}"
    expected = f"must be an ISO 8601 time with a timezone, such as 2026-03-02T09:00:00Z, got {value[:40]!r}"
    written = _RFC3339.match(value.strip())
    if not written:
        raise ValueError(expected)
    # Checked here rather than left to pydantic, whose messages ("Input should have timezone
    # info", "unexpected extra characters" for hour 25) neither quote the value nor say what is wrong.
    if written[3] is None:
        raise ValueError(f"must have a timezone (append Z or +HH:MM), got {value[:40]!r} which has none")
    try:
        dt.datetime.fromisoformat(value.strip().upper())
    except ValueError as exc:
        raise ValueError(f"{expected}: {exc}") from None
    return value


def _as_utc(value: dt.datetime) -> dt.datetime:
    try:
        utc = value.astimezone(dt.UTC)
    except OverflowError as exc:
        raise ValueError("is out of range once converted to UTC") from exc
    if not EARLIEST <= utc < LATEST:
        raise ValueError(f"must be between {EARLIEST.date().isoformat()} and {LATEST.date().isoformat()}")
    return utc


# An ISO 8601 time with a timezone (Z or +HH:MM), normalised to aware UTC.
UtcTime = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text), AfterValidator(_as_utc)]


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date_text(value: object) -> object:
    if not isinstance(value, str):
        return value
    expected = f"must be a day as YYYY-MM-DD, such as 2026-03-02, got {value[:40]!r}"
    if not _ISO_DATE.match(value.strip()):
        raise ValueError(expected)
    try:  # pydantic's own message for 2026-02-30 does not quote the value
        dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValueError(f"{expected}: {exc}") from None
    return value


# A calendar day written YYYY-MM-DD (pydantic alone would take "0" as 1970-01-01).
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date_text)]


def bad_parameter(name: str, message: str, location: str = "query") -> RequestValidationError:
    """The 422 for a parameter that passed its type check but not a rule across parameters."""
    return RequestValidationError([{"loc": (location, name), "msg": message, "type": "value_error"}])


def window_minutes(text: str) -> int:
    """``window=60m`` -> 60; a 422 naming ``window`` otherwise."""
    try:
        return window_minutes_from(text)
    except InputError:
        raise bad_parameter(
            "window",
            f"must be a whole number of minutes that divides a day evenly (such as 15m, 30m, 60m, 1h, 1d), got {text!r}",
        ) from None


def check_range(start: dt.datetime | None, end: dt.datetime | None) -> None:
    if start is not None and end is not None and end <= start:
        raise bad_parameter("to", f"must be after from ({start.isoformat()}), got {end.isoformat()}")


# Movement pages are keyed on (enter_time in microseconds, customer_id) of the
# last row served; the cursor is that pair, base64url-encoded so clients treat
# it as opaque.


def encode_cursor(enter_time_us: int, customer_id: str) -> str:
    raw = f"{enter_time_us}|{customer_id}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(text: str) -> tuple[dt.datetime, str]:
    """The (enter_time, customer_id) a cursor names; a 422 naming ``cursor`` if it is not one of ours."""
    problem = "is not a cursor returned by this API (use next_cursor from the previous page)"
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("utf-8")
        micros, sep, customer_id = raw.partition("|")
        if not sep or not customer_id or not micros.lstrip("-").isdigit():
            raise ValueError(problem)
        moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(micros))
    except (ValueError, binascii.Error, UnicodeDecodeError, OverflowError):
        raise bad_parameter("cursor", problem) from None
    return moment, customer_id
