"""Joining people across the cut between consecutive recordings of one camera.

Recorders split a camera's day into segments (files of 15 or 60 minutes). A
shopper standing in the shop when one file ends and the next begins would be
counted once per file. The batch therefore processes a camera's segments in
time order and hands the people still in view at the end of segment N (the
*open* people) to segment N+1, shifted to N+1's time base. There they are
stitched with N+1's own track fragments exactly like a person lost behind a
pillar for a moment.

Who writes a person who spans the cut:

* segment N writes everybody it saw, as if it were alone;
* when N+1 joins a carried person with one of its own fragments, N+1 writes
  that person (the whole trajectory, keeping the customer id N gave them) and
  reports the id as *claimed*; the batch then removes it from N's files;
* carried people whom N+1 does not join stay in N's files, untouched.

So every person is written exactly once, in the file of the last segment they
were seen in, and a segment without a successor reads exactly as a single
``retail-intel process`` run of it would.

Pure: tracks in, tracks and tables out; nothing here decodes video.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pyarrow as pa

from retail_intel.movements.classify import CountingRules
from retail_intel.movements.events import Judgement, customer_id, judge
from retail_intel.movements.stitch import StitchSettings, stitch
from retail_intel.movements.tracks import Track


def stitch_horizon(settings: StitchSettings) -> float:
    """The longest gap the stitcher bridges: anybody seen this close to the end of a
    segment may still be joined with somebody at the start of the next."""
    return max(settings.max_gap_s, settings.still_gap_s)


# Judging people that are already stitched must not stitch them again.
_NO_STITCH = StitchSettings(max_gap_s=0.0, still_gap_s=0.0, max_overlap_s=0.0)


@dataclass(frozen=True)
class CarriedPerson:
    """A person open at the end of the previous segment.

    ``track`` is in the receiving video's time base (so its times are
    negative) and has a negative ``track_id``, which cannot clash with the
    tracker's own (positive) ids; ``customer_id`` is the id the previous
    segment gave the person, which they keep.
    """

    customer_id: str
    track: Track


@dataclass(frozen=True)
class Continuity:
    """What :func:`~retail_intel.pipeline.run.process_video` needs to work across a cut."""

    carry_in: tuple[CarriedPerson, ...] = ()
    # people last seen this close to the end are handed on; None: the stitcher's horizon
    hold_s: float | None = None


@dataclass(frozen=True)
class Handover:
    """What a segment passes on: its open people (own time base) and the carried ids it claimed."""

    open_people: tuple[CarriedPerson, ...] = ()
    claimed: tuple[str, ...] = ()


@dataclass(frozen=True)
class CutJudgement:
    judgement: Judgement
    open_tracks: tuple[Track, ...]
    carried_ids: dict[int, str] = field(default_factory=dict)  # negative track id -> customer id
    claimed: tuple[str, ...] = ()


def judge_across_cut(
    fragments: list[Track],
    rules: CountingRules,
    *,
    min_track_s: float,
    continuity: Continuity,
    end_t: float,
    stitch_settings: StitchSettings | None = None,
    detect_interval_s: float | None = None,
    detect_stride: int | None = None,
) -> CutJudgement:
    """Stitch the carried people with this video's fragments, judge, and find who is open at ``end_t``.

    Without carried people this judges exactly like :func:`~retail_intel.movements.events.judge`.
    """
    carried = {p.track.track_id: p.customer_id for p in continuity.carry_in}
    if any(tid >= 0 for tid in carried):
        raise ValueError("carried tracks need negative track ids")
    settings = stitch_settings or StitchSettings()
    people = stitch([p.track for p in continuity.carry_in] + list(fragments), settings)
    mine: list[Track] = []
    claimed: list[str] = []
    for person in people:
        from_before = [carried[i] for i in person.fragment_ids if i in carried]
        if from_before and len(from_before) == len(person.fragment_ids):
            continue  # nobody of this video joined them: they stay with the previous segment
        claimed.extend(from_before)
        mine.append(person)
    judgement = judge(
        mine,
        rules,
        min_track_s=min_track_s,
        stitch_settings=_NO_STITCH,
        detect_interval_s=detect_interval_s,
        detect_stride=detect_stride,
    )
    judgement = replace(judgement, fragments=len(fragments))
    # Short people (dropped as noise here) are handed on too: joined with the
    # next segment they may be long enough to count. The people kept are handed
    # on as judged, their hidden feet placed: whoever hid them may be gone by the
    # next segment, which writes the whole person if it continues them.
    hold_s = stitch_horizon(settings) if continuity.hold_s is None else continuity.hold_s
    judged = {p.track_id: p for p in judgement.people}
    open_tracks = tuple(judged.get(p.track_id, p) for p in mine if p.end >= end_t - hold_s)
    return CutJudgement(judgement, open_tracks, carried, tuple(claimed))


def handover(cut: CutJudgement, video_fingerprint: str, camera_id: str) -> Handover:
    """The open people with the customer ids they are written under."""
    people = tuple(
        CarriedPerson(cut.carried_ids.get(t.track_id) or customer_id(video_fingerprint, camera_id, t.track_id), t)
        for t in cut.open_tracks
    )
    return Handover(people, cut.claimed)


def keep_carried_ids(table: pa.Table, cut: CutJudgement, video_fingerprint: str, camera_id: str) -> pa.Table:
    """Give joined people the customer id they had in the previous segment (``customer_id`` column)."""
    if not cut.carried_ids or table.num_rows == 0:
        return table
    renamed = {customer_id(video_fingerprint, camera_id, tid): cid for tid, cid in cut.carried_ids.items()}
    index = table.schema.get_field_index("customer_id")
    values = [renamed.get(v, v) for v in table.column(index).to_pylist()]
    return table.set_column(index, table.schema.field(index), pa.array(values, table.schema.field(index).type))
