"""Benchmark of ``retail-intel export``: about a million movements into PostgreSQL.

Writes a synthetic data set with ``demo-data`` (branches x days chosen for
``--movements``) into a temporary folder, drops the target table, then
exports it twice into the database at ``--to``: the first run inserts every
row, the second finds every row unchanged. Prints time, rows per second and
the client's CPU time and peak RSS for each (on a shared machine the
client CPU time is the steadier figure). Without ``--to`` it starts a
throw-away server from Debian's ``postgresql`` package the way the tests do
(tests/pg_server.py); with ``--to`` give it a scratch database: the benchmark
drops and recreates ``customer_branch_movement``.

``--timestamps text`` sends timestamps as ISO text instead of integer
microseconds, which is how the first version worked; it shows what that
choice saves.

Usage::

    python benchmarks/bench_export.py
    PGPASSWORD=... python benchmarks/bench_export.py --to postgresql://me@127.0.0.1:5432/scratch
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

# Demo data (seed 1) averages about 920 movements per branch and day.
PER_BRANCH_DAY = 920


def _send_timestamps_as_text() -> None:
    from retail_intel.pgexport import run, tables

    def same_type(field: pa.Field) -> pa.DataType:
        return field.type

    def same_column(field: pa.Field) -> str:
        return tables.quote_ident(field.name)

    # The names as run.py and tables.py look them up when an export runs.
    setattr(run, "staging_type", same_type)  # noqa: B010
    setattr(run, "staging_sql_type", tables.pg_type)  # noqa: B010
    setattr(tables, "from_staging", same_column)  # noqa: B010


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--to", help="postgresql:// URL of a scratch database (default: start a server)")
    parser.add_argument("--movements", type=int, default=1_000_000)
    parser.add_argument("--timestamps", choices=["int", "text"], default="int")
    args = parser.parse_args()
    if args.to is None:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.pg_server import postgres_bindir, remove, start_postgres

        bindir = postgres_bindir()
        if bindir is None:
            print("bench_export: skipped, no PostgreSQL server binaries (apt-get install postgresql) and no --to")
            return
        server = start_postgres(bindir, Path(tempfile.mkdtemp(prefix="bench-export-pg-")))
        try:
            run(server.url(), args.movements, args.timestamps)
        finally:
            remove(server)
    else:
        run(args.to, args.movements, args.timestamps)


def run(url: str, movements: int, timestamps: str) -> None:

    import psycopg

    from retail_intel.demo import generate_demo
    from retail_intel.pgexport import export_to_postgres, redact_url

    if timestamps == "text":
        _send_timestamps_as_text()
    branches = 20
    days = max(1, round(movements / PER_BRANCH_DAY / branches))
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        root = Path(tmp)
        summary = generate_demo(
            root / "config", root / "data", branches=branches, days=days, seed=1, start=dt.date(2026, 1, 5)
        )
        print(f"{summary.movements:,} movements ({branches} branches x {days} days) -> {redact_url(url)}")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS customer_branch_movement")
        for label in ("first export (empty table)", "second export (nothing new)"):
            began, cpu = time.perf_counter(), time.process_time()
            result = export_to_postgres(root / "data", url, tables=["customer_branch_movement"])
            seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
            (table,) = result.tables
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"{label}: {seconds:.1f} s ({cpu:.1f} s client CPU), {table.rows / seconds:,.0f} rows/s; inserted {table.inserted:,}, "
                f"updated {table.updated:,}, unchanged {table.unchanged:,}; client peak RSS {peak:.0f} MiB"
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
