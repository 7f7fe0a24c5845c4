"""The DuckDB engine: every KPI in SQL over the prepared Arrow inputs.

The inputs are registered as the views ``movements``, ``windows``,
``branches`` and ``intervals``; the statements below build a few temporary
tables and end in one SELECT of exactly the KPI columns. Times are handled
as integer microseconds (``epoch_us``) so occupancy integrals, staff
overlaps and momentum sums are exact integers and agree with the Polars
engine to the last bit (only the mean dwell depends on summation order).

How a timestamp finds its window without a sorted as-of join: every window
boundary of a branch lies on a grid (``branches.grid_us``) counted from the
branch's first window start, so ``cell = (t - s0) // grid`` is an integer
and the table ``cells`` maps each cell to its window (``gw``, a global id).
"""

from __future__ import annotations

import os

import duckdb
import pyarrow as pa

from retail_intel.kpis.inputs import KpiInputs, KpiParams
from retail_intel.kpis.reconciled_sql import RECONCILED_IN_WINDOW, RECONCILED_SWEEP
from retail_intel.kpis.schema import KPI_SCHEMA

# Windows with a global id and their bounds in microseconds.
_WINDOWS = """
CREATE TEMP TABLE w AS
SELECT branch_id, seq, window_start, window_end, slot_date, slot_minute, slot_fold, is_output,
       (row_number() OVER (ORDER BY branch_id, seq) - 1)::BIGINT AS gw,
       epoch_us(window_start) AS ws,
       epoch_us(window_end) AS we
FROM windows
"""

# Per branch: series bounds [s0, s1), constants, and where its cells start in the global lookup.
_BRANCH_BOUNDS = """
CREATE TEMP TABLE b AS
WITH spans AS (SELECT branch_id, min(ws) AS s0, max(we) AS s1 FROM w GROUP BY branch_id)
SELECT spans.branch_id, s0, s1, br.grid_us AS grid, br.capacity, br.customers_per_staff, br.min_staff,
       coalesce(sum((s1 - s0) // br.grid_us) OVER (
           ORDER BY spans.branch_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::BIGINT AS cell0
FROM spans JOIN branches br USING (branch_id)
"""

_CELLS = """
CREATE TEMP TABLE cells AS
SELECT unnest(range(b.cell0 + (w.ws - b.s0) // b.grid, b.cell0 + (w.we - b.s0) // b.grid)) AS cell,
       w.gw, w.ws, w.we
FROM w JOIN b USING (branch_id)
"""

# Visitors (entered, by enter_time, with their dwell) and passers-by (passed,
# by first_seen) in one scan of the movements.
_COUNTS = """
CREATE TEMP TABLE counts AS
WITH pts AS (
    SELECT CASE WHEN m.action_type = 'entered' THEN epoch_us(m.enter_time) ELSE epoch_us(m.first_seen) END AS t,
           m.action_type = 'entered' AS is_visitor, m.dwell_seconds AS dwell,
           b.s0, b.s1, b.cell0, b.grid
    FROM movements m JOIN b ON m.branch_id = b.branch_id
    WHERE m.action_type IN ('entered', 'passed')
)
SELECT c.gw,
       count(*) FILTER (WHERE is_visitor) AS visitors,
       count(*) FILTER (WHERE NOT is_visitor) AS passed,
       avg(dwell) FILTER (WHERE is_visitor) AS mean_dwell,
       median(dwell) FILTER (WHERE is_visitor) AS median_dwell
FROM pts JOIN cells c ON c.cell = pts.cell0 + (pts.t - pts.s0) // pts.grid
WHERE pts.t >= pts.s0 AND pts.t < pts.s1
GROUP BY c.gw
"""

