"""The library entry point of ``retail-intel etl``: hourly KPIs, then the feature table.

:func:`run_etl` recomputes the 60-minute KPIs of every active branch (or one
branch) over a range, stores them in the KPI store, reads the stored hourly
KPI rows back (with the history and the neighbors the features need), builds
the feature table with :func:`~retail_intel.etl.features.build_features` and
merges the affected rows into ``DATA_DIR/features/hourly/<branch>.parquet``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from retail_intel.config.models import WEEKDAYS, Branch, BranchState
from retail_intel.datadir import require_retail_data
from retail_intel.errors import DataError, InputError
from retail_intel.etl.features import BranchFacts, build_features, features_to_arrow
from retail_intel.etl.schema import FEATURE_SCHEMA, FEATURE_WINDOW_MINUTES, KPI_INPUT_COLUMNS, LAG_HOURS
from retail_intel.etl.store import read_features, write_branch_features
from retail_intel.kpis.compute import ENGINES, branch_info, compute_kpis_for, config_intervals, read_movement_inputs
from retail_intel.kpis.schema import KPI_SCHEMA
from retail_intel.kpis.store import Recomputed, kpi_path, stored_window_ends, write_kpis
from retail_intel.timeutil import require_aware

if TYPE_CHECKING:
    from retail_intel.config.loader import Config

# (stage, done, total): stage is "kpis" while KPI files are written and
# "features" while feature files are, done counting branches.
Progress = Callable[[str, int, int], None]

# A changed hour feeds the next hour's lags and means for up to the longest
# lag, and the previous hour's visitors_next_hour: those rows are rewritten too.
_AFTER = dt.timedelta(hours=max(LAG_HOURS))
_BEFORE = dt.timedelta(hours=1)


@dataclass(frozen=True)
class EtlResult:
    branches: tuple[str, ...]  # branches recomputed
    kpi_windows: int  # hourly KPI rows recomputed and stored
    feature_rows: int  # feature rows written (the recomputed windows plus the hours that depend on them)
    unknown_branches: tuple[str, ...] = ()  # movements of branches the config does not define (skipped)
    kpi_paths: list[Path] = field(default_factory=list)
    feature_paths: list[Path] = field(default_factory=list)
    features: pa.Table = field(default_factory=FEATURE_SCHEMA.empty_table)  # the rows written
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    engine: str = "duckdb"
    seconds: float = 0.0


def branch_facts(branch: Branch, config: Config) -> BranchFacts:
    """Timezone, neighbors, opening minutes per weekday and holiday dates of ``branch``."""
    opening = {WEEKDAYS.index(day): span.minutes for day, span in branch.opening_hours.items()}
    return BranchFacts(
        branch_id=branch.id,
        timezone=branch.timezone,
        neighbors=tuple(branch.neighbors),
        opening=opening,
        holidays=frozenset(h.date for h in config.holidays_for(branch.id)),
    )


def _chosen(config: Config, branch: str | None) -> list[Branch]:
    if branch is not None:
        return [config.branch(branch)]  # named explicitly: run it whatever its state
    return [b for b in config.branches if b.state is BranchState.active]


def _per_branch(table: pa.Table) -> dict[str, pa.Table]:
    """The rows of each branch, sorted by window start."""
    if table.num_rows == 0:
        return {}
    table = table.sort_by([("branch_id", "ascending"), ("window_start", "ascending")])
    runs = (
        pl.DataFrame(table.select(["branch_id"]))
        .with_row_index("row")
        .group_by("branch_id", maintain_order=True)
        .agg(first=pl.col("row").min(), count=pl.len())
    )
    return {
        str(row["branch_id"]): table.slice(int(row["first"]), int(row["count"])) for row in runs.iter_rows(named=True)
    }


def _stored_kpis(data_dir: Path, branch_ids: Sequence[str]) -> pl.DataFrame:
    """The stored hourly KPI rows of ``branch_ids`` (the columns the features use)."""
    paths = [p for b in sorted(set(branch_ids)) if (p := kpi_path(data_dir, FEATURE_WINDOW_MINUTES, b)).exists()]
    if not paths:
        return pl.DataFrame(KPI_SCHEMA.empty_table().select(list(KPI_INPUT_COLUMNS)))
    try:
        return pl.scan_parquet([str(p) for p in paths], glob=False).select(list(KPI_INPUT_COLUMNS)).collect()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"{paths[0].parent}: cannot read the hourly KPI files ({exc})") from exc


# Feature columns that copy the hour's own KPI row: where they differ, the KPI row changed after the features were built.
_COPIED = ("visitors", "passed", "promotion_active", "event_active")


def _key_types() -> list[pl.Expr]:
    """branch_id and window_start in one dtype, whatever file (KPI, feature) they came from."""
    return [pl.col("branch_id").cast(pl.String), pl.col("window_start").cast(pl.Datetime("us", "UTC"))]


def _hours(frame: pl.DataFrame) -> pl.DataFrame:
    """The (branch_id, window_start) columns of ``frame``."""
    return frame.select(_key_types())


def _unfeatured_hours(stored: pl.DataFrame, data_dir: Path, branch_ids: Sequence[str]) -> pl.DataFrame:
    """(branch_id, window_start) of the stored hourly KPI rows of ``branch_ids`` that their feature rows do not reflect.

    Such hours were stored without (or after) their features: by ``kpis --window 60m``
    (which also recomputes hours after late movements), or by an etl run stopped
    between its KPI and feature writes. A range run counts them as recomputed;
    otherwise, lying outside ``--from``/``--to``, their feature rows would stay
    missing or stale, and so would those of the hours that read them.
    """
    key = ["branch_id", "window_start"]
    wanted = [*key, *_COPIED]
    kpi_rows = stored.select(wanted).with_columns(_key_types()).filter(pl.col("branch_id").is_in(list(branch_ids)))
    featured = [pl.DataFrame(read_features(data_dir, branch_id=b).select(wanted)) for b in branch_ids]
    features = pl.concat(featured).with_columns(_key_types())
    joined = kpi_rows.join(features, on=key, how="left", suffix="_feature")
    differs = pl.any_horizontal(pl.col(c).cast(features.schema[c]).ne_missing(pl.col(f"{c}_feature")) for c in _COPIED)
    return joined.filter(differs).select(key)


def _affected_rows(
    features: pl.DataFrame, changed: pl.DataFrame, chosen: Sequence[str], neighbors: Mapping[str, Sequence[str]]
) -> pl.DataFrame:
    """Feature rows of the chosen branches whose inputs the changed hours (``_hours`` frame) may have changed.

    A neighbor's changed hours count too (``neighbor_visitors``): a range run
    can fill a neighbor's empty hours before ``--from`` that the branch's own
    recomputed windows do not reach.
    """
    spans = (
        changed.group_by("branch_id")
        .agg(first=pl.col("window_start").min(), last=pl.col("window_start").max())
        .rename({"branch_id": "source"})
    )
    readers = pl.DataFrame(
        [(b, source) for b in chosen for source in (b, *neighbors.get(b, ()))],
        schema={"branch_id": pl.String, "source": pl.String},
        orient="row",
    )
    return (
        features.filter(pl.col("branch_id").is_in(list(chosen)))
        .join(readers.join(spans, on="source").drop("source"), on="branch_id")
        .filter(pl.col("window_start").is_between(pl.col("first") - _BEFORE, pl.col("last") + _AFTER))
        .drop("first", "last")
        .unique(subset=["branch_id", "window_start"], maintain_order=True)
        .sort("branch_id", "window_start")
    )


def run_etl(
    config: Config,
    data_dir: Path,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    branch: str | None = None,
    engine: str = "duckdb",
    progress: Progress | None = None,
    range_names: tuple[str, str] = ("start", "end"),
) -> EtlResult:
    """Recompute hourly KPIs over ``[start, end)`` (default: all movements) and the features they feed.

    Every active branch, or just ``branch``. KPI rows go to the KPI store
    (``DATA_DIR/kpis/60m/``); feature rows of the recomputed windows, plus the
    hour before and the 168 hours after them (their lags, means and target
    read the recomputed hours), replace earlier rows in
    ``DATA_DIR/features/hourly/<branch>.parquet``. Neighbor traffic is read
    from the KPI store, so with ``branch`` a neighbor's stored KPIs are used
    as they are. ``range_names`` name ``start`` and ``end`` in messages (the
    caller's flags, such as ``--from`` and ``--to``).
    """
    began = time.perf_counter()
    # a str is taken as load_config and create_app take one
    data_dir = Path(data_dir)
    if engine not in ENGINES:
        raise InputError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    # a naive time would be read as the machine's local time
    start = None if start is None else require_aware(start, "start")
    end = None if end is None else require_aware(end, "end")
    if start is not None and end is not None and end <= start:
        first, last = range_names
        raise InputError(f"{last} must be after {first}, got {first} {start.isoformat()} {last} {end.isoformat()}")
    require_retail_data(data_dir)  # a mistyped --data-dir is not "no movements"
    chosen = _chosen(config, branch)
    ids = [b.id for b in chosen]
    report = progress or (lambda stage, done, total: None)
    if not ids:  # every branch inactive or closed: nothing to do
        return EtlResult((), 0, 0, start=start, end=end, engine=engine, seconds=time.perf_counter() - began)

    read_at = dt.datetime.now(dt.UTC)  # before the movements are read: see Recomputed
    # Reading every branch and dropping the inactive ones afterwards is about
    # twice as fast as filtering string ids while the files are scanned.
    movements = read_movement_inputs(data_dir, None if branch is None else ids)
    computed = compute_kpis_for(
        [branch_info(b) for b in chosen],
        data_dir,
        window_minutes=FEATURE_WINDOW_MINUTES,
        intervals=config_intervals(config),
        start=start,
        end=end,
        engine=engine,
        write=False,
        # A range run also fills the windows between the stored ones and --from (the
        # empty hours after an earlier run's last movement), as a full run has them.
        stored_ends=None if start is None else stored_window_ends(data_dir, FEATURE_WINDOW_MINUTES, ids),
        movements=movements,
        read_at=read_at,
    )
    kpis = computed.table
    configured = {b.id for b in config.branches}
    by_branch = _per_branch(kpis)
    kpi_paths: list[Path] = []
    report("kpis", 0, len(by_branch))
    for done, (branch_id, rows) in enumerate(by_branch.items(), start=1):
        # every window of the branch in the range is among its rows: a stored one that is not
        # has lost its movements (a video redone with a corrected start) and goes
        kpi_paths.extend(
            write_kpis(rows, data_dir, Recomputed((branch_id,), FEATURE_WINDOW_MINUTES, start, end, read_at))
        )
        report("kpis", done, len(by_branch))
    # a chosen branch with no movements left in the range: its stored windows there went with them
    emptied = tuple(branch_id for branch_id in ids if branch_id not in by_branch)
    if emptied:
        kpi_paths.extend(
            write_kpis(
                KPI_SCHEMA.empty_table(), data_dir, Recomputed(emptied, FEATURE_WINDOW_MINUTES, start, end, read_at)
            )
        )

    # Neighbors' rows feed neighbor_visitors; they are read, never written.
    neighbors = {n for b in chosen for n in b.neighbors}
    stored = _stored_kpis(data_dir, [*ids, *neighbors])
    facts = [branch_facts(b, config) for b in config.branches]
    changed = pl.concat(
        [_hours(pl.DataFrame(kpis.select(["branch_id", "window_start"]))), _unfeatured_hours(stored, data_dir, ids)]
    )
    touched = sorted(set(changed["branch_id"].to_list()))
    features = _affected_rows(build_features(stored, facts), changed, touched, {b.id: b.neighbors for b in chosen})
    table = features_to_arrow(features)
    written = _per_branch(table)
    # every chosen branch: one whose KPI windows all lost their movements has no rows to write,
    # and its stored feature rows of those hours must still go
    written.update({b: FEATURE_SCHEMA.empty_table() for b in ids if b not in written})
    feature_paths: list[Path] = []
    report("features", 0, len(written))
    for done, (branch_id, rows) in enumerate(written.items(), start=1):
        windows = stored.filter(pl.col("branch_id").cast(pl.String) == branch_id)["window_start"].to_arrow()
        path = write_branch_features(rows, data_dir, branch_id, windows)
        if path is not None:
            feature_paths.append(path)
        report("features", done, len(written))
    return EtlResult(
        branches=tuple(ids),
        kpi_windows=kpis.num_rows,
        feature_rows=table.num_rows,
        unknown_branches=tuple(b for b in computed.unknown_branches if b not in configured),
        kpi_paths=kpi_paths,
        feature_paths=feature_paths,
        features=table,
        start=start,
        end=end,
        engine=engine,
        seconds=time.perf_counter() - began,
    )
