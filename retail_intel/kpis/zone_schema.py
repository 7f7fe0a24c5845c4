"""Arrow schemas of the zone and queue KPIs: the engines' outputs and their prepared inputs.

Both engines (:mod:`retail_intel.kpis.zone_sql`, :mod:`retail_intel.kpis.zone_polars`)
return exactly :data:`ZONE_KPI_SCHEMA` and :data:`QUEUE_KPI_SCHEMA`. Their inputs
carry each row's cell, mapped to its window by a small table built by
:mod:`retail_intel.kpis.zone_inputs` with the same local-midnight windows as
the branch KPIs, so the engines join on an integer and aggregate.
"""

from __future__ import annotations

import pyarrow as pa

_TS = pa.timestamp("us", tz="UTC")

_KEY = [
    pa.field("branch_id", pa.string(), nullable=False),
    pa.field("camera_id", pa.string(), nullable=False),
    pa.field("zone_id", pa.string(), nullable=False),
    pa.field("window_start", _TS, nullable=False),
    pa.field("window_end", _TS, nullable=False),
    pa.field("window_minutes", pa.int32(), nullable=False),
]

# One row per zone and window with at least one visit starting in it.
ZONE_KPI_SCHEMA = pa.schema(
    [
        *_KEY,
        pa.field("zone_kind", pa.string(), nullable=False),
        pa.field("visits", pa.int64(), nullable=False),  # visits whose enter_time is in the window
        pa.field("counted_visits", pa.int64(), nullable=False),  # of those, dwell >= the zone's min_dwell
        pa.field("mean_dwell_seconds", pa.float64()),  # over counted visits
        pa.field("median_dwell_seconds", pa.float64()),  # over counted visits
        pa.field("roi_people", pa.int64(), nullable=False),  # the camera's movements (entered or passed) in the window
        pa.field("attention_rate", pa.float64()),  # counted_visits / roi_people
    ]
)

# One row per queue zone and window with a person queueing or a minute watched.
QUEUE_KPI_SCHEMA = pa.schema(
    [
        *_KEY,
        pa.field("people_queued", pa.int64(), nullable=False),  # queue_enter in the window
        pa.field("people_served", pa.int64(), nullable=False),  # of those, reached the service zone
        pa.field("mean_wait_seconds", pa.float64()),
        pa.field("p90_wait_seconds", pa.float64()),  # linear interpolation between ranks
        pa.field("mean_service_seconds", pa.float64()),
        pa.field("abandonment_rate", pa.float64()),  # abandoned / people whose outcome is known
        pa.field("peak_queue_length", pa.int64()),  # most people in the queue at once
        pa.field("mean_queue_length", pa.float64()),  # people-seconds in the queue / seconds watched
    ]
)

# Engine inputs (prepared by retail_intel.kpis.zone_inputs). Each row carries a ``cell``: its branch
# and the short block of time it falls in (branch code * 2**32 + µs // block). ``CELL_SCHEMA`` maps
# every cell that occurs to its window's id (``wid``) and ``ZONE_WINDOW_SCHEMA`` gives each window's
# branch and bounds [ws, we) in µs. Only windows asked for are there, so an inner join both places
# rows in windows and drops the rest, and millions of rows carry 8 bytes of place, not a branch and
# two times. Ids and kinds are dictionary-encoded: a handful of values over millions of rows, so
# they cost 4 bytes a row. Queue lengths and ROI movements only feed sums, counts and maxima: they
# arrive summed per cell.
_ID = pa.dictionary(pa.int32(), pa.string())
_CELL = pa.field("cell", pa.int64(), nullable=False)
_WID = pa.field("wid", pa.int32(), nullable=False)
CELL_SCHEMA = pa.schema([_CELL, _WID])
ZONE_WINDOW_SCHEMA = pa.schema(
    [
        _WID,
        pa.field("branch_id", pa.string(), nullable=False),
        pa.field("ws", pa.int64(), nullable=False),
        pa.field("we", pa.int64(), nullable=False),
    ]
)
VISIT_INPUT_SCHEMA = pa.schema(  # one row per visit
    [
        _CELL,
        pa.field("camera_id", _ID, nullable=False),
        pa.field("zone_id", _ID, nullable=False),
        pa.field("zone_kind", _ID, nullable=False),
        pa.field("dwell_seconds", pa.float64(), nullable=False),
        pa.field("counted", pa.bool_(), nullable=False),
    ]
)
ROI_INPUT_SCHEMA = pa.schema(  # movements (entered or passed) per camera and cell
    [_CELL, pa.field("camera_id", _ID, nullable=False), pa.field("people", pa.int64(), nullable=False)]
)
QUEUE_INPUT_SCHEMA = pa.schema(  # one row per person queued
    [
        _CELL,
        pa.field("camera_id", _ID, nullable=False),
        pa.field("zone_id", _ID, nullable=False),
        pa.field("wait_seconds", pa.float64()),
        pa.field("service_seconds", pa.float64()),
        pa.field("abandoned", pa.bool_()),
    ]
)
LENGTH_INPUT_SCHEMA = pa.schema(  # per queue zone and cell: sums and the peak of its minutes
    [
        _CELL,
        pa.field("camera_id", _ID, nullable=False),
        pa.field("zone_id", _ID, nullable=False),
        pa.field("observed_seconds", pa.float64(), nullable=False),
        pa.field("people_seconds", pa.float64(), nullable=False),
        pa.field("peak_people", pa.int64(), nullable=False),
    ]
)

# Queue waits fed to the branch KPIs' bottleneck score (one row per person who
# waited for service); the branch engines place them in their own windows.
QUEUE_WAIT_INPUT_SCHEMA = pa.schema(
    [
        pa.field("branch_id", pa.string(), nullable=False),
        pa.field("queue_enter", _TS, nullable=False),
        pa.field("wait_seconds", pa.float64(), nullable=False),
    ]
)