# Mean queue wait per window, by queue_enter (the bottleneck score's queue part).
_QUEUE_WAITS = """
CREATE TEMP TABLE qw AS
WITH pts AS (
    SELECT epoch_us(q.queue_enter) AS t, q.wait_seconds, b.s0, b.s1, b.cell0, b.grid
    FROM queue_waits q JOIN b ON q.branch_id = b.branch_id
)
SELECT c.gw, avg(wait_seconds) AS queue_wait
FROM pts JOIN cells c ON c.cell = pts.cell0 + (pts.t - pts.s0) // pts.grid
WHERE pts.t >= pts.s0 AND pts.t < pts.s1
GROUP BY c.gw
"""

# Occupancy events, one row per change. Each entered person is +1 at
# enter_time (clipped to the series start: people already inside when it
# begins) and -1 at exit_time; both are placed in their window (gw) with the
# offset from the window start and their share of the window's integral,
# d * (we - t). Kept narrow: the sort below is the costliest step.
_OCCUPANCY_EVENTS = """
CREATE TEMP TABLE ev AS
WITH ent AS (
    SELECT b.cell0, b.s0, b.s1, b.grid, greatest(epoch_us(m.enter_time), b.s0) AS tin, epoch_us(m.exit_time) AS tout
    FROM movements m JOIN b ON m.branch_id = b.branch_id
    WHERE m.action_type = 'entered' AND m.exit_time > m.enter_time
      AND epoch_us(m.exit_time) > b.s0 AND epoch_us(m.enter_time) < b.s1
),
changes AS (
    SELECT cell0 + (tin - s0) // grid AS cell, tin AS t, 1 AS d FROM ent
    UNION ALL
    SELECT cell0 + (tout - s0) // grid AS cell, tout AS t, -1 AS d FROM ent WHERE tout < s1
)
SELECT c.gw::INTEGER AS gw, changes.t - c.ws AS since_start, changes.d::TINYINT AS d, changes.d * (c.we - changes.t) AS tail
FROM changes JOIN cells c USING (cell)
"""

# Per window: net change, the change at exactly its start, the integral
# contribution, and the highest running level after its start (relative to
# the carry-in from earlier windows, which _KPIS adds). Ties sort exits first
# so a simultaneous exit and entry never shows a level above the true one.
_OCCUPANCY = """
CREATE TEMP TABLE occ AS
WITH sums AS (
    SELECT gw,
           sum(d)::BIGINT AS net,
           coalesce(sum(d) FILTER (WHERE since_start = 0), 0)::BIGINT AS net_at_start,
           sum(tail)::BIGINT AS tail_us
    FROM ev
    GROUP BY gw
),
levels AS (
    SELECT gw, since_start, sum(d) OVER (PARTITION BY gw ORDER BY since_start, d ROWS UNBOUNDED PRECEDING) AS level
    FROM ev
),
peaks AS (
    SELECT gw, max(level) FILTER (WHERE since_start > 0)::BIGINT AS max_after_start FROM levels GROUP BY gw
)
SELECT * FROM sums JOIN peaks USING (gw)
"""

# Staff presence (microseconds of overlap, summed over people), promotion and
# event flags. Each interval is clipped to the series and mapped to the range
# of windows [g0, g1] it overlaps.
_INTERVALS = """
CREATE TEMP TABLE ivw AS
WITH iv AS (
    SELECT i.kind, b.cell0, b.s0, b.grid,
           greatest(epoch_us(i.start), b.s0) AS a, least(epoch_us(i."end"), b.s1) AS z
    FROM intervals i JOIN b USING (branch_id)
),
spans AS (
    SELECT iv.kind, iv.a, iv.z, ca.gw AS g0, cz.gw AS g1
    FROM iv
    JOIN cells ca ON ca.cell = iv.cell0 + (iv.a - iv.s0) // iv.grid
    JOIN cells cz ON cz.cell = iv.cell0 + (iv.z - 1 - iv.s0) // iv.grid
    WHERE iv.a < iv.z
),
per_window AS (SELECT kind, a, z, unnest(range(g0, g1 + 1)) AS gw FROM spans)
SELECT p.gw,
       coalesce(sum(least(p.z, w.we) - greatest(p.a, w.ws)) FILTER (WHERE p.kind = 'staff'), 0)::BIGINT
           AS staff_us,
       bool_or(p.kind = 'promotion') AS promotion_active,
       bool_or(p.kind = 'event') AS event_active,
       coalesce(sum(least(p.z, w.we) - greatest(p.a, w.ws)) FILTER (WHERE p.kind = 'observed_staff'), 0)::BIGINT
           AS observed_us,
       coalesce(sum(least(p.z, w.we) - greatest(p.a, w.ws)) FILTER (WHERE p.kind = 'open'), 0)::BIGINT AS open_us
FROM per_window p JOIN w USING (gw)
GROUP BY p.gw
"""

