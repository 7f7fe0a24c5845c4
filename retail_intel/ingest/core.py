"""Ingesting movement events produced elsewhere into the movement store.

Every row of the file ends up counted in exactly one of: accepted (written),
rejected (written to the rejects file with its line, text and reasons) or
already present (its customer_id is in the store already, from this file or
another one, and it is skipped). Nothing is dropped silently.

Rows of one file may span several branches and days, so they are written as
one store file per (branch, UTC date of enter_time), each under the source
key ``ingest-<first 16 hex of the file's sha256>-<branch>-<date>``. The key is
derived from the content, so ingesting the same file again finds every row
already present and writes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from retail_intel.config.loader import load_config
from retail_intel.errors import DataError, InputError
from retail_intel.ingest.reader import InputFormat, detect_format, parse_events
from retail_intel.ingest.validate import Rejection, ValidEvent, validate_records
from retail_intel.locking import INGEST_LOCK, data_dir_lock
from retail_intel.movements.compacted import holds_source, month_of, read_compacted
from retail_intel.movements.plausible import TimeLimits
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.store import movement_files, movements_root, read_files, write_movements
from retail_intel.naming import CallerNames
from retail_intel.sqlviews.database import duckdb_message
from retail_intel.storage import atomic_write_bytes, reread_once

REJECTS_DIR = "rejects"
SOURCE_PREFIX = "ingest-"


@dataclass(frozen=True)
class IngestResult:
    file: Path
    format: InputFormat
    fingerprint: str  # sha256 of the file's bytes
    read: int  # rows found in the file (blank lines are not rows)
    accepted: int  # rows new to the store and written
    rejected: int
    already_present: int  # valid rows whose customer_id the store already held
    written: list[Path] = field(default_factory=list)  # store files written or replaced
    rejects_file: Path | None = None
    reject_kinds: dict[str, int] = field(default_factory=dict)  # problem kind -> rows
    ignored_columns: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "file": str(self.file),
            "format": self.format.value,
            "fingerprint": self.fingerprint,
            "read": self.read,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "already_present": self.already_present,
            "written": [str(p) for p in self.written],
            "rejects_file": None if self.rejects_file is None else str(self.rejects_file),
            "reject_kinds": dict(self.reject_kinds),
            "ignored_columns": list(self.ignored_columns),
        }


def source_prefix(fingerprint: str) -> str:
    return f"{SOURCE_PREFIX}{fingerprint[:16]}-"


# A file name may have 255 bytes; the stem leaves room for ".<12 hex>.rejects.csv" (25 bytes).
_REJECTS_STEM_BYTES = 200


def default_rejects_path(data_dir: Path, file: Path, fingerprint: str) -> Path:
    """``DATA_DIR/rejects/<stem>.<fingerprint[:12]>.rejects.csv``; a very long stem is cut to
    200 bytes (never inside a UTF-8 character), so the name stays within the file system's limit."""
    stem = file.stem.encode("utf-8", "surrogateescape")[:_REJECTS_STEM_BYTES].decode("utf-8", "ignore")
    return data_dir / REJECTS_DIR / f"{stem}.{fingerprint[:12]}.rejects.csv"


def _present_in_store(data_dir: Path, customer_ids: list[str], fingerprint: str) -> tuple[set[str], set[str]]:
    """Which of ``customer_ids`` the store holds: (in this file's own files, in any other file)."""
    files = movement_files(data_dir)
    if not files or not customer_ids:
        return set(), set()
    con = duckdb.connect(":memory:")
    try:
        con.register("wanted", pa.table({"customer_id": customer_ids}))
        rows = con.execute(
            "SELECT DISTINCT m.customer_id, m.video_fingerprint "
            "FROM read_parquet(?, hive_partitioning = false, union_by_name = true) AS m "
            "SEMI JOIN wanted USING (customer_id)",
            [[str(p) for p in files]],
        ).fetchall()
    except duckdb.Error as exc:
        # DuckDB's first line names the file; its "LINE 1:" excerpt of the query would add lines
        raise DataError(
            f"{movements_root(data_dir)}: cannot read the movement store ({duckdb_message(exc)}); move the file "
            "it names out of the data directory, then ingest again"
        ) from exc
    finally:
        con.close()
    own: set[str] = set()
    other: set[str] = set()
    # Whose a row is comes from its fingerprint column, not its file's name: after
    # ``compact`` this file's rows sit in a month file with other sources' rows.
    for customer_id, row_fingerprint in rows:
        (own if row_fingerprint == fingerprint else other).add(customer_id)
    return own, other


