"""Hourly KPI rows -> the feature table, vectorized with Polars (pure, no I/O).

:func:`build_features` takes the hourly KPI rows of some branches (their
neighbors' rows included, for ``neighbor_visitors``) plus what the config says
about each branch (:class:`BranchFacts`) and returns one feature row per KPI
row, in :data:`~retail_intel.etl.schema.FEATURE_SCHEMA`. Definitions:
docs/etl.md.

Lags and the next-hour target are equality joins on ``window_start`` shifted
by an exact number of hours, so a missing hour gives null instead of silently
taking the row before it. Trailing means are time-based rolling windows, so
gaps in the series shrink the mean's sample rather than stretching its span.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import polars as pl
import pyarrow as pa

from retail_intel.config.calendar import weekly_spans
from retail_intel.etl.schema import FEATURE_COLUMNS, FEATURE_SCHEMA, KPI_INPUT_COLUMNS, LAG_HOURS, ROLLING_HOURS

_KEY = ["branch_id", "window_start"]


@dataclass(frozen=True)
class BranchFacts:
    """What the features need to know about one branch from the config."""

    branch_id: str
    timezone: str = "UTC"
    neighbors: tuple[str, ...] = ()
    # weekday (0 = Monday) -> (opening minute, closing minute) after the local day's midnight,
    # the closing minute past 1440 for a span ending at 24:00 or after midnight (TimeRange.minutes);
    # a weekday missing here is closed all day.
    opening: Mapping[int, tuple[int, int]] = field(default_factory=dict)
    holidays: frozenset[dt.date] = frozenset()


def _facts_frames(facts: Iterable[BranchFacts]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(neighbor pairs, holiday dates) as small frames to join on."""
    facts = list(facts)
    pairs = pl.DataFrame(
        {
            "branch_id": [f.branch_id for f in facts for _ in f.neighbors],
            "neighbor_id": [n for f in facts for n in f.neighbors],
        },
        schema={"branch_id": pl.String, "neighbor_id": pl.String},
    ).unique()
    holidays = pl.DataFrame(
        {
            "branch_id": [f.branch_id for f in facts for _ in f.holidays],
            "local_date": [day for f in facts for day in sorted(f.holidays)],
        },
        schema={"branch_id": pl.String, "local_date": pl.Date},
    ).with_columns(is_holiday=pl.lit(True))
    return pairs, holidays


def _opening_spans(kpis: pl.DataFrame, facts: Iterable[BranchFacts]) -> pl.DataFrame:
    """Each branch's opening spans in UTC over the time its rows cover, sorted by branch and ``open_from``.

    Laid out by :func:`~retail_intel.config.calendar.weekly_spans`, as the
    KPIs lay out theirs, so an opening or closing time in a repeated or
    skipped hour is the same instant for ``is_open`` as for the KPIs.
    ``reach`` is the latest ``open_to`` of the branch's spans so far, so that
    one as-of match per window answers "does any span overlap it".
    """
    by_id = {f.branch_id: f for f in facts if f.opening}
    bounds = kpis.group_by("branch_id").agg(pl.col("window_start").min(), pl.col("window_end").max())
    rows: list[tuple[str, dt.datetime, dt.datetime]] = []
    for branch_id, first, last in bounds.iter_rows():
        f = by_id.get(branch_id)
        if f is None:
            continue
        rows.extend((branch_id, a, z) for a, z in weekly_spans(ZoneInfo(f.timezone), f.opening, first, last))
    ts = pl.Datetime("us", "UTC")
    spans = pl.DataFrame(rows, schema={"branch_id": pl.String, "open_from": ts, "open_to": ts}, orient="row")
    return spans.sort("branch_id", "open_from").select(
        "branch_id", "open_from", reach=pl.col("open_to").cum_max().over("branch_id")
    )


def _with_is_open(frame: pl.DataFrame, spans: pl.DataFrame, with_hours: set[str]) -> pl.DataFrame:
    """Add ``is_open``: the window ``[window_start, window_end)`` overlaps one of its branch's ``spans``.

    A branch without any opening hours (not in ``with_hours``) is open all the time, as
    the KPIs take it: nothing says when it closes.

    The last span starting before the window ends is matched (not at its end:
    a span opening at 10:00 does not overlap the 09:00 window); the window
    overlaps a span when the spans up to it reach past its start.
    """
    return (
        frame.sort("branch_id", "window_end")
        .join_asof(
            spans,
            left_on="window_end",
            right_on="open_from",
            by="branch_id",
            strategy="backward",
            allow_exact_matches=False,
            check_sortedness=False,  # both sides were just sorted by it within each branch, as it needs
        )
        .with_columns(
            is_open=pl.when(pl.col("branch_id").is_in(list(with_hours)))
            .then((pl.col("reach") > pl.col("window_start")).fill_null(False))
            .otherwise(True)
        )
        .drop("open_from", "reach")
    )


