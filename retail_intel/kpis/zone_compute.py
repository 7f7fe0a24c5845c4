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

from retail_intel.datadir import require_retail_data
from retail_intel.errors import DataError, InputError
from retail_intel.kpis.store_scan import scan_store
from retail_intel.kpis.windows import check_window_minutes
from retail_intel.kpis.zone_inputs import (
    KEPT,
    ZoneKpiInputs,
    ZoneSources,
    collect_zone_inputs,
    roi_moments,
    staff_ids_of,
    without_staff,
)
from retail_intel.kpis.zone_schema import QUEUE_KPI_SCHEMA, QUEUE_WAIT_INPUT_SCHEMA, ZONE_KPI_SCHEMA
from retail_intel.movements.filecheck import refuse_unreadable
from retail_intel.movements.overlap import StoreRead, outside_branches, plan_read
from retail_intel.movements.repeats import (
    KEY_HASH,
    ZONE_KEYS,
    KeyedTable,
    RowKey,
    key_hash,
    read_keyed,
    repeats_a_hash,
)
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.store import movements_root
from retail_intel.movements.zone_store import QUEUE_LENGTHS_DIR, QUEUE_VISITS_DIR, ZONE_TABLES, ZONE_VISITS_DIR
from retail_intel.storage import is_plain_name, parquet_files, reread_once

if TYPE_CHECKING:
    import polars as pl

    from retail_intel.config.loader import Config

ZONE_ENGINES = ("duckdb", "polars")
_MOVEMENT_COLUMNS = ["branch_id", "camera_id", "action_type", "enter_time", "first_seen", "is_staff"]
_ZONE_KINDS = (ZONE_VISITS_DIR, QUEUE_VISITS_DIR, QUEUE_LENGTHS_DIR)
_HASHED_KINDS = dict(zip(("visits", "queues", "lengths"), _ZONE_KINDS, strict=True))  # ZoneSources.hashed names
_COUNTED = "_counted"  # a row that is not a staff member's
_QUEUE_ROW_COLUMNS = [
    "branch_id",
    "camera_id",
    "zone_id",
    "queue_enter",
    "wait_seconds",
    "service_seconds",
    "abandoned",
]


@dataclass(frozen=True)
class ZoneKpiResult:
    zones: pa.Table  # ZONE_KPI_SCHEMA
    queues: pa.Table  # QUEUE_KPI_SCHEMA
    engine: str
    window_minutes: int


def _files(root: Path, branch_ids: Sequence[str], schema: pa.Schema) -> StoreRead:
    """The files of ``branch_ids`` under ``root``, planned so that no source is read twice."""
    files = [p for b in sorted(set(branch_ids)) if is_plain_name(b) for p in parquet_files(root / b)]
    return plan_read(files, schema, outside_branches(root, branch_ids, files))


def _name_bad_file(plan: StoreRead, schema: pa.Schema, kind: str) -> None:
    """After a scan of ``plan`` failed: raise :class:`DataError` naming its unreadable or foreign file, if any.

    A zone table's file must hold the columns its schema marks not-null (as
    ``sql`` checks them); a movement file the columns every writer writes.
    """
    if schema is MOVEMENT_SCHEMA:
        refuse_unreadable(plan.by_name)
    else:
        refuse_unreadable(plan.by_name, [f.name for f in schema if not f.nullable], schema, kind)


def _read(
    root: Path, branch_ids: Sequence[str], schema: pa.Schema, columns: Sequence[str], staff_ids: Sequence[str] = ()
) -> pa.Table:
    """:func:`_read_once`, listed and read again if a file went meanwhile (``compact``)."""
    return reread_once(lambda: _read_once(root, branch_ids, schema, columns, staff_ids))


