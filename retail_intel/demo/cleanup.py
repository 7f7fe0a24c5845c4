"""What ``demo-data --force`` removes of an earlier demo run, and how it tells demo files from real ones.

A demo file is recognised by its exact source key, ``demo-<demo branch id>-<local date>``
(``demo-demo-003-2026-03-02``), in the folder of that branch. No other writer can produce
that key: ``process`` names its files ``<camera>-<16 hex digits>`` (a camera called ``demo``
writes ``demo-45cddc9490be6934``), ingest ``ingest-<16 hex digits>-<branch>-<date>`` and live
recording ``<fingerprint>-<4 digits>``. A prefix such as ``demo-*`` would also match real files.

The KPI and feature stores keep windows that are not recomputed, so the demo branches'
files there (``kpis/<N>m/demo-NNN.parquet``, ``features/hourly/demo-NNN.parquet``) go too:
otherwise KPIs of deleted demo days, and of demo branches no longer in the config, would
stay after the KPIs are re-run.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from retail_intel.etl.store import features_root
from retail_intel.kpis.store import kpis_root
from retail_intel.locking import KPIS_LOCK, data_dir_lock
from retail_intel.movements.compacted import compacted_files, drop_compacted_sources
from retail_intel.movements.compaction import COMPACTED_TABLES
from retail_intel.movements.store import movements_root
from retail_intel.movements.zone_store import ZONE_TABLES

# The ids demo/config.py gives its branches (branch_id(number): demo-001 .. demo-999).
DEMO_BRANCH_ID = re.compile(r"demo-\d{3}")
_DEMO_KEY = re.compile(r"demo-(demo-\d{3})-(\d{4}-\d{2}-\d{2})")
_WINDOW_DIR = re.compile(r"\d+m")


def demo_source_key(branch_id: str, local_date: dt.date) -> str:
    """The source key (file stem) of one demo branch-day."""
    return f"demo-{branch_id}-{local_date.isoformat()}"


def is_demo_source_key(key: str, branch_id: str) -> bool:
    """True only for the key :func:`demo_source_key` gives a day of the demo branch ``branch_id``."""
    match = _DEMO_KEY.fullmatch(key)
    if match is None or match.group(1) != branch_id:
        return False
    try:
        dt.date.fromisoformat(match.group(2))
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class RemovedDemo:
    movement_files: int  # per-day movement files (rows in compacted months not counted)
    derived_files: int  # KPI and feature files of demo branches


def _demo_day_files(root: Path) -> list[Path]:
    # <kind>/<branch>/<day>/<key>.parquet
    return [p for p in sorted(root.glob("*/*/demo-*.parquet")) if is_demo_source_key(p.stem, p.parent.parent.name)]


def _drop_compacted(data_dir: Path) -> None:
    for kind, schema in COMPACTED_TABLES.items():
        for path in compacted_files(data_dir / kind):
            branch = path.parent.parent.name  # <kind>/<branch>/<YYYY-MM>/<compacted file>
            drop_compacted_sources(data_dir, [path], schema, partial(is_demo_source_key, branch_id=branch))


def _derived_files(data_dir: Path) -> list[Path]:
    kpis = kpis_root(data_dir)
    candidates = list(kpis.glob("*/demo-*.parquet")) + list(features_root(data_dir).glob("demo-*.parquet"))
    return sorted(
        p
        for p in candidates
        if DEMO_BRANCH_ID.fullmatch(p.stem) and (p.parent.parent != kpis or _WINDOW_DIR.fullmatch(p.parent.name))
    )


def remove_earlier_demo(data_dir: Path) -> RemovedDemo:
    """Remove the files an earlier demo run wrote into ``data_dir``; real files stay, whatever their names."""
    movements = _demo_day_files(movements_root(data_dir))
    zones = [p for kind in ZONE_TABLES for p in _demo_day_files(data_dir / kind)]
    for path in movements + zones:
        path.unlink()
    derived = _derived_files(data_dir)
    if derived:
        with data_dir_lock(data_dir, KPIS_LOCK):  # not while `kpis` merges into the same files
            derived = _derived_files(data_dir)
            for path in derived:
                path.unlink()
    _drop_compacted(data_dir)
    return RemovedDemo(len(movements), len(derived))
