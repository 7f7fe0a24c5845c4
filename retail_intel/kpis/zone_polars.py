"""The Polars engine of the zone and queue KPIs: the same definitions as :mod:`retail_intel.kpis.zone_sql`."""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from retail_intel.kpis.zone_inputs import CELL_SHIFT, ZoneKpiInputs
from retail_intel.kpis.zone_schema import QUEUE_KPI_SCHEMA, ZONE_KPI_SCHEMA

_ZONE_KEY = ["branch_id", "camera_id", "zone_id"]
_PLACE = ["wid", "camera_id", "zone_id"]


def _frame(table: pa.Table) -> pl.LazyFrame:
    frame = pl.from_arrow(table, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    return frame.lazy()


def _ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """null, never inf or NaN, when the denominator is 0 or null (SQL's nullif)."""
    return pl.when(denominator != 0).then(numerator.cast(pl.Float64) / denominator.cast(pl.Float64))


def _placed(table: pa.Table, inputs: ZoneKpiInputs) -> pl.LazyFrame:
    """``table`` with each row's window id (rows of cells outside the windows asked for drop out)."""
    return _frame(table).join(_frame(inputs.cells), on="cell", how="inner")


def _window_columns(minutes: int) -> list[pl.Expr]:
    return [
        pl.col("ws").cast(pl.Datetime("us", "UTC")).alias("window_start"),
        pl.col("we").cast(pl.Datetime("us", "UTC")).alias("window_end"),
        pl.lit(minutes, pl.Int32).alias("window_minutes"),
    ]


# Rows of counted visits per group_by when taking medians: Polars gathers each group's values,
# which over 8 million rows costs about 700 MB at once; in slices of whole branches it costs a fraction.
_MEDIAN_SLICE_ROWS = 2_000_000


def _dwell(inputs: ZoneKpiInputs) -> pl.DataFrame:
    """Mean and median dwell of counted visits per window, camera and zone, a few branches at a time."""
    counted = _frame(inputs.visits).filter(pl.col("counted")).select("cell", "camera_id", "zone_id", "dwell_seconds")
    branch = pl.col("cell") // (1 << CELL_SHIFT)
    sizes = counted.group_by(branch.alias("code")).len().sort("code").collect()
    parts: list[pl.DataFrame] = []
    first, rows = None, 0
    codes, lengths = sizes.get_column("code").to_list(), sizes.get_column("len").to_list()
    for index, (code, length) in enumerate(zip(codes, lengths, strict=True)):
        first = code if first is None else first
        rows += length
        if rows < _MEDIAN_SLICE_ROWS and index + 1 < len(codes):
            continue
        part = counted.filter(branch.is_between(first, code)).join(_frame(inputs.cells), on="cell", how="inner")
        parts.append(
            part.group_by(_PLACE)
            .agg(
                mean_dwell_seconds=pl.col("dwell_seconds").mean(),
                median_dwell_seconds=pl.col("dwell_seconds").median(),
            )
            .collect()
        )
        first, rows = None, 0
    if not parts:
        return pl.DataFrame(
            schema={"wid": pl.Int32, "camera_id": pl.Categorical, "zone_id": pl.Categorical,
                    "mean_dwell_seconds": pl.Float64, "median_dwell_seconds": pl.Float64}
        )  # fmt: skip
    return pl.concat(parts)


def _zones(inputs: ZoneKpiInputs, minutes: int) -> pl.DataFrame:
    counts = (
        _placed(inputs.visits, inputs)
        .group_by(_PLACE)
        .agg(
            # the kind of the zone's latest visits (by cell), the last name of two there; as zone_sql
            zone_kind=pl.col("zone_kind").filter(pl.col("cell") == pl.col("cell").max()).cast(pl.String).max(),
            visits=pl.len().cast(pl.Int64),
            counted_visits=pl.col("counted").sum().cast(pl.Int64),
        )
    )
    visits = counts.join(_dwell(inputs).lazy(), on=_PLACE, how="left")
    roi = _placed(inputs.roi, inputs).group_by("wid", "camera_id").agg(roi_people=pl.col("people").sum().cast(pl.Int64))
    return (
        visits.join(_frame(inputs.windows), on="wid", how="inner")
        .join(roi, on=["wid", "camera_id"], how="left")
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
        _placed(inputs.queues, inputs)
        .group_by(_PLACE)
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
        # the inputs hold each cell's sums and peak: summed and maximised again per window
        _placed(inputs.lengths, inputs)
        .group_by(_PLACE)
        .agg(
            peak_queue_length=pl.col("peak_people").max(),
            mean_queue_length=_ratio(pl.col("people_seconds").sum(), pl.col("observed_seconds").sum()),
        )
    )
    return (
        queued.join(lengths, on=_PLACE, how="full", coalesce=True)
        .join(_frame(inputs.windows), on="wid", how="inner")
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
