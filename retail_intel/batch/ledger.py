"""The batch ledger: which video was finished with which settings and model.

``DATA_DIR/ledger/ledger.jsonl`` is append-only JSON Lines, one entry per
finished (or failed) file. An entry is keyed by the *job key*, a hash of the
video's content fingerprint (sha256), the settings hash of its resolved plan
(region, thresholds, start time, ...), the model weights' hash and the key of
the previous segment whose open people it took over. A rerun skips a file
whose key has a ``done`` entry whose outputs are still in place; any change
(another ROI, another model, a changed predecessor) gives another key and
the file is processed again, replacing its old output.

Only the batch's coordinating process writes the ledger, and only after the
file's outputs are in place (every output is written atomically), so a job
killed at any moment leaves either a complete entry or none. A line torn by
a kill is ignored when read. The ledger also caches fingerprints by
(path, size, mtime) so a rerun does not hash unchanged videos again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from retail_intel.errors import DataError
from retail_intel.movements.compacted import holds_source
from retail_intel.movements.zone_store import ZONE_TABLES
from retail_intel.pipeline.run import run_summary_path
from retail_intel.storage import PREVIEWS_DIR, TRACKS_DIR, TRAJECTORIES_DIR, make_folder, write_error

LEDGER_DIR = "ledger"
LEDGER_FILE = "ledger.jsonl"
CARRY_DIR = "carry"

DONE = "done"
FAILED = "failed"


@dataclass(frozen=True)
class LedgerEntry:
    key: str
    status: str  # done | failed
    video: str  # absolute path when recorded
    fingerprint: str
    size: int
    mtime_ns: int
    settings_hash: str
    model_hash: str
    prev_key: str | None
    branch: str
    camera: str
    start_time: str  # ISO 8601, UTC
    duration_s: float | None
    movements: str | None = None  # relative to the data directory
    # (size, mtime) of the movement file as this entry left it: any later
    # rewrite (another key's run, a crash mid-way, a hand edit) voids the entry.
    movements_stat: tuple[int, int] | None = None
    carry: str | None = None
    claimed: tuple[str, ...] = ()  # customer ids taken over from the previous segment
    frames: int = 0
    seconds: float = 0.0
    reason: str | None = None
    # the settings hash split by stage: same tracks hash, other judge hash = re-judged from stored tracks
    tracks_hash: str | None = None
    judge_hash: str | None = None
    # a --max-frames run, written under previews/: it never continues, nor is continued by, a full run
    preview: bool = False
    # a preview that stopped before the end of its file: the segment after it does not continue it
    cut_short: bool = False
    recorded_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())

    @property
    def end_time(self) -> dt.datetime | None:
        if self.duration_s is None:
            return None
        return dt.datetime.fromisoformat(self.start_time) + dt.timedelta(seconds=self.duration_s)

    def to_line(self) -> str:
        data = asdict(self)
        data["claimed"] = list(self.claimed)
        data["movements_stat"] = list(self.movements_stat) if self.movements_stat else None
        return json.dumps(data, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LedgerEntry:
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        values["claimed"] = tuple(values.get("claimed") or ())
        stat = values.get("movements_stat")
        values["movements_stat"] = (int(stat[0]), int(stat[1])) if stat else None
        if "preview" not in values:
            # written before entries said so: a preview's outputs are under previews/
            movements = values.get("movements")
            values["preview"] = isinstance(movements, str) and Path(movements).parts[:1] == (PREVIEWS_DIR,)
        if "cut_short" not in values:
            # written before entries said so: whether a preview reached the end of its file is unknown
            values["cut_short"] = bool(values["preview"])
        return cls(**values)


def entry_from_line(data: object, path: Path, number: int) -> LedgerEntry:
    """The entry a complete (JSON) ledger line holds, or :class:`DataError` naming the file and line.

    A kill can only cut a line short, which makes it invalid JSON (ignored
    by the reader); valid JSON that is no entry was written by something
    else, and guessing what it meant could skip a file that was never done.
    """
    try:
        if not isinstance(data, dict):
            raise TypeError(f"expected a JSON object, got {type(data).__name__}")
        entry = LedgerEntry.from_json(data)
        _check_times(entry)
        return entry
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise DataError(
            f"{path}, line {number}: not a ledger entry ({exc}); remove that line "
            "(the file it was about is then processed again)"
        ) from exc


def _check_times(entry: LedgerEntry) -> None:
    """Parse the fields chaining and the KPI record compute with, so a bad one is found here."""
    start = dt.datetime.fromisoformat(entry.start_time)
    if start.utcoffset() is None:
        raise ValueError(f"start_time {entry.start_time!r} has no UTC offset")
    duration = entry.duration_s
    if duration is not None:
        if isinstance(duration, bool) or not isinstance(duration, (int, float)):
            raise TypeError(f"duration_s must be a number of seconds, got {duration!r}")
        start + dt.timedelta(seconds=duration)  # OverflowError past the calendar


def file_stat(path: Path) -> tuple[int, int] | None:
    """(size, mtime in ns) of ``path``; None when it does not exist."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (stat.st_size, stat.st_mtime_ns)


