"""The reconciled occupancy inside each window, with Polars (the same sweep as :mod:`reconciled_sql`).

``_reconcile`` in the Polars engine gives the reconciled level at window
boundaries; congestion and utilization need it at every instant of a window
(its peak and its time-weighted mean). Between door events the level is
constant, so one sort of the door events by (window, time, outs first) and a
running sum give it after each event. Everything stays an integer: the level
is scaled by the day's traffic ``T``, so an in of weight ``w`` adds
``w * (T - D)``, an out subtracts ``w * (T + D)`` and the true level is the
scaled one divided by ``T`` (``D`` is the day's imbalance; docs/kpis.md).
"""

from __future__ import annotations

import polars as pl

# Sort key: window id, then microseconds since the window start, then outs (0) before ins (1)
# at the same instant; the same layout as the person-by-person sweep.
_OFFSET_BITS = 38


def door_sweep(ins: pl.LazyFrame, outs: pl.LazyFrame, days: pl.DataFrame) -> pl.LazyFrame:
    """Per window with door events: the sums the peak and the mean are made of.

    ``ins`` / ``outs``: ``gw``, ``at`` (µs) and ``w`` (door count) of each
    in / out. ``days``: one row per window, row number = ``gw``, with
    ``sweep`` (open and the day has traffic), ``traffic``, ``imbalance``,
    ``start_s`` (scaled level at the window start), ``ws`` and ``we``.
    Returns ``gw``, ``at_start`` (scaled change at exactly the start),
    ``top`` (highest scaled level after the start), ``first_since`` (µs to
    the first event) and ``area`` (scaled level × µs from the first event to
    the window end, negative levels counted as 0).
    """

    def of(name: str) -> pl.Expr:
        return pl.lit(days[name]).gather(pl.col("gw"))

    key = pl.col("key")
    gw = key // (1 << _OFFSET_BITS)
    since = (key % (1 << _OFFSET_BITS)) // 2
    is_in = pl.col("d") > 0
    return (
        pl.concat([ins.select("gw", "at", d=pl.col("w")), outs.select("gw", "at", d=-pl.col("w"))])
        .filter((pl.col("d") != 0) & of("sweep"))
        .select(
            key=pl.col("gw") * (1 << _OFFSET_BITS) + (pl.col("at") - of("ws")) * 2 + is_in.cast(pl.Int64),
            ds=pl.when(is_in)
            .then(pl.col("d") * (of("traffic") - of("imbalance")))
            .otherwise(pl.col("d") * (of("traffic") + of("imbalance"))),
        )
        .sort("key")
        .with_columns(gw=gw, since=since, cs=pl.col("ds").cum_sum())
        .with_columns(
            # The running sum just before the window's first event, carried to its other events.
            base=pl.when(pl.col("gw") != pl.col("gw").shift(1).fill_null(-1))
            .then(pl.col("cs") - pl.col("ds"))
            .forward_fill(),
            # The next event of the same window, or the window end: how long this level lasts.
            until=pl.when(pl.col("gw").shift(-1) == pl.col("gw"))
            .then(pl.col("since").shift(-1))
            .otherwise(of("we") - of("ws")),
        )
        .with_columns(level=of("start_s") + pl.col("cs") - pl.col("base"))
        .group_by("gw")
        .agg(
            at_start=pl.when(pl.col("since") == 0).then(pl.col("ds")).otherwise(0).sum(),
            top=pl.when(pl.col("since") > 0).then(pl.col("level")).max(),
            first_since=pl.col("since").min(),
            area=(pl.col("level").clip(lower_bound=0) * (pl.col("until") - pl.col("since"))).sum(),
        )
    )


def reconciled_in_window(days: pl.LazyFrame, sweep: pl.LazyFrame) -> pl.LazyFrame:
    """``gw``, ``rec_peak`` and ``rec_avg`` of every window: 0 where closed or the day has no door traffic."""
    length = pl.col("we") - pl.col("ws")
    open_level = pl.col("start_s").clip(lower_bound=0)
    return (
        days.join(sweep, on="gw", how="left")
        .with_columns(pl.col("at_start").fill_null(0), pl.col("area").fill_null(0))
        .select(
            "gw",
            rec_peak=pl.when(pl.col("sweep"))
            .then(
                pl.max_horizontal(pl.lit(0, pl.Int64), pl.col("start_s") + pl.col("at_start"), pl.col("top")).cast(
                    pl.Float64
                )
                / pl.col("traffic").cast(pl.Float64)
            )
            .otherwise(0.0),
            # The level before the first event (or all window long without one), then the events' area.
            rec_avg=pl.when(pl.col("sweep"))
            .then(
                (open_level * pl.col("first_since").fill_null(length) + pl.col("area")).cast(pl.Float64)
                / (pl.col("traffic") * length).cast(pl.Float64)
            )
            .otherwise(0.0),
        )
    )