# One row per window with everything joined, carry-in occupancy (running
# sum of earlier windows' net change) and the sums for the momentum slope:
# the least-squares slope of visitors against seq over the last $momentum
# rows, from integer sums so it is exact.
_SERIES = """
CREATE TEMP TABLE k AS
WITH wk AS (
    SELECT w.*, b.capacity, b.customers_per_staff, b.min_staff,
           coalesce(v.visitors, 0) AS visitors, coalesce(v.passed, 0) AS passed,
           v.mean_dwell, v.median_dwell,
           coalesce(o.net, 0) AS net, coalesce(o.net_at_start, 0) AS net_at_start,
           coalesce(o.tail_us, 0) AS tail_us, o.max_after_start,
           coalesce(s.staff_us, 0) AS staff_us,
           coalesce(s.promotion_active, false) AS promotion_active,
           coalesce(s.event_active, false) AS event_active,
           qw.queue_wait
    FROM w JOIN b USING (branch_id)
    LEFT JOIN counts v USING (gw) LEFT JOIN qw USING (gw)
    LEFT JOIN occ o USING (gw) LEFT JOIN ivw s USING (gw)
)
SELECT wk.*,
       coalesce(sum(net) OVER (PARTITION BY branch_id ORDER BY seq
                               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS carry,
       count(*) OVER mom AS n, sum(seq) OVER mom AS sx, sum(visitors) OVER mom AS sy,
       sum(seq * visitors) OVER mom AS sxy, sum(seq * seq) OVER mom AS sxx
FROM wk
WINDOW mom AS (PARTITION BY branch_id ORDER BY seq ROWS BETWEEN $momentum - 1 PRECEDING AND CURRENT ROW)
"""

