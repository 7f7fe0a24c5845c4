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


def observed_staff_intervals(movements: pa.Table, branches: Collection[str]) -> pa.Table:
    """One ``observed_staff`` interval per entered staff member of ``branches`` (INTERVAL_SCHEMA).

    The staff rows stay in the movements (copying ten million rows to drop
    a few would double the memory); each engine leaves them out of the
    customer KPIs itself unless ``KpiParams.include_staff``.
    """
    # The few staff rows first: casting ten million action types to text would cost a second.
    staff = movements.filter(movements["is_staff"])
    entered = pc.equal(staff["action_type"].cast(pa.string()), "entered")
    on_floor = staff.filter(pc.and_(entered, pc.greater(staff["exit_time"], staff["enter_time"])))
    branch = on_floor["branch_id"].cast(pa.string())
    on_floor = on_floor.filter(pc.is_in(branch, value_set=pa.array(sorted(branches), pa.string())))
    intervals = pa.table(
        {
            "branch_id": on_floor["branch_id"].cast(pa.string()),
            "kind": pa.repeat("observed_staff", on_floor.num_rows),
            "start": on_floor["enter_time"],
            "end": on_floor["exit_time"],
        }
    ).cast(INTERVAL_SCHEMA)
    return intervals