def _read_once(
    root: Path, branch_ids: Sequence[str], schema: pa.Schema, columns: Sequence[str], staff_ids: Sequence[str]
) -> pa.Table:
    """``columns`` of every file under ``root/<branch>/``, text columns dictionary-encoded.

    Polars opens many small files fast; only the columns asked for are read.
    Rows of the customers in ``staff_ids`` are left out (:func:`without_staff`).
    """
    import polars as pl

    wanted = pa.schema([schema.field(name) for name in columns])
    plan = _files(root, branch_ids, schema)
    if plan.empty:
        return wanted.empty_table()
    key = ZONE_KEYS[root.name]

    # A copied file would count its rows twice: the rows' key hashes come from this read, so the
    # check does not open every file again (read_keyed).
    def read(with_keys: bool) -> tuple[pl.DataFrame, list[KeyedTable]]:
        if not with_keys:
            return _collect_rows(plan, wanted, staff_ids, None), [KeyedTable(plan, key)]
        frame = _collect_rows(plan, wanted, staff_ids, key)
        repeats = repeats_a_hash(frame.get_column(KEY_HASH))  # staff rows count, so before they go
        if staff_ids:
            frame = frame.filter(pl.col(_COUNTED))
        return frame.select(wanted.names), [KeyedTable(plan, key, repeats=repeats)]

    try:
        found = read_keyed(read)
    except (pl.exceptions.PolarsError, OSError) as exc:
        _name_bad_file(plan, schema, root.name)  # names the corrupt or foreign file when there is one
        raise DataError(f"{root}: cannot read the Parquet files ({exc})") from exc
    found.refuse_copies()
    plan.verify()
    return found.rows.to_arrow()


def _collect_rows(plan: StoreRead, wanted: pa.Schema, staff_ids: Sequence[str], key: RowKey | None) -> pl.DataFrame:
    """``wanted`` of the rows of ``plan``, text columns dictionary-encoded, less those of ``staff_ids``.

    With ``key``, every row comes back, with its :func:`key_hash` (the check counts staff rows
    too) and, when there are ``staff_ids``, whether it is kept (:data:`_COUNTED`).
    """
    import polars as pl

    text = [f.name for f in wanted if pa.types.is_string(f.type)]
    read = [*wanted.names, "customer_id"] if staff_ids else list(wanted.names)
    if key is None:
        rows = without_staff(scan_store(plan, read), staff_ids).select(wanted.names)
    else:
        read += [c for c in key.columns if c not in read]
        added = [key_hash(key)]
        if staff_ids:
            # the filter without_staff makes, as a column: a null customer id is left out too
            added.append((~pl.col("customer_id").is_in(list(staff_ids))).alias(_COUNTED))
        rows = (
            scan_store(plan, read).with_columns(added).select([*wanted.names, *(e.meta.output_name() for e in added)])
        )
    return rows.with_columns(pl.col(text).cast(pl.Categorical)).collect()


def _scan(plan: StoreRead, schema: pa.Schema) -> pl.LazyFrame:
    """A lazy scan of ``plan`` (of ``schema``); an empty frame of that schema when there are no files.

    Nothing is read here: the zone inputs select their columns and sum per
    cell inside the scan (:func:`retail_intel.kpis.zone_inputs.collect_zone_inputs`).
    """
    import polars as pl

    if plan.empty:
        frame = pl.from_arrow(schema.empty_table())
        assert isinstance(frame, pl.DataFrame)
        return frame.lazy()
    return scan_store(plan)


def _movement_scan(plan: StoreRead, columns: Sequence[str]) -> pl.LazyFrame:
    """``columns`` of the movement files of ``plan``, lazily.

    Files written before the people columns existed lack is_staff: it reads as
    null there (not judged: a customer), as in the branch KPIs.
    """
    import polars as pl

    if plan.empty:
        return _scan(plan, MOVEMENT_SCHEMA).select(columns)
    pinned = pl.from_arrow(MOVEMENT_SCHEMA.empty_table().select(columns))
    assert isinstance(pinned, pl.DataFrame)
    return scan_store(plan, columns, schema=pinned.schema, missing_columns="insert", extra_columns="ignore")


def read_staff_ids(data_dir: Path, branch_ids: Sequence[str]) -> list[str]:
    """The customer ids of the movements of ``branch_ids`` flagged as staff (``is_staff``)."""
    return reread_once(lambda: _read_staff_ids(data_dir, branch_ids))


