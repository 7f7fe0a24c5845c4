"""The DuckDB engine of the zone and queue KPIs (definitions in docs/zones.md).

The prepared inputs (:mod:`retail_intel.kpis.zone_inputs`) already carry each
row's window ``[ws, we)`` in microseconds, so every KPI is a GROUP BY over
(branch, camera, zone, window).
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from retail_intel.kpis.zone_inputs import ZoneKpiInputs
from retail_intel.kpis.zone_schema import QUEUE_KPI_SCHEMA, ZONE_KPI_SCHEMA

_ZONES = """
WITH v AS (
    SELECT branch_id, camera_id, zone_id, ws, we,
           any_value(zone_kind) AS zone_kind,
           count(*) AS visits,
           count(*) FILTER (WHERE counted) AS counted_visits,
           avg(dwell_seconds) FILTER (WHERE counted) AS mean_dwell,
           median(dwell_seconds) FILTER (WHERE counted) AS median_dwell
    FROM visits
    GROUP BY ALL
),
r AS (
    SELECT branch_id, camera_id, ws, count(*) AS roi_people FROM roi GROUP BY ALL
)
SELECT v.branch_id, v.camera_id, v.zone_id,
       make_timestamp(v.ws) AS window_start, make_timestamp(v.we) AS window_end,
       $minutes::INTEGER AS window_minutes,
       v.zone_kind, v.visits, v.counted_visits,
       v.mean_dwell AS mean_dwell_seconds, v.median_dwell AS median_dwell_seconds,
       coalesce(r.roi_people, 0) AS roi_people,
       v.counted_visits / nullif(r.roi_people, 0) AS attention_rate
FROM v LEFT JOIN r USING (branch_id, camera_id, ws)
ORDER BY branch_id, camera_id, zone_id, window_start
"""

_QUEUES = """
WITH q AS (
    SELECT branch_id, camera_id, zone_id, ws, we,
           count(*) AS people_queued,
           count(service_seconds) AS people_served,
           avg(wait_seconds) AS mean_wait,
           quantile_cont(wait_seconds, 0.9) AS p90_wait,
           avg(service_seconds) AS mean_service,
           count(*) FILTER (WHERE abandoned) / nullif(count(abandoned), 0) AS abandonment
    FROM queues
    GROUP BY ALL
),
l AS (
    SELECT branch_id, camera_id, zone_id, ws, we,
           max(peak_people) AS peak,
           sum(people_seconds) / nullif(sum(observed_seconds), 0) AS mean_length
    FROM lengths
    GROUP BY ALL
)
SELECT branch_id, camera_id, zone_id,
       make_timestamp(ws) AS window_start, make_timestamp(we) AS window_end,
       $minutes::INTEGER AS window_minutes,
       coalesce(q.people_queued, 0) AS people_queued,
       coalesce(q.people_served, 0) AS people_served,
       q.mean_wait AS mean_wait_seconds, q.p90_wait AS p90_wait_seconds,
       q.mean_service AS mean_service_seconds, q.abandonment AS abandonment_rate,
       l.peak AS peak_queue_length, l.mean_length AS mean_queue_length
FROM q FULL OUTER JOIN l USING (branch_id, camera_id, zone_id, ws, we)
ORDER BY branch_id, camera_id, zone_id, window_start
"""


def compute(inputs: ZoneKpiInputs, window_minutes: int) -> tuple[pa.Table, pa.Table]:
    """(zone KPIs, queue KPIs) of ``inputs``, as :data:`ZONE_KPI_SCHEMA` and :data:`QUEUE_KPI_SCHEMA`."""
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("visits", inputs.visits)
        con.register("roi", inputs.roi)
        con.register("queues", inputs.queues)
        con.register("lengths", inputs.lengths)
        params = {"minutes": window_minutes}
        zones = con.sql(_ZONES, params=params).to_arrow_table()
        queues = con.sql(_QUEUES, params=params).to_arrow_table()
    finally:
        con.close()
    return zones.cast(ZONE_KPI_SCHEMA), queues.cast(QUEUE_KPI_SCHEMA)
