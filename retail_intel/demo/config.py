"""The synthetic metadata of the demo data set: branches, staff, promotions, events, tasks.

Everything is drawn from one seeded generator, so a seed and a start date
give the same config every time. Every name starts with "DEMO" so nobody
mistakes the data set for real figures.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from retail_intel.config.loader import Config
from retail_intel.config.models import (
    MINUTES_PER_DAY,
    WEEKDAYS,
    Branch,
    Camera,
    Employee,
    EntranceLine,
    Event,
    Promotion,
    Repeat,
    ShiftException,
    Shifts,
    Task,
    TaskPriority,
    TaskStatus,
    TimeRange,
    WeeklyShift,
)
from retail_intel.demo.zones import DEMO_ZONES

CITIES = (
    "Harbour", "Old Town", "Riverside", "Station", "Market Square", "University", "Airport", "Mall",
    "High Street", "Docklands", "Westend", "North Gate", "Parkside", "Cathedral", "Lakeside", "Hillview",
)  # fmt: skip
# Mostly one region, a few far away: enough to exercise per-branch timezones.
TIMEZONES = ("Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Madrid", "America/New_York")
_TZ_WEIGHTS = (0.3, 0.3, 0.15, 0.15, 0.1)

# Opening-hour patterns (weekday -> "HH:MM-HH:MM"; a missing day is closed).
OPENING_PATTERNS: tuple[dict[str, str], ...] = (
    {d: "08:00-20:00" for d in WEEKDAYS[:6]},
    {**{d: "09:00-21:00" for d in WEEKDAYS[:5]}, "sat": "09:00-20:00", "sun": "11:00-18:00"},
    {d: "07:30-22:00" for d in WEEKDAYS},
)
_TASK_TITLES = (
    "DEMO restock the front shelves",
    "DEMO check the entrance camera view",
    "DEMO set up the promotion display",
    "DEMO count the stock room",
    "DEMO clean the fitting rooms",
    "DEMO review the weekly rota",
)
_FIRST_NAMES = ("Alex", "Sam", "Kim", "Jo", "Robin", "Charlie", "Maria", "Jan", "Lea", "Noah", "Ida", "Tom")


def branch_id(number: int) -> str:
    return f"demo-{number:03d}"


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _branches(rng: np.random.Generator, count: int) -> list[Branch]:
    branches = []
    for number in range(1, count + 1):
        ident = branch_id(number)
        capacity = int(rng.integers(6, 31)) * 10
        pattern = OPENING_PATTERNS[int(rng.integers(len(OPENING_PATTERNS)))]
        neighbors = [branch_id(n) for n in (number - 1, number + 1) if 1 <= n <= count]
        camera = Camera(
            id="cam-1",
            roi=(320.0, 180.0, 960.0, 700.0),
            line=EntranceLine(start=(320.0, 650.0), end=(960.0, 650.0), in_side="left"),
            zones=list(DEMO_ZONES),
        )
        branches.append(
            Branch(
                id=ident,
                name=f"DEMO {number:03d} {CITIES[(number - 1) % len(CITIES)]}",
                capacity=capacity,
                peak_time="12:30" if rng.random() < 0.5 else "17:30",
                neighbors=neighbors,
                timezone=str(rng.choice(TIMEZONES, p=_TZ_WEIGHTS)),
                opening_hours={day: TimeRange.parse(span) for day, span in pattern.items()},
                customers_per_staff=float(rng.choice([8.0, 10.0, 12.0])),
                min_staff=int(rng.integers(1, 3)),
                cameras=[camera],
            )
        )
    return branches


def _shift(day: str, span: TimeRange, early: bool) -> WeeklyShift:
    """An up-to-8-hour shift at the start (early) or end (late) of ``day``'s opening span.

    A span may run past midnight (minutes past 1440): a late shift starting after midnight
    belongs to the next weekday, and an end past midnight is written as its clock time.
    """
    open_min, close_min = span.minutes
    length = min(8 * 60, close_min - open_min)
    first = open_min if early else close_min - length
    if first >= MINUTES_PER_DAY:
        day, first = WEEKDAYS[(WEEKDAYS.index(day) + 1) % 7], first - MINUTES_PER_DAY
    last = first + length
    end = "24:00" if last == MINUTES_PER_DAY else _hhmm(last % MINUTES_PER_DAY)
    return WeeklyShift(day=day, start=_hhmm(first), end=end)


def _employees(rng: np.random.Generator, branches: list[Branch], start: dt.date, days: int) -> list[Employee]:
    employees = []
    for branch in branches:
        open_days = [d for d in WEEKDAYS if d in branch.opening_hours]
        # About the staffing norm at any time (short at busy peaks): each works
        # five days a week on an early or a late shift, days off rotating so
        # every day and both halves of it get about the same cover.
        per_shift = max(1, branch.min_staff + branch.capacity // 150)
        staff = 2 * -(-per_shift * len(open_days) // 5)
        days_off = max(0, len(open_days) - 5)
        rotation = int(rng.integers(len(open_days)))
        for index in range(staff):
            first_off = (rotation + (index // 2) * days_off) % len(open_days)
            off = {open_days[(first_off + k) % len(open_days)] for k in range(days_off)}
            work_days = [d for d in open_days if d not in off]
            early = index % 2 == 0
            weekly = []
            for day in work_days:
                weekly.append(_shift(day, branch.opening_hours[day], early))
            exceptions = []
            if rng.random() < 0.3:  # an occasional day off inside the period
                exceptions.append(ShiftException(date=start + dt.timedelta(days=int(rng.integers(days))), off=True))
            employees.append(
                Employee(
                    id=f"{branch.id}-e{index + 1:02d}",
                    branch=branch.id,
                    name=f"DEMO {_FIRST_NAMES[index % len(_FIRST_NAMES)]} {index + 1}",
                    role="manager" if index == 0 else "associate",
                    shifts=Shifts(weekly=weekly, exceptions=exceptions),
                )
            )
    return employees


def _at(day: dt.date, hhmm: str, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(hhmm), tzinfo=tz)


def _promotions(rng: np.random.Generator, branches: list[Branch], start: dt.date, days: int) -> list[Promotion]:
    promotions = []
    ids = [b.id for b in branches]
    for number in range(1, max(2, days // 20) + 1):
        length = int(rng.integers(4, 11))
        first = start + dt.timedelta(days=int(rng.integers(0, max(1, days - length))))
        if number == 1:
            targets: list[str] | str = "all"
        else:
            share = max(1, int(len(ids) * rng.uniform(0.2, 0.5)))
            targets = sorted(rng.choice(ids, size=share, replace=False).tolist())
        promotions.append(
            Promotion(
                id=f"demo-promo-{number:02d}",
                name=f"DEMO promotion {number}",
                branches=targets,
                start=_at(first, "00:00", dt.UTC),
                end=_at(first + dt.timedelta(days=length), "00:00", dt.UTC),
                description="synthetic promotion of the demo data set",
            )
        )
    return promotions


def _events(rng: np.random.Generator, branches: list[Branch], start: dt.date, days: int) -> list[Event]:
    events = []
    last = start + dt.timedelta(days=days - 1)
    first_saturday = start + dt.timedelta(days=(5 - start.weekday()) % 7)
    for branch in branches:
        if rng.random() < 0.3 and first_saturday <= last:
            tz = branch.tzinfo
            events.append(
                Event(
                    id=f"{branch.id}-market",
                    name="DEMO weekly street market",
                    branch=branch.id,
                    start=_at(first_saturday, "09:00", tz),
                    end=_at(first_saturday, "14:00", tz),
                    repeat=Repeat.weekly,
                    until=last,
                )
            )
    middle = start + dt.timedelta(days=days // 2)
    events.append(
        Event(
            id="demo-city-festival",
            name="DEMO city festival",
            location="city centre",
            start=_at(middle, "10:00", dt.UTC),
            end=_at(middle + dt.timedelta(days=1), "22:00", dt.UTC),
        )
    )
    return events


def _tasks(
    rng: np.random.Generator, branches: list[Branch], employees: list[Employee], start: dt.date, days: int
) -> list[Task]:
    tasks = []
    statuses = list(TaskStatus)
    priorities = list(TaskPriority)
    for branch in branches:
        staff = [e.id for e in employees if e.branch == branch.id]
        for number in range(1, int(rng.integers(2, 5)) + 1):
            due_day = start + dt.timedelta(days=int(rng.integers(days)))
            tasks.append(
                Task(
                    id=f"{branch.id}-t{number}",
                    branch=branch.id,
                    assignee=str(rng.choice(staff)) if staff and rng.random() < 0.8 else None,
                    title=_TASK_TITLES[int(rng.integers(len(_TASK_TITLES)))],
                    status=statuses[int(rng.integers(len(statuses)))],
                    priority=priorities[int(rng.integers(len(priorities)))],
                    due=_at(due_day, "17:00", branch.tzinfo),
                )
            )
    return tasks


def build_demo_config(rng: np.random.Generator, n_branches: int, start: dt.date, days: int) -> Config:
    """A complete, valid synthetic config for ``n_branches`` branches over ``days`` days."""
    branches = _branches(rng, n_branches)
    employees = _employees(rng, branches, start, days)
    return Config(
        branches=tuple(branches),
        employees=tuple(employees),
        tasks=tuple(_tasks(rng, branches, employees, start, days)),
        events=tuple(_events(rng, branches, start, days)),
        promotions=tuple(_promotions(rng, branches, start, days)),
    )
