"""Preparing the staff, group and door-count columns of the KPI input (engine-neutral).

Movement files written before these columns existed lack them; here the gaps
are filled with their documented meaning (not staff, alone, no door line,
exit observed) so old data keeps its old KPIs. Every entered staff member
also becomes an ``observed_staff`` interval
``[enter_time, exit_time)``, which the engines turn into the time-weighted
``observed_staff`` KPI exactly like scheduled shifts.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from retail_intel.kpis.schema import INTERVAL_SCHEMA, PEOPLE_INPUT_COLUMNS
from retail_intel.movements.schema import MOVEMENT_SCHEMA

_FILL: dict[str, object] = {"is_staff": False, "exit_observed": True}


def with_people_columns(movements: pa.Table) -> pa.Table:
    """``movements`` with every PEOPLE_INPUT_COLUMNS column present, nulls filled where a null has a default."""
    for name in PEOPLE_INPUT_COLUMNS:
        field = MOVEMENT_SCHEMA.field(name)
        if name not in movements.column_names:
            fill = _FILL.get(name)
            column = pa.nulls(movements.num_rows, field.type) if fill is None else pa.repeat(fill, movements.num_rows)
            movements = movements.append_column(name, column)
        elif name in _FILL and movements[name].null_count:
            index = movements.schema.get_field_index(name)
            movements = movements.set_column(index, name, pc.fill_null(movements[name], _FILL[name]))
    return movements


def observed_staff_intervals(frame: Any, branches: Collection[str]) -> pa.Table:
    """One ``observed_staff`` interval per entered staff member of ``branches`` (INTERVAL_SCHEMA).

    ``frame``: the movements (at least branch_id, action_type, enter_time,
    exit_time, is_staff) as a Polars DataFrame.

    The staff rows stay in the movements (copying ten million rows to drop
    a few would double the memory); each engine leaves them out of the
    customer KPIs itself unless ``KpiParams.include_staff``.
    """
    import polars as pl

    # A Polars filter (``frame`` is the movements as a Polars DataFrame): the
    # store's thousands of small chunks make an Arrow filter over ten million rows slow.
    on_floor = (
        frame.filter(
            pl.col("is_staff")
            & (pl.col("action_type") == "entered")
            & (pl.col("exit_time") > pl.col("enter_time"))
            & pl.col("branch_id").cast(pl.String).is_in(sorted(branches))
        )
        .select(pl.col("branch_id").cast(pl.String), "enter_time", "exit_time")
        .to_arrow()
    )
    intervals = pa.table(
        {
            "branch_id": on_floor["branch_id"].cast(pa.string()),
            "kind": pa.repeat("observed_staff", on_floor.num_rows),
            "start": on_floor["enter_time"],
            "end": on_floor["exit_time"],
        }
    ).cast(INTERVAL_SCHEMA)
    return intervals
