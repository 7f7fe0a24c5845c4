"""Plain records (lists of dicts) describing a loaded config, for the read-only commands.

Each function returns what one command prints: JSON-ready values (text,
numbers, lists, aware datetimes) keyed by column name. Rendering as a table,
JSON or CSV is the CLI's job.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from retail_intel.config.calendar import expand_events
from retail_intel.config.loader import Config
from retail_intel.config.models import WEEKDAYS, Branch, Camera, Promotion, TaskPriority, TaskStatus
from retail_intel.errors import InputError

__all__ = [
    "BRANCH_COLUMNS",
    "DEFAULT_EVENT_WINDOW_DAYS",
    "EARLIEST_EVENT_TIME",
    "EVENT_COLUMNS",
    "LATEST_EVENT_TIME",
    "PROMOTION_COLUMNS",
    "TASK_COLUMNS",
    "branch_detail",
    "branch_detail_rows",
    "branch_rows",
    "default_event_window",
    "event_rows",
    "event_window",
    "promotion_rows",
    "task_rows",
]

# The keys of each row function's records, so that an empty answer still has its CSV header.
BRANCH_COLUMNS = (
    "id",
    "name",
    "state",
    "timezone",
    "capacity",
    "peak_time",
    "min_staff",
    "customers_per_staff",
    "cameras",
    "employees",
    "neighbors",
)
TASK_COLUMNS = ("id", "title", "status", "priority", "due", "assignee", "assignee_name")
EVENT_COLUMNS = ("event_id", "name", "branch", "location", "start", "end", "repeat")
PROMOTION_COLUMNS = ("id", "name", "branches", "start", "end", "description")

DEFAULT_EVENT_WINDOW_DAYS = 30
# Events are planned within a lifetime; the bounds keep the expansion's date arithmetic
# (an event's duration before --from, the default 30 days after it) away from years 1 and 9999.
EARLIEST_EVENT_TIME = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST_EVENT_TIME = dt.datetime(3000, 1, 1, tzinfo=dt.UTC)
_STATUS_ORDER = {status: index for index, status in enumerate(TaskStatus)}
_PRIORITY_ORDER = {p: -index for index, p in enumerate(TaskPriority)}  # urgent first


def branch_rows(config: Config) -> list[dict[str, Any]]:
    """One summary row per branch, in file order."""
    return [
        {
            "id": b.id,
            "name": b.name,
            "state": b.state.value,
            "timezone": b.timezone,
            "capacity": b.capacity,
            "peak_time": b.peak_time,
            "min_staff": b.min_staff,
            "customers_per_staff": b.customers_per_staff,
            "cameras": [c.id for c in b.cameras],
            "employees": len(config.employees_of(b.id)),
            "neighbors": list(b.neighbors),
        }
        for b in config.branches
    ]


# What a branch with no opening span at all shows for each day. The KPIs, etl's is_open and the
# report take such a branch as open around the clock (docs/etl.md, docs/staff-groups.md); showing
# "closed" for every day, as a missing day of a branch with hours is, said the opposite.
OPEN_ALL_DAY = "open all day"


def _hours(branch: Branch) -> dict[str, str]:
    spans = branch.opening_hours
    if not spans:
        return dict.fromkeys(WEEKDAYS, OPEN_ALL_DAY)
    return {day: f"{spans[day].start}-{spans[day].end}" if day in spans else "closed" for day in WEEKDAYS}


def _camera_record(camera: Camera) -> dict[str, Any]:
    data = camera.model_dump(mode="json", exclude_none=True)
    return {"id": data.pop("id"), **data}


def branch_detail(config: Config, branch_id: str) -> dict[str, Any]:
    """Everything known about one branch: its fields, cameras, staff and open tasks."""
    branch = config.branch(branch_id)
    tasks = config.tasks_of(branch_id)
    return {
        "id": branch.id,
        "name": branch.name,
        "state": branch.state.value,
        "timezone": branch.timezone,
        "capacity": branch.capacity,
        "peak_time": branch.peak_time,
        "neighbors": list(branch.neighbors),
        "customers_per_staff": branch.customers_per_staff,
        "min_staff": branch.min_staff,
        "opening_hours": _hours(branch),
        "cameras": [_camera_record(c) for c in branch.cameras],
        "employees": [{"id": e.id, "name": e.name, "role": e.role} for e in config.employees_of(branch_id)],
        "open_tasks": sum(t.status in (TaskStatus.open, TaskStatus.in_progress) for t in tasks),
        "promotions": [p.id for p in config.promotions_for(branch_id)],
    }


def _camera_summary(camera: dict[str, Any]) -> str:
    # nested values (line, zones) as JSON, as every CSV cell holds them, not as Python reprs
    parts = [
        f"{key} {json.dumps(value) if isinstance(value, dict | list) else value}"
        for key, value in camera.items()
        if key != "id"
    ]
    return "; ".join(parts)


def branch_detail_rows(detail: dict[str, Any]) -> list[dict[str, Any]]:
    """:func:`branch_detail` flattened to (field, value) rows for a table or CSV."""
    rows: list[dict[str, Any]] = []
    for key, value in detail.items():
        if key == "opening_hours":
            rows.extend({"field": f"hours {day}", "value": span} for day, span in value.items())
        elif key == "cameras":
            rows.extend({"field": f"camera {cam['id']}", "value": _camera_summary(cam)} for cam in value)
        elif key == "employees":
            staff = [f"{e['id']} {e['name']} ({e['role']})" for e in value]
            rows.append({"field": "employees", "value": staff})
        else:
            rows.append({"field": key, "value": value})
    return rows


def task_rows(config: Config, branch_id: str, status: TaskStatus | None = None) -> list[dict[str, Any]]:
    """The branch's tasks: open before done, most urgent first, earliest due first."""
    config.branch(branch_id)  # unknown branch -> ConfigError listing the known ones
    tasks = [t for t in config.tasks_of(branch_id) if status is None or t.status is status]
    far_future = dt.datetime.max.replace(tzinfo=dt.UTC)
    tasks.sort(key=lambda t: (_STATUS_ORDER[t.status], _PRIORITY_ORDER[t.priority], t.due or far_future, t.id))
    rows = []
    for task in tasks:
        assignee = config.employee(task.assignee) if task.assignee else None
        rows.append(
            {
                "id": task.id,
                "title": task.title,
                "status": task.status.value,
                "priority": task.priority.value,
                "due": task.due,
                "assignee": task.assignee,
                "assignee_name": assignee.name if assignee else None,
            }
        )
    return rows