def _movement_table(events: list[ValidEvent], source: str, fingerprint: str, now: dt.datetime) -> pa.Table:
    n = len(events)
    enter = [e.enter_time for e in events]
    exit_ = [e.exit_time for e in events]
    columns = {
        "customer_id": [e.customer_id for e in events],
        "branch_id": [e.branch_id for e in events],
        "camera_id": [None] * n,
        "action_type": [e.action_type for e in events],
        "enter_time": enter,
        "exit_time": exit_,
        "exit_observed": [True] * n,
        "dwell_seconds": [(x - e).total_seconds() for e, x in zip(enter, exit_, strict=True)],
        "first_seen": enter,
        "last_seen": exit_,
        "track_id": [None] * n,
        "n_frames": [None] * n,
        "mean_confidence": [None] * n,
        "source_video": [source] * n,
        "video_fingerprint": [fingerprint] * n,
        "model": [None] * n,
        "processed_at": [now] * n,
    }
    # Columns ingest files do not carry (staff flags, groups, door-line counts) stay null.
    columns |= {name: [None] * n for name in MOVEMENT_SCHEMA.names if name not in columns}
    return pa.table(columns, schema=MOVEMENT_SCHEMA)


def _stored_rows(target: Path) -> pa.Table:
    """The rows stored under ``target``'s source key: its own file, or its part of a compacted month."""
    if target.exists():
        return read_files([target], MOVEMENT_SCHEMA, "movement")
    for source, rows in read_compacted(month_of(target), MOVEMENT_SCHEMA):
        if source.key == target.stem:
            return rows
    return MOVEMENT_SCHEMA.empty_table()


def rejects_csv(rejections: list[Rejection]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["line", "reason", "raw"])
    for rejection in rejections:
        writer.writerow([rejection.line, rejection.reason, rejection.raw])
    return buffer.getvalue().encode("utf-8")


def check_rejects_path(path: Path, source: Path | None = None, name: str = "rejects_path") -> None:
    """:class:`InputError` unless ``path`` can take the rejects file: checked before any row is stored.

    Found only at the end, a directory, a device or ``-`` failed the command after
    its valid rows were already in the store (or, for ``-``, wrote a file named ``-``).
    ``source`` is the file being ingested (None for standard input). ``name`` is what
    the caller calls ``path`` in messages (its flag: ``--rejects``).
    """
    if str(path) == "-":
        raise InputError(
            f"{name}: expected a file path for the rejected rows, got '-' (stdout carries the summary); "
            f"give a file name, or leave {name} out for DATA_DIR/rejects/"
        )
    if path.exists() and not path.is_file():
        raise InputError(f"{name}: {path} exists and is not a regular file; give a file path to write")
    # the rejects file would replace the events it was read from, leaving only the rejected rows
    if source is not None and path.exists() and source.exists() and path.samefile(source):
        raise InputError(
            f"{name}: {path} is the file being ingested ({source}); give another path for the rejected rows"
        )
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise InputError(f"{name}: {parent} is a file, so {path} cannot be written below it")