def _beside_movements_in_place(movements: Path) -> bool:
    """Whether the run's other outputs lie beside its movement file ``<root>/movements/<branch>/<day>/<key>.parquet``.

    A deleted tracks, trajectory or zone file or run summary (disk space freed by hand, a partial
    restore) would otherwise be skipped as done for good: its zone visits missing from the KPIs,
    its tracks from ``tracks`` and ``zones --rejudge``. The file is then done again (judged again
    in seconds when its tracks are still there).
    """
    root, relative = movements.parents[3], movements.relative_to(movements.parents[2])
    if not run_summary_path(root, movements.stem).is_file():
        return False
    for kind in (TRACKS_DIR, TRAJECTORIES_DIR):
        if not (root / kind / relative).is_file():
            return False
    # ``compact`` moves the zone tables into their month too
    return all((root / kind / relative).is_file() or holds_source(root / kind / relative) for kind in ZONE_TABLES)


def ledger_path(data_dir: Path) -> Path:
    return data_dir / LEDGER_DIR / LEDGER_FILE


def carry_path(data_dir: Path, key: str) -> Path:
    return data_dir / LEDGER_DIR / CARRY_DIR / f"{key}.json"


class Ledger:
    """The entries of ``DATA_DIR/ledger/ledger.jsonl``; the last entry of a key wins."""

    def __init__(self, data_dir: Path, entries: list[LedgerEntry] | None = None) -> None:
        self.data_dir = data_dir
        self.path = ledger_path(data_dir)
        self._by_key: dict[str, LedgerEntry] = {}
        self._by_stat: dict[tuple[str, int, int], str] = {}
        self._by_video: dict[str, dict[str, None]] = {}  # path -> keys of its entries, in order
        self._by_content: dict[str, dict[str, None]] = {}  # fingerprint -> keys of its entries, in order
        self.torn_lines = 0
        for entry in entries or []:
            self._remember(entry)

    @classmethod
    def load(cls, data_dir: Path) -> Ledger:
        ledger = cls(data_dir)
        if ledger.path.exists():
            with open(ledger.path, encoding="utf-8", errors="replace") as handle:
                for number, line in enumerate(handle, start=1):
                    if not line.strip():
                        continue
                    try:
                        data = json.loads(line)
                    except ValueError:
                        ledger.torn_lines += 1  # a write cut short by a kill: that file is simply redone
                        continue
                    ledger._remember(entry_from_line(data, ledger.path, number))
        return ledger

    def _remember(self, entry: LedgerEntry) -> None:
        self._by_key[entry.key] = entry
        self._by_stat[(entry.video, entry.size, entry.mtime_ns)] = entry.fingerprint
        self._by_video.setdefault(entry.video, {})[entry.key] = None
        self._by_content.setdefault(entry.fingerprint, {})[entry.key] = None

    def entries(self) -> list[LedgerEntry]:
        return list(self._by_key.values())

    def get(self, key: str) -> LedgerEntry | None:
        return self._by_key.get(key)

    def done(self, key: str) -> LedgerEntry | None:
        """The ``done`` entry of ``key`` if its outputs are on disk as it left them."""
        entry = self._by_key.get(key)
        if entry is None or entry.status != DONE or entry.movements is None or entry.carry is None:
            return None
        if not (self.data_dir / entry.carry).is_file():
            return None
        movements = self.data_dir / entry.movements
        stat = file_stat(movements)
        if stat is None:
            # ``compact`` moves a finished file's rows, unchanged, into its month: still done
            if not holds_source(movements):
                return None
        elif stat != entry.movements_stat:
            return None
        # entries with a tracks hash were written by runs that write every table below
        if entry.tracks_hash is not None and not _beside_movements_in_place(movements):
            return None
        return entry

    def failed(self, key: str) -> LedgerEntry | None:
        entry = self._by_key.get(key)
        return entry if entry is not None and entry.status == FAILED else None

    def of_video(self, video: str) -> list[LedgerEntry]:
        """The entries recorded for the file at path ``video`` (any content, settings or status)."""
        return [self._by_key[key] for key in self._by_video.get(video, {})]

    def of_content(self, fingerprint: str) -> list[LedgerEntry]:
        """The entries recorded for the video content ``fingerprint`` (any path, settings or status)."""
        return [self._by_key[key] for key in self._by_content.get(fingerprint, {})]

    def known_fingerprint(self, video: Path, size: int, mtime_ns: int) -> str | None:
        return self._by_stat.get((str(video), size, mtime_ns))

    def done_segments(self, branch: str, camera: str, *, preview: bool = False) -> list[LedgerEntry]:
        """The camera's done segments of one kind: full runs, or previews (``preview``)."""
        return [
            e
            for e in self._by_key.values()
            if e.status == DONE
            and e.branch == branch
            and e.camera == camera
            and e.preview == preview
            and self.done(e.key) is not None
        ]

    def append(self, entry: LedgerEntry) -> None:
        """Add ``entry`` durably (fsync) at the end of the file; :class:`WriteError` naming the ledger if it cannot."""
        make_folder(self.path.parent)
        line = entry.to_line() + "\n"
        try:
            with open(self.path, "ab") as handle:
                # A line torn by an earlier kill has no newline: start on a fresh line.
                if handle.tell() > 0:
                    with open(self.path, "rb") as reader:
                        reader.seek(-1, os.SEEK_END)
                        if reader.read(1) != b"\n":
                            line = "\n" + line
                handle.write(line.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            # a full disk or a read-only ledger: the file's failure names the ledger and why, as a
            # failed output file's does, not Python's "OSError: [Errno 28] ..."
            raise write_error(self.path, exc) from exc
        self._remember(entry)
