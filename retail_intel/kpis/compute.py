"""The library entry point of ``retail-intel kpis``: read, prepare, run an engine, store.

:func:`compute_kpis` takes a loaded :class:`~retail_intel.config.loader.Config`;
:func:`compute_kpis_for` takes plain :class:`BranchInfo` values and an
:data:`IntervalSource`, so the benchmark and tests can drive the same path
without YAML files. The config package is touched only by the two small
adapters below.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pyarrow as pa

from retail_intel.datadir import require_retail_data
from retail_intel.errors import DataError, InputError
from retail_intel.kpis.inputs import (
    BranchInfo,
    Interval,
    IntervalSource,
    KpiInputs,
    KpiParams,
    no_intervals,
    prepare_inputs,
)
from retail_intel.kpis.schema import KPI_SCHEMA, MOVEMENT_INPUT_COLUMNS, PEOPLE_INPUT_COLUMNS
from retail_intel.kpis.store import Recomputed, write_kpis
from retail_intel.kpis.store_scan import scan_store
from retail_intel.movements.filecheck import refuse_implausible, refuse_unreadable
from retail_intel.movements.overlap import StoreRead, outside_branches, plan_read
from retail_intel.movements.repeats import (
    KEY_HASH,
    MOVEMENT_KEY,
    MOVEMENTS,
    KeyedTable,
    key_hash,
    read_keyed,
    repeats_a_hash,
)
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.store import movement_files, movements_root
from retail_intel.storage import is_plain_name, parquet_files, reread_once
from retail_intel.timeutil import require_aware

if TYPE_CHECKING:
    import polars as pl

    from retail_intel.config.loader import Config
    from retail_intel.config.models import Branch

Engine = Literal["duckdb", "polars"]
ENGINES: tuple[Engine, ...] = ("duckdb", "polars")


@dataclass(frozen=True)
class KpiResult:
    table: pa.Table  # KPI_SCHEMA, sorted by branch and window start
    paths: list[Path] = field(default_factory=list)  # KPI files written (empty with write=False)
    unknown_branches: tuple[str, ...] = ()  # movements of branches the config does not define
    timezones: dict[str, str] = field(default_factory=dict)  # branch id -> IANA zone, for display
    engine: str = "duckdb"
    window_minutes: int = 60


def branch_info(branch: Branch) -> BranchInfo:
    return BranchInfo(
        branch_id=branch.id,
        timezone=branch.timezone,
        capacity=branch.capacity,
        customers_per_staff=branch.customers_per_staff,
        min_staff=branch.min_staff,
    )


def config_intervals(config: Config) -> IntervalSource:
    """Staff shifts, promotions and event occurrences of a branch, from the config."""
    from retail_intel.config.calendar import expand_events, opening_intervals, shift_intervals

    timezones = config.timezones

    def source(branch_id: str, start: dt.datetime, end: dt.datetime) -> list[Interval]:
        tz = timezones[branch_id]
        found: list[Interval] = []
        for employee in config.employees_of(branch_id):
            found.extend(Interval("staff", a, b) for a, b in shift_intervals(employee, tz, start, end))
        found.extend(
            Interval("promotion", promo.start, promo.end)
            for promo in config.promotions_for(branch_id)
            if promo.start < end and promo.end > start
        )
        found.extend(
            Interval("event", occurrence.start, occurrence.end)
            for occurrence in expand_events(config.events_for(branch_id), start, end, timezones=timezones)
        )
        # opening hours: the reconciled occupancy reads 0 in windows outside them
        found.extend(Interval("open", a, b) for a, b in opening_intervals(config.branch(branch_id), start, end))
        return found

    return source


def read_movement_inputs(data_dir: Path, branch_ids: Sequence[str] | None = None) -> pa.Table:
    """:func:`_read_movement_inputs`, listed and read again if a file went meanwhile (``compact``)."""
    return reread_once(lambda: _read_movement_inputs(data_dir, branch_ids))


def _read_movement_inputs(data_dir: Path, branch_ids: Sequence[str] | None = None) -> pa.Table:
    """The movement columns the KPIs need, for the given branches (all when None).

    Only :data:`MOVEMENT_INPUT_COLUMNS` are read and the two string columns
    come back dictionary-encoded, so 10 million movements take about 400 MB.
    The store holds one file per source video, often thousands of small
    files; Polars' Parquet reader opens them in parallel with far less
    per-file overhead than reading them one by one (docs/kpis.md).
    """
    import polars as pl

    outside: list[Path] = []
    if branch_ids is None:
        files = movement_files(data_dir)
    else:
        # Every writer puts a branch's rows under movements/<branch>/, so the
        # other branches' folders (most of the files) need not be opened.
        root = movements_root(data_dir)
        files = [path for b in sorted(set(branch_ids)) if is_plain_name(b) for path in parquet_files(root / b)]
        outside = outside_branches(root, branch_ids, files)
    if not files:
        return MOVEMENT_SCHEMA.empty_table().select([*MOVEMENT_INPUT_COLUMNS, *PEOPLE_INPUT_COLUMNS])
    wanted = [*MOVEMENT_INPUT_COLUMNS, *PEOPLE_INPUT_COLUMNS]
    plan = plan_read(files, MOVEMENT_SCHEMA, outside)  # a source in its month and its own file is read once
    if plan.empty:
        return MOVEMENT_SCHEMA.empty_table().select(wanted)

    # A copied file would count its people twice: the rows' key hashes come from this read, so the
    # check does not open every file again (read_keyed).
    def read(with_keys: bool) -> tuple[pl.DataFrame, list[KeyedTable]]:
        frame = _scan_movements(plan, wanted, branch_ids, with_keys=with_keys).collect()
        repeats = with_keys and repeats_a_hash(frame.get_column(KEY_HASH))
        return frame.drop(KEY_HASH, strict=False), [KeyedTable(plan, MOVEMENTS, branch_ids, repeats)]

    try:
        found = read_keyed(read)
    except (pl.exceptions.PolarsError, OSError) as exc:
        refuse_unreadable(plan.by_name, MOVEMENT_INPUT_COLUMNS)  # names the corrupt or foreign file if any
        raise DataError(f"{data_dir / 'movements'}: cannot read the movement Parquet files ({exc})") from exc
    plan.verify()
    found.refuse_copies()
    frame = found.rows
    # a file lacking the movement columns reads as rows of nulls (old files only lack the people
    # columns, which may be null): name it instead of failing later on empty values
    required = [n for n in MOVEMENT_INPUT_COLUMNS if not MOVEMENT_SCHEMA.field(n).nullable]
    if frame.height and frame.select(pl.col(required).null_count().sum()).sum_horizontal().item() > 0:
        refuse_unreadable(files, MOVEMENT_INPUT_COLUMNS)
    table = frame.to_arrow()
    refuse_implausible(table, files)  # a year-1 or 1970 row would overflow or blow up the windows
    for name in MOVEMENT_INPUT_COLUMNS:
        expected = MOVEMENT_SCHEMA.field(name).type
        actual = table.schema.field(name).type
        if pa.types.is_dictionary(actual):
            actual = actual.value_type
        if actual == pa.large_string():
            actual = pa.string()
        if actual != expected:
            raise DataError(
                f"{data_dir / 'movements'}: column {name} should be {expected}, found {actual}; "
                "re-process or re-ingest the files that hold it"
            )
    return table


def _scan_movements(
    plan: StoreRead, wanted: Sequence[str], branch_ids: Sequence[str] | None, *, with_keys: bool
) -> pl.LazyFrame:
    """``wanted`` of the movements of ``plan`` (and, ``with_keys``, each row's :func:`key_hash`), lazily."""
    import polars as pl

    keys = [c for c in MOVEMENT_KEY if c not in wanted] if with_keys else []
    # Files written before the people columns existed lack them: inserted as nulls.
    pinned = pl.Schema(pl.from_arrow(MOVEMENT_SCHEMA.empty_table().select([*wanted, *keys])).schema)  # type: ignore[union-attr]
    scan = scan_store(plan, [*wanted, *keys], schema=pinned, missing_columns="insert", extra_columns="ignore")
    if keys:
        scan = scan.with_columns(key_hash(MOVEMENTS, branch_ids)).drop(keys)
    if branch_ids is not None:
        # rows with no branch at all are kept: they come from a foreign file, named below
        scan = scan.filter(pl.col("branch_id").is_in(list(branch_ids)) | pl.col("branch_id").is_null())
    return scan.with_columns(
        pl.col("branch_id", "action_type").cast(pl.Categorical),
        # a person crosses a door a handful of times: 2 bytes instead of 8 over millions of rows
        pl.col("line_in", "line_out").cast(pl.Int16),
    )


def run_engine(inputs: KpiInputs, params: KpiParams, engine: str) -> pa.Table:
    """All KPIs of prepared ``inputs`` with the named engine."""
    if engine == "duckdb":
        from retail_intel.kpis import sql_engine

        return sql_engine.compute(inputs, params)
    if engine == "polars":
        from retail_intel.kpis import polars_engine

        return polars_engine.compute(inputs, params)
    raise InputError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")


def _aware_range(start: object, end: object) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``start``/``end`` in UTC; :class:`TimeError` for a naive one (it would be read as the machine's local time)."""
    return (
        None if start is None else require_aware(start, "start"),
        None if end is None else require_aware(end, "end"),
    )


def _refuse_storing_staff(include_staff: bool, write: bool) -> None:
    # the store carries no mark of which definition a row follows: staff counted as customers
    # there would be answered by serve, the dashboard and export as the branch's KPIs
    if include_staff and write:
        raise InputError(
            "include_staff: KPIs counting staff as customers are not stored (the KPI store keeps one "
            "definition, staff left out); compute them with write=False"
        )


def compute_kpis_for(
    branches: Sequence[BranchInfo],
    data_dir: Path,
    *,
    window_minutes: int,
    intervals: IntervalSource = no_intervals,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    engine: str = "duckdb",
    baseline_weeks: int = 4,
    momentum_windows: int = 6,
    write: bool = True,
    movements: pa.Table | None = None,
    queue_waits: pa.Table | None = None,
    include_staff: bool = False,
    imbalance_threshold: float = 0.1,
    stored_ends: Mapping[str, dt.datetime] | None = None,
    read_at: dt.datetime | None = None,
    range_names: tuple[str, str] = ("start", "end"),
) -> KpiResult:
    """KPIs of ``branches`` from the movement store (or the given ``movements`` table).

    ``queue_waits`` (read from the store's queue visits when None, staff left out
    unless ``include_staff``) feed the bottleneck score. ``stored_ends`` (see
    :func:`retail_intel.kpis.store.stored_window_ends`) makes a range run also
    compute the windows between each branch's stored ones and ``start``. ``read_at``: when the
    given ``movements`` were read (see :class:`~retail_intel.kpis.store.Recomputed`).
    ``range_names`` name ``start`` and ``end`` in messages (the caller's flags, such as ``--from`` and ``--to``).
    """
    if engine not in ENGINES:
        raise InputError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    _refuse_storing_staff(include_staff, write)
    start, end = _aware_range(start, end)
    params = KpiParams(
        window_minutes=window_minutes,
        baseline_weeks=baseline_weeks,
        momentum_windows=momentum_windows,
        include_staff=include_staff,
        imbalance_threshold=imbalance_threshold,
    )
    if movements is None:
        read_at = dt.datetime.now(dt.UTC)
        movements = read_movement_inputs(data_dir)
    if queue_waits is None:
        from retail_intel.kpis.zone_compute import read_queue_waits

        queue_waits = read_queue_waits(data_dir, [b.branch_id for b in branches], include_staff=include_staff)
    prepared = prepare_inputs(
        movements,
        branches,
        params,
        intervals=intervals,
        start=start,
        end=end,
        queue_waits=queue_waits,
        stored_ends=stored_ends,
        range_names=range_names,
    )
    if prepared.inputs.windows.num_rows == 0:
        table = KPI_SCHEMA.empty_table()
    else:
        table = run_engine(prepared.inputs, params, engine)
    # every window of these branches in the span is in ``table``: a stored one that is not
    # has no movements any more and goes
    covered = Recomputed(tuple(b.branch_id for b in branches), window_minutes, start, end, read_at)
    paths = write_kpis(table, data_dir, covered) if write else []
    return KpiResult(
        table=table,
        paths=paths,
        unknown_branches=prepared.unknown_branches,
        timezones={b.branch_id: b.timezone for b in branches},
        engine=engine,
        window_minutes=window_minutes,
    )


def compute_kpis(
    config: Config,
    data_dir: Path,
    *,
    window_minutes: int,
    branch: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    engine: str = "duckdb",
    baseline_weeks: int = 4,
    momentum_windows: int = 6,
    write: bool = True,
    include_staff: bool = False,
    imbalance_threshold: float = 0.1,
    queue_waits: pa.Table | None = None,
    range_names: tuple[str, str] = ("start", "end"),
) -> KpiResult:
    """KPIs of every branch in ``config`` (or just ``branch``) over the movement store.

    Windows of ``window_minutes`` (must divide a day) in each branch's local
    time; ``start``/``end`` (aware) select the windows reported and stored.
    With ``write`` the rows replace earlier rows of the same windows in
    ``DATA_DIR/kpis/<N>m/<branch>.parquet``. ``queue_waits``: already read
    from the store's queue visits (:mod:`retail_intel.kpis.with_zones`).
    ``range_names`` name ``start`` and ``end`` in messages (the caller's flags, such as ``--from`` and ``--to``).
    """
    # a str is taken as load_config and create_app take one
    data_dir = Path(data_dir)
    _refuse_storing_staff(include_staff, write)  # before the store is read
    _aware_range(start, end)  # before the movements are read
    require_retail_data(data_dir)  # a mistyped --data-dir is not "no movements"
    chosen = [config.branch(branch)] if branch is not None else list(config.branches)
    read_at = dt.datetime.now(dt.UTC)  # before the movements are read
    # One branch: read only its rows. All: read everything, so movements of
    # branches missing from the config can be reported.
    movements = read_movement_inputs(data_dir, None if branch is None else [branch])
    return compute_kpis_for(
        [branch_info(b) for b in chosen],
        data_dir,
        window_minutes=window_minutes,
        intervals=config_intervals(config),
        start=start,
        end=end,
        engine=engine,
        baseline_weeks=baseline_weeks,
        momentum_windows=momentum_windows,
        write=write,
        include_staff=include_staff,
        imbalance_threshold=imbalance_threshold,
        movements=movements,
        read_at=read_at,
        queue_waits=queue_waits,
        range_names=range_names,
    )
