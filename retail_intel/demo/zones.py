"""Synthetic zone visits, queue rows and queue lengths for a demo branch-day.

Derived from the day's movements so every visit belongs to a visitor who was
inside at that time: each entered person visits each area zone with some
probability for a lognormal dwell, and about half of them queue at the till
before leaving (wait longer when many queue at once, a few give up).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from retail_intel.config.models import Branch, Camera, Zone
from retail_intel.movements.zone_schema import QUEUE_LENGTH_SCHEMA, QUEUE_VISIT_SCHEMA, ZONE_VISIT_SCHEMA
from retail_intel.movements.zones import ZoneTables

_US = 1_000_000
_TS = pa.timestamp("us", tz="UTC")

# The demo camera's zones (pixels of its 1280x720 frame, inside its ROI).
DEMO_ZONES = (
    Zone(id="new_arrivals", label="New arrivals", polygon=[(360, 220), (560, 220), (560, 380), (360, 380)]),
    Zone(id="aisle_1", label="Aisle 1", polygon=[(600, 220), (900, 220), (900, 420), (600, 420)]),
    Zone(
        id="till_queue",
        label="Till queue",
        kind="queue",
        service="till",
        min_dwell=3,
        polygon=[(400, 480), (700, 480), (700, 640), (400, 640)],
    ),
    Zone(id="till", label="Till", kind="service", polygon=[(720, 480), (920, 480), (920, 640), (720, 640)]),
)
_VISIT_SHARE = {"new_arrivals": 0.55, "aisle_1": 0.4}
_QUEUE_SHARE = 0.5
_ABANDON_SHARE = 0.06


def _visit_rows(camera: Camera, branch: Branch, movements: pa.Table, rng: np.random.Generator) -> pa.Table:
    ids = movements.column("customer_id").to_numpy(zero_copy_only=False)
    enter = movements.column("enter_time").cast(pa.int64()).to_numpy()
    exit_ = movements.column("exit_time").cast(pa.int64()).to_numpy()
    parts: list[dict[str, Any]] = []
    for zone in camera.zones:
        if zone.kind != "area":
            continue
        pick = np.flatnonzero(rng.random(len(ids)) < _VISIT_SHARE.get(zone.id, 0.3))
        span = exit_[pick] - enter[pick]
        dwell = np.minimum(np.round(rng.lognormal(np.log(12.0), 0.9, len(pick)) * _US).astype(np.int64), span)
        start = enter[pick] + (rng.random(len(pick)) * (span - dwell)).astype(np.int64)
        parts.append(
            {
                "customer_id": ids[pick],
                "zone_id": np.full(len(pick), zone.id, dtype=object),
                "zone_kind": np.full(len(pick), zone.kind, dtype=object),
                "enter_time": start,
                "exit_time": start + dwell,
                "dwell_seconds": dwell / _US,
                "counted": dwell >= zone.min_dwell * _US,
            }
        )
    n = sum(len(p["customer_id"]) for p in parts)

    def cat(name: str) -> npt.NDArray[Any]:
        return np.concatenate([p[name] for p in parts]) if parts else np.empty(0)

    return pa.table(
        {
            "customer_id": pa.array(cat("customer_id"), pa.string()),
            "branch_id": pa.array([branch.id] * n, pa.string()),
            "camera_id": pa.array([camera.id] * n, pa.string()),
            "zone_id": pa.array(cat("zone_id"), pa.string()),
            "zone_kind": pa.array(cat("zone_kind"), pa.string()),
            "enter_time": pa.array(cat("enter_time").astype(np.int64), _TS),
            "exit_time": pa.array(cat("exit_time").astype(np.int64), _TS),
            "dwell_seconds": pa.array(cat("dwell_seconds").astype(np.float64)),
            "exit_observed": pa.array(np.ones(n, bool)),
            "counted": pa.array(cat("counted").astype(bool)),
            "video_fingerprint": pa.array(["demo"] * n, pa.string()),
        },
        schema=ZONE_VISIT_SCHEMA,
    )


def demo_zone_tables(branch: Branch, movements: pa.Table, rng: np.random.Generator) -> ZoneTables:
    """Zone visits, queue rows and per-minute queue length for one branch-day of demo movements."""
    camera = branch.cameras[0]
    entered = movements.filter(pc.equal(movements.column("action_type"), "entered"))
    visits = _visit_rows(camera, branch, entered, rng)
    queue = next((z for z in camera.zones if z.kind == "queue" and z.service), None)
    if queue is None or entered.num_rows == 0:
        return ZoneTables(visits, QUEUE_VISIT_SCHEMA.empty_table(), QUEUE_LENGTH_SCHEMA.empty_table())
    assert queue.service is not None
    ids = entered.column("customer_id").to_numpy(zero_copy_only=False)
    exit_ = entered.column("exit_time").cast(pa.int64()).to_numpy()
    pick = np.flatnonzero(rng.random(len(ids)) < _QUEUE_SHARE)
    n = len(pick)
    service = np.round(rng.uniform(30, 150, n) * _US).astype(np.int64)
    # busier hours wait longer: scale by how many others join within 10 minutes
    leave = exit_[pick]
    crowd = np.searchsorted(np.sort(leave), leave + 600 * _US) - np.searchsorted(np.sort(leave), leave - 600 * _US)
    wait = np.round(rng.exponential(20.0 + 12.0 * crowd) * _US).astype(np.int64)
    # both fit in the visit: queue and till come before the person leaves, after they came in
    enter_ = entered.column("enter_time").cast(pa.int64()).to_numpy()[pick]
    room = np.maximum(leave - 5 * _US - enter_, 0)
    service = np.minimum(service, room // 2)
    wait = np.minimum(wait, room - service)
    abandoned = rng.random(n) < _ABANDON_SHARE
    service_exit = leave - 5 * _US
    service_enter = service_exit - service
    queue_enter = service_enter - wait
    queue_exit = np.where(abandoned, queue_enter + wait // 2, service_enter)
    queues = pa.table(
        {
            "customer_id": pa.array(ids[pick], pa.string()),
            "branch_id": pa.array([branch.id] * n, pa.string()),
            "camera_id": pa.array([camera.id] * n, pa.string()),
            "zone_id": pa.array([queue.id] * n, pa.string()),
            "service_zone_id": pa.array([queue.service] * n, pa.string()),
            "queue_enter": pa.array(queue_enter, _TS),
            "queue_exit": pa.array(queue_exit, _TS),
            "service_enter": pa.array(service_enter, _TS, mask=abandoned),
            "service_exit": pa.array(service_exit, _TS, mask=abandoned),
            "wait_seconds": pa.array(wait / _US, pa.float64(), mask=abandoned),
            "service_seconds": pa.array(service / _US, pa.float64(), mask=abandoned),
            "abandoned": pa.array(abandoned),
            "video_fingerprint": pa.array(["demo"] * n, pa.string()),
        },
        schema=QUEUE_VISIT_SCHEMA,
    )
    served = ~abandoned
    in_queue = _visits_of(branch.id, camera.id, queue, ids[pick], queue_enter, queue_exit)
    at_till = _visits_of(
        branch.id, camera.id, queue.service, ids[pick][served], service_enter[served], service_exit[served]
    )
    visits = pa.concat_tables([visits, in_queue, at_till])
    return ZoneTables(visits, queues, _lengths(branch, camera.id, queue.id, queue_enter, queue_exit, entered))


def _visits_of(
    branch_id: str,
    camera_id: str,
    zone: Zone | str,
    ids: npt.NDArray[Any],
    enter: npt.NDArray[np.int64],
    exit_: npt.NDArray[np.int64],
) -> pa.Table:
    """Visit rows of one queue or service zone (a str names the service zone, min_dwell 5 s)."""
    zone_id, kind, min_dwell = (zone, "service", 5.0) if isinstance(zone, str) else (zone.id, zone.kind, zone.min_dwell)
    n = len(ids)
    dwell = (exit_ - enter) / _US
    return pa.table(
        {
            "customer_id": pa.array(ids, pa.string()),
            "branch_id": pa.array([branch_id] * n, pa.string()),
            "camera_id": pa.array([camera_id] * n, pa.string()),
            "zone_id": pa.array([zone_id] * n, pa.string()),
            "zone_kind": pa.array([kind] * n, pa.string()),
            "enter_time": pa.array(enter, _TS),
            "exit_time": pa.array(exit_, _TS),
            "dwell_seconds": pa.array(dwell),
            "exit_observed": pa.array(np.ones(n, bool)),
            "counted": pa.array(dwell >= min_dwell),
            "video_fingerprint": pa.array(["demo"] * n, pa.string()),
        },
        schema=ZONE_VISIT_SCHEMA,
    )


def _lengths(
    branch: Branch,
    camera_id: str,
    zone_id: str,
    queue_enter: npt.NDArray[np.int64],
    queue_exit: npt.NDArray[np.int64],
    movements: pa.Table,
) -> pa.Table:
    """People in the queue per minute, at one-second resolution, over the minutes with visitors."""
    first = int(movements.column("enter_time").cast(pa.int64()).to_numpy().min()) // (60 * _US) * 60
    last = int(movements.column("exit_time").cast(pa.int64()).to_numpy().max()) // _US + 60
    seconds = last - first
    level = np.zeros(seconds + 1, np.int64)
    np.add.at(level, np.clip(queue_enter // _US - first, 0, seconds), 1)
    np.add.at(level, np.clip(queue_exit // _US - first, 0, seconds), -1)
    per_minute = np.cumsum(level)[: seconds // 60 * 60].reshape(-1, 60)
    minutes = len(per_minute)
    return pa.table(
        {
            "branch_id": pa.array([branch.id] * minutes, pa.string()),
            "camera_id": pa.array([camera_id] * minutes, pa.string()),
            "zone_id": pa.array([zone_id] * minutes, pa.string()),
            "minute": pa.array((first + 60 * np.arange(minutes)) * _US, _TS),
            "observed_seconds": pa.array(np.full(minutes, 60.0)),
            "people_seconds": pa.array(per_minute.sum(axis=1).astype(np.float64)),
            "peak_people": pa.array(per_minute.max(axis=1)),
            "video_fingerprint": pa.array(["demo"] * minutes, pa.string()),
        },
        schema=QUEUE_LENGTH_SCHEMA,
    )