def _local_parts(kpis: pl.DataFrame, timezones: Mapping[str, str]) -> pl.DataFrame:
    """Add local_date, hour_of_day and weekday, one timezone at a time.

    Polars converts a whole column to one zone, so the rows are split by their
    branch's zone (a handful of zones, each converted in one vectorized step).
    """
    zone_of = pl.col("branch_id").replace_strict(dict(timezones), default="UTC", return_dtype=pl.String)
    with_zone = kpis.with_columns(_zone=zone_of)
    parts = []
    for zone in sorted(with_zone["_zone"].unique().to_list()):
        local = pl.col("window_start").dt.convert_time_zone(zone)
        parts.append(
            with_zone.filter(pl.col("_zone") == zone).with_columns(
                local_date=local.dt.date(),
                hour_of_day=local.dt.hour().cast(pl.Int8),
                weekday=(local.dt.weekday() - 1).cast(pl.Int8),  # Polars counts Monday as 1
            )
        )
    if not parts:
        return with_zone.with_columns(
            local_date=pl.lit(None, pl.Date),
            hour_of_day=pl.lit(None, pl.Int8),
            weekday=pl.lit(None, pl.Int8),
        ).drop("_zone")
    return pl.concat(parts).drop("_zone")


def _shifted(kpis: pl.DataFrame, hours: int, name: str) -> pl.DataFrame:
    """``visitors`` keyed by the window ``hours`` later (negative: earlier), as column ``name``."""
    return kpis.select(
        "branch_id",
        (pl.col("window_start") + pl.duration(hours=hours)).alias("window_start"),
        pl.col("visitors").alias(name),
    )


def build_features(kpis: pl.DataFrame, facts: Sequence[BranchFacts]) -> pl.DataFrame:
    """One feature row per row of ``kpis`` (hourly KPI rows), sorted by branch and window start.

    ``kpis`` needs :data:`~retail_intel.etl.schema.KPI_INPUT_COLUMNS`, at most one
    row per (branch_id, window_start). Branches without facts are taken as UTC,
    without neighbors, opening hours or holidays.
    """
    kpis = kpis.select(list(KPI_INPUT_COLUMNS)).with_columns(
        pl.col("branch_id").cast(pl.String),
        # in the unit of the opening spans matched to them (and of FEATURE_SCHEMA)
        pl.col("window_start", "window_end").dt.convert_time_zone("UTC").dt.cast_time_unit("us"),
    )
    pairs, holidays = _facts_frames(facts)
    frame = _local_parts(kpis, {f.branch_id: f.timezone for f in facts})
    # Overlap in UTC with the KPIs' own opening spans, not by local minute of day: the two
    # passes of a repeated hour have the same local minutes, yet a closing time inside it
    # means its first pass only (docs/config.md), and likewise for a time the clocks skip.
    frame = _with_is_open(frame, _opening_spans(kpis, facts), {f.branch_id for f in facts if f.opening})
    frame = frame.join(holidays, on=["branch_id", "local_date"], how="left").with_columns(
        is_weekend=pl.col("weekday") >= 5,
        is_holiday=pl.col("is_holiday").fill_null(False),
    )
    for hours in LAG_HOURS:
        frame = frame.join(_shifted(kpis, hours, f"visitors_lag_{hours}h"), on=_KEY, how="left")
    frame = frame.join(_shifted(kpis, -1, "visitors_next_hour"), on=_KEY, how="left")
    neighbor_means = (
        pairs.join(kpis.select("branch_id", "window_start", "visitors"), left_on="neighbor_id", right_on="branch_id")
        .group_by(_KEY)
        .agg(neighbor_visitors=pl.col("visitors").mean())
    )
    frame = frame.join(neighbor_means, on=_KEY, how="left").sort(_KEY)
    # closed="left": the window [t - h, t) holds the h hours before this one, not this one.
    frame = frame.with_columns(
        pl.col("visitors")
        .cast(pl.Float64)
        .rolling_mean_by("window_start", window_size=f"{hours}h", closed="left")
        .over("branch_id")
        .alias(f"visitors_mean_{hours}h")
        for hours in ROLLING_HOURS
    )
    return frame.select(list(FEATURE_COLUMNS))


def features_to_arrow(frame: pl.DataFrame) -> pa.Table:
    """The feature frame as an Arrow table of exactly :data:`FEATURE_SCHEMA`."""
    return frame.select(list(FEATURE_COLUMNS)).to_arrow().cast(FEATURE_SCHEMA)
