"""The Arrow schema of the hourly feature table (one row per branch and hourly KPI window).

Every feature file under ``DATA_DIR/features/hourly/`` has exactly
:data:`FEATURE_SCHEMA`; definitions are in docs/etl.md. There is no
"computed at" column on purpose: recomputing the same data gives byte-equal
files.
"""

from __future__ import annotations

import pyarrow as pa

_TS = pa.timestamp("us", tz="UTC")

# Hours back for the visitor lags (same branch, exact UTC offsets).
LAG_HOURS = (1, 24, 168)
# Hours covered by the trailing visitor means (the current hour excluded).
ROLLING_HOURS = (3, 24, 168)
# Window size of the KPIs the features are built from.
FEATURE_WINDOW_MINUTES = 60

FEATURE_SCHEMA = pa.schema(
    [
        pa.field("branch_id", pa.string(), nullable=False),
        pa.field("window_start", _TS, nullable=False),  # the KPI window's start, UTC
        pa.field("local_date", pa.date32(), nullable=False),  # of window_start in the branch's timezone
        pa.field("hour_of_day", pa.int8(), nullable=False),  # local, 0-23
        pa.field("weekday", pa.int8(), nullable=False),  # local, 0 = Monday ... 6 = Sunday
        pa.field("is_weekend", pa.bool_(), nullable=False),  # weekday is Saturday or Sunday
        pa.field("is_holiday", pa.bool_(), nullable=False),  # local_date is in holidays.yaml for the branch
        pa.field("promotion_active", pa.bool_(), nullable=False),  # from the KPI row
        pa.field("event_active", pa.bool_(), nullable=False),  # from the KPI row
        pa.field("is_open", pa.bool_(), nullable=False),  # the window overlaps that weekday's opening hours
        pa.field("visitors", pa.int64(), nullable=False),
        pa.field("passed", pa.int64(), nullable=False),
        pa.field("conversion_proxy", pa.float64()),
        *(pa.field(f"visitors_lag_{h}h", pa.int64()) for h in LAG_HOURS),
        *(pa.field(f"visitors_mean_{h}h", pa.float64()) for h in ROLLING_HOURS),
        pa.field("neighbor_visitors", pa.float64()),  # mean over neighbors with a row for the same window_start
        pa.field("visitors_next_hour", pa.int64()),  # the target: visitors at window_start + 1 h
    ]
)

FEATURE_COLUMNS = tuple(FEATURE_SCHEMA.names)

# The KPI columns the features are built from.
KPI_INPUT_COLUMNS = (
    "branch_id",
    "window_start",
    "window_end",
    "visitors",
    "passed",
    "conversion_proxy",
    "promotion_active",
    "event_active",
)