def _check_event_range(start: dt.datetime | None, end: dt.datetime | None, names: tuple[str, str]) -> None:
    for flag, value in zip(names, (start, end), strict=True):
        if value is not None and not EARLIEST_EVENT_TIME <= value <= LATEST_EVENT_TIME:
            raise InputError(
                f"{flag}: expected a time between {EARLIEST_EVENT_TIME.date()} and {LATEST_EVENT_TIME.date()}, "
                f"got {value.isoformat()}"
            )


def event_window(
    start: dt.datetime | None,
    end: dt.datetime | None,
    now: dt.datetime,
    *,
    range_names: tuple[str, str] = ("start", "end"),
) -> tuple[dt.datetime, dt.datetime]:
    """The range ``events`` lists: ``start`` (default: ``now``'s UTC day) to ``end`` (default: 30 days later).

    ``range_names`` name ``start`` and ``end`` in messages (the caller's flags, such as ``--from`` and ``--to``).
    """
    _check_event_range(start, end, range_names)
    if start is None:
        start = default_event_window(now)[0]
    if end is None:  # 30 days on, but never past the last time listed (the user gave no --to to blame)
        end = min(start + dt.timedelta(days=DEFAULT_EVENT_WINDOW_DAYS), LATEST_EVENT_TIME)
    return start, end


def default_event_window(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """Start of ``now``'s UTC day to 30 days later: what ``events`` shows without --from/--to."""
    start = now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + dt.timedelta(days=DEFAULT_EVENT_WINDOW_DAYS)


def event_rows(
    config: Config,
    start: dt.datetime,
    end: dt.datetime,
    branch_id: str | None = None,
    *,
    range_names: tuple[str, str] = ("start", "end"),
) -> list[dict[str, Any]]:
    """Dated occurrences overlapping ``[start, end)``; times shown in the branch's zone.

    ``range_names`` name ``start`` and ``end`` in messages (the caller's flags, such as ``--from`` and ``--to``).
    """
    _check_event_range(start, end, range_names)
    if end <= start:
        first, last = range_names
        raise InputError(f"{last} must be after {first}, got from {start.isoformat()} to {end.isoformat()}")
    if branch_id is not None:
        config.branch(branch_id)
        events = config.events_for(branch_id)
    else:
        events = config.events
    zones = config.timezones
    repeats = {e.id: e.repeat.value for e in events}
    rows = []
    for occ in expand_events(events, start, end, timezones=zones, range_names=range_names):
        zone = zones.get(occ.branch) if occ.branch else None
        rows.append(
            {
                "event_id": occ.event_id,
                "name": occ.name,
                "branch": occ.branch,
                "location": occ.location,
                "start": occ.start.astimezone(zone) if zone else occ.start,
                "end": occ.end.astimezone(zone) if zone else occ.end,
                "repeat": repeats[occ.event_id],
            }
        )
    return rows


def _promotion_record(promo: Promotion) -> dict[str, Any]:
    return {
        "id": promo.id,
        "name": promo.name,
        "branches": promo.branches if promo.branches == "all" else list(promo.branches),
        "start": promo.start,
        "end": promo.end,
        "description": promo.description,
    }


def promotion_rows(
    config: Config, branch_id: str | None = None, active_at: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Promotions for a branch (or all), optionally only those running at ``active_at``; by start."""
    promos = list(config.promotions)
    if branch_id is not None:
        config.branch(branch_id)
        promos = [p for p in promos if p.applies_to(branch_id)]
    if active_at is not None:
        promos = [p for p in promos if p.runs_at(active_at)]
    promos.sort(key=lambda p: (p.start, p.id))
    return [_promotion_record(p) for p in promos]
