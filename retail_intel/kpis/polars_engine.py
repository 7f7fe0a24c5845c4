"""The Polars engine: every KPI as lazy Polars expressions over the prepared inputs.

It follows the same definitions as :mod:`retail_intel.kpis.sql_engine` and
works in integer microseconds for the same reason (exact integrals). Window
lookup: each branch's window boundaries lie on a grid (``grid_us``) counted
from its first window start, so a timestamp's global cell number is integer
arithmetic and ``cell_window[cell]`` is its window id (``gw``). Only small
intermediate results are collected: the windows, the lookup array and the
per-window series.
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from retail_intel.kpis.inputs import KpiInputs, KpiParams
from retail_intel.kpis.reconciled_polars import door_sweep, reconciled_in_window
from retail_intel.kpis.schema import KPI_SCHEMA


def _us(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.Datetime("us", "UTC")).dt.epoch("us")


def _safe_div(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator / denominator, null (never inf or NaN) when the denominator is 0 or null."""
    return (
        pl.when(denominator.is_not_null() & (denominator != 0))
        .then(numerator.cast(pl.Float64) / denominator.cast(pl.Float64))
        .otherwise(None)
    )


def _windows(inputs: KpiInputs) -> pl.DataFrame:
    """Windows sorted by branch and seq; ``gw`` (global window id) is the row number."""
    frame = pl.from_arrow(inputs.windows)
    assert isinstance(frame, pl.DataFrame)
    return (
        frame.sort("branch_id", "seq")
        .with_row_index("gw")
        .with_columns(gw=pl.col("gw").cast(pl.Int64), ws=_us("window_start"), we=_us("window_end"))
    )


