"""Naming the movement file that breaks a read, instead of failing (or answering) for the whole store.

The KPI readers open every movement file in one parallel scan, which is fast
but, when one file is corrupt or foreign, fails with a message that names no
file. These checks run only after such a failure, or on the few values the
scan already produced, so a healthy store pays nothing for them: they find
the culprit and say which file it is and what to do with it.

Decision (docs/kpis.md): a file that cannot be read, is not a movement file,
or holds implausible times stops the KPIs of every branch it would feed with
one line naming the file, rather than KPIs silently computed without it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from retail_intel.errors import DataError
from retail_intel.movements.plausible import TimeLimits
from retail_intel.movements.schema import MOVEMENT_SCHEMA

# What makes a Parquet file a movement file: the fields every writer has always written.
IDENTIFYING_COLUMNS = ("customer_id", "branch_id", "action_type", "enter_time", "exit_time")
_MOVE_AWAY = "move it out of the data directory (or re-process / re-ingest its source)"
_MAX_NAMED = 3
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def foreign_reason(
    path: Path,
    required: Sequence[str] = IDENTIFYING_COLUMNS,
    schema_of: pa.Schema = MOVEMENT_SCHEMA,
    kind: str = "movement",
) -> str | None:
    """Why ``path`` is not a readable ``kind`` file (``required`` columns typed as in ``schema_of``), or None."""
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        return f"not a readable Parquet file ({exc})"
    missing = [name for name in required if name not in schema.names]
    if missing:
        found = ", ".join(schema.names[:6]) + (", ..." if len(schema.names) > 6 else "")
        return f"not a {kind} file: it lacks {', '.join(missing)} (its columns: {found or 'none'})"
    for name in required:
        expected = schema_of.field(name).type
        actual = schema.field(name).type
        if pa.types.is_dictionary(actual):
            actual = actual.value_type
        if actual == pa.large_string():
            actual = pa.string()
        if pa.types.is_timestamp(expected) and pa.types.is_timestamp(actual):
            continue  # any unit reads as a timestamp
        if actual != expected:
            return f"column {name} should be {expected}, found {actual}"
    return None


def refuse_unreadable(
    files: Sequence[Path],
    required: Sequence[str] = IDENTIFYING_COLUMNS,
    schema_of: pa.Schema = MOVEMENT_SCHEMA,
    kind: str = "movement",
) -> None:
    """Raise :class:`DataError` naming the first unreadable or foreign file of ``files``; return if none."""
    for path in files:
        reason = foreign_reason(path, required, schema_of, kind)
        if reason is not None:
            raise DataError(f"{path}: {reason}; {_MOVE_AWAY}")
        try:
            # the footer may be fine and the data pages broken: read the columns that matter
            pq.read_table(path, columns=list(required))
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{path}: its data cannot be read ({exc}); {_MOVE_AWAY}") from exc


def _micros(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // dt.timedelta(microseconds=1)


def _implausible(table: pa.Table, limits: TimeLimits) -> bool:
    # In integer microseconds: a stored value may lie outside what datetime can hold.
    if table.num_rows == 0:
        return False
    assert limits.latest is not None
    unit = pa.timestamp("us", tz="UTC")
    enter = table["enter_time"].cast(unit).cast(pa.int64())
    exit_ = table["exit_time"].cast(unit).cast(pa.int64())
    lows = [pc.min(column).as_py() for column in (enter, exit_)]
    highs = [pc.max(column).as_py() for column in (enter, exit_)]
    if any(v is not None and v < _micros(limits.earliest) for v in lows):
        return True
    if any(v is not None and v > _micros(limits.latest) for v in highs):
        return True
    longest = pc.max(pc.subtract(exit_, enter)).as_py()
    return longest is not None and longest > limits.max_dwell // dt.timedelta(microseconds=1)


def refuse_implausible(table: pa.Table, files: Sequence[Path], limits: TimeLimits | None = None) -> None:
    """Raise :class:`DataError` naming the files of ``files`` behind implausible times in ``table``.

    ``table`` is what was read from ``files`` (with enter_time and exit_time);
    only when it holds an implausible time are the files opened one by one.
    """
    bounds = (limits or TimeLimits()).resolved()
    if not _implausible(table, bounds):
        return
    named = []
    for path in files:
        try:
            part = pq.read_table(path, columns=["enter_time", "exit_time"])
        except (pa.ArrowException, OSError):
            continue
        if _implausible(part, bounds):
            named.append(str(path))
            if len(named) == _MAX_NAMED:
                break
    where = ", ".join(named) if named else f"{len(files)} movement files"
    raise DataError(
        f"{where}: holds movements outside the plausible range {bounds.range_text()} or longer than "
        f"{bounds.max_dwell.total_seconds() / 3600:g} h; {_MOVE_AWAY}"
    )
