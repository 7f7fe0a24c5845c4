"""Staff flags and groups for the judged people of one video (the hook between judging and the table).

:func:`flag_people` runs the staff rules (:mod:`retail_intel.movements.staff`)
on everybody kept, then the grouping rule (:mod:`retail_intel.movements.groups`)
on the counted customers: staff are left out of groups, so a clerk helping a
family does not join it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from retail_intel.movements.classify import Verdict
from retail_intel.movements.groups import GroupRules, PersonPath, find_groups
from retail_intel.movements.staff import StaffPath, StaffRules, judge_staff
from retail_intel.movements.tracks import Track


@dataclass(frozen=True)
class PersonFlags:
    is_staff: bool
    staff_reason: str | None
    group_of: int | None  # index (into the people) of the group's lowest member; None: alone


def flag_people(
    people: Sequence[Track],
    verdicts: Sequence[Verdict],
    *,
    staff_rules: StaffRules | None = None,
    group_rules: GroupRules | None = None,
) -> list[PersonFlags]:
    """One :class:`PersonFlags` per person, in the order given.

    The uniform rule reads each person's measured share (:attr:`Track.uniform_share`,
    the mean over the samples of all their fragments); people never measured leave it silent.
    """
    staff_rules = staff_rules or StaffRules()
    staff = [
        judge_staff(
            StaffPath(
                p.t,
                p.x,
                p.y,
                door_crossings=v.line_in + v.line_out,
                uniform_share=p.uniform_share,
            ),
            staff_rules,
        )
        for p, v in zip(people, verdicts, strict=True)
    ]
    # Only counted customers can form buying units.
    candidates = [i for i, v in enumerate(verdicts) if v.action is not None and not staff[i].is_staff]

    def arrival(i: int) -> float:
        # ROI entry for those who entered; first sighting for a passer-by (docs/staff-groups.md),
        # whose moment in the ROI may be a single step in long after they were first seen
        entered_at = verdicts[i].enter_t
        return people[i].start if entered_at is None or verdicts[i].action == "passed" else entered_at

    paths = [
        PersonPath(
            arrival=arrival(i),
            t=people[i].t,
            x=people[i].x,
            y=people[i].y,
            height=people[i].height,
        )
        for i in candidates
    ]
    groups: dict[int, int] = {}
    for index, first in zip(candidates, find_groups(paths, group_rules), strict=True):
        if first is not None:
            groups[index] = candidates[first]
    return [PersonFlags(s.is_staff, s.reason, groups.get(i)) for i, s in enumerate(staff)]
