"""A file copied into the store under another name, found before its rows count twice.

No writer stores one row of a table twice: a video written again replaces its files, and
``compact`` and a re-processed video leave a source both in its month and in its own file only
for a moment that :func:`~retail_intel.movements.overlap.plan_read` resolves (the month is read
without it). A batch hand-over does store a person twice (their movement, and the zone visits
the next segment judges from the carried path), but under each segment's own
``video_fingerprint``. So a table's :class:`RowKey` on two rows of a read means a file is there
twice (a backup kept beside it, a file ingested again under another name). ``kpis``, ``etl``,
``report``, ``sql`` and the movement routes of ``serve`` refuse it for the movements,
``kpis --zones``, ``zones``, ``report``, the zone and queue routes of ``serve`` and ``sql`` for
the zone tables; ``read_kpis``,
``read_features`` and ``sql`` for the stored KPI and feature tables, whose writers merge into
one file per branch (and window size), so a key there is on one row too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from retail_intel.errors import DataError, StoreChangedError
from retail_intel.movements.overlap import StoreRead, outside_branches, plan_read
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.store import movement_files, movements_root
from retail_intel.movements.zone_schema import QUEUE_LENGTH_SCHEMA, QUEUE_VISIT_SCHEMA, ZONE_VISIT_SCHEMA
from retail_intel.movements.zone_store import QUEUE_LENGTHS_DIR, QUEUE_VISITS_DIR, ZONE_VISITS_DIR
from retail_intel.storage import is_plain_name, parquet_files

if TYPE_CHECKING:
    from pathlib import Path

    import polars as pl
    import pyarrow as pa


@dataclass(frozen=True)
class RowKey:
    """What makes one row of a table one fact, and how the refusal names it."""

    table: str  # the table's name in messages: its SQL view
    schema: pa.Schema
    columns: tuple[str, ...]  # not-null columns of ``schema``
    row: str  # "movement": one row, in "the same movement (...)"
    counted: str  # what a copy counts twice: "every person in it"


# one person entering one branch at one instant, as one video saw it
MOVEMENT_KEY = ("customer_id", "branch_id", "enter_time", "video_fingerprint")
MOVEMENT_TABLE = "customer_branch_movement"
MOVEMENTS = RowKey(MOVEMENT_TABLE, MOVEMENT_SCHEMA, MOVEMENT_KEY, "movement", "every person in it")

# A visit is a maximal stay of one person in one zone, so two visits of a person to a zone never
# start at one instant; zone ids are a camera's, hence camera_id. zone_kind follows from the zone,
# exit_time and the rest from the stay.
ZONE_VISIT_KEY = ("customer_id", "branch_id", "camera_id", "zone_id", "enter_time", "video_fingerprint")
# A person's stay in a queue zone starts once (queue_enter); the outcome columns follow from it.
QUEUE_VISIT_KEY = ("customer_id", "branch_id", "camera_id", "zone_id", "queue_enter", "video_fingerprint")
# One row per queue zone and UTC minute a video covers; the minute a batch cuts in two is in both
# segments' files, under each segment's fingerprint.
QUEUE_LENGTH_KEY = ("branch_id", "camera_id", "zone_id", "minute", "video_fingerprint")

ZONE_KEYS: dict[str, RowKey] = {
    ZONE_VISITS_DIR: RowKey(ZONE_VISITS_DIR, ZONE_VISIT_SCHEMA, ZONE_VISIT_KEY, "zone visit", "every visit in it"),
    QUEUE_VISITS_DIR: RowKey(
        QUEUE_VISITS_DIR, QUEUE_VISIT_SCHEMA, QUEUE_VISIT_KEY, "queue visit", "every person queued in it"
    ),
    QUEUE_LENGTHS_DIR: RowKey(
        QUEUE_LENGTHS_DIR, QUEUE_LENGTH_SCHEMA, QUEUE_LENGTH_KEY, "queue-length minute", "every minute in it"
    ),
}


def _key_rows(plan: StoreRead, key: RowKey, branch_ids: Sequence[str] | None, *, with_file: bool) -> pl.LazyFrame:
    import polars as pl

    # here, not at the top: retail_intel.kpis imports this module while it loads
    from retail_intel.kpis.store_scan import scan_store

    columns = list(key.columns)
    pinned = pl.Schema(pl.from_arrow(key.schema.empty_table().select(columns)).schema)  # type: ignore[union-attr]
    options: dict[str, object] = {"schema": pinned, "missing_columns": "insert", "extra_columns": "ignore"}
    if not with_file:
        rows = scan_store(plan, columns, **options)
    else:
        parts = []
        if plan.by_name:
            by_name = StoreRead(plan.by_name, [])
            parts.append(scan_store(by_name, [*columns, "file"], include_file_paths="file", **options))
        for path, table in zip(plan.cut_from, plan.cut, strict=True):
            parts.append(scan_store(StoreRead([], [table]), columns).with_columns(file=pl.lit(str(path))))
        rows = pl.concat(parts, how="diagonal_relaxed")
    if branch_ids is not None:
        rows = rows.filter(pl.col("branch_id").is_in(list(branch_ids)))
    return rows.drop_nulls(columns).with_columns(_hash=pl.struct(columns).hash(seed=0))


def refuse_repeated_rows(plan: StoreRead, key: RowKey, branch_ids: Sequence[str] | None = None) -> None:
    """:class:`DataError` naming a ``key`` on more than one row of ``plan``, and its files.

    A first pass keeps only each row's 64-bit key hash (streamed, so no customer id is held);
    only the rows whose hash repeats are read again with their keys and files.
    """
    import polars as pl

    if plan.empty:
        return
    columns = list(key.columns)
    try:
        hashes = _key_rows(plan, key, branch_ids, with_file=False).select("_hash").collect(engine="streaming")
        repeated = hashes.filter(pl.col("_hash").is_duplicated()).get_column("_hash").unique()
        if repeated.is_empty():
            return
        found = (
            _key_rows(plan, key, branch_ids, with_file=True)
            .filter(pl.col("_hash").is_in(repeated.implode()))
            .group_by(columns)
            .agg(pl.col("file").unique().sort(), pl.len().alias("_rows"))
            .filter(pl.col("_rows") > 1)
            .sort(columns)
            .head(1)
            .collect()
        )
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"{key.table}: cannot read the {key.row} keys of the Parquet files ({exc})") from exc
    if found.height == 0:
        return  # two keys with one hash, not one key twice
    row = found.row(0, named=True)
    files = [str(f) for f in row["file"]]
    holders = " and ".join(files) if len(files) > 1 else f"{files[0]} (on more than one row)"
    raise DataError(
        f"{key.table}: the same {key.row} ({', '.join(columns)}) appears on more than one row of "
        f"the Parquet files: {', '.join(str(row[k]) for k in columns)} in {holders}; a file copied into "
        "the data directory (a backup kept beside it, a file ingested again under another name) would count "
        f"{key.counted} twice: move the extra copy out of it"
    )


# the column a reader adds to its rows with :func:`key_hash`
KEY_HASH = "_key_hash"


def key_hash(key: RowKey, branch_ids: Sequence[str] | None = None) -> pl.Expr:
    """Each row's 64-bit ``key`` hash, as :func:`refuse_repeated_rows` takes the rows (named :data:`KEY_HASH`).

    Null on a row the check leaves out: a key column is null, or its branch is not one of ``branch_ids``.
    """
    import polars as pl

    columns = list(key.columns)
    counted = pl.all_horizontal(pl.col(columns).is_not_null())
    if branch_ids is not None:
        counted &= pl.col("branch_id").is_in(list(branch_ids))
    return pl.when(counted).then(pl.struct(columns).hash(seed=0)).alias(KEY_HASH)


def refuse_repeated_hashes(
    hashes: pl.Series, plan: StoreRead, key: RowKey, branch_ids: Sequence[str] | None = None
) -> None:
    """:func:`refuse_repeated_rows` of ``plan``, from the :func:`key_hash` of its rows, read with them.

    A reader that already loads every row of ``plan`` hashes the key in the same read, so the
    files are not opened again to check it. Only when a hash repeats (a key twice, or two keys
    with one hash) is the whole check run, to tell the two apart and name the files.
    """
    if repeats_a_hash(hashes):
        refuse_repeated_rows(plan, key, branch_ids)


def repeats_a_hash(hashes: pl.Series) -> bool:
    """Whether a :func:`key_hash` other than null is on more than one row of ``hashes``."""
    counted = hashes.drop_nulls()
    return bool(counted.n_unique() < counted.len())


R = TypeVar("R")


@dataclass(frozen=True)
class KeyedTable:
    """One table of a :func:`read_keyed` read: its files as planned and its key."""

    plan: StoreRead
    key: RowKey
    branch_ids: Sequence[str] | None = None  # the check counts only these branches' rows (None: all)
    repeats: bool = False  # read with the keys: a :func:`key_hash` repeats on its rows


@dataclass(frozen=True)
class KeyedRead(Generic[R]):
    """What :func:`read_keyed` read, and the tables whose whole check has to run."""

    rows: R
    suspect: tuple[KeyedTable, ...]

    def refuse_copies(self) -> None:
        """:func:`refuse_repeated_rows` of each suspect table, in their order."""
        for table in self.suspect:
            refuse_repeated_rows(table.plan, table.key, table.branch_ids)


def read_keyed(read: Callable[[bool], tuple[R, Sequence[KeyedTable]]]) -> KeyedRead[R]:
    """``read(True)``: rows read with each row's :func:`key_hash`; when it fails, ``read(False)``: without.

    ``read`` gives its rows and the tables it read them from (with the keys: whether a hash
    repeats in each). A reader that loads every row anyway so finds a copied file without opening
    the files again: only a table whose hash repeats (a key twice, or two keys with one hash) gets
    the whole check, to tell the two apart and name the files. A read failing on a key column
    alone (a file whose customer_id is not text) is made again without the keys, and every table
    gets the whole check, whose own read names it. A failure of the read without the keys goes to
    the caller, which names the file it can. The caller runs the checks
    (:meth:`KeyedRead.refuse_copies`) where it verifies its plans: the movement read verifies first.
    """
    import polars as pl

    try:
        rows, tables = read(True)
    except StoreChangedError:
        raise  # a writer at work, not a key column: the caller's reread_once reads the store as it is now
    except (pl.exceptions.PolarsError, OSError, DataError):  # the zone scans wrap their errors in DataError
        pass
    else:
        return KeyedRead(rows, tuple(table for table in tables if table.repeats))
    # read outside the handler, so a failure here is reported as itself, not as raised while handling the first
    rows, tables = read(False)
    return KeyedRead(rows, tuple(tables))


def refuse_repeated_movements(plan: StoreRead, branch_ids: Sequence[str] | None = None) -> None:
    """:func:`refuse_repeated_rows` of :data:`MOVEMENT_KEY` (``branch_ids``: only their rows)."""
    refuse_repeated_rows(plan, MOVEMENTS, branch_ids)


def refuse_repeated_files(files: Sequence[Path], key: RowKey) -> None:
    """:func:`refuse_repeated_rows` over ``files`` read as they are (a table that ``compact`` never merges)."""
    if files:
        refuse_repeated_rows(StoreRead(list(files), []), key)


def refuse_repeated_read(table: pa.Table, files: Sequence[Path], key: RowKey) -> None:
    """:func:`refuse_repeated_files` over ``files``, whose every row ``table`` already holds as read.

    The key is hashed from ``table``, so the files are read again only when a hash repeats.
    """
    import polars as pl

    if not files:
        return
    keys = pl.from_arrow(table.select(list(key.columns)), rechunk=False)
    assert isinstance(keys, pl.DataFrame)
    refuse_repeated_hashes(keys.select(key_hash(key)).get_column(KEY_HASH), StoreRead(list(files), []), key)


def refuse_repeated_movement_store(data_dir: Path, branch_id: str | None = None) -> None:
    """:func:`refuse_repeated_movements` over the store, or one branch's folder and rows, read as ``kpis`` reads them."""
    if branch_id is None:
        _refuse_repeated_tables([(movement_files(data_dir), MOVEMENTS)])
        return
    root = movements_root(data_dir)
    files = parquet_files(root / branch_id) if is_plain_name(branch_id) else []
    if files:
        plan = plan_read(files, MOVEMENT_SCHEMA, outside_branches(root, [branch_id], files))
        refuse_repeated_movements(plan, [branch_id])
        plan.verify()


def refuse_repeated_store(data_dir: Path) -> None:
    """:func:`refuse_repeated_rows` over the movements and the zone tables, each read as ``kpis`` reads it."""
    tables = [(movement_files(data_dir), MOVEMENTS)]
    tables += [(parquet_files(data_dir / kind), key) for kind, key in ZONE_KEYS.items()]
    _refuse_repeated_tables(tables)


def _refuse_repeated_tables(tables: Sequence[tuple[Sequence[Path], RowKey]]) -> None:
    for files, key in tables:
        if files:
            plan = plan_read(files, key.schema)
            refuse_repeated_rows(plan, key)
            plan.verify()
