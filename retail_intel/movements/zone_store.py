"""Zone tables in the store, one file per source video beside its movements.

Layout: ``DATA_DIR/zone_visits/<branch>/<YYYY-MM-DD>/<source_key>.parquet``,
and the same under ``queue_visits/`` and ``queue_lengths/``. Writing a source
again replaces its files, so re-processing (or re-judging zones) never
duplicates visits. Written before the movement file, which marks the video done.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

from retail_intel.movements.overlap import outside_branches
from retail_intel.movements.store import read_listing, write_source
from retail_intel.movements.zone_schema import QUEUE_LENGTH_SCHEMA, QUEUE_VISIT_SCHEMA, ZONE_VISIT_SCHEMA
from retail_intel.movements.zones import ZoneTables
from retail_intel.storage import is_plain_name, parquet_files, reread_once

ZONE_VISITS_DIR = "zone_visits"
QUEUE_VISITS_DIR = "queue_visits"
QUEUE_LENGTHS_DIR = "queue_lengths"

# folder -> schema of the files in it
ZONE_TABLES: dict[str, pa.Schema] = {
    ZONE_VISITS_DIR: ZONE_VISIT_SCHEMA,
    QUEUE_VISITS_DIR: QUEUE_VISIT_SCHEMA,
    QUEUE_LENGTHS_DIR: QUEUE_LENGTH_SCHEMA,
}


def write_zone_tables(
    tables: ZoneTables,
    data_dir: Path,
    *,
    branch_id: str,
    day: dt.date,
    source_key: str,
    replace_elsewhere: bool = True,
) -> list[Path]:
    """Write one source's zone visits, queue rows and queue lengths, replacing earlier ones.

    Empty tables are written too: they replace visits of zones since removed.
    ``replace_elsewhere`` as for :func:`~retail_intel.movements.store.write_movements`.
    """
    parts = (
        (ZONE_VISITS_DIR, tables.visits),
        (QUEUE_VISITS_DIR, tables.queues),
        (QUEUE_LENGTHS_DIR, tables.queue_lengths),
    )
    return [
        write_source(table, data_dir, kind, ZONE_TABLES[kind], branch_id, day, source_key, replace_elsewhere)
        for kind, table in parts
    ]


def read_zone_table(data_dir: Path, kind: str, branch_ids: list[str] | None = None) -> pa.Table:
    """Every file of one zone table (``ZONE_VISITS_DIR``, ...), optionally of some branches only."""
    schema = ZONE_TABLES[kind]
    root = data_dir / kind

    def read() -> pa.Table:
        if branch_ids is None:
            return read_listing(parquet_files(root), schema, kind)
        files = [p for b in sorted(set(branch_ids)) if is_plain_name(b) for p in parquet_files(root / b)]
        return read_listing(files, schema, kind, outside_branches(root, branch_ids, files))

    return reread_once(read)
