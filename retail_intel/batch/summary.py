"""What a batch did: one report per file, the KPIs it recomputed, its exit code; and the hooks a
progress display gets while it runs (:class:`BatchObserver`). Plain data: the CLI renders it, and
``to_dict`` is the JSON both ``--format json`` and the saved ``runs/batch-*.json`` hold."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

EXIT_PARTIAL = 3  # some files failed or did not run (a full disk), or the KPIs could not be recomputed
EXIT_INTERRUPTED = 130  # stopped by Ctrl-C: what finished is recorded, a rerun does the rest


@dataclass
class FileReport:
    video: str
    status: str  # done | skipped | failed | not run
    branch: str | None = None
    camera: str | None = None
    start_time: str | None = None
    reason: str | None = None
    frames: int = 0
    frames_estimate: int = 0
    seconds: float = 0.0
    people: int | None = None
    entered: int | None = None
    passed: int | None = None
    # continued the segment before (took over its open people); for a skipped file what its first run
    # found, from its ledger entry; None where unknown (a failed file, the same video as another file)
    joined_previous: bool | None = None
    taken_over: int | None = None  # people of the segment before it wrote (joined across the cut)
    movements: str | None = None


@dataclass(frozen=True)
class KpiUpdate:
    branch: str
    start: str
    end: str
    window_minutes: int
    rows: int


@dataclass
class BatchSummary:
    source: str
    kind: str
    executor: str
    workers: int
    files: list[FileReport] = field(default_factory=list)
    wall_s: float = 0.0
    interrupted: bool = False
    kpis: list[KpiUpdate] = field(default_factory=list)
    kpi_error: str | None = None
    notes: list[str] = field(default_factory=list)
    # "branch/camera" -> the automatic input size of that camera's files (SizeChoice.as_dict: chosen
    # once, or where none of its files showed enough people, the last probe); a camera run with
    # several models, backends, precisions, devices or crops gets one entry each, the key naming them
    input_sizes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(f.status == status for f in self.files)

    @property
    def done(self) -> int:
        return self.count("done")

    @property
    def skipped(self) -> int:
        return self.count("skipped")

    @property
    def failed(self) -> int:
        return self.count("failed")

    @property
    def not_run(self) -> int:
        return self.count("not run")

    @property
    def frames(self) -> int:
        return sum(f.frames for f in self.files if f.status == "done")

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.failed or self.not_run or self.kpi_error:
            return EXIT_PARTIAL
        return 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(done=self.done, skipped=self.skipped, failed=self.failed, not_run=self.not_run, frames=self.frames)
        data.update(fps=round(self.fps, 2), exit_code=self.exit_code)
        return data


class BatchObserver:
    """Hooks for a progress display; the library itself never prints."""

    def planned(self, files: int, to_run: int, frames_to_run: int) -> None:
        """Called once before the first segment starts (``to_run`` is an estimate)."""

    def started(self, report: FileReport) -> None:
        """A segment was handed to a worker."""

    def progress(self, report: FileReport, frames_done: int, frames_total: int | None) -> None:
        """Frames decoded so far of a running segment."""

    def finished(self, report: FileReport) -> None:
        """A file's final status is known (done, skipped, failed, or not run after a full disk)."""

    def kpis_started(self, branches: list[str]) -> None:
        """KPIs of these branches are being recomputed."""

    def waiting(self, holder: str) -> None:
        """Another batch holds this data directory (``holder`` says which); this one waits its turn."""
