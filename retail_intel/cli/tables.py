"""Writing Arrow tables as CSV or JSON text, to stdout or a file (``sql``, ``kpis``)."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import decimal
import io
import json
import math
import re
import secrets
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from rich.markup import escape

from retail_intel.cli.common import err, to_json
from retail_intel.errors import InputError
from retail_intel.storage import atomic_write_bytes

# DuckDB's own epoch(INTERVAL) counts a month as 30 days; a day is 86,400 s (no DST in an interval).
SECONDS_PER_DAY = 86_400
DAYS_PER_MONTH = 30


def interval_seconds(value: pa.MonthDayNano) -> float:
    """An Arrow month-day-nano interval (DuckDB's INTERVAL, e.g. ``exit_time - enter_time``) in seconds."""
    days = int(value.months) * DAYS_PER_MONTH + int(value.days)
    return days * SECONDS_PER_DAY + int(value.nanoseconds) / 1e9


def intervals_as_seconds(value: Any) -> Any:
    """``value`` with every interval in it (also inside lists and structs) replaced by its seconds."""
    if isinstance(value, pa.MonthDayNano):  # a tuple: test before lists
        return interval_seconds(value)
    if isinstance(value, dict):
        return {k: intervals_as_seconds(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [intervals_as_seconds(v) for v in value]
    return value


_INTERVAL = pa.month_day_nano_interval()
_MICROS_PER_DAY = SECONDS_PER_DAY * 1_000_000
# Arrow's month-day-nano value: int32 months, int32 days, int64 nanoseconds
_MONTH_DAY_NANO = np.dtype([("months", "<i4"), ("days", "<i4"), ("nanoseconds", "<i8")])


def _duration_type(type_: pa.DataType) -> pa.DataType:
    """``type_`` with every interval in it (also inside lists, structs and maps) a duration in microseconds."""
    if type_ == _INTERVAL:
        return pa.duration("us")
    if isinstance(type_, pa.ListType | pa.LargeListType | pa.FixedSizeListType) and not isinstance(type_, pa.MapType):
        field = type_.value_field.with_type(_duration_type(type_.value_type))
        if isinstance(type_, pa.FixedSizeListType):
            return pa.list_(field, type_.list_size)
        return pa.large_list(field) if isinstance(type_, pa.LargeListType) else pa.list_(field)
    if isinstance(type_, pa.MapType):
        return pa.map_(type_.key_field.with_type(_duration_type(type_.key_type)), _duration_type(type_.item_type))
    if isinstance(type_, pa.StructType):
        return pa.struct([f.with_type(_duration_type(f.type)) for f in type_])
    return type_


def _interval_timedelta(value: pa.MonthDayNano) -> dt.timedelta:
    days = int(value.months) * DAYS_PER_MONTH + int(value.days)
    return dt.timedelta(days=days, microseconds=int(value.nanoseconds) // 1000)


def _intervals_as_timedeltas(value: Any) -> Any:
    if isinstance(value, pa.MonthDayNano):  # a tuple: test before tuples
        return _interval_timedelta(value)
    if isinstance(value, dict):
        return {k: _intervals_as_timedeltas(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_intervals_as_timedeltas(v) for v in value]
    if isinstance(value, tuple):  # a map's (key, value) pair
        return tuple(_intervals_as_timedeltas(v) for v in value)
    return value


def _interval_chunk_as_duration(chunk: pa.Array) -> pa.Array:
    data = chunk.buffers()[1]
    assert data is not None
    parts = np.frombuffer(data, dtype=_MONTH_DAY_NANO, count=chunk.offset + len(chunk))[chunk.offset :]
    days = parts["months"].astype(np.int64) * DAYS_PER_MONTH + parts["days"]
    micros = days * _MICROS_PER_DAY + parts["nanoseconds"] // 1000
    return pa.array(micros, type=pa.duration("us"), mask=chunk.is_null().to_numpy(zero_copy_only=False))


def intervals_as_durations(table: pa.Table) -> pa.Table:
    """``table`` with every interval (also inside lists and structs) a duration in microseconds.

    Parquet cannot hold Arrow's month-day-nano interval (pyarrow refuses to write it); a
    duration it can. A month counts 30 days and a day 86,400 s, as in the seconds of ``csv``.
    """
    for index, field in enumerate(table.schema):
        target = _duration_type(field.type)
        if target == field.type:
            continue
        if field.type == _INTERVAL:
            chunks = [_interval_chunk_as_duration(c) for c in table.column(index).chunks]
            column = pa.chunked_array(chunks, type=target)
        else:
            values = [_intervals_as_timedeltas(v) for v in table.column(index).to_pylist()]
            column = pa.chunked_array([pa.array(values, type=target)], type=target)
        table = table.set_column(index, field.with_type(target), column)
    return table


def plain_value(value: Any) -> Any:
    """A value as JSON/CSV can hold it (DuckDB sums come back as Decimal, intervals as seconds)."""
    if isinstance(value, pa.MonthDayNano):  # a tuple (months, days, nanoseconds): test before lists
        return interval_seconds(value)
    if isinstance(value, dict):
        return {str(k): plain_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_value(v) for v in value]
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, float) and not math.isfinite(value):
        return None  # NaN and +-inf have no JSON form (json.dumps would write the bare token Infinity)
    return value


def unique_names(names: Sequence[str]) -> list[str]:
    """``names`` with each repeat renamed ``name_1``, ``name_2``, ... (a suffix no column already has).

    A query may return two columns of one name (``SELECT k.*, f.*``); a JSON
    object or a table keyed by name would keep only one of them.
    """
    taken = set(names)
    seen: set[str] = set()
    unique: list[str] = []
    for name in names:
        if name in seen:
            suffix = 1
            while f"{name}_{suffix}" in taken:
                suffix += 1
            name = f"{name}_{suffix}"
            taken.add(name)
        seen.add(name)
        unique.append(name)
    return unique


# DuckDB's infinite dates and timestamps reach Arrow as the largest value of the type (and its negation)
_INFINITY_RAW = {2**31 - 1: "infinity", -(2**31 - 1): "-infinity", 2**63 - 1: "infinity", -(2**63 - 1): "-infinity"}


def _out_of_range_text(scalar: pa.Scalar, type_: pa.DataType) -> str:
    """A date or timestamp Python cannot hold (past the year 9999, DuckDB's ``infinity``) as text."""
    raw = scalar.cast(pa.int32() if pa.types.is_date32(type_) else pa.int64()).as_py()
    if raw in _INFINITY_RAW:
        return _INFINITY_RAW[raw]
    unit = "D" if pa.types.is_date32(type_) else "ms" if pa.types.is_date64(type_) else type_.unit
    text = str(np.array(raw, dtype=f"datetime64[{unit}]"))
    return text + "+00:00" if getattr(type_, "tz", None) else text


def _column_values(name: str, column: pa.ChunkedArray) -> list[Any]:
    try:
        listed: list[Any] = column.to_pylist()
        return listed
    except (OverflowError, ValueError):
        if not (pa.types.is_timestamp(column.type) or pa.types.is_date(column.type)):
            raise InputError(
                f"column {name!r} holds a date or time outside the years 1-9999 (such as DuckDB's 'infinity'), "
                "which cannot be written; cast it to VARCHAR in the query"
            ) from None
    values: list[Any] = []
    for scalar in column:
        try:
            values.append(scalar.as_py())
        except (OverflowError, ValueError):
            values.append(_out_of_range_text(scalar, column.type))
    return values


def positional_rows(table: pa.Table) -> Iterator[tuple[Any, ...]]:
    """The rows of ``table`` as tuples in column order (duplicate column names keep their own values).

    A date or timestamp past Python's range (``DATE 'infinity'``, the year 294247) comes out as
    text, as DuckDB writes it (``infinity``, ``-infinity``, ``294247-01-10T04:00:54``).
    """
    columns = [_column_values(name, column) for name, column in zip(table.column_names, table.columns, strict=True)]
    return zip(*columns, strict=True)


def arrow_records(table: pa.Table) -> list[dict[str, Any]]:
    """One dict per row, keyed by :func:`unique_names`; values as Arrow gives them, intervals as seconds."""
    names = unique_names(table.column_names)
    return [dict(zip(names, map(intervals_as_seconds, row), strict=True)) for row in positional_rows(table)]


def decimal_text(value: decimal.Decimal) -> str:
    """A decimal's exact digits, its scale kept (``0.300``), never in exponent form, as the table shows it."""
    return format(value, "f")


class _ExactDecimals:
    """Decimals swapped for placeholders that JSON writes as strings, then for their exact digits as numbers.

    ``json`` writes a Decimal only through a float, which drops digits past the 17th
    (``12345678901234567.891`` became ``1.2345678901234568e+16``). A placeholder holds a random
    token no cell can hold by chance, so only the swapped values are put back.
    """

    def __init__(self) -> None:
        self.token = f"@decimal-{secrets.token_hex(16)}-"
        self.texts: list[str] = []

    def mark(self, value: Any) -> Any:
        if isinstance(value, decimal.Decimal):
            if not value.is_finite():
                return None  # Arrow's decimals are finite; NaN has no JSON form
            self.texts.append(decimal_text(value))
            return f"{self.token}{len(self.texts) - 1}"
        if isinstance(value, dict):
            return {k: self.mark(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.mark(v) for v in value]
        if isinstance(value, tuple) and not isinstance(value, pa.MonthDayNano):
            return [self.mark(v) for v in value]
        return value

    def restore(self, text: str) -> str:
        if not self.texts:
            return text
        pattern = re.compile('"' + re.escape(self.token) + r'(\d+)"')
        return pattern.sub(lambda found: self.texts[int(found.group(1))], text)


def arrow_csv(table: pa.Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.column_names)
    # one token for the whole table, its decimals forgotten after each cell: a fresh one per cell
    # drew random bytes from the system for every cell (a million-row result took minutes)
    exact = _ExactDecimals()
    # text, whole numbers and booleans are written as Arrow gives them: no cell of theirs needs the
    # checks below (most of a large result's columns)
    as_given = [_written_as_given(t) for t in table.schema.types]
    for row in positional_rows(table):
        cells = []
        for raw, plain in zip(row, as_given, strict=True):
            if plain or raw is None:
                cells.append("" if raw is None else raw)
                continue
            if isinstance(raw, decimal.Decimal):
                cells.append(decimal_text(raw))  # exact, as in json and the table
                continue
            value = plain_value(exact.mark(raw))
            if value is None:
                cells.append("")
            elif isinstance(value, list | dict):
                cells.append(exact.restore(json.dumps(value, ensure_ascii=False)))
            else:
                cells.append(value)
            exact.texts.clear()
        writer.writerow(cells)
    return buffer.getvalue()


def _written_as_given(type_: pa.DataType) -> bool:
    """Whether every value of ``type_`` is its own CSV cell (``plain_value`` and ``mark`` keep it)."""
    return bool(
        pa.types.is_string(type_)
        or pa.types.is_large_string(type_)
        or pa.types.is_integer(type_)
        or pa.types.is_boolean(type_)
    )


def arrow_json(table: pa.Table) -> str:
    # to_json: strict JSON, a non-finite float that slipped past plain_value is null, never invalid JSON.
    # Decimals are numbers written with their exact digits (DECIMAL(18,3) 0.3 is 0.300).
    exact = _ExactDecimals()
    records = [plain_value(exact.mark(row)) for row in arrow_records(table)]
    return exact.restore(to_json(records)) + "\n"


STDOUT = "-"  # ``-o -``: the Unix spelling of "write it to stdout"


def output_file(output: Path | None) -> Path | None:
    """The file ``-o`` names; None for stdout (``-o`` left out, or ``-o -``)."""
    return None if output is None or str(output) == STDOUT else output


def emit_text(text: str, output: Path | None) -> None:
    """Machine output: to stdout alone (no ``-o``, or ``-o -``), or atomically to ``output``."""
    target = output_file(output)
    if target is None:
        sys.stdout.write(text)
    else:
        atomic_write_bytes(text.encode("utf-8"), target)
        err.print(f"[dim]wrote {escape(str(target))}[/dim]")
