"""A locked-down DuckDB session over the data directory and the YAML metadata.

:func:`open_database` builds an in-memory DuckDB database with one view or
table per seed table; :func:`run_query` runs one read-only statement on it.
After the views exist the connection is locked: file access is limited to the
movement and KPI folders, external access and extension loading are off, and
the configuration cannot be changed back, so a query cannot read or write
arbitrary files (``read_csv('/etc/passwd')``, ``COPY ... TO``, ``ATTACH``).

One connection serves many threads: give each thread ``con.cursor()`` (or call
:func:`run_query` with the connection itself, which does that). Writers may add
Parquet files at any time; each query sees the files present when it starts.
"""

from __future__ import annotations

import re
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from retail_intel.config.loader import load_config
from retail_intel.datadir import require_retail_data
from retail_intel.errors import DataError, InputError
from retail_intel.movements.repeats import refuse_repeated_files, refuse_repeated_store
from retail_intel.sqlviews.metadata import create_metadata_tables
from retail_intel.sqlviews.spill import private_spill_dir
from retail_intel.sqlviews.views import (
    CUSTOMERS_VIEW_SQL,
    FEATURE_VIEW,
    KPI_VIEW,
    ParquetView,
    create_view_sql,
    escape_glob,
    foreign_files_sql,
    identifying_columns,
    parquet_views,
    read_parquet_sql,
    schema_file,
    sql_string,
)
from retail_intel.storage import reread_once

# PRAGMAs that only report on the catalog; everything else (settings, profiling
# to a file, checkpoints) is refused.
READ_ONLY_PRAGMAS = frozenset(
    {
        "table_info",
        "show",
        "show_tables",
        "show_tables_expanded",
        "database_list",
        "database_size",
        "storage_info",
        "version",
        "platform",
        "functions",
        "collations",
        "metadata_info",
    }
)
ALLOWED_STATEMENTS = (
    f"SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN, PRAGMA {', '.join(sorted(READ_ONLY_PRAGMAS))}"
)

_EXPLAIN = re.compile(r"^\s*explain(\s+analy[sz]e)?\s+", re.IGNORECASE)
_PRAGMA = re.compile(r"^\s*pragma\s+(\w+)", re.IGNORECASE)


@dataclass
class _Session:
    """What a connection needs to rebuild its Parquet views."""

    data_dir: Path
    check_files: bool = True  # refuse foreign or corrupt files when the views are made
    # views that currently read only their schema file because no data file existed
    empty: set[str] = field(default_factory=set)
    # off until two files disagree on their columns (see read_parquet_sql)
    union_by_name: bool = False


# Keyed weakly so a collected connection leaves nothing behind; a closed one that is still held
# (a server's state kept after close) is dropped by :func:`_forget_closed`, as DuckDB tells no one
# of a close. The lock: sessions are opened and forgotten from many threads of a server.
_sessions: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, _Session] = weakref.WeakKeyDictionary()
_sessions_lock = threading.Lock()


def _closed_because(con: duckdb.DuckDBPyConnection) -> duckdb.ConnectionException | None:
    """DuckDB's refusal if ``con`` is closed, else None (it tells no one of a close)."""
    try:
        con.cursor().close()  # works on any thread: the one thing a closed connection refuses
    except duckdb.ConnectionException as exc:
        return exc
    return None


def _forget_closed() -> None:
    """Drop the sessions of connections closed since they were opened."""
    with _sessions_lock:
        for con in [con for con in list(_sessions.keys()) if _closed_because(con) is not None]:
            del _sessions[con]