def _read_staff_ids(data_dir: Path, branch_ids: Sequence[str]) -> list[str]:
    import polars as pl

    plan = _files(movements_root(data_dir), branch_ids, MOVEMENT_SCHEMA)
    if plan.empty:
        return []
    try:
        found = staff_ids_of(_movement_scan(plan, ["customer_id", "is_staff"]))
    except (pl.exceptions.PolarsError, OSError) as exc:
        _name_bad_file(plan, MOVEMENT_SCHEMA, "movement")
        raise DataError(f"{movements_root(data_dir)}: cannot read the movement Parquet files ({exc})") from exc
    plan.verify()
    return found


def _lazy(table: pa.Table) -> pl.LazyFrame:
    import polars as pl

    frame = pl.from_arrow(table, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    return frame.lazy()


def zone_sources(
    data_dir: Path,
    cameras_with_zones: set[tuple[str, str]],
    branch_ids: Sequence[str],
    *,
    staff_ids: Sequence[str] = (),
    include_staff: bool = False,
    queue_rows: pa.Table | None = None,
    hash_keys: bool = False,
) -> tuple[ZoneSources, list[StoreRead]]:
    """The zone tables of ``branch_ids`` and the movements of their branches with zones, as lazy scans.

    The visits and queue rows of the customers in ``staff_ids``
    (:func:`read_staff_ids`) are left out, and so are staff from the ROI
    people unless ``include_staff``. ``queue_rows`` (:func:`read_queue_rows`
    with the same ``staff_ids``), already read for the branch KPIs' bottleneck
    score, are used instead of reading their files again. The plans come back
    too: after collecting, each is verified. ``hash_keys``: the zone tables read from files carry
    their rows' key hashes (:attr:`ZoneSources.hashed`), for the copied-file check.
    """
    # The ROI people of every camera of a branch with zones, or with zone visits: a camera whose
    # zones were taken out of branches.yaml keeps its visits until its video is processed again,
    # and their attention rate still divides by the people that camera counted. Only rows of a
    # camera with visits are used (the engines join them to the zone rows), and they are summed
    # per cell inside the scan, so the other cameras cost little.
    with_visits = [b for b in branch_ids if is_plain_name(b) and parquet_files(data_dir / ZONE_VISITS_DIR / b)]
    roi_branches = sorted({b for b, _ in cameras_with_zones} | set(with_visits))
    moved = _files(movements_root(data_dir), roi_branches, MOVEMENT_SCHEMA)
    roi = roi_moments(_movement_scan(moved, _MOVEMENT_COLUMNS), include_staff=include_staff)
    plans = [_files(data_dir / kind, branch_ids, ZONE_TABLES[kind]) for kind in _ZONE_KINDS]
    visits, queues, lengths = (_scan(plan, ZONE_TABLES[kind]) for plan, kind in zip(plans, _ZONE_KINDS, strict=True))
    hashed: tuple[str, ...] = ()
    if hash_keys:
        hashed = ("visits", "lengths") if queue_rows is not None else ("visits", "queues", "lengths")
        visits, queues = (
            _kept(frame.with_columns(key_hash(ZONE_KEYS[kind])), staff_ids)
            for frame, kind in ((visits, ZONE_VISITS_DIR), (queues, QUEUE_VISITS_DIR))
        )
        lengths = lengths.with_columns(key_hash(ZONE_KEYS[QUEUE_LENGTHS_DIR]))
    else:
        visits, queues = without_staff(visits, staff_ids), without_staff(queues, staff_ids)
    if queue_rows is not None:
        queues = _lazy(queue_rows)
    sources = ZoneSources(visits=visits, queues=queues, lengths=lengths, moments=roi, hashed=hashed)
    return sources, [moved, *plans]


def _kept(rows: pl.LazyFrame, staff_ids: Sequence[str]) -> pl.LazyFrame:
    """``rows`` with :data:`KEPT`: the rows that :func:`without_staff` keeps (a null customer id is left out)."""
    import polars as pl

    kept = ~pl.col("customer_id").is_in(list(staff_ids)) if staff_ids else pl.lit(True)
    return rows.with_columns(kept.alias(KEPT))


def read_queue_rows(data_dir: Path, branch_ids: Sequence[str], *, staff_ids: Sequence[str] = ()) -> pa.Table:
    """The queue visits' columns that the queue KPIs and the bottleneck score use, in one read.

    Rows of the customers in ``staff_ids`` (:func:`read_staff_ids`) are left out.
    """
    return _read(data_dir / QUEUE_VISITS_DIR, branch_ids, ZONE_TABLES[QUEUE_VISITS_DIR], _QUEUE_ROW_COLUMNS, staff_ids)


def queue_waits_of(queue_rows: pa.Table) -> pa.Table:
    """Waits of people served from a queue (:data:`QUEUE_WAIT_INPUT_SCHEMA`), for the bottleneck score."""
    waits = queue_rows.select(QUEUE_WAIT_INPUT_SCHEMA.names)
    return waits.filter(pc.is_valid(waits.column("wait_seconds"))).cast(QUEUE_WAIT_INPUT_SCHEMA)


def read_queue_waits(
    data_dir: Path, branch_ids: Sequence[str] | None = None, *, include_staff: bool = False
) -> pa.Table:
    """Waits of people served from a queue (:data:`QUEUE_WAIT_INPUT_SCHEMA`), for the bottleneck score.

    Waits of people flagged as staff are left out unless ``include_staff``,
    as staff are out of every other customer KPI.
    """
    root = data_dir / QUEUE_VISITS_DIR
    if branch_ids is None:
        branch_ids = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    with_queues = [b for b in branch_ids if is_plain_name(b) and parquet_files(root / b)]
    staff = [] if include_staff or not with_queues else read_staff_ids(data_dir, with_queues)
    schema = ZONE_TABLES[QUEUE_VISITS_DIR]
    return queue_waits_of(_read(root, with_queues, schema, QUEUE_WAIT_INPUT_SCHEMA.names, staff))


def run_zone_engine(inputs: ZoneKpiInputs, window_minutes: int, engine: str) -> tuple[pa.Table, pa.Table]:
    if engine == "duckdb":
        from retail_intel.kpis import zone_sql

        return zone_sql.compute(inputs, window_minutes)
    if engine == "polars":
        from retail_intel.kpis import zone_polars

        return zone_polars.compute(inputs, window_minutes)
    raise InputError(f"engine must be one of {', '.join(ZONE_ENGINES)}, got {engine!r}")


def compute_zone_kpis_for(
    timezones: Mapping[str, ZoneInfo],
    cameras_with_zones: set[tuple[str, str]],
    data_dir: Path,
    *,
    window_minutes: int,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    engine: str = "duckdb",
    include_staff: bool = False,
    queue_rows: pa.Table | None = None,
    staff_ids: Sequence[str] | None = None,
    range_names: tuple[str, str] = ("start", "end"),
) -> ZoneKpiResult:
    """Zone and queue KPIs of the branches in ``timezones`` from the store.

    ``cameras_with_zones`` ((branch, camera) pairs) limits the movements read
    for the attention rate to the branches that have zones (or zone visits
    stored). People flagged as
    staff are left out unless ``include_staff``. ``queue_rows`` and
    ``staff_ids``: already read (see :func:`zone_sources`); ``staff_ids`` None:
    read here. ``range_names`` name ``start`` and ``end`` in messages (the caller's flags, such as ``--from`` and ``--to``).
    """
    if engine not in ZONE_ENGINES:
        raise InputError(f"engine must be one of {', '.join(ZONE_ENGINES)}, got {engine!r}")
    check_window_minutes(window_minutes)
    if start is not None and end is not None and end <= start:
        first, last = range_names
        raise InputError(f"{last} must be after {first}, got from {start.isoformat()} to {end.isoformat()}")

    def collect() -> ZoneKpiInputs:
        staff: Sequence[str] = ()
        if not include_staff:
            staff = read_staff_ids(data_dir, sorted(timezones)) if staff_ids is None else staff_ids

        # A copied file would count its rows twice: the scans hash each row's key as they sum, so
        # the check does not open every file again (read_keyed). Each read lists the files anew.
        def read(hash_keys: bool) -> tuple[tuple[ZoneKpiInputs, list[StoreRead]], list[KeyedTable]]:
            listed, plans = zone_sources(
                data_dir,
                cameras_with_zones,
                sorted(timezones),
                staff_ids=staff,
                include_staff=include_staff,
                queue_rows=queue_rows,
                hash_keys=hash_keys,
            )
            try:
                inputs = collect_zone_inputs(listed, timezones, window_minutes, start=start, end=end)
            except DataError as exc:
                if hash_keys:
                    raise  # read_keyed reads again without the keys
                moved, *tables = plans  # this read's plans name the bad file
                _name_bad_file(moved, MOVEMENT_SCHEMA, "movement")
                for plan, kind in zip(tables, _ZONE_KINDS, strict=True):
                    _name_bad_file(plan, ZONE_TABLES[kind], kind)
                raise DataError(f"{data_dir}: {exc}") from exc
            repeated = {_HASHED_KINDS[name] for name in inputs.repeated}
            checked = [
                KeyedTable(plan, ZONE_KEYS[kind], repeats=kind in repeated)
                for plan, kind in zip(plans[1:], _ZONE_KINDS, strict=True)
                if kind != QUEUE_VISITS_DIR or queue_rows is None  # queue rows given were checked when read
            ]
            return (inputs, plans), checked

        found = read_keyed(read)
        found.refuse_copies()
        inputs, plans = found.rows
        for plan in plans:
            plan.verify()
        return inputs

    inputs = reread_once(collect)  # listed again if a file went meanwhile (``compact``)
    zones, queue_kpis = run_zone_engine(inputs, window_minutes, engine)
    return ZoneKpiResult(zones, queue_kpis, engine, window_minutes)


def compute_zone_kpis(
    config: Config,
    data_dir: Path,
    *,
    window_minutes: int,
    branch: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    engine: str = "duckdb",
    include_staff: bool = False,
    queue_rows: pa.Table | None = None,
    staff_ids: Sequence[str] | None = None,
    range_names: tuple[str, str] = ("start", "end"),
) -> ZoneKpiResult:
    """Zone and queue KPIs of every branch in ``config`` (or just ``branch``), windows of ``window_minutes``.

    Staff are left out unless ``include_staff``. ``queue_rows`` and
    ``staff_ids``: already read (see :func:`compute_zone_kpis_for`). ``range_names`` name ``start`` and ``end`` in messages (the caller's flags, such as ``--from`` and ``--to``).
    """
    require_retail_data(data_dir)  # a mistyped --data-dir is not "no zone visits"
    chosen = [config.branch(branch)] if branch is not None else list(config.branches)
    return compute_zone_kpis_for(
        {b.id: b.tzinfo for b in chosen},
        {(b.id, c.id) for b in chosen for c in b.cameras if c.zones},
        data_dir,
        window_minutes=window_minutes,
        start=start,
        end=end,
        engine=engine,
        include_staff=include_staff,
        queue_rows=queue_rows,
        staff_ids=staff_ids,
        range_names=range_names,
    )


def zone_day(config: Config, data_dir: Path, *, branch: str, day: dt.date, engine: str = "duckdb") -> ZoneKpiResult:
    """One row per zone (and queue) for a local day of ``branch``: what ``retail-intel zones`` shows."""
    tz = config.branch(branch).tzinfo
    start = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    return compute_zone_kpis(config, data_dir, window_minutes=1440, branch=branch, start=start, end=end, engine=engine)


__all__ = ["QUEUE_KPI_SCHEMA", "ZONE_ENGINES", "ZONE_KPI_SCHEMA", "ZoneKpiResult", "compute_zone_kpis", "zone_day"]
