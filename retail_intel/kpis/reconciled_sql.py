"""The reconciled occupancy inside each window, in DuckDB SQL (the same sweep as :mod:`reconciled_polars`).

``rec`` (the SQL engine's reconciliation) gives the reconciled level at
window boundaries; congestion and utilization need it at every instant of a
window: its peak and its time-weighted mean. Between door events the level
is constant, so a running sum over the door events ordered by time (outs
before ins at the same instant) gives it after each event. Integers
throughout: the level is scaled by the day's traffic ``T``, an in of weight
``w`` adds ``w * (T - D)``, an out subtracts ``w * (T + D)``, and the true
level is the scaled one divided by ``T`` (docs/kpis.md).
"""

from __future__ import annotations

# Per window with door events: the scaled change at exactly its start, the
# highest scaled level after its start, the time to its first event and the
# area under the (non-negative) level from the first event to the window end.
RECONCILED_SWEEP = """
CREATE TEMP TABLE rsweep AS
WITH f AS (
    SELECT m.branch_id, epoch_us(m.enter_time) AS t, coalesce(m.line_in, 1)::BIGINT AS d
    FROM movements m WHERE m.action_type = 'entered'
    UNION ALL
    SELECT m.branch_id, epoch_us(m.exit_time) AS t,
           -coalesce(m.line_out, CASE WHEN m.exit_observed THEN 1 ELSE 0 END)::BIGINT AS d
    FROM movements m WHERE m.action_type = 'entered'
),
ev AS (
    -- Narrow rows: this is what the window below sorts.
    SELECT c.gw::INTEGER AS gw, (f.t - c.ws) * 2 + (f.d > 0)::BIGINT AS k,
           CASE WHEN f.d > 0 THEN f.d * (r.traffic - r.imbalance) ELSE f.d * (r.traffic + r.imbalance) END AS ds
    FROM f JOIN b ON f.branch_id = b.branch_id
    JOIN cells c ON c.cell = b.cell0 + (f.t - b.s0) // b.grid
    JOIN rec r ON r.gw = c.gw
    WHERE f.t >= b.s0 AND f.t < b.s1 AND f.d <> 0 AND r.sweep
),
levels AS (
    SELECT gw, k // 2 AS since, ds,
           sum(ds) OVER run AS rel,
           lead(k // 2) OVER run AS nxt
    FROM ev
    WINDOW run AS (PARTITION BY gw ORDER BY k ROWS UNBOUNDED PRECEDING)
),
abs AS (
    SELECT l.gw, l.since, l.ds, r.start_s + l.rel AS level, coalesce(l.nxt, r.we - r.ws) AS until
    FROM levels l JOIN rec r USING (gw)
)
SELECT gw,
       coalesce(sum(ds) FILTER (WHERE since = 0), 0) AS at_start,
       max(level) FILTER (WHERE since > 0) AS top,
       min(since) AS first_since,
       sum(greatest(level, 0) * (until - since)) AS area
FROM abs GROUP BY gw
"""

# Peak and time-weighted mean of the reconciled level per window; 0 where the
# window is closed or its day had no door traffic (as reconciled_occupancy).
RECONCILED_IN_WINDOW = """
CREATE TEMP TABLE rwin AS
SELECT r.gw,
       CASE WHEN r.sweep
            THEN greatest(0, r.start_s + coalesce(s.at_start, 0), coalesce(s.top, 0))::DOUBLE / r.traffic::DOUBLE
            ELSE 0.0 END AS rec_peak,
       CASE WHEN r.sweep
            THEN (greatest(0, r.start_s) * coalesce(s.first_since, r.we - r.ws) + coalesce(s.area, 0))::DOUBLE
                 / (r.traffic * (r.we - r.ws))::DOUBLE
            ELSE 0.0 END AS rec_avg
FROM rec r LEFT JOIN rsweep s USING (gw)
"""