def ingest_file(
    path: Path,
    *,
    config_dir: Path,
    data_dir: Path,
    input_format: InputFormat | str | None = None,
    rejects_path: Path | None = None,
    now: dt.datetime | None = None,
    limits: TimeLimits | None = None,
    on_wait: Callable[[str], None] | None = None,
    data: bytes | None = None,
    names: Mapping[str, str] | None = None,
) -> IngestResult:
    """Validate the events in ``path`` and add the new ones to the movement store.

    ``input_format``: ``"jsonl"`` or ``"csv"`` (an :class:`InputFormat` or its value);
    None tells it from the file's extension.

    ``data``: the file's bytes, already read (standard input); ``path`` then only
    names them, in messages and as the rows' ``source_video``.

    ``rejects_path`` defaults to
    ``<data_dir>/rejects/<file stem>.<fingerprint[:12]>.rejects.csv``; it is
    written only when some row was rejected (a stale default rejects file of
    the same content is removed when a re-run rejects nothing, e.g. after a
    branch was added to the config).

    ``limits`` bounds the times a row may carry (default 2000-01-01 .. now +
    1 day, dwell at most 24 h); they may only narrow those, since kpis, etl and
    report refuse files with times outside them: wider or empty limits raise
    InputError before anything is written. Concurrent ingests into one data directory
    take turns (:mod:`retail_intel.locking`); ``on_wait`` is told who holds
    the lock when this one has to wait for it. ``names`` say what the caller calls ``input_format``
    and ``rejects_path`` in messages (its flags: ``{"rejects_path": "--rejects"}``).
    """
    named = CallerNames(names)
    # a str is taken as load_config and create_app take one
    path, config_dir, data_dir = Path(path), Path(config_dir), Path(data_dir)
    rejects_path = None if rejects_path is None else Path(rejects_path)
    fmt = detect_format(path, input_format, named("input_format"))
    if rejects_path is not None:
        check_rejects_path(rejects_path, path if data is None else None, named("rejects_path"))
    try:
        data = path.read_bytes() if data is None else data
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    config = load_config(config_dir)
    fingerprint = hashlib.sha256(data).hexdigest()
    parsed = parse_events(path, data, fmt)
    stamp = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    bounds = (limits or TimeLimits()).checked(stamp)
    valid, rejected = validate_records(parsed.records, {b.id for b in config.branches}, bounds)

    # Which rows are new depends on the whole store: no other ingest may write
    # between this one's check and its writes, or both would store the rows they share.
    with data_dir_lock(data_dir, INGEST_LOCK, on_wait=on_wait):
        written, accepted = _store_new(valid, data_dir, path, fingerprint, stamp)
    already_present = len(valid) - accepted

    default_rejects = default_rejects_path(data_dir, path, fingerprint)
    rejects_file: Path | None = None
    if rejected:
        rejects_file = atomic_write_bytes(rejects_csv(rejected), rejects_path or default_rejects)
    elif rejects_path is None:
        default_rejects.unlink(missing_ok=True)

    kinds: Counter[str] = Counter()
    for rejection in rejected:
        kinds.update({p.kind for p in rejection.problems})
    return IngestResult(
        file=path,
        format=fmt,
        fingerprint=fingerprint,
        read=len(parsed.records),
        accepted=accepted,
        rejected=len(rejected),
        already_present=already_present,
        written=written,
        rejects_file=rejects_file,
        reject_kinds=dict(sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))),
        ignored_columns=parsed.ignored_columns,
    )


def _store_new(
    valid: list[ValidEvent], data_dir: Path, path: Path, fingerprint: str, stamp: dt.datetime
) -> tuple[list[Path], int]:
    """Write the rows of ``valid`` the store does not hold yet; (files written, rows new to the store)."""
    prefix = source_prefix(fingerprint)
    ids = [e.customer_id for e in valid]
    # listed and read again if ``compact`` merged a file meanwhile
    own, other = reread_once(lambda: _present_in_store(data_dir, ids, fingerprint))
    to_write = [e for e in valid if e.customer_id not in other]
    accepted = sum(1 for e in to_write if e.customer_id not in own)

    groups: dict[tuple[str, dt.date], list[ValidEvent]] = defaultdict(list)
    for event in to_write:
        groups[(event.branch_id, event.enter_time.date())].append(event)
    written: list[Path] = []
    for (branch_id, day), events in sorted(groups.items()):
        key = f"{prefix}{branch_id}-{day.isoformat()}"
        target = movements_root(data_dir) / branch_id / day.isoformat() / f"{key}.parquet"
        stored = target.exists() or holds_source(target)  # its own file, or merged into a month by compact
        if stored and all(e.customer_id in own for e in events):
            continue  # this file's rows for the day are all stored already: keep the file as it is
        table = _movement_table(events, path.name, fingerprint, stamp)
        if stored:
            # Rows this file stored before and not valid in this run (an ingest with a narrower
            # --earliest/--latest/--max-dwell) stay: the file is written again with them, not without.
            kept = _stored_rows(target)
            kept = kept.filter(pc.invert(pc.is_in(kept["customer_id"], value_set=table["customer_id"])))
            table = pa.concat_tables([kept, table])
        table = table.take(pc.sort_indices(table, [("enter_time", "ascending"), ("customer_id", "ascending")]))
        # The key names its branch and date, so it cannot have files elsewhere.
        written.append(
            write_movements(table, data_dir, branch_id=branch_id, day=day, source_key=key, replace_elsewhere=False)
        )
    return written, accepted