def _branch_bounds(windows: pl.DataFrame, inputs: KpiInputs) -> pl.DataFrame:
    """Per branch: series [s0, s1), formula constants, first global cell (cell0)."""
    branches = pl.from_arrow(inputs.branches)
    assert isinstance(branches, pl.DataFrame)
    return (
        windows.group_by("branch_id")
        .agg(s0=pl.col("ws").min(), s1=pl.col("we").max())
        .join(branches, on="branch_id")
        .rename({"grid_us": "grid"})
        .sort("branch_id")
        .with_columns(cell0=((pl.col("s1") - pl.col("s0")) // pl.col("grid")).cum_sum().shift(1, fill_value=0))
    )


def _cell_window(windows: pl.DataFrame, bounds: pl.DataFrame) -> pl.Series:
    """gw of every global cell, indexed by cell number (cells follow branch, then time order)."""
    return (
        windows.join(bounds.select("branch_id", "grid"), on="branch_id")
        .sort("gw")
        .select(pl.col("gw").repeat_by((pl.col("we") - pl.col("ws")) // pl.col("grid")).explode())
        .to_series()
    )


def _cell(time: pl.Expr) -> pl.Expr:
    return pl.col("cell0") + (time - pl.col("s0")) // pl.col("grid")


def _movements(customers: pl.DataFrame, bounds: pl.DataFrame, params: KpiParams) -> pl.LazyFrame:
    """Movements with their branch's series bounds and cell numbering attached.

    The branch id becomes an index into ``bounds`` (an Enum's physical code),
    which is far cheaper than a string join over millions of rows; branches
    without windows get a null index and drop out.
    """
    branch = pl.col("branch_id").cast(pl.Enum(bounds["branch_id"].to_list()), strict=False).to_physical()

    def of_branch(name: str) -> pl.Expr:
        return pl.lit(bounds[name]).gather(pl.col("b"))

    # Staff leave in the same filter as rows of other branches (docs/staff-groups.md).
    keep = pl.col("b").is_not_null() if params.include_staff else pl.col("b").is_not_null() & ~pl.col("is_staff")
    return (
        customers.lazy()
        .with_columns(b=branch)
        .filter(keep)
        .select(
            s0=of_branch("s0"),
            s1=of_branch("s1"),
            grid=of_branch("grid"),
            cell0=of_branch("cell0"),
            dwell=pl.col("dwell_seconds"),
            entered=pl.col("action_type") == "entered",
            passed=pl.col("action_type") == "passed",
            tin=_us("enter_time"),
            tout=_us("exit_time"),
            tfs=_us("first_seen"),
        )
    )


def _counts(movements: pl.LazyFrame, lookup: pl.Series) -> pl.LazyFrame:
    """Visitors (entered, by enter_time) with their dwell, and passers-by (by first_seen)."""
    visitor_dwell = pl.when(pl.col("entered")).then(pl.col("dwell"))
    return (
        movements.filter(pl.col("entered") | pl.col("passed"))
        .with_columns(t=pl.when(pl.col("entered")).then(pl.col("tin")).otherwise(pl.col("tfs")))
        .filter((pl.col("t") >= pl.col("s0")) & (pl.col("t") < pl.col("s1")))
        .select("entered", "dwell", gw=pl.lit(lookup).gather(_cell(pl.col("t"))))
        .group_by("gw")
        .agg(
            visitors=pl.col("entered").sum().cast(pl.Int64),
            passed=(~pl.col("entered")).sum().cast(pl.Int64),
            mean_dwell=visitor_dwell.mean(),
            median_dwell=visitor_dwell.median(),
        )
    )


# Sort key of an occupancy event: window id, then microseconds since the
# window start, then exits (0) before entries (1) at equal times. Offsets
# stay below 2**37 µs (38 h, longer than any window), window ids below 2**25.
_OFFSET_BITS = 38


def _occupancy(movements: pl.LazyFrame, lookup: pl.Series, windows: pl.DataFrame) -> pl.LazyFrame:
    """Per window: net change, change at its start, integral tail, highest level after its start.

    +1 at enter_time (clipped to the series start), -1 at exit_time. One
    global sort by (window, time, exits first) and one running sum give every
    event's level; a window's levels are taken relative to the running sum
    just before its first event, so they exclude the carry-in.
    """
    entered = movements.filter(
        pl.col("entered")
        & (pl.col("tout") > pl.col("tin"))
        & (pl.col("tout") > pl.col("s0"))
        & (pl.col("tin") < pl.col("s1"))
    )
    cell_columns = ("s0", "grid", "cell0")
    enters = entered.select(*cell_columns, t=pl.max_horizontal("tin", "s0"), d=pl.lit(1, pl.Int64))
    exits = entered.filter(pl.col("tout") < pl.col("s1")).select(*cell_columns, t="tout", d=pl.lit(-1, pl.Int64))
    gw = pl.col("gw")
    key = pl.col("key")
    since = (key % (1 << _OFFSET_BITS)) // 2  # decoded back from the sort key
    return (
        pl.concat([enters, exits])
        .select("t", "d", gw=pl.lit(lookup).gather(_cell(pl.col("t"))))
        # Only three narrow columns go through the sort.
        .select(
            "d",
            key=gw * (1 << _OFFSET_BITS)
            + (pl.col("t") - pl.lit(windows["ws"]).gather(gw)) * 2
            + (pl.col("d") > 0).cast(pl.Int64),
            until_end=pl.lit(windows["we"]).gather(gw) - pl.col("t"),
        )
        .sort("key")
        .with_columns(level=pl.col("d").cum_sum(), gw=key // (1 << _OFFSET_BITS))
        .group_by("gw")
        .agg(
            net=pl.col("d").sum(),
            net_at_start=pl.when(since == 0).then(pl.col("d")).otherwise(0).sum(),
            tail_us=(pl.col("d") * pl.col("until_end")).sum(),
            base=pl.col("level").first() - pl.col("d").first(),
            top=pl.when(since > 0).then(pl.col("level")).max(),
        )
        .select("gw", "net", "net_at_start", "tail_us", max_after_start=pl.col("top") - pl.col("base"))
    )


def _intervals(inputs: KpiInputs, bounds: pl.DataFrame, lookup: pl.Series, windows: pl.DataFrame) -> pl.LazyFrame:
    """Staff presence in µs (summed over people) and promotion/event flags per window."""
    keyed = bounds.lazy().select("branch_id", "s0", "s1", "grid", "cell0")
    intervals = pl.from_arrow(inputs.intervals)
    assert isinstance(intervals, pl.DataFrame)
    spans = (
        intervals.lazy()
        .join(keyed, on="branch_id")
        .select(
            "kind",
            "s0",
            "grid",
            "cell0",
            a=pl.max_horizontal(_us("start"), "s0"),
            z=pl.min_horizontal(_us("end"), "s1"),
        )
        .filter(pl.col("a") < pl.col("z"))
        .select(
            "kind",
            "a",
            "z",
            gw=pl.int_ranges(
                pl.lit(lookup).gather(_cell(pl.col("a"))),
                pl.lit(lookup).gather(_cell(pl.col("z") - 1)) + 1,
            ),
        )
        .explode("gw")
        .join(windows.lazy().select("gw", "ws", "we"), on="gw")
    )
    overlap = pl.min_horizontal("z", "we") - pl.max_horizontal("a", "ws")
    return spans.group_by("gw").agg(
        staff_us=pl.when(pl.col("kind") == "staff").then(overlap).otherwise(0).sum(),
        promotion_active=(pl.col("kind") == "promotion").any(),
        event_active=(pl.col("kind") == "event").any(),
        observed_us=pl.when(pl.col("kind") == "observed_staff").then(overlap).otherwise(0).sum(),
        open_us=pl.when(pl.col("kind") == "open").then(overlap).otherwise(0).sum(),
    )


# --- Staff, groups and occupancy: the same definitions as the DuckDB engine's blocks ---


def _people(
    frame: pl.DataFrame, bounds: pl.DataFrame, params: KpiParams, keep: pl.Expr, **columns: pl.Expr
) -> pl.LazyFrame:
    """Rows of ``frame`` matching ``keep`` (staff out unless include_staff) with their branch's bounds.

    Each use filters the in-memory frame itself, in one filter: a lazy frame
    shared by several queries would be cached whole (ten million rows) by
    Polars' common-subplan elimination, and each extra filter step copies
    the rows it keeps.
    """
    if not params.include_staff:
        keep = keep & ~pl.col("is_staff")
    branch = pl.col("branch_id").cast(pl.Enum(bounds["branch_id"].to_list()), strict=False).to_physical()

    def of_branch(name: str) -> pl.Expr:
        return pl.lit(bounds[name]).gather(pl.col("b"))

    return (
        frame.lazy()
        .with_columns(b=branch)
        .filter(pl.col("b").is_not_null() & keep)
        .select(
            "b", s0=of_branch("s0"), s1=of_branch("s1"), grid=of_branch("grid"), cell0=of_branch("cell0"), **columns
        )
    )


def _in_windows(
    frame: pl.DataFrame,
    bounds: pl.DataFrame,
    params: KpiParams,
    lookup: pl.Series,
    keep: pl.Expr,
    time: pl.Expr,
    **columns: pl.Expr,
) -> pl.LazyFrame:
    """``gw`` (the window holding ``time``) and ``columns`` of the rows matching ``keep`` inside the series.

    Only the window id and the asked-for columns leave this query, so little
    is held per row.
    """
    return (
        _people(frame, bounds, params, keep, t=time, **columns)
        .filter((pl.col("t") >= pl.col("s0")) & (pl.col("t") < pl.col("s1")))
        .select(*columns, gw=pl.lit(lookup).gather(_cell(pl.col("t"))))
    )


def _groups(frame: pl.DataFrame, bounds: pl.DataFrame, params: KpiParams, lookup: pl.Series) -> pl.LazyFrame:
    """Per window, from the members of groups only (see the SQL engine): members at their own time, groups placed.

    A person without a group_id is a party of one; a group is one party at
    its earliest member. Buying units = visitors - member visitors + entered groups.
    """
    bound = ("s0", "s1", "grid", "cell0")
    members = pl.col("group_id").is_not_null() & pl.col("action_type").is_in(["entered", "passed"])
    entered = pl.col("action_type") == "entered"
    t = pl.when(entered).then(_us("enter_time")).otherwise(_us("first_seen"))
    own = (
        _in_windows(frame, bounds, params, lookup, members, t, entered=entered)
        .group_by("gw")
        .agg(member_visitors=pl.col("entered").sum().cast(pl.Int64), member_people=pl.len().cast(pl.Int64))
    )
    placed = (
        _people(frame, bounds, params, members, group=pl.col("group_id"), t=t, entered=entered)
        .group_by("b", "group")
        .agg(*(pl.col(c).first() for c in bound), t=pl.col("t").min(), entered=pl.col("entered").any(), n=pl.len())
        .filter((pl.col("t") >= pl.col("s0")) & (pl.col("t") < pl.col("s1")))
        .select("entered", pl.col("n").cast(pl.Int64), gw=pl.lit(lookup).gather(_cell(pl.col("t"))))
        .group_by("gw")
        .agg(
            entered_groups=pl.col("entered").sum().cast(pl.Int64),
            groups=pl.len().cast(pl.Int64),
            entered_group_people=pl.when(pl.col("entered")).then(pl.col("n")).otherwise(0).sum().cast(pl.Int64),
        )
    )
    return own.join(placed, on="gw", how="full", coalesce=True)


def _door_ins(frame: pl.DataFrame, bounds: pl.DataFrame, params: KpiParams, lookup: pl.Series) -> pl.LazyFrame:
    """``gw``, ``at`` (µs) and ``w`` of every door in: enter_time of an entered person, line_in or 1."""
    entered = pl.col("action_type") == "entered"
    t = _us("enter_time")
    return _in_windows(frame, bounds, params, lookup, entered, t, at=t, w=pl.col("line_in").cast(pl.Int64).fill_null(1))


def _door_outs(frame: pl.DataFrame, bounds: pl.DataFrame, params: KpiParams, lookup: pl.Series) -> pl.LazyFrame:
    """``gw``, ``at`` and ``w`` of every door out: exit_time, line_out or 1 when the exit was seen."""
    entered = pl.col("action_type") == "entered"
    t = _us("exit_time")
    weight = pl.col("line_out").cast(pl.Int64).fill_null(pl.col("exit_observed").cast(pl.Int64))
    return _in_windows(frame, bounds, params, lookup, entered, t, at=t, w=weight)


def _flows(frame: pl.DataFrame, bounds: pl.DataFrame, params: KpiParams, lookup: pl.Series) -> pl.LazyFrame:
    """Door counts per window: ins at enter_time, outs at exit_time of every entered person."""
    ins = _door_ins(frame, bounds, params, lookup).group_by("gw").agg(rin=pl.col("w").sum().cast(pl.Int64))
    outs = _door_outs(frame, bounds, params, lookup).group_by("gw").agg(rout=pl.col("w").sum().cast(pl.Int64))
    return ins.join(outs, on="gw", how="full", coalesce=True).with_columns(pl.col("rin", "rout").fill_null(0))


def _reconcile(windows: pl.DataFrame, inputs: KpiInputs, per_window: pl.LazyFrame, threshold: float) -> pl.LazyFrame:
    """Reconciled occupancy, the day's imbalance and its quality flag per window (see the SQL engine).

    Also what the in-window sweep (reconciled_polars) needs: ``sweep`` (open,
    the day has door traffic), ``traffic``, ``start_s`` (the level at the
    window start scaled by the traffic: the same formula one window earlier),
    ``ws`` and ``we``.
    """
    intervals = pl.from_arrow(inputs.intervals)
    assert isinstance(intervals, pl.DataFrame)
    with_hours = intervals.filter(pl.col("kind") == "open")["branch_id"].unique().to_list()
    day = ("branch_id", "slot_date")
    is_open = ~pl.col("branch_id").is_in(with_hours) | (pl.col("open_us") > 0)
    return (
        windows.lazy()
        .select("gw", "branch_id", "slot_date", "seq", "ws", "we")
        .join(per_window.select("gw", "rin", "rout", "open_us"), on="gw", how="left")
        .with_columns(pl.col("rin", "rout", "open_us").fill_null(0))
        # Every door count of the day, open or not: the day's D does not depend on the window size.
        .with_columns(is_open=is_open, fin="rin", fout="rout")
        .sort("branch_id", "seq")
        .with_columns(
            imbalance=(pl.col("fin") - pl.col("fout")).sum().over(day),
            traffic=(pl.col("fin") + pl.col("fout")).sum().over(day),
            day_in=pl.col("fin").sum().over(day),
            cum_net=(pl.col("fin") - pl.col("fout")).cum_sum().over(day),
            cum_traffic=(pl.col("fin") + pl.col("fout")).cum_sum().over(day),
        )
        .select(
            "gw",
            "ws",
            "we",
            "traffic",
            sweep=pl.col("is_open") & (pl.col("traffic") > 0),
            start_s=(pl.col("cum_net") - pl.col("fin") + pl.col("fout")) * pl.col("traffic")
            - pl.col("imbalance") * (pl.col("cum_traffic") - pl.col("fin") - pl.col("fout")),
            imbalance=pl.col("imbalance").cast(pl.Int64),
            reconciled=pl.when(~pl.col("is_open") | (pl.col("traffic") == 0))
            .then(0.0)
            .otherwise(
                pl.max_horizontal(
                    pl.lit(0.0),
                    (pl.col("cum_net") * pl.col("traffic") - pl.col("imbalance") * pl.col("cum_traffic")).cast(
                        pl.Float64
                    )
                    / pl.col("traffic").cast(pl.Float64),
                )
            ),
            # the share compared as a share: 57 of 100 ins is 0.57, which 0.57 * 100 (56.99999999999999) is not
            quality=pl.when(
                pl.when(pl.col("day_in") > 0)
                .then(pl.col("imbalance").abs().cast(pl.Float64) / pl.col("day_in").cast(pl.Float64) > threshold)
                .otherwise(pl.col("imbalance") != 0)
            )
            .then(pl.lit("imbalanced"))
            .otherwise(pl.lit("ok")),
        )
    )


def _queue_waits(inputs: KpiInputs, bounds: pl.DataFrame, lookup: pl.Series) -> pl.LazyFrame:
    """Mean queue wait per window, by queue_enter (the bottleneck score's queue part)."""
    waits = pl.from_arrow(inputs.queue_waits)
    assert isinstance(waits, pl.DataFrame)
    return (
        waits.lazy()
        .join(bounds.lazy().select("branch_id", "s0", "s1", "grid", "cell0"), on="branch_id")
        .with_columns(t=_us("queue_enter"))
        .filter((pl.col("t") >= pl.col("s0")) & (pl.col("t") < pl.col("s1")))
        .select("wait_seconds", gw=pl.lit(lookup).gather(_cell(pl.col("t"))))
        .group_by("gw")
        .agg(queue_wait=pl.col("wait_seconds").mean())
    )


def _baseline(series: pl.LazyFrame, weeks: int) -> pl.LazyFrame:
    """Mean visitors of the same local slot 1..weeks weeks earlier, over windows that exist."""
    current = series.filter(pl.col("is_output")).select("gw", "branch_id", "slot_minute", "slot_fold", "slot_date")
    back = pl.LazyFrame({"j": list(range(1, weeks + 1))}, schema={"j": pl.Int64})
    earlier = series.select("branch_id", "slot_date", "slot_minute", "slot_fold", "visitors")
    return (
        current.join(back, how="cross")
        .with_columns(slot_date=pl.col("slot_date") - pl.duration(days=7 * pl.col("j")))
        .join(earlier, on=["branch_id", "slot_date", "slot_minute", "slot_fold"])
        .group_by("gw")
        .agg(baseline=pl.col("visitors").mean())
    )


def compute(inputs: KpiInputs, params: KpiParams) -> pa.Table:
    """All KPIs of ``inputs`` with Polars; a table of exactly :data:`KPI_SCHEMA`."""
    if inputs.windows.num_rows == 0:
        return KPI_SCHEMA.empty_table()
    windows = _windows(inputs)
    bounds = _branch_bounds(windows, inputs)
    lookup = _cell_window(windows, bounds)
    frame = pl.from_arrow(inputs.movements, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    movements = _movements(frame, bounds, params)
    momentum = params.momentum_windows

    def rolling(expr: pl.Expr) -> pl.Expr:
        return expr.rolling_sum(momentum, min_samples=1).over("branch_id")

    series = (
        windows.lazy()
        .join(bounds.lazy().select("branch_id", "capacity", "customers_per_staff", "min_staff"), on="branch_id")
        .join(_counts(movements, lookup), on="gw", how="left")
        .join(_occupancy(movements, lookup, windows), on="gw", how="left")
        .join(_intervals(inputs, bounds, lookup, windows), on="gw", how="left")
        .join(_queue_waits(inputs, bounds, lookup), on="gw", how="left")
        .join(_groups(frame, bounds, params, lookup), on="gw", how="left")
        .join(_flows(frame, bounds, params, lookup), on="gw", how="left")
        .with_columns(
            pl.col("visitors", "passed", "net", "net_at_start", "tail_us", "staff_us").fill_null(0),
            pl.col("observed_us", "open_us", "rin", "rout").fill_null(0),
            pl.col("member_visitors", "member_people", "entered_groups", "groups", "entered_group_people").fill_null(0),
            pl.col("promotion_active", "event_active").fill_null(False),
        )
        .sort("branch_id", "seq")
        .with_columns(
            # Occupancy just before the window: the running sum of earlier windows' net change.
            carry=pl.col("net").cum_sum().over("branch_id") - pl.col("net"),
            n=rolling(pl.col("seq").is_not_null().cast(pl.Int64)),
            sx=rolling(pl.col("seq")),
            sy=rolling(pl.col("visitors")),
            sxy=rolling(pl.col("seq") * pl.col("visitors")),
            sxx=rolling(pl.col("seq") * pl.col("seq")),
        )
        # One row per window: small, and used twice below (baseline and KPIs),
        # so it is computed once here rather than left to the optimizer.
        .collect()
        .lazy()
    )
    # The reconciled level per window, then inside each window (congestion and utilization use it).
    days = _reconcile(windows, inputs, series, params.imbalance_threshold).collect().sort("gw")
    sweep = door_sweep(_door_ins(frame, bounds, params, lookup), _door_outs(frame, bounds, params, lookup), days)
    in_window = reconciled_in_window(days.lazy(), sweep)
    length = pl.col("we") - pl.col("ws")
    staff_bottleneck = pl.col("congestion") * pl.max_horizontal(pl.lit(0.0), 1.0 - pl.col("adequacy"))
    kpis = (
        series.join(_baseline(series, params.baseline_weeks), on="gw", how="left")
        .join(days.lazy().select("gw", "reconciled", "imbalance", "quality"), on="gw", how="left")
        .join(in_window, on="gw", how="left")
        .filter(pl.col("is_output"))
        .with_columns(
            peak=pl.max_horizontal(
                pl.col("carry") + pl.col("net_at_start"), pl.col("carry") + pl.col("max_after_start")
            ),
            avg_occ=(pl.col("carry") * length + pl.col("tail_us")).cast(pl.Float64) / length.cast(pl.Float64),
            staff=pl.col("staff_us").cast(pl.Float64) / length.cast(pl.Float64),
            momentum=_safe_div(
                pl.col("n") * pl.col("sxy") - pl.col("sx") * pl.col("sy"),
                pl.col("n") * pl.col("sxx") - pl.col("sx") * pl.col("sx"),
            ),
        )
        .with_columns(
            required=pl.max_horizontal(
                pl.col("min_staff").cast(pl.Float64),
                # Round first so that float noise (21 / 1.4 = 15.000000000000002) does not add a person.
                _safe_div(pl.col("peak"), pl.col("customers_per_staff")).round(9).ceil(),
            ).cast(pl.Int64),
            congestion=_safe_div(pl.col("rec_peak"), pl.col("capacity")),
        )
        .with_columns(adequacy=_safe_div(pl.col("staff"), pl.col("required")))
        .with_columns(
            buying_units=pl.col("visitors") - pl.col("member_visitors") + pl.col("entered_groups"),
            parties=pl.col("visitors") + pl.col("passed") - pl.col("member_people") + pl.col("groups"),
            party_people=pl.col("visitors") - pl.col("member_visitors") + pl.col("entered_group_people"),
        )
        .select(
            "branch_id",
            "window_start",
            "window_end",
            window_minutes=pl.lit(params.window_minutes, pl.Int32),
            visitors="visitors",
            passed="passed",
            conversion_proxy=_safe_div(pl.col("visitors"), pl.col("visitors") + pl.col("passed")),
            baseline="baseline",
            traffic_index=_safe_div(pl.col("visitors"), pl.col("baseline")),
            peak_occupancy="peak",
            avg_occupancy="avg_occ",
            congestion_level="congestion",
            growth_momentum="momentum",
            utilization_ratio=_safe_div(pl.col("rec_avg"), pl.col("capacity")),
            staff_on_duty="staff",
            required_staff="required",
            staffing_adequacy="adequacy",
            bottleneck_score=pl.when(pl.col("queue_wait").is_not_null())
            .then(
                pl.max_horizontal(
                    staff_bottleneck.fill_null(0.0),
                    pl.min_horizontal(pl.lit(1.0), pl.col("queue_wait") / params.queue_wait_target_s),
                )
            )
            .when(pl.col("congestion").is_not_null() & pl.col("adequacy").is_not_null())
            .then(staff_bottleneck)
            .otherwise(None),
            mean_dwell_seconds="mean_dwell",
            median_dwell_seconds="median_dwell",
            promotion_active="promotion_active",
            event_active="event_active",
            observed_staff=pl.col("observed_us").cast(pl.Float64) / length.cast(pl.Float64),
            observed_staffing_adequacy=_safe_div(
                pl.col("observed_us").cast(pl.Float64) / length.cast(pl.Float64), pl.col("required")
            ),
            buying_units="buying_units",
            mean_group_size=_safe_div(pl.col("party_people"), pl.col("buying_units")),
            group_conversion=_safe_div(pl.col("buying_units"), pl.col("parties")),
            reconciled_occupancy="reconciled",
            occupancy_imbalance="imbalance",
            data_quality="quality",
            reconciled_peak_occupancy="rec_peak",
            reconciled_avg_occupancy="rec_avg",
            computed_at=pl.lit(params.computed_at).cast(pl.Datetime("us", "UTC")),
        )
        .sort("branch_id", "window_start")
        .collect()
    )
    return kpis.to_arrow().cast(KPI_SCHEMA)
