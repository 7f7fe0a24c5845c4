"""What a data directory holds, so a mistyped data directory is named instead of read as "no data".

``sql``, ``kpis`` and ``etl`` over a directory that holds no retail-intel
data used to answer with empty results and exit 0, which looks exactly like
a quiet day. :func:`require_retail_data` turns that into one line naming the
directory; :func:`describe_data_dir` is the same look as plain data, for
``serve`` (its health answer) and scripts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from retail_intel.errors import DataError, InputError, NextStep, Step
from retail_intel.movements.zone_store import ZONE_TABLES
from retail_intel.naming import CallerNames
from retail_intel.storage import (
    FEATURES_DIR,
    FRAMES_DIR,
    KPIS_DIR,
    MOVEMENTS_DIR,
    PREVIEWS_DIR,
    TRAJECTORIES_DIR,
    file_in_the_way,
    parquet_files,
)

# Every folder a retail-intel command writes; any one of them marks a data directory.
DATA_FOLDERS = (
    MOVEMENTS_DIR,
    KPIS_DIR,
    FEATURES_DIR,
    TRAJECTORIES_DIR,
    FRAMES_DIR,
    "ledger",
    "runs",
    "rejects",
    *ZONE_TABLES,  # zone_visits/, queue_visits/, queue_lengths/
)


# what a data directory holding only previews asks for (DataDirSummary.problem, NoRetailDataError)
_PREVIEWS_ONLY = NextStep(Step.PROCESS_WITHOUT_PREVIEW)


@dataclass(frozen=True)
class DataDirSummary:
    path: Path
    exists: bool
    folders: tuple[str, ...]  # the retail-intel folders it holds
    movement_files: int
    kpi_files: int
    feature_files: int

    @property
    def is_retail_data(self) -> bool:
        return bool(self.folders)

    @property
    def only_previews(self) -> bool:
        return not self.folders and (self.path / PREVIEWS_DIR).is_dir()

    def problem(self, names: Mapping[str, str] | None = None, steps: Mapping[Step, str] | None = None) -> str | None:
        """Why this is no retail-intel data directory (one line), or None when it is one.

        ``names`` say what the caller calls ``data_dir`` (the CLI: ``--data-dir (or RETAIL_INTEL_DATA_DIR)``),
        ``steps`` how it words the next step (see :meth:`RetailIntelError.worded_for`)."""
        data_dir = CallerNames(names)("data_dir")
        if not self.exists:
            return f"{self.path}: no such directory; check {data_dir}"
        if not self.path.is_dir():
            return f"{self.path}: expected the data directory, found a file"
        if self.only_previews:
            return f"{self.path}: holds only previews" + _PREVIEWS_ONLY.worded(
                (steps or {}).get(Step.PROCESS_WITHOUT_PREVIEW)
            )
        if not self.folders:
            return (
                f"{self.path}: holds no retail-intel data (no movements/, kpis/, features/ or ledger/ folder); "
                f"check {data_dir}, or write data first (process, ingest, demo-data)"
            )
        return None

    def as_dict(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "exists": self.exists,
            "is_retail_data": self.is_retail_data,
            "folders": list(self.folders),
            "movement_files": self.movement_files,
            "kpi_files": self.kpi_files,
            "feature_files": self.feature_files,
            "problem": self.problem(),
        }


def _folders(path: Path) -> tuple[str, ...]:
    if not path.is_dir():
        return ()
    return tuple(name for name in DATA_FOLDERS if (path / name).is_dir())


def describe_data_dir(path: Path, *, count_files: bool = True) -> DataDirSummary:
    """What ``path`` holds; ``count_files=False`` skips listing the Parquet files (folders only)."""
    folders = _folders(path)

    def count(name: str) -> int:
        return len(parquet_files(path / name)) if count_files and name in folders else 0

    return DataDirSummary(
        path=path,
        exists=path.exists(),
        folders=folders,
        movement_files=count(MOVEMENTS_DIR),
        kpi_files=count(KPIS_DIR),
        feature_files=count(FEATURES_DIR),
    )


class NoRetailDataError(DataError):
    """:func:`require_retail_data`'s refusal; :meth:`named_for` names the data directory as a caller calls it."""

    def __init__(self, summary: DataDirSummary) -> None:
        self.summary = summary
        super().__init__(summary.problem())
        if summary.only_previews:  # its message ends with the step's words already: worded_for swaps them
            self.next_step = _PREVIEWS_ONLY

    def named_for(self, names: Mapping[str, str]) -> str:
        return self.summary.problem(names) or str(self)


def require_retail_data(path: Path) -> DataDirSummary:
    """:func:`describe_data_dir` without file counts, or :class:`NoRetailDataError` (a :class:`DataError`) when
    ``path`` holds no retail-intel data."""
    summary = describe_data_dir(path, count_files=False)
    if summary.problem() is not None:
        raise NoRetailDataError(summary)
    return summary


def require_writable_data_dir(path: Path, option: str = "data_dir", what: str = "the data directory") -> None:
    """:class:`InputError` when ``path`` can never become a data directory: it, or a folder it
    would go in, is a file. Checked before a long run, not when its first result is written.

    ``option`` is what the caller calls ``path`` (the CLI: ``--data-dir``). ``what`` names the directory in
    the message: demo-data checks its config directory here too, so both of its targets and process's are
    refused in the same words."""
    if path.exists() and not path.is_dir():
        raise InputError(f"{option} {path}: expected {what}, found a file")
    blocker = file_in_the_way(path)
    if blocker is not None:
        raise InputError(f"{option} {path}: cannot be created, {blocker} is a file, not a folder")
