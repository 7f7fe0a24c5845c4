"""Reading a compacted table while a source's rows sit both in its month and in its own file.

At rest a source is in one place: its own file (``<branch>/<YYYY-MM-DD>/<key>.parquet``)
or its compacted month (``<branch>/<YYYY-MM>/compacted.parquet``). Two steps
pass through both, since two files cannot be replaced at once:

- ``compact`` writes the month, then removes the day files it merged;
- a source written again (a re-processed video) lands as its own file, then
  its old copy is cut out of the month.

A reader in between would count the source's rows twice, and a KPI run
would store the doubled figure. So readers take the rule that
``compact`` heals a killed writer with: a source's own file wins. A month
that lists a source which also has its own file in the listing is read
through one open handle (rows and source list from one version) and that
source's rows are cut out (:func:`plan_read`).

A writer killed between writing a source's file under a new day or branch
and removing its old one leaves two own files of the source: the one written
last is read (:func:`stale_copies`), as ``compact`` keeps it.

The other months are read by name, as fast as before; their version is noted
when their source list is checked, and :meth:`StoreRead.verify` after the
read refuses a read during which one was replaced (``compact`` merged more
days into it while their own files were still listed), so that
:func:`retail_intel.storage.reread_once` lists again.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from retail_intel.errors import DataError, StoreChangedError
from retail_intel.movements.compacted import COMPACTED_NAME, compacted_sources, is_month_folder, read_compacted
from retail_intel.storage import FileVersion, file_version


@dataclass(frozen=True)
class StoreRead:
    """One table's listed files as a reader takes them."""

    by_name: list[Path]  # read by name, as they are
    cut: list[pa.Table]  # months holding a source that also has its own file, without that source's rows
    months: tuple[tuple[Path, FileVersion], ...] = ()  # the months in ``by_name`` and the version checked
    cut_from: tuple[Path, ...] = ()  # the month each table of ``cut`` was read from, to name it

    @property
    def empty(self) -> bool:
        return not self.by_name and not self.cut

    def verify(self) -> None:
        """Raise :class:`DataError` if a month read by name was replaced since its source list was checked."""
        for path, version in self.months:
            if file_version(path) != version:
                raise StoreChangedError(f"{path}: replaced while it was read (compact ran meanwhile)")


def is_month_file(path: Path) -> bool:
    return path.name == COMPACTED_NAME and is_month_folder(path.parent.name)


def stale_copies(files: Sequence[Path], version: Callable[[Path], FileVersion | None] = file_version) -> set[Path]:
    """The files of ``files`` that a later file of the same source in the listing replaces.

    A source written again under another day or branch lands as its new file,
    then its old one is removed; a writer killed in between leaves both until
    ``compact`` removes the older. The one written last wins, by modification
    time (``version``: the file's listed version; a gone file is left out too).
    """
    by_key: dict[str, list[Path]] = {}
    for path in files:
        if not is_month_file(path):
            by_key.setdefault(path.stem, []).append(path)
    stale: set[Path] = set()
    for copies in by_key.values():
        if len(copies) < 2:
            continue
        dated = [(found, path) for path in copies if (found := version(path)) is not None]
        newest = max(dated, key=lambda copy: (copy[0][1], str(copy[1])))[1] if dated else None
        stale.update(path for path in copies if path != newest)
    return stale


def rows_counted_once(files: Sequence[tuple[Path, int]]) -> int:
    """Rows of a listing of ``(file, rows in its footer)``, each source counted once.

    The same rule as :func:`plan_read`, from footers alone: a month's rows of a
    source that also has its own file in the listing are left out, and so is an
    older file of a source that has a later one.
    """
    stale = stale_copies([path for path, _ in files])
    files = [(path, rows) for path, rows in files if path not in stale]
    own = {path.stem for path, _ in files if not is_month_file(path)}
    total = 0
    for path, rows in files:
        total += rows
        if is_month_file(path) and own:
            # not a month of this store (DataError): plan_read reads it by name, whole, too
            with contextlib.suppress(DataError):
                total -= sum(s.rows for s in compacted_sources(path) if s.key in own)
    return total


def outside_branches(root: Path, branch_ids: Sequence[str], listed: Sequence[Path]) -> list[Path]:
    """The source files of the table at ``root`` in branch folders other than ``branch_ids``, whose
    listing is ``listed``; none when ``listed`` holds no compacted month.

    A listing of some branches is not read with them, but their sources' files
    still count: a video moved to another branch (its camera's branch corrected)
    whose old copy is still in this branch's month, half done, is the other
    branch's video, as a reading of every branch has it. Only day folders are
    looked into (a compacted store has few), and only for a listing with a month.
    """
    if not any(is_month_file(path) for path in listed):
        return []
    wanted = set(branch_ids)
    found: list[Path] = []
    for branch in _folders(root):
        if branch.name in wanted:
            continue
        for day in _folders(Path(branch.path)):
            if is_month_folder(day.name):
                continue
            with contextlib.suppress(FileNotFoundError, NotADirectoryError), os.scandir(day.path) as entries:
                found.extend(
                    Path(e.path) for e in entries if e.name.endswith(".parquet") and not e.name.startswith(".")
                )
    return found


def _folders(path: Path | str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as entries:
            return [e for e in entries if not e.name.startswith(".") and e.is_dir()]
    except (FileNotFoundError, NotADirectoryError):
        return []


def plan_read(files: Sequence[Path], schema: pa.Schema, outside: Sequence[Path] = ()) -> StoreRead:
    """How to read ``files``, one table's listing of ``schema``, so that no source is read twice.

    ``outside``: the table's source files not listed (:func:`outside_branches`), never read; one of
    them still wins over a listed month's copy or a listed older file of its source.
    """
    stale = stale_copies([*files, *outside])
    files = [path for path in files if path not in stale]
    own = {p.stem for p in [*files, *outside] if not is_month_file(p) and p not in stale}
    by_name: list[Path] = []
    cut: list[pa.Table] = []
    cut_from: list[Path] = []
    months: list[tuple[Path, FileVersion]] = []
    for path in files:
        if not is_month_file(path):
            by_name.append(path)
            continue
        version = file_version(path)
        if version is None:
            raise StoreChangedError(f"{path}: removed while the store was listed")
        # a month that is not this store's reads as unreadable later, with its name
        try:
            shadowed = any(s.key in own for s in compacted_sources(path))
        except DataError:
            shadowed = False
        if not shadowed:
            by_name.append(path)
            months.append((path, version))
            continue
        pieces = [t for s, t in read_compacted(path, schema) if s.key not in own]
        if pieces:
            cut.append(pa.concat_tables(pieces))
            cut_from.append(path)
    return StoreRead(by_name, cut, tuple(months), tuple(cut_from))