# The KPIs of the output windows. Baseline averages visitors of the windows
# with the same local wall-clock slot 1..$weeks weeks earlier that exist in
# the series.
_KPIS = """
WITH bl AS (
    SELECT cur.gw, avg(prev.visitors) AS baseline
    FROM k cur
    CROSS JOIN range(1, $weeks + 1) AS back(j)
    JOIN k prev ON prev.branch_id = cur.branch_id
               AND prev.slot_date = cur.slot_date - CAST(7 * back.j AS INTEGER)
               AND prev.slot_minute = cur.slot_minute
               AND prev.slot_fold = cur.slot_fold
    WHERE cur.is_output
    GROUP BY cur.gw
),
occupancy AS (
    SELECT k.*, bl.baseline,
           k.carry + k.net_at_start AS occ_start,
           greatest(k.carry + k.net_at_start, k.carry + k.max_after_start) AS peak,
           (k.carry * (k.we - k.ws) + k.tail_us) / (k.we - k.ws) AS avg_occ,
           k.staff_us / (k.we - k.ws) AS staff,
           (k.n * k.sxy - k.sx * k.sy) / nullif(k.n * k.sxx - k.sx * k.sx, 0) AS momentum
    FROM k LEFT JOIN bl USING (gw)
    WHERE k.is_output
),
staffing AS (
    SELECT occupancy.*,
           -- Round first so that float noise (21 / 1.4 = 15.000000000000002) does not add a person.
           greatest(min_staff, ceil(round(peak / nullif(customers_per_staff, 0), 9)))::BIGINT AS required
    FROM occupancy
),
adequacy AS (
    SELECT staffing.*, staff / nullif(required, 0) AS adequacy FROM staffing
),
people AS (
    SELECT adequacy.*, pk.buying_units, pk.mean_group_size, pk.group_conversion,
           pk.reconciled, pk.imbalance, pk.quality, pk.observed_us / (we - ws) AS observed,
           pk.rec_peak, pk.rec_avg,
           -- Congestion and utilization use the reconciled door-count occupancy (docs/kpis.md).
           pk.rec_peak / nullif(capacity, 0) AS congestion
    FROM adequacy JOIN people_kpis pk USING (gw)
)
SELECT branch_id, window_start, window_end, $minutes::INTEGER AS window_minutes,
       visitors::BIGINT AS visitors, passed::BIGINT AS passed,
       visitors / nullif(visitors + passed, 0) AS conversion_proxy,
       baseline,
       visitors / nullif(baseline, 0) AS traffic_index,
       peak::BIGINT AS peak_occupancy,
       avg_occ::DOUBLE AS avg_occupancy,
       congestion AS congestion_level,
       momentum::DOUBLE AS growth_momentum,
       rec_avg / nullif(capacity, 0) AS utilization_ratio,
       staff::DOUBLE AS staff_on_duty,
       required AS required_staff,
       adequacy AS staffing_adequacy,
       CASE WHEN queue_wait IS NOT NULL
                 THEN greatest(coalesce(congestion * greatest(0.0, 1.0 - adequacy), 0.0),
                               least(1.0, queue_wait / $wait_target))
            WHEN congestion IS NULL OR adequacy IS NULL THEN NULL
            ELSE congestion * greatest(0.0, 1.0 - adequacy) END AS bottleneck_score,
       mean_dwell AS mean_dwell_seconds,
       median_dwell AS median_dwell_seconds,
       promotion_active, event_active,
       observed::DOUBLE AS observed_staff,
       observed / nullif(required, 0) AS observed_staffing_adequacy,
       buying_units, mean_group_size::DOUBLE AS mean_group_size, group_conversion::DOUBLE AS group_conversion,
       reconciled AS reconciled_occupancy, imbalance AS occupancy_imbalance, quality AS data_quality,
       rec_peak AS reconciled_peak_occupancy, rec_avg AS reconciled_avg_occupancy,
       $computed_at::TIMESTAMPTZ AS computed_at
FROM people
ORDER BY branch_id, window_start
"""

_STATEMENTS = (_WINDOWS, _BRANCH_BOUNDS, _CELLS, _COUNTS, _QUEUE_WAITS, _OCCUPANCY_EVENTS, _OCCUPANCY, _INTERVALS)

# --- Staff, groups and occupancy (docs/kpis.md#staff-groups-and-occupancy) ---

