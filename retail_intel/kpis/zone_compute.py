"""The library entry point of the zone and queue KPIs (``kpis --zones``, ``zones``, serve, report).

Reads the zone tables and the movements of cameras with zones, prepares the
inputs once (:mod:`retail_intel.kpis.zone_inputs`) and runs one engine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from retail_intel.errors import DataError, InputError
from retail_intel.kpis.zone_inputs import ZoneKpiInputs, prepare_zone_inputs
from retail_intel.kpis.zone_schema import QUEUE_KPI_SCHEMA, QUEUE_WAIT_INPUT_SCHEMA, ZONE_KPI_SCHEMA
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.store import movements_root
from retail_intel.movements.zone_store import QUEUE_LENGTHS_DIR, QUEUE_VISITS_DIR, ZONE_TABLES, ZONE_VISITS_DIR
from retail_intel.storage import is_plain_name, parquet_files

if TYPE_CHECKING:
    from retail_intel.config.loader import Config

ZONE_ENGINES = ("duckdb", "polars")
_MOVEMENT_COLUMNS = ["branch_id", "camera_id", "action_type", "enter_time", "first_seen"]
# The columns of each zone table the KPIs use: the engine inputs' columns and the time placed in a window.
_KEY = ["branch_id", "camera_id", "zone_id"]
_VISIT_COLUMNS = [*_KEY, "zone_kind", "dwell_seconds", "counted", "enter_time"]
_QUEUE_COLUMNS = [*_KEY, "wait_seconds", "service_seconds", "abandoned", "queue_enter"]
_LENGTH_COLUMNS = [*_KEY, "observed_seconds", "people_seconds", "peak_people", "minute"]


@dataclass(frozen=True)
class ZoneKpiResult:
    zones: pa.Table  # ZONE_KPI_SCHEMA
    queues: pa.Table  # QUEUE_KPI_SCHEMA
    engine: str
    window_minutes: int


def _files(root: Path, branch_ids: Sequence[str]) -> list[str]:
    return [str(p) for b in sorted(set(branch_ids)) if is_plain_name(b) for p in parquet_files(root / b)]


def _read(root: Path, branch_ids: Sequence[str], schema: pa.Schema, columns: Sequence[str] | None = None) -> pa.Table:
    """``columns`` (all by default) of every file under ``root/<branch>/``.

    Polars opens many small files fast. Text columns (ids, kinds) come back
    dictionary-encoded and only the columns the KPIs use are read, which
    keeps millions of rows small (docs/zones.md).
    """
    import polars as pl

    wanted = pa.schema([schema.field(name) for name in (columns or schema.names)])
    files = _files(root, branch_ids)
    if not files:
        return wanted.empty_table()
    text = [f.name for f in wanted if pa.types.is_string(f.type)]
    try:
        frame = (
            pl.scan_parquet(files, hive_partitioning=False)
            .select(wanted.names)
            .with_columns(pl.col(text).cast(pl.Categorical))
            .collect()
        )
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"{root}: cannot read the Parquet files ({exc})") from exc
    return frame.to_arrow()


def read_queue_waits(data_dir: Path, branch_ids: Sequence[str] | None = None) -> pa.Table:
    """Waits of people served from a queue (:data:`QUEUE_WAIT_INPUT_SCHEMA`), for the bottleneck score."""
    root = data_dir / QUEUE_VISITS_DIR
    if branch_ids is None:
        branch_ids = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    queues = _read(root, branch_ids, ZONE_TABLES[QUEUE_VISITS_DIR], QUEUE_WAIT_INPUT_SCHEMA.names)
    waits = queues.filter(pc.is_valid(queues.column("wait_seconds")))
    return waits.cast(QUEUE_WAIT_INPUT_SCHEMA)


def run_zone_engine(inputs: ZoneKpiInputs, window_minutes: int, engine: str) -> tuple[pa.Table, pa.Table]:
    if engine == "duckdb":
        from retail_intel.kpis import zone_sql

        return zone_sql.compute(inputs, window_minutes)
    if engine == "polars":
        from retail_intel.kpis import zone_polars

        return zone_polars.compute(inputs, window_minutes)
    raise InputError(f"--engine must be one of {', '.join(ZONE_ENGINES)}, got {engine!r}")


def compute_zone_kpis_for(
    timezones: Mapping[str, ZoneInfo],
    cameras_with_zones: set[tuple[str, str]],
    data_dir: Path,
    *,
    window_minutes: int,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    engine: str = "duckdb",
) -> ZoneKpiResult:
    """Zone and queue KPIs of the branches in ``timezones`` from the store.

    ``cameras_with_zones`` ((branch, camera) pairs) limits the movements read
    for the attention rate to the cameras that have zones.
    """
    if engine not in ZONE_ENGINES:
        raise InputError(f"--engine must be one of {', '.join(ZONE_ENGINES)}, got {engine!r}")
    if window_minutes <= 0 or 1440 % window_minutes:
        raise InputError(f"--window must divide a day (1440 minutes) evenly, got {window_minutes} minutes")
    if start is not None and end is not None and end <= start:
        raise InputError(f"--to must be after --from, got from {start.isoformat()} to {end.isoformat()}")
    branches = sorted(timezones)
    visits = _read(data_dir / ZONE_VISITS_DIR, branches, ZONE_TABLES[ZONE_VISITS_DIR], _VISIT_COLUMNS)
    queues = _read(data_dir / QUEUE_VISITS_DIR, branches, ZONE_TABLES[QUEUE_VISITS_DIR], _QUEUE_COLUMNS)
    lengths = _read(data_dir / QUEUE_LENGTHS_DIR, branches, ZONE_TABLES[QUEUE_LENGTHS_DIR], _LENGTH_COLUMNS)
    movements = _camera_movements(data_dir, {b for b, _ in cameras_with_zones}, cameras_with_zones)
    inputs = prepare_zone_inputs(visits, queues, lengths, movements, timezones, window_minutes, start=start, end=end)
    del visits, queues, lengths, movements  # the prepared inputs replace them: free the memory before the engine
    zones, queue_kpis = run_zone_engine(inputs, window_minutes, engine)
    return ZoneKpiResult(zones, queue_kpis, engine, window_minutes)


def _camera_movements(data_dir: Path, branches: set[str], cameras: set[tuple[str, str]]) -> pa.Table:
    import polars as pl

    files = _files(movements_root(data_dir), sorted(branches))
    if not files:
        return MOVEMENT_SCHEMA.empty_table().select(_MOVEMENT_COLUMNS)
    wanted = pl.DataFrame(
        {"branch_id": [b for b, _ in cameras], "camera_id": [c for _, c in cameras]},
        schema={"branch_id": pl.String, "camera_id": pl.String},
    )
    try:
        frame = (
            pl.scan_parquet(files, hive_partitioning=False)
            .select(_MOVEMENT_COLUMNS)
            .join(wanted.lazy(), on=["branch_id", "camera_id"], how="semi")
            .with_columns(pl.col("branch_id", "camera_id", "action_type").cast(pl.Categorical))
            .collect()
        )
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"{movements_root(data_dir)}: cannot read the movement Parquet files ({exc})") from exc
    return frame.to_arrow()


def compute_zone_kpis(
    config: Config,
    data_dir: Path,
    *,
    window_minutes: int,
    branch: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    engine: str = "duckdb",
) -> ZoneKpiResult:
    """Zone and queue KPIs of every branch in ``config`` (or just ``branch``), windows of ``window_minutes``."""
    chosen = [config.branch(branch)] if branch is not None else list(config.branches)
    return compute_zone_kpis_for(
        {b.id: b.tzinfo for b in chosen},
        {(b.id, c.id) for b in chosen for c in b.cameras if c.zones},
        data_dir,
        window_minutes=window_minutes,
        start=start,
        end=end,
        engine=engine,
    )


def zone_day(config: Config, data_dir: Path, *, branch: str, day: dt.date, engine: str = "duckdb") -> ZoneKpiResult:
    """One row per zone (and queue) for a local day of ``branch``: what ``retail-intel zones`` shows."""
    tz = config.branch(branch).tzinfo
    start = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    return compute_zone_kpis(config, data_dir, window_minutes=1440, branch=branch, start=start, end=end, engine=engine)


__all__ = ["QUEUE_KPI_SCHEMA", "ZONE_ENGINES", "ZONE_KPI_SCHEMA", "ZoneKpiResult", "compute_zone_kpis", "zone_day"]
