"""Movements with staff flags, groups and door counts, and a brute-force reference of the KPIs they feed.

The reference follows docs/kpis.md (staff, groups and occupancy) one window
at a time on plain Python lists; it shares no code with either engine beyond
the window and interval tables it is given.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import pyarrow as pa

from retail_intel.kpis.inputs import BranchInfo, Interval, KpiInputs
from tests.kpi_helpers import Door, Move, reference_reconciled

_TS = pa.timestamp("us", tz="UTC")
PEOPLE_COLUMNS = (
    "observed_staff",
    "observed_staffing_adequacy",
    "buying_units",
    "mean_group_size",
    "group_conversion",
    "reconciled_occupancy",
    "occupancy_imbalance",
    "data_quality",
    "reconciled_peak_occupancy",
    "reconciled_avg_occupancy",
    "congestion_level",
    "utilization_ratio",
    "bottleneck_score",
)


@dataclass(frozen=True)
class Person:
    branch: str
    action: str  # entered | passed
    enter: dt.datetime
    exit: dt.datetime
    first_seen: dt.datetime | None = None
    is_staff: bool | None = None  # None: an old file's null
    group: str | None = None
    exit_observed: bool = True
    line_in: int | None = None
    line_out: int | None = None

    @property
    def seen(self) -> dt.datetime:
        return self.first_seen if self.first_seen is not None else self.enter

    @property
    def staff(self) -> bool:
        return bool(self.is_staff)

    def as_move(self) -> Move:
        return Move(self.branch, self.action, self.enter, self.exit, self.first_seen)


def people_table(people: Iterable[Person]) -> pa.Table:
    rows = list(people)
    return pa.table(
        {
            "branch_id": pa.array([p.branch for p in rows], pa.string()),
            "action_type": pa.array([p.action for p in rows], pa.string()),
            "enter_time": pa.array([p.enter for p in rows], _TS),
            "exit_time": pa.array([p.exit for p in rows], _TS),
            "dwell_seconds": pa.array([(p.exit - p.enter).total_seconds() for p in rows], pa.float64()),
            "first_seen": pa.array([p.seen for p in rows], _TS),
            "is_staff": pa.array([p.is_staff for p in rows], pa.bool_()),
            "group_id": pa.array([p.group for p in rows], pa.string()),
            "exit_observed": pa.array([p.exit_observed for p in rows], pa.bool_()),
            "line_in": pa.array([p.line_in for p in rows], pa.int64()),
            "line_out": pa.array([p.line_out for p in rows], pa.int64()),
        }
    )


def _overlap(a0: dt.datetime, a1: dt.datetime, b0: dt.datetime, b1: dt.datetime) -> float:
    return max(0.0, (min(a1, b1) - max(a0, b0)).total_seconds())


def _div(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def reference_people_kpis(
    people: Sequence[Person],
    inputs: KpiInputs,
    branches: Sequence[BranchInfo],
    intervals: Sequence[tuple[str, Interval]],
    required: dict[tuple[str, dt.datetime], int],
    adequacy: dict[tuple[str, dt.datetime], float | None],
    *,
    include_staff: bool = False,
    threshold: float = 0.1,
) -> list[dict[str, Any]]:
    """The people KPIs of the output windows.

    ``required`` and ``adequacy`` are required_staff and staffing_adequacy per
    (branch, window_start), checked elsewhere against the person-by-person reference.
    """
    windows = sorted(inputs.windows.to_pylist(), key=lambda w: (w["branch_id"], w["seq"]))
    customers = [p for p in people if include_staff or not p.staff]
    with_hours = {b for b, i in intervals if i.kind == "open"}

    def window_of(branch: str, t: dt.datetime) -> dt.datetime | None:
        return next(
            (
                w["window_start"]
                for w in windows
                if w["branch_id"] == branch and w["window_start"] <= t < w["window_end"]
            ),
            None,
        )

    # Parties: (branch, time, entered, size)
    parties: list[tuple[str, dt.datetime, bool, int]] = []
    groups: dict[tuple[str, str], list[Person]] = {}
    for p in customers:
        if p.group is None:
            parties.append((p.branch, p.enter if p.action == "entered" else p.seen, p.action == "entered", 1))
        else:
            groups.setdefault((p.branch, p.group), []).append(p)
    for (branch, _), members in groups.items():
        first = min(m.enter if m.action == "entered" else m.seen for m in members)
        parties.append((branch, first, any(m.action == "entered" for m in members), len(members)))

    def is_open(w: dict[str, Any]) -> bool:
        if w["branch_id"] not in with_hours:
            return True
        return any(
            b == w["branch_id"] and i.kind == "open" and i.start < w["window_end"] and i.end > w["window_start"]
            for b, i in intervals
        )

    # Door flows per window, open or not (the local day counts whole; closed windows read 0).
    flow: dict[tuple[str, dt.datetime], tuple[int, int]] = {}
    for w in windows:
        ins = outs = 0
        for p in customers:
            if p.branch != w["branch_id"] or p.action != "entered":
                continue
            if w["window_start"] <= p.enter < w["window_end"]:
                ins += 1 if p.line_in is None else p.line_in
            if w["window_start"] <= p.exit < w["window_end"]:
                outs += (1 if p.exit_observed else 0) if p.line_out is None else p.line_out
        flow[(w["branch_id"], w["window_start"])] = (ins, outs)

    doors: list[Door] = []
    for p in customers:
        if p.action == "entered":
            seen_out = (1 if p.exit_observed else 0) if p.line_out is None else p.line_out
            doors += [
                Door(p.branch, p.enter, 1 if p.line_in is None else p.line_in, 0),
                Door(p.branch, p.exit, 0, seen_out),
            ]
    in_window = reference_reconciled(doors, windows, intervals)
    capacity = {b.branch_id: b.capacity for b in branches}
    # The day's raw door counts straight from the events' local dates, not from the windows:
    # they must not depend on the window size (nor on the opening hours).
    zone = {b.branch_id: b.tzinfo for b in branches}
    day_doors: dict[tuple[str, dt.date], tuple[int, int]] = {}
    for d in doors:
        key = (d.branch, d.at.astimezone(zone[d.branch]).date())
        ins, outs = day_doors.get(key, (0, 0))
        day_doors[key] = (ins + d.ins, outs + d.outs)

    out: list[dict[str, Any]] = []
    for w in windows:
        if not w["is_output"]:
            continue
        branch, ws, we = w["branch_id"], w["window_start"], w["window_end"]
        length = (we - ws).total_seconds()
        observed = (
            sum(
                _overlap(p.enter, p.exit, ws, we)
                for p in people
                if p.branch == branch and p.staff and p.action == "entered" and p.exit > p.enter
            )
            / length
        )
        mine = [x for x in parties if x[0] == branch and window_of(branch, x[1]) == ws]
        units = sum(1 for x in mine if x[2])
        size = sum(x[3] for x in mine if x[2])
        day = [v for v in windows if v["branch_id"] == branch and v["slot_date"] == w["slot_date"]]
        day_flows = [flow[(branch, v["window_start"])] for v in day]
        imbalance = sum(i - o for i, o in day_flows)
        traffic = sum(i + o for i, o in day_flows)
        day_in, day_out = day_doors.get((branch, w["slot_date"]), (0, 0))
        assert (imbalance, traffic) == (day_in - day_out, day_in + day_out), "a door event outside the day's windows"
        upto = [flow[(branch, v["window_start"])] for v in day if v["seq"] <= w["seq"]]
        if not is_open(w) or traffic == 0:
            level = 0.0
        else:
            level = max(0.0, sum(i - o for i, o in upto) - imbalance * sum(i + o for i, o in upto) / traffic)
        need = required[(branch, ws)]
        rec_peak, rec_avg = in_window[(branch, ws)]
        congestion = _div(rec_peak, capacity[branch])
        staffing = adequacy[(branch, ws)]
        out.append(
            {
                "branch_id": branch,
                "window_start": ws,
                "observed_staff": observed,
                "observed_staffing_adequacy": _div(observed, need),
                "buying_units": units,
                "mean_group_size": _div(size, units) if units else None,
                "group_conversion": _div(units, len(mine)),
                "reconciled_occupancy": level,
                "occupancy_imbalance": imbalance,
                # exact: 57 of 100 ins is not over 0.57 (which 0.57 * 100 = 56.99999999999999 would say)
                "data_quality": "imbalanced" if abs(imbalance) > Fraction(str(threshold)) * day_in else "ok",
                "reconciled_peak_occupancy": rec_peak,
                "reconciled_avg_occupancy": rec_avg,
                "congestion_level": congestion,
                "utilization_ratio": _div(rec_avg, capacity[branch]),
                "bottleneck_score": None
                if congestion is None or staffing is None
                else congestion * max(0.0, 1.0 - staffing),
            }
        )
    return out


def close_enough(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)
