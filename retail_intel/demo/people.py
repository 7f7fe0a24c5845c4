"""Staff, groups and door misses in the synthetic movements, so KPIs, report and API have them to show.

* **Staff**: on each open day the first ``min_staff`` visitors of the day's
  block become clerks who are in view from shortly after opening to shortly
  before closing (``is_staff``, reason "in view N min", the presence rule).
* **Groups**: about one arrival in seven joins the party of the one before
  it (same enter time, a ``group_id`` named after the party's first member),
  so parties of two and three are common and larger ones rare. The caller
  moves a member's whole stay to the party's arrival, keeping its dwell.
* **Door misses**: each visitor's exit goes unseen (``exit_observed`` false)
  with a small daily probability, and on about one day in twelve with a much
  larger one, so those days exceed the default imbalance threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

JOIN_PREVIOUS = 0.15
MISSED_EXIT = 0.02
BAD_DAY_SHARE = 0.08
BAD_DAY_MISSED_EXIT = 0.3
_US = 1_000_000

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Staffing:
    is_staff: BoolArray
    enter_s: npt.NDArray[np.float64]
    exit_s: npt.NDArray[np.float64]


def place_staff(
    rng: np.random.Generator,
    day: IntArray,
    index_in_day: IntArray,
    entered: BoolArray,
    n_entered: IntArray,
    min_staff: int,
    open_s: npt.NDArray[np.float64],
    close_s: npt.NDArray[np.float64],
    enter_s: npt.NDArray[np.float64],
    exit_s: npt.NDArray[np.float64],
) -> Staffing:
    """Turn the first ``min_staff`` visitors of each day into clerks present most of the opening span."""
    staff = entered & (index_in_day < np.minimum(min_staff, n_entered[day]))
    span = close_s[day] - open_s[day]
    arrive = open_s[day] + rng.uniform(0.0, 0.05, len(day)) * span
    leave = close_s[day] - rng.uniform(0.0, 0.05, len(day)) * span
    return Staffing(staff, np.where(staff, arrive, enter_s), np.where(staff, leave, exit_s))


def form_groups(rng: np.random.Generator, day: IntArray, is_staff: BoolArray) -> IntArray:
    """Per row (sorted by day and enter time), the row index of its party's first member; -1 when alone."""
    n = len(day)
    join = rng.random(n) < JOIN_PREVIOUS
    join[0:1] = False
    join[1:] &= (day[1:] == day[:-1]) & ~is_staff[1:] & ~is_staff[:-1]
    join &= ~is_staff
    starts = np.flatnonzero(~join)
    leader = starts[np.searchsorted(starts, np.arange(n), side="right") - 1]
    size = np.bincount(leader, minlength=n)
    result: IntArray = np.where(size[leader] > 1, leader, -1).astype(np.int64)
    return result


def missed_exits(rng: np.random.Generator, day: IntArray, entered: BoolArray, n_days: int) -> BoolArray:
    """exit_observed per row: false for visitors whose exit the door camera missed."""
    bad = rng.random(n_days) < BAD_DAY_SHARE
    chance = np.where(bad, BAD_DAY_MISSED_EXIT, MISSED_EXIT)[day]
    observed: BoolArray = ~(entered & (rng.random(len(day)) < chance))
    return observed


def staff_reasons(is_staff: BoolArray, minutes: IntArray) -> pa.Array:
    """The presence rule's reason for staff rows ("in view 540 min"), null for everybody else."""
    reasons = np.full(len(is_staff), None, dtype=object)
    where = np.flatnonzero(is_staff)
    reasons[where] = [f"in view {m} min" for m in minutes[where].tolist()]
    return pa.array(reasons, pa.string())
