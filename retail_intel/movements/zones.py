"""Judging each person's foot-point path against a camera's named zones (pure numpy).

Rules (documented in docs/zones.md):

* A **visit** is a maximal stay of the foot point inside a zone's polygon;
  steps outside shorter than ``rejoin_s`` (jitter on the edge, a detection
  gap) do not split it. enter_time / exit_time are the first and last
  moments inside, ``exit_observed`` is false when the person's track ended
  inside, and a visit is ``counted`` when it lasted at least the zone's
  ``min_dwell_s``.
* A person's visits to a queue zone at most :data:`QUEUE_GAP_S` apart make
  one **stay** in the queue. A person **queued** when a stay led to the
  queue's service zone (its service visit began at most ``QUEUE_GAP_S``
  after the stay's last moment before it), or when a stay held at least the
  queue's ``min_dwell_s`` of time inside the zone (the visits' dwell added
  up, not first entry to last exit). wait = the stay's first moment to the
  first moment in service (a service visit counts when it lasted the service
  zone's ``min_dwell_s``: a one-frame flick over the till's edge is not
  service); service time = that service visit's dwell; abandoned = seen
  leaving the queue without reaching service (unknowable, so null, when the
  queue has no service zone, the track ended in the queue, or the stay led to
  the service zone only for less than its ``min_dwell_s``).
* **Queue length** per UTC minute: people-seconds spent in the queue zone
  (each visit's dwell, clipped to the minute) and the most people in it at
  one moment, over every visit (counted or not), against the seconds watched
  from the first frame to the last.

The inputs are plain :class:`Track` paths with their customer ids, so zones
can be judged in the same pass as the ROI or again later from stored paths.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from retail_intel.movements.geometry import Polygon
from retail_intel.movements.tracks import Track
from retail_intel.movements.zone_schema import QUEUE_LENGTH_SCHEMA, QUEUE_VISIT_SCHEMA, ZONE_VISIT_SCHEMA

ZONE_KINDS = ("area", "queue", "service", "staff")
US_PER_MINUTE = 60_000_000

# Visits to a queue zone at most this far apart are one stay in the queue, and a stay leads to
# the service visit that begins at most this long after it. It is part of the definition of
# queueing (docs/zones.md), not a value fitted to footage: it covers what happens within one
# queueing episode (stepping aside to let someone by, a box slipping off the zone's edge for a
# few frames, the few steps from the queue's head to the till), and is far shorter than anything
# else a shopper does between walking past the queue and coming back to it (shopping an aisle
# takes minutes), so an earlier walk through the queue zone is not counted as waiting.
QUEUE_GAP_S = 10.0


@dataclass(frozen=True)
class ZoneSpec:
    """A zone as judging needs it (built from the config's Zone by the pipeline)."""

    id: str
    polygon: Polygon
    kind: str = "area"
    min_dwell_s: float = 5.0
    service: str | None = None  # a queue's service zone id


@dataclass(frozen=True)
class PersonPath:
    """A person's path; ``counted`` when they have a movement row (entered or passed).

    Only counted people get visit and queue rows, so every row joins its
    movement on ``customer_id`` (and with it the staff flag the zone KPIs leave
    out): a clerk who never steps into the ROI has no movement to say they are
    staff. Everybody in the queue zone still counts in the queue length.
    """

    customer_id: str
    track: Track
    counted: bool = True


@dataclass(frozen=True)
class ZoneSource:
    """Where the paths came from; ``start_time`` is frame 0, ``covered_s`` the last frame's time.

    ``covered_s`` is the span from the first frame to the last, not to the end
    of the last frame: a visit's people-seconds are its dwell (last moment -
    first), so a person in the queue in every frame fills the span exactly.
    None: the span watched is not known (a live flush holds only the people
    who finished), so no queue-length rows are made.
    """

    branch_id: str
    camera_id: str
    video_fingerprint: str
    start_time: dt.datetime
    covered_s: float | None


@dataclass(frozen=True)
class Visit:
    enter_t: float
    exit_t: float
    exit_observed: bool

    @property
    def dwell(self) -> float:
        """exit - enter as stored: each moment rounded to the microsecond first (see :func:`_at`).

        Sample times are frame / fps, so a stay of 35 frames at 7 fps computes
        as 4.999999999999999 s while dwell_seconds stores 5.0; ``counted`` and
        the queue's and service zone's ``min_dwell`` compare the stored value.
        """
        return (round(self.exit_t * 1e6) - round(self.enter_t * 1e6)) / 1e6


@dataclass(frozen=True)
class ZoneTables:
    visits: pa.Table  # ZONE_VISIT_SCHEMA
    queues: pa.Table  # QUEUE_VISIT_SCHEMA
    queue_lengths: pa.Table  # QUEUE_LENGTH_SCHEMA


def zone_visits(track: Track, polygon: Polygon, rejoin_s: float = 1.0) -> list[Visit]:
    """The visits of one path to one polygon, in time order."""
    inside = polygon.contains(track.x, track.y)
    if not inside.any():
        return []
    edges = np.diff(np.r_[0, inside.astype(np.int8), 0])
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1  # last inside sample of each run
    runs: list[list[int]] = [[int(starts[0]), int(ends[0])]]
    for s, e in zip(starts[1:].tolist(), ends[1:].tolist(), strict=True):
        if track.t[s] - track.t[runs[-1][1]] <= rejoin_s:
            runs[-1][1] = e
        else:
            runs.append([s, e])
    last = len(track) - 1
    return [Visit(float(track.t[s]), float(track.t[e]), e < last) for s, e in runs]


@dataclass(frozen=True)
class QueueOutcome:
    queue_enter: float
    queue_exit: float
    service_enter: float | None
    service_exit: float | None
    wait_s: float | None
    service_s: float | None
    abandoned: bool | None


def is_service(visit: Visit, min_dwell_s: float) -> bool:
    """Whether a visit to a service zone is being served: it lasted the zone's ``min_dwell_s``.

    A box flickering over the till's edge for a frame is not service. A visit
    whose track ended in the zone (``exit_observed`` false) counts however
    short: the person was still at the till when the video lost them.
    """
    return visit.dwell >= min_dwell_s or not visit.exit_observed


def queue_stays(queue: Sequence[Visit], gap_s: float = QUEUE_GAP_S) -> list[list[Visit]]:
    """A person's visits to one queue zone (in time order) joined into stays: gaps up to ``gap_s`` do not split one."""
    stays: list[list[Visit]] = []
    for visit in queue:
        if stays and visit.enter_t - stays[-1][-1].exit_t <= gap_s:
            stays[-1].append(visit)
        else:
            stays.append([visit])
    return stays


def queue_outcome(
    queue: Sequence[Visit],
    service: Sequence[Visit] | None,
    min_dwell_s: float,
    service_min_dwell_s: float = 0.0,
    *,
    gap_s: float = QUEUE_GAP_S,
) -> QueueOutcome | None:
    """What one person did in a queue (and its service zone); None when they did not queue.

    ``min_dwell_s`` is the queue's, ``service_min_dwell_s`` the service zone's
    (:func:`is_service`). The first service visit that a stay in the queue
    leads to makes the person served; otherwise the first stay with
    ``min_dwell_s`` inside the zone makes them queued.
    """
    stays = queue_stays(queue, gap_s)
    for served in (v for v in service or () if is_service(v, service_min_dwell_s)):
        begun = [stay for stay in stays if stay[0].enter_t <= served.enter_t]
        if not begun:
            continue
        stay = begun[-1]  # an earlier stay ended more than gap_s before this one began
        left = max(v.exit_t for v in stay if v.enter_t <= served.enter_t)
        if served.enter_t - left > gap_s:
            continue  # walked through the queue zone earlier, then went to the till another way
        first_in = stay[0].enter_t
        return QueueOutcome(
            first_in,
            min(left, served.enter_t),
            served.enter_t,
            served.exit_t,
            served.enter_t - first_in,
            served.dwell,
            False,
        )
    queued = [stay for stay in stays if sum(v.dwell for v in stay) >= min_dwell_s]
    if not queued:
        return None  # walked through the queue zone
    stay = queued[0]
    first_in, queue_exit = stay[0].enter_t, stay[-1].exit_t
    if service is None:
        return QueueOutcome(first_in, queue_exit, None, None, queue_exit - first_in, None, None)
    # A stay that led to the till for less than its min_dwell (a card tap, or a flick seen from the
    # queue's head) is not service, but it is not seen giving up either: nobody can tell.
    reached = any(first_in <= v.enter_t <= queue_exit + gap_s for v in service)
    abandoned = True if stay[-1].exit_observed and not reached else None
    return QueueOutcome(first_in, queue_exit, None, None, None, None, abandoned)


def _at(start: dt.datetime, seconds: float) -> dt.datetime:
    # microsecond resolution, as stored; the same rounding as the movement table
    return start + dt.timedelta(microseconds=round(seconds * 1e6))


def _to_us(moment: dt.datetime) -> int:
    delta = moment.astimezone(dt.UTC) - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def queue_lengths(
    intervals: Sequence[tuple[float, float]], start_us: int, covered_s: float
) -> list[tuple[int, float, float, int]]:
    """(minute start µs, observed s, people-seconds, peak people) per UTC minute the video covers.

    ``intervals`` are [enter, exit] seconds since ``start_us`` (both ends
    inside: a person leaving as another arrives counts as two at that moment);
    ``covered_s`` runs to the last frame (:class:`ZoneSource`).
    """
    end_us = start_us + round(covered_s * 1e6)
    a = np.array([start_us + round(x * 1e6) for x, _ in intervals], dtype=np.int64)
    b = np.array([start_us + round(y * 1e6) for _, y in intervals], dtype=np.int64)
    rows: list[tuple[int, float, float, int]] = []
    minute = start_us - start_us % US_PER_MINUTE
    while minute < max(end_us, start_us + 1):
        lo, hi = max(minute, start_us), min(minute + US_PER_MINUTE, end_us)
        overlap = np.clip(np.minimum(b, hi) - np.maximum(a, lo), 0, None)
        # the level is highest at an arrival or at the minute's start
        moments = np.r_[lo, a[(a >= lo) & (a < hi)]]
        levels = ((a[None, :] <= moments[:, None]) & (b[None, :] >= moments[:, None])).sum(axis=1) if len(a) else [0]
        rows.append((minute, max(hi - lo, 0) / 1e6, float(overlap.sum()) / 1e6, int(np.max(levels))))
        minute += US_PER_MINUTE
    return rows


def judge_zones(
    paths: Sequence[PersonPath], zones: Sequence[ZoneSpec], source: ZoneSource, *, rejoin_s: float = 1.0
) -> ZoneTables:
    """Every path against every zone: visit rows, queue rows and queue length per minute."""
    by_id = {zone.id: zone for zone in zones}
    visits: dict[str, list[object]] = {name: [] for name in ZONE_VISIT_SCHEMA.names}
    queues: dict[str, list[object]] = {name: [] for name in QUEUE_VISIT_SCHEMA.names}
    in_queue: dict[str, list[tuple[float, float]]] = {z.id: [] for z in zones if z.kind == "queue"}
    start = source.start_time
    for path in paths:
        found = {zone.id: zone_visits(path.track, zone.polygon, rejoin_s) for zone in zones}
        if not path.counted:
            for zone_id, intervals in in_queue.items():
                intervals.extend((v.enter_t, v.exit_t) for v in found[zone_id])
            continue
        for zone in zones:
            for visit in found[zone.id]:
                enter, exit_ = _at(start, visit.enter_t), _at(start, visit.exit_t)
                row: dict[str, object] = {
                    "customer_id": path.customer_id,
                    "branch_id": source.branch_id,
                    "camera_id": source.camera_id,
                    "zone_id": zone.id,
                    "zone_kind": zone.kind,
                    "enter_time": enter,
                    "exit_time": exit_,
                    "dwell_seconds": visit.dwell,  # == (exit_ - enter).total_seconds()
                    "exit_observed": visit.exit_observed,
                    "counted": visit.dwell >= zone.min_dwell_s,
                    "video_fingerprint": source.video_fingerprint,
                }
                for name, value in row.items():
                    visits[name].append(value)
            if zone.kind != "queue":
                continue
            in_queue[zone.id].extend((v.enter_t, v.exit_t) for v in found[zone.id])
            service = by_id.get(zone.service) if zone.service else None
            outcome = queue_outcome(
                found[zone.id],
                found.get(service.id) if service else None,
                zone.min_dwell_s,
                service.min_dwell_s if service else 0.0,
            )
            if outcome is None:
                continue
            q_enter, q_exit = _at(start, outcome.queue_enter), _at(start, outcome.queue_exit)
            s_enter = None if outcome.service_enter is None else _at(start, outcome.service_enter)
            s_exit = None if outcome.service_exit is None else _at(start, outcome.service_exit)
            qrow: dict[str, object] = {
                "customer_id": path.customer_id,
                "branch_id": source.branch_id,
                "camera_id": source.camera_id,
                "zone_id": zone.id,
                "service_zone_id": service.id if service else None,
                "queue_enter": q_enter,
                "queue_exit": q_exit,
                "service_enter": s_enter,
                "service_exit": s_exit,
                # from the stored (rounded) timestamps, so wait == service_enter - queue_enter exactly
                "wait_seconds": (
                    (s_enter - q_enter).total_seconds()
                    if s_enter is not None
                    else (q_exit - q_enter).total_seconds()
                    if service is None
                    else None
                ),
                "service_seconds": None if s_enter is None or s_exit is None else (s_exit - s_enter).total_seconds(),
                "abandoned": outcome.abandoned,
                "video_fingerprint": source.video_fingerprint,
            }
            for name, value in qrow.items():
                queues[name].append(value)
    lengths: dict[str, list[object]] = {name: [] for name in QUEUE_LENGTH_SCHEMA.names}
    start_us = _to_us(start)
    covered = source.covered_s
    for zone_id, intervals in in_queue.items() if covered is not None else ():
        assert covered is not None
        for minute, observed, people_s, peak in queue_lengths(intervals, start_us, covered):
            values: dict[str, object] = {
                "branch_id": source.branch_id,
                "camera_id": source.camera_id,
                "zone_id": zone_id,
                "minute": pa.scalar(minute, pa.timestamp("us", tz="UTC")),
                "observed_seconds": observed,
                "people_seconds": people_s,
                "peak_people": peak,
                "video_fingerprint": source.video_fingerprint,
            }
            for name, value in values.items():
                lengths[name].append(value)
    return ZoneTables(
        visits=pa.Table.from_pydict(visits, schema=ZONE_VISIT_SCHEMA),
        queues=pa.Table.from_pydict(queues, schema=QUEUE_VISIT_SCHEMA),
        queue_lengths=pa.Table.from_pydict(lengths, schema=QUEUE_LENGTH_SCHEMA),
    )


def paths_from_trajectories(table: pa.Table, origin: dt.datetime | None = None) -> list[PersonPath]:
    """Per-person paths back from stored :data:`TRAJECTORY_SCHEMA` rows (to re-judge zones later).

    Times become seconds since ``origin`` (default: the table's earliest
    sample); callers pass the same moment as ``ZoneSource.start_time``.
    """
    if table.num_rows == 0:
        return []
    ids = table.column("customer_id").to_pylist()
    times = table.column("time").cast(pa.int64()).to_numpy()
    xs = table.column("x").to_numpy().astype(np.float64)
    ys = table.column("y").to_numpy().astype(np.float64)
    frames = table.column("frame").to_numpy()
    # action_type is null for a person who was not counted (no movement row); absent: all counted
    actions = table.column("action_type").to_pylist() if "action_type" in table.column_names else None
    t0 = int(times.min()) if origin is None else _to_us(origin)
    order = np.lexsort((times, np.array(ids, dtype=object)))
    paths: list[PersonPath] = []
    sorted_ids = [ids[i] for i in order]
    bounds = [0] + [i for i in range(1, len(order)) if sorted_ids[i] != sorted_ids[i - 1]] + [len(order)]
    for number, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        pick = order[lo:hi]
        n = len(pick)
        track = Track(
            track_id=number,
            frames=frames[pick].astype(np.int64),
            t=(times[pick] - t0) / 1e6,
            x=xs[pick],
            y=ys[pick],
            height=np.full(n, 100.0),
            confidence=np.ones(n),
        )
        counted = actions is None or actions[int(pick[0])] is not None
        paths.append(PersonPath(sorted_ids[lo], track, counted))
    return paths
