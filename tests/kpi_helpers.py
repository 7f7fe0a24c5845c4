"""Builders for KPI tests and a brute-force reference implementation of every KPI.

The reference works on plain Python lists, one window at a time, straight
from the definitions in docs/kpis.md (occupancy by counting who is inside
at each candidate instant, averages from per-person overlaps), so it shares
no code with either engine beyond the window table it is given.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from retail_intel.kpis.inputs import BranchInfo, Interval, KpiInputs
from retail_intel.kpis.schema import COMPARED_COLUMNS

UTC = dt.UTC
_TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Move:
    branch: str
    action: str  # entered | passed
    enter: dt.datetime
    exit: dt.datetime
    first_seen: dt.datetime | None = None

    @property
    def seen(self) -> dt.datetime:
        return self.first_seen if self.first_seen is not None else self.enter


def entered(branch: str, enter: dt.datetime, exit_: dt.datetime) -> Move:
    return Move(branch, "entered", enter, exit_)


def passed(branch: str, seen: dt.datetime) -> Move:
    return Move(branch, "passed", seen, seen + dt.timedelta(seconds=3), seen)


def movements_table(moves: Iterable[Move]) -> pa.Table:
    rows = list(moves)
    return pa.table(
        {
            "branch_id": pa.array([m.branch for m in rows], pa.string()),
            "action_type": pa.array([m.action for m in rows], pa.string()),
            "enter_time": pa.array([m.enter for m in rows], _TS),
            "exit_time": pa.array([m.exit for m in rows], _TS),
            "dwell_seconds": pa.array([(m.exit - m.enter).total_seconds() for m in rows], pa.float64()),
            "first_seen": pa.array([m.seen for m in rows], _TS),
        }
    )


def interval_source(intervals: Sequence[tuple[str, Interval]]) -> Any:
    """An IntervalSource over fixed (branch_id, Interval) pairs."""

    def source(branch_id: str, start: dt.datetime, end: dt.datetime) -> list[Interval]:
        return [i for b, i in intervals if b == branch_id and i.start < end and i.end > start]

    return source


def close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def assert_tables_match(left: pa.Table, right: pa.Table, columns: Sequence[str] = COMPARED_COLUMNS) -> None:
    """Same rows in the same order; floats equal to 1e-9 (dwell sums depend on summation order)."""
    assert left.num_rows == right.num_rows, (left.num_rows, right.num_rows)
    lrows = left.select(list(columns)).to_pylist()
    rrows = right.select(list(columns)).to_pylist()
    for index, (lrow, rrow) in enumerate(zip(lrows, rrows, strict=True)):
        for name in columns:
            assert close(lrow[name], rrow[name]), (index, name, lrow[name], rrow[name], lrow)


def _overlap(a0: dt.datetime, a1: dt.datetime, b0: dt.datetime, b1: dt.datetime) -> float:
    return max(0.0, (min(a1, b1) - max(a0, b0)).total_seconds())


def _div(a: float, b: float | None) -> float | None:
    return None if b is None or b == 0 else a / b


@dataclass(frozen=True)
class Door:
    """Door counts at one instant: ``ins`` people in, ``outs`` out."""

    branch: str
    at: dt.datetime
    ins: int
    outs: int


def door_of(moves: Iterable[Move]) -> list[Door]:
    """One in at enter_time and one out at exit_time per visitor (no door line, every exit seen)."""
    doors: list[Door] = []
    for m in moves:
        if m.action == "entered":
            doors += [Door(m.branch, m.enter, 1, 0), Door(m.branch, m.exit, 0, 1)]
    return doors


def reference_reconciled(
    doors: Sequence[Door], windows: Sequence[dict[str, Any]], intervals: Sequence[tuple[str, Interval]]
) -> dict[tuple[str, dt.datetime], tuple[float, float]]:
    """(peak, time-weighted mean) of the reconciled occupancy in every window, by brute force.

    Straight from docs/staff-groups.md: the level at instant t of a local day
    is max(0, N(t) - D * V(t) / T), N and V the ins - outs and ins + outs of
    the day (whatever the opening hours) up to and including t, D and T the
    day's totals; 0 in a closed window or a day without door traffic. The level changes
    only at door events, so it is evaluated at the window start and at every
    event inside the window, each value holding until the next instant.
    """
    with_hours = {b for b, i in intervals if i.kind == "open"}

    def is_open(w: dict[str, Any]) -> bool:
        return w["branch_id"] not in with_hours or any(
            b == w["branch_id"] and i.kind == "open" and i.start < w["window_end"] and i.end > w["window_start"]
            for b, i in intervals
        )

    out: dict[tuple[str, dt.datetime], tuple[float, float]] = {}
    for w in windows:
        branch, ws, we = w["branch_id"], w["window_start"], w["window_end"]
        day = [v for v in windows if v["branch_id"] == branch and v["slot_date"] == w["slot_date"]]
        events = [
            d for d in doors if d.branch == branch and any(v["window_start"] <= d.at < v["window_end"] for v in day)
        ]
        imbalance = sum(d.ins - d.outs for d in events)
        traffic = sum(d.ins + d.outs for d in events)
        if not is_open(w) or traffic == 0:
            out[(branch, ws)] = (0.0, 0.0)
            continue

        def level(
            t: dt.datetime, events: list[Door] = events, imbalance: int = imbalance, traffic: int = traffic
        ) -> float:
            upto = [d for d in events if d.at <= t]
            return max(0.0, sum(d.ins - d.outs for d in upto) - imbalance * sum(d.ins + d.outs for d in upto) / traffic)

        instants = sorted({ws} | {d.at for d in events if ws < d.at < we})
        ends = [*instants[1:], we]
        area = sum(level(t) * (end - t).total_seconds() for t, end in zip(instants, ends, strict=True))
        out[(branch, ws)] = (max(level(t) for t in instants), area / (we - ws).total_seconds())
    return out


def reference_kpis(
    moves: Sequence[Move],
    inputs: KpiInputs,
    branches: Sequence[BranchInfo],
    intervals: Sequence[tuple[str, Interval]],
    *,
    baseline_weeks: int,
    momentum_windows: int,
) -> list[dict[str, Any]]:
    """Every KPI of the output windows in ``inputs.windows``, by brute force."""
    info = {b.branch_id: b for b in branches}
    windows = sorted(inputs.windows.to_pylist(), key=lambda w: (w["branch_id"], w["seq"]))
    visitors_of: dict[tuple[str, int], int] = {}
    for w in windows:
        visitors_of[(w["branch_id"], w["seq"])] = sum(
            1
            for m in moves
            if m.branch == w["branch_id"] and m.action == "entered" and w["window_start"] <= m.enter < w["window_end"]
        )
    by_slot = {
        (w["branch_id"], w["slot_date"], w["slot_minute"], w["slot_fold"]): visitors_of[(w["branch_id"], w["seq"])]
        for w in windows
    }
    reconciled = reference_reconciled(door_of(moves), windows, intervals)
    out: list[dict[str, Any]] = []
    for w in windows:
        if not w["is_output"]:
            continue
        branch, ws, we = w["branch_id"], w["window_start"], w["window_end"]
        b = info[branch]
        rec_peak, rec_avg = reconciled[(branch, ws)]
        length = (we - ws).total_seconds()
        inside = [m for m in moves if m.branch == branch and m.action == "entered" and m.exit > m.enter]
        visitors = [m for m in moves if m.branch == branch and m.action == "entered" and ws <= m.enter < we]
        n_passed = sum(1 for m in moves if m.branch == branch and m.action == "passed" and ws <= m.seen < we)

        def occupancy(t: dt.datetime, people: list[Move] = inside) -> int:
            return sum(1 for m in people if m.enter <= t < m.exit)

        candidates = [ws] + [m.enter for m in inside if ws < m.enter < we]
        peak = max(occupancy(t) for t in candidates)
        avg = sum(_overlap(m.enter, m.exit, ws, we) for m in inside) / length
        earlier = [
            by_slot[key]
            for j in range(1, baseline_weeks + 1)
            if (key := (branch, w["slot_date"] - dt.timedelta(days=7 * j), w["slot_minute"], w["slot_fold"])) in by_slot
        ]
        baseline = statistics.fmean(earlier) if earlier else None
        recent = [
            ww for ww in windows if ww["branch_id"] == branch and w["seq"] - momentum_windows < ww["seq"] <= w["seq"]
        ]
        momentum = (
            statistics.linear_regression(
                [float(ww["seq"]) for ww in recent], [float(visitors_of[(branch, ww["seq"])]) for ww in recent]
            ).slope
            if len(recent) >= 2
            else None
        )
        staff = (
            sum(_overlap(i.start, i.end, ws, we) for br, i in intervals if br == branch and i.kind == "staff") / length
        )
        required = max(b.min_staff, math.ceil(round(peak / b.customers_per_staff, 9)))
        adequacy = _div(staff, required)
        congestion = _div(rec_peak, b.capacity)
        dwell = [(m.exit - m.enter).total_seconds() for m in visitors]
        out.append(
            {
                "branch_id": branch,
                "window_start": ws,
                "window_end": we,
                "visitors": len(visitors),
                "passed": n_passed,
                "conversion_proxy": _div(len(visitors), len(visitors) + n_passed),
                "baseline": baseline,
                "traffic_index": _div(len(visitors), baseline),
                "peak_occupancy": peak,
                "avg_occupancy": avg,
                "congestion_level": congestion,
                "growth_momentum": momentum,
                "utilization_ratio": _div(rec_avg, b.capacity),
                "staff_on_duty": staff,
                "required_staff": required,
                "staffing_adequacy": adequacy,
                "bottleneck_score": None
                if congestion is None or adequacy is None
                else congestion * max(0.0, 1.0 - adequacy),
                "mean_dwell_seconds": statistics.fmean(dwell) if dwell else None,
                "median_dwell_seconds": statistics.median(dwell) if dwell else None,
                "promotion_active": any(
                    br == branch and i.kind == "promotion" and i.start < we and i.end > ws for br, i in intervals
                ),
                "event_active": any(
                    br == branch and i.kind == "event" and i.start < we and i.end > ws for br, i in intervals
                ),
                "reconciled_peak_occupancy": rec_peak,
                "reconciled_avg_occupancy": rec_avg,
            }
        )
    return out
