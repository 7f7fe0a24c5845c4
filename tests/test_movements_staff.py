"""Staff evidence rules and staff/group flags on hand-written people: exact verdicts and reasons."""

from __future__ import annotations

import numpy as np

from retail_intel.movements.classify import Verdict
from retail_intel.movements.flags import flag_people
from retail_intel.movements.geometry import parse_rect
from retail_intel.movements.staff import StaffPath, StaffRules, UniformRule, judge_staff, seconds_inside, uniform_share
from retail_intel.movements.tracks import Track

COUNTER = parse_rect("0,0,100,100")


def still(t0: float, t1: float, x: float, y: float, step: float = 1.0) -> StaffPath:
    t = np.arange(t0, t1 + step / 2, step)
    return StaffPath(t, np.full(len(t), x), np.full(len(t), y))


def test_time_in_a_staff_zone_counts_steps_with_both_ends_inside() -> None:
    t = np.arange(0.0, 11.0)  # 0..10 s
    x = np.array([50.0] * 4 + [500.0] * 3 + [50.0] * 4)  # inside 0-3 and 7-10, out 4-6
    p = StaffPath(t, x, np.full(11, 50.0))
    assert seconds_inside(p, [COUNTER]) == 6.0  # 3 + 3 steps


def test_each_rule_fires_alone_with_its_reason() -> None:
    rules = StaffRules(staff_zones=(COUNTER,), zone_min_s=60.0, min_presence_s=45 * 60, min_door_crossings=4)
    behind_counter = still(0, 90, 50, 50)
    assert judge_staff(behind_counter, rules).reason == "staff zone 90 s"
    customer = still(0, 59, 50, 50)  # 59 s at the counter: paying, not working
    assert not judge_staff(customer, rules).is_staff
    long_stay = still(0, 50 * 60, 500, 500, step=10.0)
    assert judge_staff(long_stay, rules).reason == "in view 50 min"
    assert not judge_staff(still(0, 44 * 60, 500, 500, step=10.0), rules).is_staff
    door = StaffPath(np.array([0.0, 5.0]), np.array([500.0, 500.0]), np.array([500.0, 500.0]), door_crossings=4)
    assert judge_staff(door, rules).reason == "door crossed 4 times"
    door3 = StaffPath(door.t, door.x, door.y, door_crossings=3)
    assert not judge_staff(door3, rules).is_staff


def test_several_rules_are_all_named_and_switched_off_rules_stay_silent() -> None:
    p = StaffPath(np.arange(0.0, 3001.0, 10.0), np.full(301, 50.0), np.full(301, 50.0), door_crossings=6)
    every = StaffRules(staff_zones=(COUNTER,))
    assert judge_staff(p, every).reason == "staff zone 3000 s; in view 50 min; door crossed 6 times"
    none = StaffRules(staff_zones=(COUNTER,), zone_min_s=None, min_presence_s=None, min_door_crossings=None)
    verdict = judge_staff(p, none)
    assert not verdict.is_staff and verdict.reason is None


def test_uniform_share_and_rule() -> None:
    red = UniformRule(low=(170, 100, 50), high=(10, 255, 255), min_share=0.5)  # wraps around hue 0
    crop = np.array([[[175, 200, 200], [5, 150, 100]], [[90, 200, 200], [0, 50, 200]]], dtype=np.uint8)
    # pixel 1 and 2 are red; 3 is cyan; 4 has too little saturation
    assert uniform_share(crop, red) == 0.5
    assert uniform_share(np.zeros((0, 3), np.uint8), red) == 0.0
    rules = StaffRules(min_presence_s=None, min_door_crossings=None, uniform=red)
    base = still(0, 5, 500, 500)
    assert judge_staff(StaffPath(base.t, base.x, base.y, uniform_share=0.5), rules).reason == (
        "uniform colour 50% of upper body"
    )
    assert not judge_staff(StaffPath(base.t, base.x, base.y, uniform_share=0.49), rules).is_staff
    assert not judge_staff(base, rules).is_staff  # not measured: silent


