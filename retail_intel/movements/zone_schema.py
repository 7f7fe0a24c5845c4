"""The Parquet contracts of zone judging: visits, queue outcomes and queue length.

Written per source video beside the movements (:mod:`retail_intel.movements.zone_store`)
and read by the zone KPIs, the SQL views and ``serve``. One schema per table.
"""

from __future__ import annotations

import pyarrow as pa

_TS = pa.timestamp("us", tz="UTC")

# One row per visit of one person to one zone: a maximal stay inside the
# polygon (short steps outside, under ZoneRules.rejoin_s, do not split it).
ZONE_VISIT_SCHEMA = pa.schema(
    [
        pa.field("customer_id", pa.string(), nullable=False),  # as in movements and trajectories
        pa.field("branch_id", pa.string(), nullable=False),
        pa.field("camera_id", pa.string(), nullable=False),
        pa.field("zone_id", pa.string(), nullable=False),
        pa.field("zone_kind", pa.string(), nullable=False),  # area / queue / service / staff
        pa.field("enter_time", _TS, nullable=False),  # first moment inside
        pa.field("exit_time", _TS, nullable=False),  # last moment inside
        pa.field("dwell_seconds", pa.float64(), nullable=False),  # exit_time - enter_time
        pa.field("exit_observed", pa.bool_(), nullable=False),  # false: still inside when the track ended
        pa.field("counted", pa.bool_(), nullable=False),  # dwell_seconds >= the zone's min_dwell
        pa.field("video_fingerprint", pa.string(), nullable=False),
    ]
)

# One row per person who queued in a queue zone.
QUEUE_VISIT_SCHEMA = pa.schema(
    [
        pa.field("customer_id", pa.string(), nullable=False),
        pa.field("branch_id", pa.string(), nullable=False),
        pa.field("camera_id", pa.string(), nullable=False),
        pa.field("zone_id", pa.string(), nullable=False),  # the queue zone
        pa.field("service_zone_id", pa.string()),  # null: the queue has no service zone
        pa.field("queue_enter", _TS, nullable=False),  # first moment in the queue
        pa.field("queue_exit", _TS, nullable=False),  # last moment in the queue before service (or at all)
        pa.field("service_enter", _TS),  # first moment in service after joining the queue; null: never served
        pa.field("service_exit", _TS),
        pa.field("wait_seconds", pa.float64()),  # service_enter - queue_enter; queue time where there is no service
        pa.field("service_seconds", pa.float64()),  # service_exit - service_enter
        pa.field("abandoned", pa.bool_()),  # left without service; null when unknowable (no service zone, track ended)
        pa.field("video_fingerprint", pa.string(), nullable=False),
    ]
)

# Per queue zone and UTC minute the video covers: how long it was watched,
# people-seconds spent in the queue, and the most people in it at once.
QUEUE_LENGTH_SCHEMA = pa.schema(
    [
        pa.field("branch_id", pa.string(), nullable=False),
        pa.field("camera_id", pa.string(), nullable=False),
        pa.field("zone_id", pa.string(), nullable=False),
        pa.field("minute", _TS, nullable=False),  # start of the UTC minute
        pa.field("observed_seconds", pa.float64(), nullable=False),  # part of the minute the video covers
        pa.field("people_seconds", pa.float64(), nullable=False),  # integral of queue length over the minute
        pa.field("peak_people", pa.int64(), nullable=False),  # most people in the queue at one moment
        pa.field("video_fingerprint", pa.string(), nullable=False),
    ]
)