def duckdb_message(exc: duckdb.Error) -> str:
    """DuckDB's first line, which names the problem, without its ``LINE 1:`` excerpt, caret or candidate list."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def check_read_only(sql: str) -> str:
    """The one statement in ``sql`` if it only reads; :class:`InputError` otherwise.

    DuckDB's own parser classifies the statement, so comments, odd spacing or
    a second statement after ``;`` cannot smuggle a write past the check.
    """
    if not isinstance(sql, str):
        raise InputError(f"sql must be a str holding one SQL statement, got {sql!r} ({type(sql).__name__})")
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise InputError(f"the query does not parse: {duckdb_message(exc)}") from exc
    if not statements:
        raise InputError("expected one SQL statement, got none")
    if len(statements) > 1:
        raise InputError(f"expected a single SQL statement, got {len(statements)} separated by ';'")
    statement = statements[0]
    query: str = statement.query
    kind = statement.type
    if kind == duckdb.StatementType.SELECT:
        return query
    if kind == duckdb.StatementType.EXPLAIN:
        # EXPLAIN ANALYZE executes its statement, so the inner one must be read-only too.
        inner = _EXPLAIN.sub("", query, count=1)
        if inner != query:
            check_read_only(inner)
            return query
    if kind == duckdb.StatementType.PRAGMA:
        match = _PRAGMA.match(query)
        if match and match.group(1).lower() in READ_ONLY_PRAGMAS:
            return query
    raise InputError(
        f"only read-only queries are allowed ({ALLOWED_STATEMENTS}); got a statement of type {kind.name}: "
        f"{query.strip()[:80]!r}"
    )


def _view_source(view: ParquetView, session: _Session) -> tuple[str, bool]:
    """The ``read_parquet`` call for ``view`` and whether it has data files yet."""
    # The schema file comes first: without union_by_name DuckDB takes the
    # columns from the first file, so they are always the expected ones.
    placeholder = str(schema_file(view.schema))
    if view.has_files(session.data_dir):
        paths = [placeholder, view.pattern(session.data_dir)]
        return read_parquet_sql(paths, union_by_name=session.union_by_name), True
    return read_parquet_sql([placeholder], union_by_name=False), False


def refuse_foreign_files(con: duckdb.DuckDBPyConnection, view: ParquetView, data_dir: Path) -> None:
    """A file in a view's folder that lacks the view's identifying columns would add all-null rows: name it.

    ``sql`` checks its views with it, ``export`` its tables (same folders, same schemas).
    """
    try:
        found = con.execute(foreign_files_sql(view, data_dir)).fetchall()
    except duckdb.Error as exc:  # a corrupt file: DuckDB's message names it
        raise DataError(f"{view.name}: cannot read the files of {view.subdir}/ ({duckdb_message(exc)})") from exc
    if found:
        path, present = found[0]
        missing = [name for name in identifying_columns(view) if name not in (present or [])]
        raise DataError(
            f"{path}: not a {view.name} file (it lacks {', '.join(missing)}); "
            f"move it out of {view.subdir}/ so it cannot add empty rows to {view.name}"
        )


def _create_parquet_views(con: duckdb.DuckDBPyConnection, session: _Session) -> None:
    session.empty.clear()
    for view in parquet_views():
        if session.check_files and view.has_files(session.data_dir):
            refuse_foreign_files(con, view, session.data_dir)
        source, has_files = _view_source(view, session)
        con.execute(create_view_sql(view.name, source))
        if not has_files:
            session.empty.add(view.name)
    con.execute(CUSTOMERS_VIEW_SQL)


def refuse_repeated_views(data_dir: Path) -> None:
    """A row key on two rows of a view (a file copied under another name): :class:`DataError` naming it.

    The movements and zone tables as their readers take them; the stored KPI and feature files
    as the views glob them, which ``read_kpis`` and ``read_features`` check the same way.
    """
    refuse_repeated_store(data_dir)
    # here, not at the top: the KPI store loads the KPI engine, which a session without them skips
    from retail_intel.etl.store import FEATURE_ROWS
    from retail_intel.kpis.store import KPI_ROWS

    derived = {KPI_VIEW: KPI_ROWS, FEATURE_VIEW: FEATURE_ROWS}
    for view in parquet_views():
        if view.name in derived:
            refuse_repeated_files(view.files(data_dir), derived[view.name])


def refresh_views(con: duckdb.DuckDBPyConnection) -> None:
    """Point the Parquet views at the files present now.

    Needed only when a folder went from no files to some (or back): a glob
    that matches nothing is an error in DuckDB, so an empty folder's view
    reads just its schema file until data arrives.
    """
    session = _sessions.get(con)
    if session is not None:
        _create_parquet_views(con, session)


def _views_stale(con: duckdb.DuckDBPyConnection) -> bool:
    session = _sessions.get(con)
    if session is None or not session.empty:
        return False
    return any(v.name in session.empty and v.has_files(session.data_dir) for v in parquet_views())


def _lock_down(con: duckdb.DuckDBPyConnection, data_dir: Path) -> None:
    roots = [str(view.root(data_dir)) for view in parquet_views()]
    # DuckDB checks a view's glob as written and then every file it expands to: a data directory
    # with glob characters ("store [12]") is named escaped in the glob, so that spelling is allowed
    # too. Each file read is checked as well, so only the real folders (or a folder literally
    # named like the escaped spelling, "store [[]12]", which nothing makes) can be read.
    roots += [escaped for escaped in map(escape_glob, roots) if escaped not in roots]
    directories = ", ".join(sql_string(root + "/") for root in roots)
    schema_files = ", ".join(sql_string(str(schema_file(view.schema))) for view in parquet_views())
    # Before the lock: DuckDB keeps its temp directory readable whatever allowed_directories says.
    con.execute(f"SET temp_directory = {sql_string(str(private_spill_dir()))}")
    con.execute(f"SET allowed_directories = [{directories}]")
    con.execute(f"SET allowed_paths = [{schema_files}]")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def open_database(
    config_dir: Path, data_dir: Path, *, read_only: bool = True, check_files: bool = True
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with every seed table as a view or table.

    ``read_only=True`` (the default) locks file access as described in the
    module docstring; ``read_only=False`` leaves the session open for callers
    that need to write (exports, tests) and must never run user SQL.
    ``check_files`` refuses a foreign or corrupt file up front, naming it; a
    long-running server passes False and answers 503 for the views such a
    file breaks instead of refusing to start.
    """
    # a str is taken as load_config and create_app take one
    data_dir = Path(data_dir)
    config = load_config(config_dir)
    if data_dir.exists() and not data_dir.is_dir():
        raise DataError(f"{data_dir}: expected the data directory, found a file")
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        create_metadata_tables(con, config)
        session = _Session(data_dir=data_dir, check_files=check_files)
        _create_parquet_views(con, session)
        if check_files:
            # once per session, after the files were found readable, and not on each view refresh:
            # a query retried after a file vanished (compact) is not refused by it
            reread_once(lambda: refuse_repeated_views(data_dir))
        _forget_closed()  # each open sweeps: the table holds no more than the connections still open
        with _sessions_lock:
            _sessions[con] = session
        if read_only:
            _lock_down(con, data_dir)
    except duckdb.Error as exc:
        con.close()
        raise DataError(f"{data_dir}: cannot open the Parquet files for SQL ({exc})") from exc
    except DataError:
        con.close()
        raise
    return con


