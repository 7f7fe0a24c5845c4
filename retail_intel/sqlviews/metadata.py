"""The YAML metadata as Arrow tables, one per seed table (branches, employees, ...).

Column names follow the seed's database: each table's own key is ``id`` and a
reference to a branch is ``branch_id``, so ``JOIN branches b ON b.id =
m.branch_id`` works against the movement view. Nested YAML (cameras, opening
hours) becomes a JSON text column so it survives a round trip through CSV and
can still be taken apart with DuckDB's ``->>`` operators; weekly shifts are a
list of structs so ``UNNEST`` works on them directly.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import Any

import duckdb
import pyarrow as pa

from retail_intel.config.loader import Config
from retail_intel.config.models import Branch, Employee, Event, Promotion, Task, span_minutes

_TS = pa.timestamp("us", tz="UTC")

BRANCHES_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("capacity", pa.int64(), nullable=False),
        pa.field("peak_time", pa.string()),
        pa.field("neighbors", pa.list_(pa.string())),
        pa.field("state", pa.string()),
        pa.field("timezone", pa.string()),
        pa.field("opening_hours", pa.string()),  # JSON object: weekday -> "HH:MM-HH:MM"
        pa.field("customers_per_staff", pa.float64()),
        pa.field("min_staff", pa.int64()),
        pa.field("camera_ids", pa.list_(pa.string())),
        pa.field("cameras", pa.string()),  # JSON list of the full camera entries
    ]
)

_SHIFT = pa.struct([("day", pa.string()), ("start", pa.string()), ("end", pa.string())])
_SHIFT_EXCEPTION = pa.struct([("date", pa.date32()), ("off", pa.bool_()), ("start", pa.string()), ("end", pa.string())])

EMPLOYEES_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("branch_id", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("role", pa.string()),
        pa.field("weekly_shifts", pa.list_(_SHIFT)),
        pa.field("shift_exceptions", pa.list_(_SHIFT_EXCEPTION)),
        pa.field("weekly_hours", pa.float64()),  # scheduled hours of a normal week
    ]
)

TASKS_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("branch_id", pa.string(), nullable=False),
        pa.field("assignee", pa.string()),
        pa.field("title", pa.string(), nullable=False),
        pa.field("status", pa.string()),
        pa.field("priority", pa.string()),
        pa.field("due", _TS),
    ]
)

EVENTS_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("branch_id", pa.string()),
        pa.field("location", pa.string()),
        pa.field("start_time", _TS, nullable=False),
        pa.field("end_time", _TS, nullable=False),
        pa.field("repeat", pa.string()),
        pa.field("until", pa.date32()),
    ]
)

PROMOTIONS_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("all_branches", pa.bool_(), nullable=False),
        # "branches: all" is expanded to every configured branch so joins need no special case
        pa.field("branch_ids", pa.list_(pa.string())),
        pa.field("start_time", _TS, nullable=False),
        pa.field("end_time", _TS, nullable=False),
        pa.field("description", pa.string()),
    ]
)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else value.astimezone(dt.UTC)


def _hours(start: str, end: str) -> float:
    first, last = span_minutes(start, end)  # an end of 24:00 is 1440
    return (last - first) / 60.0


def _branch_row(branch: Branch) -> dict[str, Any]:
    return {
        "id": branch.id,
        "name": branch.name,
        "capacity": branch.capacity,
        "peak_time": branch.peak_time,
        "neighbors": list(branch.neighbors),
        "state": branch.state.value,
        "timezone": branch.timezone,
        "opening_hours": json.dumps({day: f"{span.start}-{span.end}" for day, span in branch.opening_hours.items()}),
        "customers_per_staff": branch.customers_per_staff,
        "min_staff": branch.min_staff,
        "camera_ids": [camera.id for camera in branch.cameras],
        "cameras": json.dumps([camera.model_dump(mode="json", exclude_none=True) for camera in branch.cameras]),
    }


def _employee_row(employee: Employee) -> dict[str, Any]:
    weekly = employee.shifts.weekly
    return {
        "id": employee.id,
        "branch_id": employee.branch,
        "name": employee.name,
        "role": employee.role,
        "weekly_shifts": [{"day": s.day, "start": s.start, "end": s.end} for s in weekly],
        "shift_exceptions": [
            {"date": e.date, "off": e.off, "start": e.start, "end": e.end} for e in employee.shifts.exceptions
        ],
        "weekly_hours": sum(_hours(s.start, s.end) for s in weekly),
    }


def _task_row(task: Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "branch_id": task.branch,
        "assignee": task.assignee,
        "title": task.title,
        "status": task.status.value,
        "priority": task.priority.value,
        "due": _utc(task.due),
    }


def _event_row(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "name": event.name,
        "branch_id": event.branch,
        "location": event.location,
        "start_time": _utc(event.start),
        "end_time": _utc(event.end),
        "repeat": event.repeat.value,
        "until": event.until,
    }


def _promotion_row(promotion: Promotion, all_branch_ids: list[str]) -> dict[str, Any]:
    everywhere = promotion.branches == "all"
    return {
        "id": promotion.id,
        "name": promotion.name,
        "all_branches": everywhere,
        "branch_ids": list(all_branch_ids) if everywhere else list(promotion.branches),
        "start_time": _utc(promotion.start),
        "end_time": _utc(promotion.end),
        "description": promotion.description,
    }


# One row per configured zone (branches.yaml, cameras[].zones).
ZONES_SCHEMA = pa.schema(
    [
        pa.field("branch_id", pa.string(), nullable=False),
        pa.field("camera_id", pa.string(), nullable=False),
        pa.field("zone_id", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("label", pa.string(), nullable=False),  # the label, or the id where none is given
        pa.field("min_dwell", pa.float64(), nullable=False),
        pa.field("service_zone_id", pa.string()),
        pa.field("polygon", pa.list_(pa.list_(pa.float64(), 2))),
    ]
)


def zone_rows(branch: Branch) -> list[dict[str, Any]]:
    return [
        {
            "branch_id": branch.id,
            "camera_id": camera.id,
            "zone_id": zone.id,
            "kind": zone.kind,
            "label": zone.title,
            "min_dwell": zone.min_dwell,
            "service_zone_id": zone.service,
            "polygon": [list(point) for point in zone.polygon],
        }
        for camera in branch.cameras
        for zone in camera.zones
    ]


def _table(rows: Sequence[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=schema)


def metadata_tables(config: Config) -> dict[str, pa.Table]:
    """Every metadata table of ``config``, keyed by its SQL name."""
    branch_ids = [branch.id for branch in config.branches]
    builders: dict[str, Callable[[], pa.Table]] = {
        "branches": lambda: _table([_branch_row(b) for b in config.branches], BRANCHES_SCHEMA),
        "employees": lambda: _table([_employee_row(e) for e in config.employees], EMPLOYEES_SCHEMA),
        "tasks": lambda: _table([_task_row(t) for t in config.tasks], TASKS_SCHEMA),
        "events": lambda: _table([_event_row(e) for e in config.events], EVENTS_SCHEMA),
        "promotions": lambda: _table([_promotion_row(p, branch_ids) for p in config.promotions], PROMOTIONS_SCHEMA),
        "zones": lambda: _table([row for b in config.branches for row in zone_rows(b)], ZONES_SCHEMA),
    }
    return {name: build() for name, build in builders.items()}


# Columns holding JSON text: cast to DuckDB's JSON type so ``->>`` works without a cast.
JSON_COLUMNS: dict[str, tuple[str, ...]] = {"branches": ("opening_hours", "cameras")}


def create_metadata_tables(con: duckdb.DuckDBPyConnection, config: Config) -> dict[str, int]:
    """Copy every metadata table into ``con``; returns rows per table."""
    counts: dict[str, int] = {}
    for name, table in metadata_tables(config).items():
        staging = f"_staging_{name}"
        con.register(staging, table)
        replace = ", ".join(f"{col}::JSON AS {col}" for col in JSON_COLUMNS.get(name, ()))
        columns = f"* REPLACE ({replace})" if replace else "*"
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT {columns} FROM {staging}")
        con.unregister(staging)
        counts[name] = table.num_rows
    return counts
