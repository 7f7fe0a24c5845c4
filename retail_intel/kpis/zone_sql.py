"""The DuckDB engine of the zone and queue KPIs (definitions in docs/zones.md).

The prepared inputs (:mod:`retail_intel.kpis.zone_inputs`) carry each row's
cell; joined with the ``cells`` table it gives the row's window id (and drops
rows outside the windows asked for), so every KPI is a join on an integer and a
GROUP BY over (window, camera, zone); the ``windows`` table then gives each
window's branch and bounds ``[ws, we)`` in microseconds.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from retail_intel.kpis.zone_inputs import ZoneKpiInputs
from retail_intel.kpis.zone_schema import QUEUE_KPI_SCHEMA, ZONE_KPI_SCHEMA

_ZONES = """
WITH v AS (
    SELECT c.wid, v.camera_id, v.zone_id,
           -- a zone's kind can change mid-window (branches.yaml edited, later videos judged with it):
           -- the kind of its latest visits (by cell), the last name of two there; as zone_polars
           last(v.zone_kind::VARCHAR ORDER BY v.cell, v.zone_kind::VARCHAR) AS zone_kind,
           count(*) AS visits,
           count(*) FILTER (WHERE v.counted) AS counted_visits,
           avg(v.dwell_seconds) FILTER (WHERE v.counted) AS mean_dwell,
           median(v.dwell_seconds) FILTER (WHERE v.counted) AS median_dwell
    FROM visits v JOIN cells c USING (cell)
    GROUP BY c.wid, v.camera_id, v.zone_id
),
r AS (
    SELECT c.wid, r.camera_id, sum(r.people)::BIGINT AS roi_people
    FROM roi r JOIN cells c USING (cell)
    GROUP BY c.wid, r.camera_id
)
SELECT w.branch_id, v.camera_id, v.zone_id,
       make_timestamp(w.ws) AS window_start, make_timestamp(w.we) AS window_end,
       $minutes::INTEGER AS window_minutes,
       v.zone_kind, v.visits, v.counted_visits,
       v.mean_dwell AS mean_dwell_seconds, v.median_dwell AS median_dwell_seconds,
       coalesce(r.roi_people, 0) AS roi_people,
       v.counted_visits / nullif(r.roi_people, 0) AS attention_rate
FROM v JOIN windows w USING (wid) LEFT JOIN r USING (wid, camera_id)
ORDER BY branch_id, camera_id, zone_id, window_start
"""

_QUEUES = """
WITH q AS (
    SELECT c.wid, q.camera_id, q.zone_id,
           count(*) AS people_queued,
           count(q.service_seconds) AS people_served,
           avg(q.wait_seconds) AS mean_wait,
           quantile_cont(q.wait_seconds, 0.9) AS p90_wait,
           avg(q.service_seconds) AS mean_service,
           count(*) FILTER (WHERE q.abandoned) / nullif(count(q.abandoned), 0) AS abandonment
    FROM queues q JOIN cells c USING (cell)
    GROUP BY c.wid, q.camera_id, q.zone_id
),
l AS (
    -- the inputs hold each cell's sums and peak: summed and maximised again per window
    SELECT c.wid, l.camera_id, l.zone_id,
           max(l.peak_people) AS peak,
           sum(l.people_seconds) / nullif(sum(l.observed_seconds), 0) AS mean_length
    FROM lengths l JOIN cells c USING (cell)
    GROUP BY c.wid, l.camera_id, l.zone_id
)
SELECT w.branch_id, camera_id, zone_id,
       make_timestamp(w.ws) AS window_start, make_timestamp(w.we) AS window_end,
       $minutes::INTEGER AS window_minutes,
       coalesce(q.people_queued, 0) AS people_queued,
       coalesce(q.people_served, 0) AS people_served,
       q.mean_wait AS mean_wait_seconds, q.p90_wait AS p90_wait_seconds,
       q.mean_service AS mean_service_seconds, q.abandonment AS abandonment_rate,
       l.peak AS peak_queue_length, l.mean_length AS mean_queue_length
FROM q FULL OUTER JOIN l USING (wid, camera_id, zone_id) JOIN windows w USING (wid)
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
        con.register("cells", inputs.cells)
        con.register("windows", inputs.windows)
        params = {"minutes": window_minutes}
        zones = con.sql(_ZONES, params=params).to_arrow_table()
        queues = con.sql(_QUEUES, params=params).to_arrow_table()
    finally:
        con.close()
    return zones.cast(ZONE_KPI_SCHEMA), queues.cast(QUEUE_KPI_SCHEMA)