def _relation_table(relation: duckdb.DuckDBPyRelation | None) -> pa.Table:
    if relation is None:
        return pa.table({})
    to_table = getattr(relation, "to_arrow_table", None)
    if to_table is not None:
        result: pa.Table = to_table()
        return result
    arrow = relation.arrow()
    return arrow.read_all() if isinstance(arrow, pa.RecordBatchReader) else arrow


def _require_open(con: duckdb.DuckDBPyConnection) -> None:
    closed = _closed_because(con)
    if closed is not None:
        with _sessions_lock:
            _sessions.pop(con, None)
        raise InputError(
            f"con: the connection is closed ({duckdb_message(closed)}); open another with open_database"
        ) from closed


def run_query(con: duckdb.DuckDBPyConnection, sql: str, *, max_rows: int | None = None) -> pa.Table:
    """Run one read-only statement on a connection from :func:`open_database`.

    Raises :class:`InputError` for a statement that would write or that DuckDB
    rejects (unknown column, denied file access), naming DuckDB's reason.
    """
    statement = check_read_only(sql)
    _require_open(con)
    if _views_stale(con):
        refresh_views(con)
    retried_io = False
    while True:
        cursor = con.cursor()
        try:
            relation = cursor.sql(statement)
            if max_rows is not None and relation is not None:
                relation = relation.limit(max_rows)
            return _relation_table(relation)
        except duckdb.Error as exc:
            session = _sessions.get(con)
            if session is not None and not session.union_by_name and _schema_mismatch(exc):
                session.union_by_name = True  # files disagree on columns: line them up by name from now on
                refresh_views(con)
                continue
            if isinstance(exc, duckdb.IOException):
                # A file can vanish between DuckDB's glob and its read when a
                # writer replaces it; looking again once is enough.
                if retried_io:
                    raise DataError(f"the query could not read the data directory: {duckdb_message(exc)}") from exc
                retried_io = True
                refresh_views(con)
                continue
            raise InputError(f"the query failed: {duckdb_message(exc)}") from exc
        finally:
            cursor.close()


def _schema_mismatch(exc: duckdb.Error) -> bool:
    # DuckDB's message for files whose columns differ suggests union_by_name.
    return "union_by_name" in str(exc).lower()


def query(config_dir: Path, data_dir: Path, sql: str, *, max_rows: int | None = None) -> pa.Table:
    """Open a read-only session, run ``sql`` and close it again (``data_dir`` must hold retail-intel data)."""
    require_retail_data(data_dir)
    con = open_database(config_dir, data_dir)
    try:
        return run_query(con, sql, max_rows=max_rows)
    finally:
        con.close()