# Parties: a person without a group_id is a party of one; the people sharing
# a group_id are one party, placed in the window of its earliest member
# (enter_time of a visitor, first_seen of a passer-by) and counted as entered
# when any member entered. Only the members of groups are read here (most
# people are alone): per window, the members counted by visitors / passed
# at their own time (taken out again) and the groups placed there (put back).
_GROUPS = """
CREATE TEMP TABLE grp AS
WITH members AS (
    SELECT m.branch_id, m.group_id,
           CASE WHEN m.action_type = 'entered' THEN epoch_us(m.enter_time) ELSE epoch_us(m.first_seen) END AS t,
           m.action_type = 'entered' AS is_visitor
    FROM movements m
    WHERE m.group_id IS NOT NULL AND m.action_type IN ('entered', 'passed')
),
own AS (
    SELECT c.gw, count(*) FILTER (WHERE is_visitor) AS member_visitors, count(*) AS member_people
    FROM members p JOIN b ON p.branch_id = b.branch_id
    JOIN cells c ON c.cell = b.cell0 + (p.t - b.s0) // b.grid
    WHERE p.t >= b.s0 AND p.t < b.s1
    GROUP BY c.gw
),
parties AS (
    SELECT branch_id, min(t) AS t, bool_or(is_visitor) AS is_visitor, count(*) AS people
    FROM members GROUP BY branch_id, group_id
),
placed AS (
    SELECT c.gw, count(*) FILTER (WHERE is_visitor) AS entered_groups, count(*) AS groups,
           coalesce(sum(people) FILTER (WHERE is_visitor), 0) AS entered_group_people
    FROM parties p JOIN b ON p.branch_id = b.branch_id
    JOIN cells c ON c.cell = b.cell0 + (p.t - b.s0) // b.grid
    WHERE p.t >= b.s0 AND p.t < b.s1
    GROUP BY c.gw
)
SELECT coalesce(own.gw, placed.gw) AS gw,
       coalesce(member_visitors, 0) AS member_visitors, coalesce(member_people, 0) AS member_people,
       coalesce(entered_groups, 0) AS entered_groups, coalesce(groups, 0) AS groups,
       coalesce(entered_group_people, 0) AS entered_group_people
FROM own FULL JOIN placed ON own.gw = placed.gw
"""

# Door counts per window: ins at enter_time, outs at exit_time of every
# entered person. With a door line the crossings count; without one each
# visitor is one in, and one out when their exit was seen.
_FLOWS = """
CREATE TEMP TABLE flows AS
WITH f AS (
    SELECT m.branch_id, epoch_us(m.enter_time) AS t, coalesce(m.line_in, 1) AS fin, 0 AS fout
    FROM movements m WHERE m.action_type = 'entered'
    UNION ALL
    SELECT m.branch_id, epoch_us(m.exit_time) AS t, 0 AS fin,
           coalesce(m.line_out, CASE WHEN m.exit_observed THEN 1 ELSE 0 END) AS fout
    FROM movements m WHERE m.action_type = 'entered'
)
SELECT c.gw, sum(f.fin)::BIGINT AS rin, sum(f.fout)::BIGINT AS rout
FROM f JOIN b ON f.branch_id = b.branch_id
JOIN cells c ON c.cell = b.cell0 + (f.t - b.s0) // b.grid
WHERE f.t >= b.s0 AND f.t < b.s1
GROUP BY c.gw
"""

# Reconciled occupancy per branch and local day: every door count of the day
# counts, whatever the opening hours and the window size (a day's windows
# never straddle midnight, so their sums are the local day's), and the day's
# imbalance D = ins - outs is taken out again in proportion to each window's
# traffic, so the level at the end of the day is exactly 0 (integer
# numerator, one division), and the level is never below 0. Windows that do
# not overlap the opening hours (none of a branch without any) read 0.
_RECONCILE = """
CREATE TEMP TABLE rec AS
WITH hours AS (SELECT DISTINCT branch_id FROM intervals WHERE kind = 'open'),
y AS (
    SELECT w.gw, w.branch_id, w.slot_date, w.seq, w.ws, w.we,
           (hours.branch_id IS NULL OR coalesce(s.open_us, 0) > 0) AS is_open,
           coalesce(f.rin, 0) AS fin, coalesce(f.rout, 0) AS fout
    FROM w LEFT JOIN hours USING (branch_id) LEFT JOIN ivw s USING (gw) LEFT JOIN flows f USING (gw)
),
d AS (
    SELECT y.*,
           sum(fin - fout) OVER day AS imbalance, sum(fin + fout) OVER day AS traffic, sum(fin) OVER day AS day_in,
           sum(fin - fout) OVER run AS cum_net, sum(fin + fout) OVER run AS cum_traffic
    FROM y
    WINDOW day AS (PARTITION BY branch_id, slot_date),
           run AS (PARTITION BY branch_id, slot_date ORDER BY seq ROWS UNBOUNDED PRECEDING)
)
SELECT gw, imbalance::BIGINT AS imbalance,
       -- For the in-window sweep (reconciled_sql): the level at the window start scaled by the traffic.
       is_open AND traffic > 0 AS sweep, traffic::BIGINT AS traffic, ws, we,
       ((cum_net - (fin - fout)) * traffic - imbalance * (cum_traffic - (fin + fout)))::BIGINT AS start_s,
       CASE WHEN NOT is_open OR traffic = 0 THEN 0.0
            ELSE greatest(0.0, (cum_net * traffic - imbalance * cum_traffic)::DOUBLE / traffic::DOUBLE) END
           AS reconciled,
       -- the share compared as a share: 57 of 100 ins is 0.57, which 0.57 * 100 (56.99999999999999) is not
       CASE WHEN (CASE WHEN day_in > 0 THEN abs(imbalance)::DOUBLE / day_in::DOUBLE > $threshold
                       ELSE imbalance <> 0 END) THEN 'imbalanced' ELSE 'ok' END AS quality
FROM d
"""

