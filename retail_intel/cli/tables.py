"""Writing Arrow tables as CSV or JSON text, to stdout or a file (``sql``, ``kpis``)."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import decimal
import io
import json
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
from rich.markup import escape

from retail_intel.cli.common import err, to_json
from retail_intel.storage import atomic_write_bytes


def plain_value(value: Any) -> Any:
    """A value as JSON/CSV can hold it (DuckDB sums come back as Decimal, intervals as timedelta)."""
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
    if isinstance(value, float) and value != value:
        return None
    return value


def arrow_csv(table: pa.Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.column_names)
    for row in table.to_pylist():
        cells = []
        for value in (plain_value(v) for v in row.values()):
            if value is None:
                cells.append("")
            elif isinstance(value, list | dict):
                cells.append(json.dumps(value, ensure_ascii=False))
            else:
                cells.append(value)
        writer.writerow(cells)
    return buffer.getvalue()


def arrow_json(table: pa.Table) -> str:
    return to_json([plain_value(row) for row in table.to_pylist()]) + "\n"


def emit_text(text: str, output: Path | None) -> None:
    """Machine output: to stdout alone, or atomically to ``output``."""
    if output is None:
        sys.stdout.write(text)
    else:
        atomic_write_bytes(text.encode("utf-8"), output)
        err.print(f"[dim]wrote {escape(str(output))}[/dim]")
