"""Arrow schemas of the KPI engine: its output (the seed's ``branch_kpi_timeseries``) and its inputs.

Both engines return exactly :data:`KPI_SCHEMA`; the KPI store, ``serve`` and
the SQL views read it back. The input schemas are what
:mod:`retail_intel.kpis.inputs` prepares once and hands to either engine, so
the two engines start from identical tables.
"""

from __future__ import annotations

import pyarrow as pa

_TS = pa.timestamp("us", tz="UTC")

KPI_SCHEMA = pa.schema(
    [
        pa.field("branch_id", pa.string(), nullable=False),
        pa.field("window_start", _TS, nullable=False),  # inclusive, aware UTC
        pa.field("window_end", _TS, nullable=False),  # exclusive; a DST day's last window may be short
        pa.field("window_minutes", pa.int32(), nullable=False),  # the requested window size
        pa.field("visitors", pa.int64(), nullable=False),  # entered, enter_time in the window
        pa.field("passed", pa.int64(), nullable=False),  # passed, first_seen in the window
        pa.field("conversion_proxy", pa.float64()),  # visitors / (visitors + passed)
        pa.field("baseline", pa.float64()),  # mean visitors, same local slot, previous weeks
        pa.field("traffic_index", pa.float64()),  # visitors / baseline
        pa.field("peak_occupancy", pa.int64(), nullable=False),
        pa.field("avg_occupancy", pa.float64(), nullable=False),  # time-weighted
        pa.field("congestion_level", pa.float64()),  # reconciled_peak_occupancy / capacity
        pa.field("growth_momentum", pa.float64()),  # least-squares slope of visitors
        pa.field("utilization_ratio", pa.float64()),  # reconciled_avg_occupancy / capacity
        pa.field("staff_on_duty", pa.float64(), nullable=False),  # time-weighted scheduled staff
        pa.field("required_staff", pa.int64(), nullable=False),
        pa.field("staffing_adequacy", pa.float64()),  # staff_on_duty / required_staff
        pa.field("bottleneck_score", pa.float64()),
        pa.field("mean_dwell_seconds", pa.float64()),
        pa.field("median_dwell_seconds", pa.float64()),
        pa.field("promotion_active", pa.bool_(), nullable=False),
        pa.field("event_active", pa.bool_(), nullable=False),
        # Staff, groups and occupancy (docs/kpis.md#staff-groups-and-occupancy). Nullable so
        # KPI files written before them still read (as nulls).
        pa.field("observed_staff", pa.float64()),  # time-weighted people flagged as staff on the floor
        pa.field("observed_staffing_adequacy", pa.float64()),  # observed_staff / required_staff
        pa.field("buying_units", pa.int64()),  # entered parties: a group counts once
        pa.field("mean_group_size", pa.float64()),  # members of the entered parties / buying_units
        pa.field("group_conversion", pa.float64()),  # entered parties / parties that entered or passed
        pa.field("reconciled_occupancy", pa.float64()),  # door-count occupancy at the window end, balanced per day
        pa.field("occupancy_imbalance", pa.int64()),  # the local day's raw ins - outs at the door
        pa.field("data_quality", pa.string()),  # "ok", or "imbalanced" when the day's imbalance is over the threshold
        # The reconciled door-count occupancy inside the window (what congestion and utilization use).
        pa.field("reconciled_peak_occupancy", pa.float64()),  # its highest level at any instant
        pa.field("reconciled_avg_occupancy", pa.float64()),  # its time-weighted mean
        pa.field("computed_at", _TS, nullable=False),  # when this row was computed (not a KPI)
    ]
)

KPI_COLUMNS = tuple(KPI_SCHEMA.names)

# Every column except the bookkeeping timestamp: what "two runs agree" means.
COMPARED_COLUMNS = tuple(name for name in KPI_COLUMNS if name != "computed_at")

# The movement columns the KPIs need; reading only these keeps memory low.
MOVEMENT_INPUT_COLUMNS = (
    "branch_id",
    "action_type",
    "enter_time",
    "exit_time",
    "dwell_seconds",
    "first_seen",
)

# Columns the staff / group / occupancy KPIs add to the engine's movement input.
# Files written before they existed lack them; prepare_inputs fills the gaps
# (is_staff false, group_id / line counts null, exit_observed true).
PEOPLE_INPUT_COLUMNS = ("is_staff", "group_id", "exit_observed", "line_in", "line_out")

# One row per window of the computed series (context windows included).
WINDOW_SCHEMA = pa.schema(
    [
        pa.field("branch_id", pa.string(), nullable=False),
        pa.field("seq", pa.int64(), nullable=False),  # 0, 1, 2, ... per branch, no gaps
        pa.field("window_start", _TS, nullable=False),
        pa.field("window_end", _TS, nullable=False),
        pa.field("slot_date", pa.date32(), nullable=False),  # local date of window_start
        pa.field("slot_minute", pa.int32(), nullable=False),  # local wall-clock minute of day
        pa.field("slot_fold", pa.int8(), nullable=False),  # 1 for the repeated hour of a DST fall-back
        pa.field("is_output", pa.bool_(), nullable=False),  # false: history only (baseline, momentum)
    ]
)

# Per-branch constants of the KPI formulas.
BRANCH_SCHEMA = pa.schema(
    [
        pa.field("branch_id", pa.string(), nullable=False),
        pa.field("capacity", pa.int64(), nullable=False),
        pa.field("customers_per_staff", pa.float64(), nullable=False),
        pa.field("min_staff", pa.int64(), nullable=False),
        # Every window boundary of the branch is a multiple of grid_us after
        # its first window start, so a timestamp's window is found by integer
        # division plus an equality join instead of a sorted as-of join.
        pa.field("grid_us", pa.int64(), nullable=False),
    ]
)

# observed_staff: an entered person flagged as staff, [enter_time, exit_time);
# open: the branch's opening hours (a branch without any is open all day).
INTERVAL_KINDS = ("staff", "promotion", "event", "observed_staff", "open")

# Scheduled staff presence (one row per employee shift), promotions and event
# occurrences, all as [start, end) in UTC.
INTERVAL_SCHEMA = pa.schema(
    [
        pa.field("branch_id", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),  # one of INTERVAL_KINDS
        pa.field("start", _TS, nullable=False),
        pa.field("end", _TS, nullable=False),
    ]
)