_PEOPLE = """
WITH units AS (
    SELECT r.gw, r.reconciled, r.imbalance, r.quality, coalesce(s.observed_us, 0) AS observed_us,
           rw.rec_peak, rw.rec_avg,
           coalesce(v.visitors, 0) - coalesce(g.member_visitors, 0) + coalesce(g.entered_groups, 0) AS buying_units,
           coalesce(v.visitors, 0) + coalesce(v.passed, 0) - coalesce(g.member_people, 0) + coalesce(g.groups, 0)
               AS parties,
           coalesce(v.visitors, 0) - coalesce(g.member_visitors, 0) + coalesce(g.entered_group_people, 0)
               AS party_people
    FROM rec r JOIN rwin rw USING (gw)
    LEFT JOIN grp g USING (gw) LEFT JOIN counts v USING (gw) LEFT JOIN ivw s USING (gw)
)
SELECT gw, buying_units::BIGINT AS buying_units,
       party_people / nullif(buying_units, 0) AS mean_group_size,
       buying_units / nullif(parties, 0) AS group_conversion,
       reconciled, imbalance, quality, observed_us, rec_peak, rec_avg
FROM units
"""


def _usable_cores() -> int:
    # The cores this process may run on (taskset, containers), not all the machine has.
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def compute(inputs: KpiInputs, params: KpiParams, *, threads: int | None = None) -> pa.Table:
    """All KPIs of ``inputs`` with DuckDB; a table of exactly :data:`KPI_SCHEMA`."""
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"SET threads = {int(threads or _usable_cores())}")
        # Row order of intermediate tables never matters (the result is sorted).
        con.execute("SET preserve_insertion_order = false")
        con.register("all_movements", inputs.movements)
        # Customers only, unless staff are to be counted too (docs/staff-groups.md).
        staff_filter = "" if params.include_staff else " WHERE NOT is_staff"
        con.execute(f"CREATE VIEW movements AS SELECT * FROM all_movements{staff_filter}")
        con.register("windows", inputs.windows)
        con.register("branches", inputs.branches)
        con.register("intervals", inputs.intervals)
        con.register("queue_waits", inputs.queue_waits)
        for statement in _STATEMENTS:
            con.execute(statement)
        con.execute(_SERIES, {"momentum": params.momentum_windows})
        con.execute(_GROUPS)
        con.execute(_FLOWS)
        con.execute(_RECONCILE, {"threshold": params.imbalance_threshold})
        con.execute(RECONCILED_SWEEP)
        con.execute(RECONCILED_IN_WINDOW)
        con.execute("CREATE TEMP TABLE people_kpis AS " + _PEOPLE)
        result = con.sql(
            _KPIS,
            params={
                "weeks": params.baseline_weeks,
                "minutes": params.window_minutes,
                "computed_at": params.computed_at,
                "wait_target": params.queue_wait_target_s,
            },
        ).to_arrow_table()
    finally:
        con.close()
    return result.cast(KPI_SCHEMA)
