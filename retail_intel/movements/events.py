"""Turning judged people into rows of :data:`MOVEMENT_SCHEMA`."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from retail_intel.movements.classify import CountingRules, Verdict, classify
from retail_intel.movements.flags import flag_people
from retail_intel.movements.groups import GroupRules
from retail_intel.movements.hidden_feet import place_hidden_feet
from retail_intel.movements.schema import MOVEMENT_SCHEMA, TRAJECTORY_SCHEMA
from retail_intel.movements.staff import StaffRules
from retail_intel.movements.stitch import StitchSettings, stitch
from retail_intel.movements.tracks import Track

# Fixed namespace: customer ids are uuid5(namespace, fingerprint/camera/person)
# so the same footage always yields the same ids.
CUSTOMER_NAMESPACE = uuid.UUID("6f1c2d0e-8b7a-5c3e-9a41-2f6d8e0b7c15")


def customer_id(video_fingerprint: str, camera_id: str, person_key: int) -> str:
    return str(uuid.uuid5(CUSTOMER_NAMESPACE, f"{video_fingerprint}/{camera_id}/{person_key}"))


@dataclass(frozen=True)
class Judgement:
    """Everybody in one video, judged: the people kept and what each did."""

    people: list[Track]
    verdicts: list[Verdict]
    fragments: int
    dropped_tracks: int  # shorter than min_track after stitching
    counts: dict[str, int] = field(default_factory=dict)


def _seen_for(person: Track, interval_s: float, stride: int | None) -> float:
    if stride is None:
        return person.detected_time(interval_s)
    return person.detected_time_by_frames(stride, interval_s)


def judge(
    fragments: list[Track],
    rules: CountingRules,
    *,
    min_track_s: float = 1.0,
    stitch_settings: StitchSettings | None = None,
    detect_interval_s: float | None = None,
    others: Sequence[Track] = (),
    detect_stride: int | None = None,
) -> Judgement:
    """Stitch fragments into people, drop noise, and judge each person once.

    Noise is a person tracked for less than ``min_track_s``; with ``detect_interval_s`` (the run's
    step between detector calls) also one *seen* for less, i.e. a few stray detections
    the tracker chained over a longer span (:meth:`Track.detected_time`; with ``detect_stride``, the
    frames between detector calls of a video whose frames are unevenly spaced, each detection counts
    that many of its own frames' time: :meth:`Track.detected_time_by_frames`). A live stream, whose
    consumer may drop frames, judges by the tracked time alone. The people kept are judged on
    their feet as :func:`~retail_intel.movements.hidden_feet.place_hidden_feet` places them (unless
    ``stitch_settings.hidden_feet`` is off); only people kept can hide others, and ``others``: people
    not judged here who were in view too (a live stream's people judged earlier or still tracked).
    """
    settings = stitch_settings or StitchSettings()
    people = stitch(fragments, settings)
    kept = [
        p
        for p in people
        if p.duration >= min_track_s
        and (detect_interval_s is None or _seen_for(p, detect_interval_s, detect_stride) >= min_track_s)
    ]
    if settings.hidden_feet:
        # among the people kept: a noise track standing "in front" of someone hides nothing
        kept = place_hidden_feet(kept, others)
    verdicts = [classify(p, rules) for p in kept]
    counts = {
        "people": len(kept),
        "entered": sum(v.action == "entered" for v in verdicts),
        "passed": sum(v.action == "passed" for v in verdicts),
        "not_counted": sum(v.action is None for v in verdicts),
        "line_in": sum(v.line_in for v in verdicts),
        "line_out": sum(v.line_out for v in verdicts),
    }
    return Judgement(kept, verdicts, len(fragments), len(people) - len(kept), counts)


def _mean_detected_confidence(confidence: np.ndarray) -> float:
    detected = confidence[confidence > 0]
    return float(detected.mean()) if len(detected) else 0.0


@dataclass(frozen=True)
class SourceInfo:
    """Where a batch of movements came from; ``start_time`` is when frame 0 was recorded (UTC)."""

    branch_id: str
    camera_id: str
    source_video: str
    video_fingerprint: str
    model: str | None
    start_time: dt.datetime
    processed_at: dt.datetime


def group_id(video_fingerprint: str, camera_id: str, person_key: int) -> str:
    """A group is named after its lowest member, like a customer id but in its own name space."""
    return str(uuid.uuid5(CUSTOMER_NAMESPACE, f"{video_fingerprint}/{camera_id}/group/{person_key}"))


def movements_table(
    judgement: Judgement,
    source: SourceInfo,
    *,
    rules: CountingRules | None = None,
    staff_rules: StaffRules | None = None,
    group_rules: GroupRules | None = None,
) -> pa.Table:
    """One row per counted person, in :data:`MOVEMENT_SCHEMA`.

    ``rules`` tells whether the camera has a door line (its crossings are
    stored; without one, or without ``rules``, ``line_in``/``line_out`` are
    null); staff flags and groups follow ``staff_rules``/``group_rules``
    (defaults when None; docs/staff-groups.md).
    """
    rows: dict[str, list[object]] = {name: [] for name in MOVEMENT_SCHEMA.names}
    flags = flag_people(judgement.people, judgement.verdicts, staff_rules=staff_rules, group_rules=group_rules)
    has_line = rules is not None and rules.line is not None

    def at(seconds: float) -> dt.datetime:
        # microsecond resolution, as stored; rounding keeps dwell == exit - enter exactly
        return source.start_time + dt.timedelta(microseconds=round(seconds * 1e6))

    for person, verdict, flag in zip(judgement.people, judgement.verdicts, flags, strict=True):
        if verdict.action is None or verdict.enter_t is None or verdict.exit_t is None:
            continue
        enter, exit_ = at(verdict.enter_t), at(verdict.exit_t)
        values: dict[str, object] = {
            "customer_id": customer_id(source.video_fingerprint, source.camera_id, person.track_id),
            "branch_id": source.branch_id,
            "camera_id": source.camera_id,
            "action_type": verdict.action,
            "enter_time": enter,
            "exit_time": exit_,
            "exit_observed": verdict.exit_observed,
            "dwell_seconds": (exit_ - enter).total_seconds(),
            "first_seen": at(person.start),
            "last_seen": at(person.end),
            "track_id": person.track_id,
            # samples with confidence 0 are gap-filled, not detections
            "n_frames": int(np.count_nonzero(person.confidence > 0)),
            "mean_confidence": _mean_detected_confidence(person.confidence),
            "source_video": source.source_video,
            "video_fingerprint": source.video_fingerprint,
            "model": source.model,
            "processed_at": source.processed_at,
            "is_staff": flag.is_staff,
            "staff_reason": flag.staff_reason,
            "group_id": None
            if flag.group_of is None
            else group_id(source.video_fingerprint, source.camera_id, judgement.people[flag.group_of].track_id),
            "line_in": verdict.line_in if has_line else None,
            "line_out": verdict.line_out if has_line else None,
        }
        for name, value in values.items():
            rows[name].append(value)
    return pa.Table.from_pydict(rows, schema=MOVEMENT_SCHEMA)


def trajectories_table(
    judgement: Judgement, rules: CountingRules, source: SourceInfo, *, every_s: float = 0.5
) -> pa.Table:
    """Everybody's foot-point path, one sample per ``every_s`` seconds, in :data:`TRAJECTORY_SCHEMA`."""
    columns: dict[str, list[object]] = {name: [] for name in TRAJECTORY_SCHEMA.names}
    for person, verdict in zip(judgement.people, judgement.verdicts, strict=True):
        # first sample of each every_s bucket, plus the very last one
        bucket = np.floor((person.t - person.start) / every_s)
        keep = np.flatnonzero(np.r_[True, np.diff(bucket) > 0])
        if keep[-1] != len(person) - 1:
            keep = np.r_[keep, len(person) - 1]
        xs, ys = person.x[keep], person.y[keep]
        inside = rules.roi.contains(xs, ys)
        cid = customer_id(source.video_fingerprint, source.camera_id, person.track_id)
        n = len(keep)
        columns["customer_id"].extend([cid] * n)
        columns["branch_id"].extend([source.branch_id] * n)
        columns["camera_id"].extend([source.camera_id] * n)
        columns["action_type"].extend([verdict.action] * n)
        columns["time"].extend(source.start_time + dt.timedelta(microseconds=round(t * 1e6)) for t in person.t[keep])
        columns["frame"].extend(person.frames[keep].tolist())
        columns["x"].extend(xs.tolist())
        columns["y"].extend(ys.tolist())
        columns["inside_roi"].extend(inside.tolist())
        columns["video_fingerprint"].extend([source.video_fingerprint] * n)
    return pa.Table.from_pydict(columns, schema=TRAJECTORY_SCHEMA)
