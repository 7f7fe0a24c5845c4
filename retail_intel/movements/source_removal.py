"""Removing one source's rows from every per-source table of the store.

Writing a source again replaces its files (:func:`~retail_intel.movements.store.write_source`),
because a source's key names its content. A recording delivered while the recorder was still
writing it, and again once finished, has two contents under one name: two keys, so the second
run replaces nothing and both versions would be counted. The batch then removes the first
version with :func:`remove_source`, after the second is written.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from retail_intel.movements.compacted import drop_compacted_source
from retail_intel.movements.schema import MOVEMENT_SCHEMA, TRACK_SCHEMA, TRAJECTORY_SCHEMA
from retail_intel.movements.store import source_files
from retail_intel.movements.zone_store import ZONE_TABLES
from retail_intel.storage import MOVEMENTS_DIR, TRACKS_DIR, TRAJECTORIES_DIR

# folder -> schema of every table written one file per source (a compacted month holds the same schema)
SOURCE_TABLES: dict[str, pa.Schema] = {
    TRACKS_DIR: TRACK_SCHEMA,
    TRAJECTORIES_DIR: TRAJECTORY_SCHEMA,
    **ZONE_TABLES,
    MOVEMENTS_DIR: MOVEMENT_SCHEMA,  # last: the movement file is what marks a source as done
}


def remove_source(data_dir: Path, branch_id: str, source_key: str) -> int:
    """Delete ``source_key``'s files under every per-source table of ``data_dir``, and cut it out of
    any compacted month (of every branch and month: it may have moved); returns how many files and
    month pieces went (0: it was not there)."""
    removed = 0
    for kind, schema in SOURCE_TABLES.items():
        for path in source_files(data_dir, source_key, kind):
            path.unlink(missing_ok=True)
            removed += 1
        removed += drop_compacted_source(data_dir, kind, schema, source_key, branch_id=branch_id, month=None)
    return removed
