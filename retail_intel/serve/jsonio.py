"""JSON encoding of responses with orjson: fast, and the same text for the same data.

Datetimes come out as RFC 3339 with ``Z`` for UTC (what pydantic writes too),
NaN as ``null``, Decimals as numbers, and rows straight from Arrow tables.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping
from typing import Any

import orjson
import pyarrow as pa
from starlette.responses import Response

_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_SERIALIZE_NUMPY


def _default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, frozenset | set | tuple):
        return list(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=_OPTIONS)


def table_rows(table: pa.Table) -> list[dict[str, Any]]:
    """An Arrow table as a list of plain dicts ready for :func:`dumps`."""
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


class JSONBytes(Response):
    """A response whose body is already-encoded JSON."""

    media_type = "application/json"


def json_response(value: Any, *, status_code: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return JSONBytes(dumps(value), status_code=status_code, headers=headers)
