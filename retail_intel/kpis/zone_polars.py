"""The Polars engine of the zone and queue KPIs: the same definitions as :mod:`retail_intel.kpis.zone_sql`."""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from retail_intel.kpis.zone_inputs import ZoneKpiInputs
from retail_intel.kpis.zone_schema import QUEUE_KPI_SCHEMA, ZONE_KPI_SCHEMA

_ZONE_KEY = ["branch_id", "camera_id", "zone_id"]


def _frame(table: pa.Table) -> pl.LazyFrame:
    frame = pl.from_arrow(table, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    return frame.lazy()


def _ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """null, never inf or NaN, when the denominator is 0 or null (SQL's nullif)."""
    return pl.when(denominator != 0).then(numerator.cast(pl.Float64) / denominator.cast(pl.Float64))


def _window_columns(minutes: int) -> list[pl.Expr]:
    return [
        pl.col("ws").cast(pl.Datetime("us", "UTC")).alias("window_start"),
        pl.col("we").cast(pl.Datetime("us", "UTC")).alias("window_end"),
        pl.lit(minutes, pl.Int32).alias("window_minutes"),
    ]


def _zones(inputs: ZoneKpiInputs, minutes: int) -> pl.DataFrame:
    counted_dwell = pl.col("dwell_seconds").filter(pl.col("counted"))
    visits = (
        _frame(inputs.visits)
        .group_by(*_ZONE_KEY, "ws", "we")
        .agg(
            zone_kind=pl.col("zone_kind").first(),
            visits=pl.len().cast(pl.Int64),
            counted_visits=pl.col("counted").sum().cast(pl.Int64),
            mean_dwell_seconds=counted_dwell.mean(),
            median_dwell_seconds=counted_dwell.median(),
        )
    )
    roi = _frame(inputs.roi).group_by("branch_id", "camera_id", "ws").agg(roi_people=pl.len().cast(pl.Int64))
    return (
        visits.join(roi, on=["branch_id", "camera_id", "ws"], how="left")
        .with_columns(pl.col("roi_people").fill_null(0))
        .select(
            *_ZONE_KEY,
            *_window_columns(minutes),
            "zone_kind",
            "visits",
            "counted_visits",
            "mean_dwell_seconds",
            "median_dwell_seconds",
            "roi_people",
            attention_rate=_ratio(pl.col("counted_visits"), pl.col("roi_people")),
        )
        .sort(*_ZONE_KEY, "window_start")
        .collect()
    )


def _queues(inputs: ZoneKpiInputs, minutes: int) -> pl.DataFrame:
    known = pl.col("abandoned").is_not_null().sum()
    queued = (
        _frame(inputs.queues)
        .group_by(*_ZONE_KEY, "ws", "we")
        .agg(
            people_queued=pl.len().cast(pl.Int64),
            people_served=pl.col("service_seconds").is_not_null().sum().cast(pl.Int64),
            mean_wait_seconds=pl.col("wait_seconds").mean(),
            p90_wait_seconds=pl.col("wait_seconds").quantile(0.9, interpolation="linear"),
            mean_service_seconds=pl.col("service_seconds").mean(),
            abandonment_rate=_ratio(pl.col("abandoned").fill_null(False).sum(), known),
        )
    )
    lengths = (
        _frame(inputs.lengths)
        .group_by(*_ZONE_KEY, "ws", "we")
        .agg(
            peak_queue_length=pl.col("peak_people").max(),
            mean_queue_length=_ratio(pl.col("people_seconds").sum(), pl.col("observed_seconds").sum()),
        )
    )
    return (
        queued.join(lengths, on=[*_ZONE_KEY, "ws", "we"], how="full", coalesce=True)
        .with_columns(pl.col("people_queued", "people_served").fill_null(0))
        .select(
            *_ZONE_KEY,
            *_window_columns(minutes),
            "people_queued",
            "people_served",
            "mean_wait_seconds",
            "p90_wait_seconds",
            "mean_service_seconds",
            "abandonment_rate",
            "peak_queue_length",
            "mean_queue_length",
        )
        .sort(*_ZONE_KEY, "window_start")
        .collect()
    )


def compute(inputs: ZoneKpiInputs, window_minutes: int) -> tuple[pa.Table, pa.Table]:
    """(zone KPIs, queue KPIs) of ``inputs``, as :data:`ZONE_KPI_SCHEMA` and :data:`QUEUE_KPI_SCHEMA`."""
    zones = _zones(inputs, window_minutes).to_arrow().cast(ZONE_KPI_SCHEMA)
    queues = _queues(inputs, window_minutes).to_arrow().cast(QUEUE_KPI_SCHEMA)
    return zones, queues