def test_flag_people_keeps_staff_out_of_groups_and_skips_uncounted_people() -> None:
    def walk(track_id: int, y: float) -> Track:
        return Track.from_samples(track_id, [(t / 10, 10.0 * t, y) for t in range(101)])

    people = [walk(1, 200), walk(2, 250), walk(3, 300), walk(4, 230)]
    verdicts = [
        Verdict("entered", 0.0, 10.0),
        Verdict("entered", 0.5, 10.0),
        Verdict("entered", 0.0, 10.0, line_in=2, line_out=2),  # a clerk going in and out
        Verdict(None),  # never in the ROI: not counted, cannot be in a group
    ]
    flags = flag_people(people, verdicts)
    assert [f.is_staff for f in flags] == [False, False, True, False]
    assert flags[2].staff_reason == "door crossed 4 times"
    # 1 and 2 walk 50 px apart (reach 80 px); 3 is beside 2 but is staff; 4 is not counted.
    assert [f.group_of for f in flags] == [0, 0, None, None]


def test_a_passer_by_arrives_when_first_seen_not_when_stepping_into_the_roi() -> None:
    # a parent and child first seen together at 0 s walk side by side for 20 s; the parent enters
    # the ROI at 3 s, the child (passed) steps into it once at 8 s: arrivals 3 and 0 s, 3 s apart
    parent = Track.from_samples(1, [(float(t), 150.0 + 20 * t, 190.0) for t in range(21)])
    child = Track.from_samples(2, [(float(t), 150.0 + 20 * t, 215.0) for t in range(21)])
    flags = flag_people([parent, child], [Verdict("entered", 3.0, 20.0), Verdict("passed", 8.0, 8.0)])
    assert [f.group_of for f in flags] == [0, 0]
    # beside the parent from 13 s, 10 s after the parent's ROI entry: arrivals too far apart for a group
    late = Track.from_samples(3, [(float(t), 150.0 + 20 * t, 215.0) for t in range(13, 34)])
    later = flag_people([parent, late], [Verdict("entered", 3.0, 20.0), Verdict("passed", 14.0, 14.0)])
    assert [f.group_of for f in later] == [None, None]


def test_branch_staff_settings_become_rules_per_camera() -> None:
    import pydantic
    import pytest

    from retail_intel.config.staff import StaffSettings

    settings = StaffSettings.model_validate(
        {
            "min_presence_minutes": 30,
            "door_crossings": None,
            "zones": {"cam1": [[[0, 0], [100, 0], [100, 100]]]},
            "uniform": {"low": [170, 80, 40], "high": [10, 255, 255]},
        }
    )
    rules = settings.rules("cam1")
    assert rules.min_presence_s == 1800.0 and rules.min_door_crossings is None and rules.zone_min_s == 60.0
    assert len(rules.staff_zones) == 1 and rules.uniform is not None and rules.uniform.min_share == 0.35
    assert settings.rules("cam2").staff_zones == ()
    with pytest.raises(pydantic.ValidationError, match="door_crossings"):
        StaffSettings.model_validate({"door_crossings": 1})
    with pytest.raises(pydantic.ValidationError, match=r"H 0-179"):
        StaffSettings.model_validate({"uniform": {"low": [200, 0, 0], "high": [10, 255, 255]}})


def test_movements_table_carries_flags_groups_and_line_counts() -> None:
    import datetime as dt

    from retail_intel.movements.classify import CountingRules
    from retail_intel.movements.events import SourceInfo, judge, movements_table
    from retail_intel.movements.geometry import CountingLine

    def walk(track_id: int, y: float) -> Track:
        return Track.from_samples(track_id, [(t / 10, 10.0 * t, y) for t in range(101)])  # x 0 -> 1000 in 10 s

    line = CountingLine((500.0, 0.0), (500.0, 600.0), "left", 10.0)
    rules = CountingRules(parse_rect("100,100,900,500"), min_dwell_s=2.0, line=line)
    judgement = judge([walk(1, 200), walk(2, 250), walk(3, 450)], rules, min_track_s=1.0)
    source = SourceInfo(
        "b1",
        "cam1",
        "v.mp4",
        "f" * 64,
        None,
        dt.datetime(2026, 2, 8, tzinfo=dt.UTC),
        dt.datetime(2026, 2, 8, tzinfo=dt.UTC),
    )
    rows = movements_table(judgement, source, rules=rules).sort_by("track_id").to_pylist()
    assert [r["is_staff"] for r in rows] == [False, False, False]
    assert rows[0]["group_id"] == rows[1]["group_id"] is not None and rows[2]["group_id"] is None  # 50 px vs 200 px
    assert [r["line_in"] + r["line_out"] for r in rows] == [1, 1, 1]  # each crossed the line once
    without_line = movements_table(judgement, source).to_pylist()
    assert {r["line_in"] for r in without_line} == {None}
