"""The batch coordinator: discover, plan, run each camera's segments in order, record, recompute KPIs.

Parallelism is across chains (a camera's consecutive segments): the
segments of one chain run one after the other, in time order, because each
takes over the people still in view at the end of the one before. With
``workers`` slots, the chains with the most footage left go first.

Only this coordinator writes the ledger, after a segment's outputs are in
place; see :mod:`retail_intel.batch.ledger` for why a kill at any moment
loses and duplicates nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from retail_intel.batch.carry import drop_claimed_in_store
from retail_intel.batch.chains import JOIN_GAP_S, link_segments
from retail_intel.batch.discover import discover
from retail_intel.batch.executors import Executor, InlineExecutor, PoolExecutor, RayExecutor, import_ray
from retail_intel.batch.give_back import earlier_takeovers
from retail_intel.batch.ledger import DONE, FAILED, Ledger, LedgerEntry, file_stat
from retail_intel.batch.pending import Span, add_pending, clear_pending, load_pending
from retail_intel.batch.segments import Rejected, Segment, job_key, prepare, stage_hash, weights_identity
from retail_intel.batch.superseded import earlier_versions, remove_outputs
from retail_intel.batch.work import SegmentOutcome, SegmentTask, failure_reason
from retail_intel.config.camera_settings import CameraSettings
from retail_intel.config.loader import Config, load_config
from retail_intel.datadir import require_writable_data_dir
from retail_intel.errors import InputError, RetailIntelError
from retail_intel.locking import BATCH_LOCK, data_dir_lock
from retail_intel.movements.store import stored_tracks_metadata
from retail_intel.pipeline.autosize import SizeChoice, autosize_plan, sized_by
from retail_intel.pipeline.plan import DetectorSpec, ProcessPlan
from retail_intel.pipeline.run import RUNS_DIR, DetectorFactory, default_detector_factory, source_key, tracks_identity
from retail_intel.storage import KPIS_DIR, atomic_write_bytes

EXIT_PARTIAL = 3  # some files failed (or the KPIs could not be recomputed)
EXIT_INTERRUPTED = 130  # stopped by Ctrl-C: what finished is recorded, a rerun does the rest
EXECUTORS = ("local", "ray")
DEFAULT_KPI_WINDOW_MINUTES = 60


@dataclass(frozen=True)
class BatchRequest:
    source: str  # folder, glob pattern or manifest
    config_dir: Path
    data_dir: Path
    settings: CameraSettings = field(default_factory=CameraSettings)  # the flags' settings layer
    max_frames: int | None = None  # a preview of each file: written under previews/
    workers: int | None = None  # local: 1 by default; ray: the cluster's CPUs
    executor: str = "local"
    address: str | None = None  # ray: cluster address (auto, ray://host:10001); None starts a local Ray
    kpis: bool = True
    retry_failed: bool = False  # also redo files that failed before with the same key
    join_gap_s: float = JOIN_GAP_S
    ray_cpus_per_task: float = 1.0


@dataclass(frozen=True)
class Runtime:
    """Injection points: tests run the whole batch with a fake detector and no weights."""

    detector_factory: DetectorFactory = default_detector_factory
    model_identity: Callable[[DetectorSpec], str] = weights_identity


DEFAULT_RUNTIME = Runtime()


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
    def frames(self) -> int:
        return sum(f.frames for f in self.files if f.status == "done")

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.failed or self.kpi_error:
            return EXIT_PARTIAL
        return 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(done=self.done, skipped=self.skipped, failed=self.failed, frames=self.frames)
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
        """A file's final status is known (done, skipped or failed)."""

    def kpis_started(self, branches: list[str]) -> None:
        """KPIs of these branches are being recomputed."""

    def waiting(self, holder: str) -> None:
        """Another batch holds this data directory (``holder`` says which); this one waits its turn."""


@dataclass
class _Item:
    """One prepared segment and where the coordinator is with it."""

    index: int
    segment: Segment
    report: FileReport
    base: tuple[str, str, str]  # fingerprint, settings hash, model hash
    prev: int | None = None  # the segment of this batch it continues
    earlier: LedgerEntry | None = None  # ... or a segment finished by an earlier batch
    key: str | None = None
    entry: LedgerEntry | None = None  # its ledger entry once done (or skipped)


def _make_executor(
    request: BatchRequest, runtime: Runtime, on_progress: Callable[[int, int, int | None], None]
) -> Executor:
    if request.executor == "ray":
        return RayExecutor(
            runtime.detector_factory,
            on_progress,
            address=request.address,
            workers=request.workers,
            cpus_per_task=request.ray_cpus_per_task,
        )
    workers = request.workers or 1
    if workers == 1:
        return InlineExecutor(runtime.detector_factory, on_progress)
    return PoolExecutor(workers, runtime.detector_factory, on_progress)


def _entry_for(item: _Item, outcome: SegmentOutcome, prev_key: str | None, data_dir: Path) -> LedgerEntry:
    segment = item.segment
    fingerprint, settings, model = item.base
    # the run's own duration: a variable-frame-rate file timed by its timestamps covers more (or
    # less) than frames / fps, and the next segment and the KPI windows to redo follow it
    duration = (
        float(outcome.summary["duration_s"])
        if outcome.ok and outcome.summary and outcome.summary.get("duration_s") is not None
        else outcome.frames / segment.fps
        if outcome.ok and outcome.frames
        else segment.duration_s
    )
    return LedgerEntry(
        key=outcome.key,
        status=DONE if outcome.ok else FAILED,
        video=str(segment.job.video),
        fingerprint=fingerprint,
        size=segment.size,
        mtime_ns=segment.mtime_ns,
        settings_hash=settings,
        tracks_hash=stage_hash(segment.plan, "track"),
        judge_hash=stage_hash(segment.plan, "judge"),
        preview=segment.plan.is_preview,
        cut_short=segment.cut_short,
        model_hash=model,
        prev_key=prev_key,
        branch=segment.plan.branch_id,
        camera=segment.plan.camera_id,
        start_time=segment.start_time.isoformat(),
        duration_s=duration,
        movements=outcome.movements,
        movements_stat=file_stat(data_dir / outcome.movements) if outcome.movements else None,
        trajectories=outcome.trajectories,
        carry=outcome.carry,
        claimed=outcome.claimed,
        frames=outcome.frames,
        seconds=outcome.seconds,
        reason=outcome.reason,
    )


class _Coordinator:
    def __init__(
        self, request: BatchRequest, runtime: Runtime, observer: BatchObserver, config: Config, ledger: Ledger
    ) -> None:
        self.request = request
        self.runtime = runtime
        self.observer = observer
        self.config = config
        self.ledger = ledger
        self.data_dir = request.data_dir
        self.items: list[_Item] = []
        self.changed: list[tuple[str, dt.datetime, dt.datetime]] = []  # (branch, start, end) whose data changed
        self.owed: list[Span] = []  # spans recorded in kpis-pending.json by this batch
        self.notes: list[str] = []  # for the summary
        self.redo: set[int] = set()  # items run even though their key is done (see give_back)
        # the automatic input size per camera (and detector: a manifest row may change the model)
        self.sizes: dict[tuple[object, ...], SizeChoice] = {}
        # a camera's latest probe that found too few people to size on (kept for the summary until one does)
        self.undecided: dict[tuple[object, ...], SizeChoice] = {}

    def _owe_kpis(self, entry: LedgerEntry) -> None:
        """Record the entry's span as owing KPIs before its ledger line makes it count as done."""
        if self.request.kpis:
            start = dt.datetime.fromisoformat(entry.start_time)
            add_pending(
                self.data_dir, [(entry.branch, start, start + dt.timedelta(seconds=entry.duration_s or 0.0))], self.owed
            )

    # -- keys -----------------------------------------------------------------------------------

    def prev_key(self, item: _Item) -> str | None:
        if item.prev is not None:
            before = self.items[item.prev]
            return before.entry.key if before.entry is not None else None
        return item.earlier.key if item.earlier is not None else None

    def key_of(self, item: _Item, prev_key: str | None) -> str:
        return job_key(*item.base, prev_key)

    # -- files of the segment before ---------------------------------------------------------------

    def _hand_over(self, before: LedgerEntry, claimed: tuple[str, ...]) -> LedgerEntry:
        """Remove ``claimed`` people from the earlier segment's files and record its new state."""
        changed = False
        for rel in (before.movements, before.trajectories):
            if rel is not None:
                changed |= drop_claimed_in_store(self.data_dir, rel, claimed)
        if not changed or before.movements is None:
            return before
        refreshed = replace(
            before,
            movements_stat=file_stat(self.data_dir / before.movements),
            recorded_at=dt.datetime.now(dt.UTC).isoformat(),
        )
        self._owe_kpis(refreshed)
        self.ledger.append(refreshed)
        self._note_change(refreshed)
        return refreshed

    def _replace_earlier_versions(self, entry: LedgerEntry) -> None:
        """Remove the outputs of what this path held before (a file then still being recorded)."""
        for old in earlier_versions(self.ledger, entry):
            self._owe_kpis(old)  # its people leave the store: its days' KPIs change
            if remove_outputs(self.data_dir, old):
                self._note_change(old)
                self.notes.append(
                    f"{Path(entry.video).name}: the earlier version processed {old.recorded_at[:19]} "
                    f"({old.frames} frames, content changed since) was replaced"
                )

    def plan_give_backs(self) -> None:
        """Redo the segment a segment to be redone had taken people over from (planned keys set)."""
        by_key = {item.key: item for item in self.items if item.key is not None}
        contents = {item.base[0] for item in self.items}
        for item in self.items:
            if item.key is None or self.ledger.done(item.key) is not None:
                continue
            plan = item.segment.plan
            for old in earlier_takeovers(
                self.ledger, item.base[0], plan.branch_id, plan.camera_id, item.key, preview=plan.is_preview
            ):
                assert old.prev_key is not None
                if old.prev_key in by_key:
                    self.redo.add(by_key[old.prev_key].index)
                    continue
                before = self.ledger.done(old.prev_key)
                if before is not None and before.fingerprint not in contents:
                    self.notes.append(
                        f"{item.segment.job.video.name} is redone without {Path(before.video).name}, which it had "
                        f"taken {len(old.claimed)} people over from: process both together to give them back"
                    )

    def _note_change(self, entry: LedgerEntry) -> None:
        start = dt.datetime.fromisoformat(entry.start_time)
        self.changed.append((entry.branch, start, start + dt.timedelta(seconds=entry.duration_s or 0.0)))

    # -- scheduling -------------------------------------------------------------------------------

    def resolve_without_running(self, item: _Item) -> bool:
        """Settle ``item`` if its key is done (skip) or failed before; False when it must run."""
        prev_key = self.prev_key(item)
        item.key = self.key_of(item, prev_key)
        done = self.ledger.done(item.key) if item.index not in self.redo else None
        if done is not None:
            item.entry = done
            item.report.status = "skipped"
            item.report.reason = "done earlier with the same content, settings and model"
            item.report.movements = done.movements
            # what the run that did it found: its ledger entry names the segment it continued and
            # the people it took over from it
            item.report.joined_previous = done.prev_key is not None
            item.report.taken_over = len(done.claimed)
            self.observer.finished(item.report)
            return True
        failed = self.ledger.failed(item.key)
        if failed is not None and not self.request.retry_failed:
            item.report.status = "failed"
            item.report.reason = f"failed earlier (same file and settings; --retry-failed tries again): {failed.reason}"
            self.observer.finished(item.report)
            return True
        return False

    def _sized(self, segment: Segment, before: LedgerEntry | None = None) -> ProcessPlan:
        """The segment's plan at its camera's automatic input size, probed on the camera's first
        file that is detected and shows enough people to size on.

        A segment that continues one done before (``before``: a batch stopped and run again, or a
        file delivered after its predecessor's night) goes on at the size that one was sized at,
        so the chain runs at one size, as in one uninterrupted batch, instead of being sized again.

        Once per camera and batch, not per file: the cameras do not move between files, and each
        probe loads models and detects at the largest size. A file whose stored tracks fit its plan
        is re-judged without detecting, so it needs no size. A probe that fails (an unreadable file)
        decides nothing: that file fails on its own, and the camera's next file probes. Nor does a
        probe that finds too few people: a night's first files are a closed shop, and sizing a far
        camera on them would run the whole night at the default size, where its people are lost.
        That file runs at the default for want of evidence (the probe sees a few frames, so it
        may hold people the probe missed) and the camera's next file probes again: a probe costs
        a few frames at two sizes, little beside a file of footage.
        """
        plan = segment.plan
        if not plan.auto_size or plan.size_choice is not None:
            return plan
        s = plan.settings
        camera = (plan.branch_id, plan.camera_id, s.model, s.backend, s.precision, s.device, s.detect_margin)
        if camera not in self.sizes:
            stored = stored_tracks_metadata(self.data_dir, source_key(plan.camera_id, segment.fingerprint))
            if stored is not None and stored.get("identity") == tracks_identity(plan):
                return plan  # re-judged from its stored tracks: nothing to size yet
            carried = self._size_of(before, plan)
            if carried is not None:
                self.sizes[camera] = carried
                self.undecided.pop(camera, None)
                return sized_by(plan, carried)
            try:
                choice = autosize_plan(plan, self.runtime.detector_factory)[1]
            except Exception:  # whatever breaks the probe breaks the file's own run too, reported there
                return plan
            if not choice.decided:
                self.undecided[camera] = choice
                return sized_by(plan, choice)
            self.sizes[camera] = choice
            self.undecided.pop(camera, None)
        return sized_by(plan, self.sizes[camera])

    def _size_of(self, before: LedgerEntry | None, plan: ProcessPlan) -> SizeChoice | None:
        """The automatic size the done segment ``before`` was sized at, if it ran with ``plan``'s
        tracking settings and that size was decided (on enough people)."""
        if before is None or before.preview != plan.is_preview:
            return None
        if (before.branch, before.camera) != (plan.branch_id, plan.camera_id):
            return None
        stored = stored_tracks_metadata(self.data_dir, source_key(before.camera, before.fingerprint))
        if stored is None or stored.get("identity") != tracks_identity(plan):
            return None
        try:
            choice = SizeChoice.from_dict(json.loads(stored.get("input_size", "null")))
        except (TypeError, ValueError, AttributeError):
            return None  # sized by hand, or stored before the size was recorded
        return choice if choice.decided else None

    def task_for(self, item: _Item) -> SegmentTask:
        assert item.key is not None
        before = self.items[item.prev].entry if item.prev is not None else item.earlier
        return SegmentTask(
            index=item.index,
            key=item.key,
            plan=self._sized(item.segment, before),
            start_time=item.segment.start_time,
            carry_from=self.prev_key(item),
        )

    def record(self, item: _Item, outcome: SegmentOutcome) -> None:
        """Book a finished segment: hand-over on the files before, then the ledger entry."""
        report = item.report
        prev_key = self.prev_key(item)
        try:
            if outcome.ok:
                before = self.items[item.prev].entry if item.prev is not None else item.earlier
                # a preview never takes people out of a full run's files (nor the other way round)
                if outcome.claimed and before is not None and before.preview == item.segment.plan.is_preview:
                    refreshed = self._hand_over(before, outcome.claimed)
                    if item.prev is not None:
                        self.items[item.prev].entry = refreshed
                nxt = self._next_done(item, outcome.key)
                if nxt is not None and nxt.claimed:
                    # Redone while the segment after it is still done: it takes its people back.
                    assert outcome.movements is not None
                    for rel in (outcome.movements, outcome.trajectories):
                        if rel is not None:
                            drop_claimed_in_store(self.data_dir, rel, nxt.claimed)
            entry = _entry_for(item, outcome, prev_key, self.data_dir)
            if outcome.ok:
                self._replace_earlier_versions(entry)
                self._owe_kpis(entry)
            if outcome.ok or outcome.permanent:
                self.ledger.append(entry)
        except (RetailIntelError, OSError) as exc:
            outcome = replace(outcome, ok=False, reason=f"recording the result failed: {failure_reason(exc)}")
            entry = None
        report.seconds = outcome.seconds
        if outcome.ok and entry is not None:
            item.entry = entry
            summary = outcome.summary or {}
            report.status = "done"
            report.frames = outcome.frames
            report.people = summary.get("people")
            report.entered = summary.get("entered")
            report.passed = summary.get("passed")
            report.movements = outcome.movements
            report.joined_previous = prev_key is not None
            report.taken_over = len(outcome.claimed)
            self._note_change(entry)
        else:
            report.status = "failed"
            report.reason = outcome.reason
        self.observer.finished(report)

    def _next_done(self, item: _Item, key: str) -> LedgerEntry | None:
        for other in self.items:
            if other.prev == item.index:
                return self.ledger.done(self.key_of(other, key))
        return None

    def run(self, executor: Executor) -> None:
        successors = {i.prev: i.index for i in self.items if i.prev is not None}
        heads = [i for i in self.items if i.prev is None]
        remaining = {h.index: self._chain_cost(h.index, successors) for h in heads}
        # cursor per chain: the next item of the chain to settle
        cursors: dict[int, int | None] = {h.index: h.index for h in heads}
        in_flight: dict[int, int] = {}  # item index -> chain head
        while True:
            for head in sorted(cursors, key=lambda h: -remaining[h]):
                if len(in_flight) >= executor.capacity:
                    break
                if head in in_flight.values():
                    continue
                current = cursors[head]
                while current is not None and self.resolve_without_running(self.items[current]):
                    current = successors.get(current)
                cursors[head] = current
                if current is None:
                    continue
                item = self.items[current]
                executor.submit(self.task_for(item))
                in_flight[current] = head
                self.observer.started(item.report)
            cursors = {h: c for h, c in cursors.items() if c is not None}
            if not in_flight:
                return
            for outcome in executor.wait(0.25):
                item = self.items[outcome.index]
                head = in_flight.pop(outcome.index)
                self.record(item, outcome)
                remaining[head] -= _cost(item.segment)
                cursors[head] = successors.get(outcome.index)

    def _chain_cost(self, head: int, successors: dict[int, int]) -> float:
        total, current = 0.0, head
        while True:
            total += _cost(self.items[current].segment)
            if current not in successors:
                return total
            current = successors[current]

    def on_progress(self, index: int, done: int, total: int | None) -> None:
        item = self.items[index]
        self.observer.progress(item.report, done, total)


def _cost(segment: Segment) -> float:
    """Rough detector work of a segment, to start the longest chains first."""
    spec = segment.plan.detector
    frames = segment.frames_estimate or 1
    return frames / segment.plan.stride * (spec.imgsz / 640) ** 2 * spec.tiles**2


def _prepare_all(request: BatchRequest, config: Config, ledger: Ledger, jobs: list[Any]) -> list[Segment | Rejected]:
    # Threads: probing and hashing wait on the disk and OpenCV, not on Python.
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="retail-intel-prepare") as pool:
        return list(
            pool.map(
                lambda job: prepare(job, config, request.data_dir, request.settings, ledger, request.max_frames), jobs
            )
        )


def run_batch(
    request: BatchRequest, *, runtime: Runtime | None = None, observer: BatchObserver | None = None
) -> BatchSummary:
    """Process every video of ``request.source``; see docs/batch.md.

    Raises only for problems that stop the batch before it starts (config,
    source, model, executor); a bad file is reported in the summary instead.
    Two batches into one data directory take turns (the second then skips
    what the first finished): see :mod:`retail_intel.locking`.
    """
    _check_request(request)  # before the lock, which creates the data directory
    waiting = observer.waiting if observer is not None else None
    with data_dir_lock(request.data_dir, BATCH_LOCK, on_wait=waiting):
        return _run_batch(request, runtime=runtime, observer=observer)


def _check_request(request: BatchRequest) -> None:
    require_writable_data_dir(request.data_dir)  # a file there: one line naming it, not the lock file's failure
    if request.executor not in EXECUTORS:
        raise InputError(f"--executor must be one of {', '.join(EXECUTORS)}, got {request.executor!r}")
    if request.address is not None and request.executor != "ray":
        raise InputError("--address is for --executor ray")
    if request.executor == "ray":
        import_ray()  # says how to install it before any work is done


def _run_batch(
    request: BatchRequest, *, runtime: Runtime | None = None, observer: BatchObserver | None = None
) -> BatchSummary:
    began = time.perf_counter()
    began_at = dt.datetime.now(dt.UTC)  # names the saved summary: batch-<UTC start>.json
    runtime = runtime or DEFAULT_RUNTIME
    observer = observer or BatchObserver()
    config = load_config(request.config_dir)
    discovery = discover(request.source, config)
    data_dir = request.data_dir
    request = replace(request, data_dir=data_dir.resolve())
    ledger = Ledger.load(request.data_dir)
    summary = BatchSummary(
        source=request.source,
        kind=discovery.kind,
        executor=request.executor,
        workers=request.workers or (1 if request.executor == "local" else 0),
    )
    for problem in discovery.problems:
        summary.files.append(FileReport(str(problem.video), "failed", reason=problem.reason))

    coordinator = _Coordinator(request, runtime, observer, config, ledger)
    if request.kpis:
        # KPIs an earlier batch owed when it was killed during (or before) its KPI step
        known = {b.id for b in config.branches}
        pending = load_pending(request.data_dir)
        coordinator.changed.extend(span for span in pending if span[0] in known)
        # still owed until this batch's KPI step succeeds: add_pending rewrites the file from ``owed``
        coordinator.owed.extend(pending)
    prepared = _prepare_all(request, config, ledger, discovery.jobs)
    segments: list[Segment | None] = []
    model_ids: dict[DetectorSpec, str] = {}
    seen: dict[tuple[str, str, str], str] = {}
    for result in prepared:
        if isinstance(result, Rejected):
            summary.files.append(
                FileReport(str(result.video), "failed", result.branch, result.camera, reason=result.reason)
            )
            continue
        same = (result.plan.branch_id, result.plan.camera_id, result.fingerprint)
        report = FileReport(
            str(result.job.video),
            "not run",
            result.plan.branch_id,
            result.plan.camera_id,
            result.start_time.isoformat(),
            frames_estimate=result.frames_estimate,
        )
        summary.files.append(report)
        if same in seen:
            report.status = "skipped"
            report.reason = f"the same video as {seen[same]}"
            continue
        seen[same] = str(result.job.video)
        spec = result.plan.detector
        if spec not in model_ids:
            model_ids[spec] = runtime.model_identity(spec)  # a missing model stops the batch here
        base = (result.fingerprint, result.settings_hash, model_ids[spec])
        coordinator.items.append(_Item(len(coordinator.items), result, report, base))
        segments.append(result)

    chains = link_segments(list(segments), ledger, max_gap_s=request.join_gap_s)
    for index, prev in chains.prev.items():
        coordinator.items[index].prev = prev
    for index, entry in chains.earlier.items():
        coordinator.items[index].earlier = entry
    for index, seconds in chains.overlaps.items():
        video = coordinator.items[index].segment.job.video.name
        summary.notes.append(f"{video} overlaps the segment before by {seconds:.1f} s: not joined across that cut")

    frames_to_run = 0
    # Planned keys, each chain walked in time order: an item's key holds its predecessor's, and the
    # items are in the order they were found (a manifest may list a camera's files newest first).
    # Assumes every predecessor keeps its planned key (run() settles the real ones).
    successors = {item.prev: item.index for item in coordinator.items if item.prev is not None}
    for head in [item for item in coordinator.items if item.prev is None]:
        planned_prev = head.earlier.key if head.earlier else None
        current: int | None = head.index
        while current is not None:
            item = coordinator.items[current]
            item.key = coordinator.key_of(item, planned_prev)
            planned_prev = item.key
            if coordinator.ledger.done(item.key) is None:
                frames_to_run += item.segment.frames_estimate
            current = successors.get(current)
    coordinator.plan_give_backs()
    for index in coordinator.redo:
        if ledger.done(coordinator.items[index].key or "") is not None:
            frames_to_run += coordinator.items[index].segment.frames_estimate
    to_run = sum(1 for i in coordinator.items if i.key and (i.index in coordinator.redo or not ledger.done(i.key)))
    observer.planned(len(summary.files), to_run, frames_to_run)
    for report in summary.files:
        if report.status in ("failed", "skipped"):
            observer.finished(report)

    executor = _make_executor(request, runtime, coordinator.on_progress)
    try:
        coordinator.run(executor)
    except KeyboardInterrupt:
        summary.interrupted = True
        executor.close(cancel=True)
    else:
        executor.close(cancel=False)

    if request.kpis and not summary.interrupted and coordinator.changed:
        _recompute_kpis(config, request.data_dir, coordinator.changed, summary, observer)
        if summary.kpi_error is None:
            clear_pending(request.data_dir)
    summary.notes.extend(coordinator.notes)
    summary.input_sizes = _input_sizes({**coordinator.undecided, **coordinator.sizes})
    summary.wall_s = time.perf_counter() - began
    _write_summary(request.data_dir, summary, began_at)
    return summary


def _input_sizes(chosen: dict[tuple[object, ...], SizeChoice]) -> dict[str, dict[str, Any]]:
    """The summary's entries: "branch/camera", with the detector settings where a camera has several."""
    per_camera = Counter(key[:2] for key in chosen)
    named = {}
    for key, choice in chosen.items():
        name = f"{key[0]}/{key[1]}"
        if per_camera[key[:2]] > 1:
            name += " (" + ", ".join(str(v) for v in key[2:] if v is not None) + ")"
        named[name] = choice.as_dict()
    return named


def _kpi_windows(data_dir: Path) -> list[int]:
    sizes = {DEFAULT_KPI_WINDOW_MINUTES}
    root = data_dir / KPIS_DIR
    if root.is_dir():
        for child in root.iterdir():
            if child.is_dir() and child.name.endswith("m") and child.name[:-1].isdigit():
                sizes.add(int(child.name[:-1]))
    return sorted(sizes)


def affected_days(
    config: Config, changed: list[tuple[str, dt.datetime, dt.datetime]]
) -> dict[str, tuple[dt.datetime, dt.datetime]]:
    """Per branch, local midnight before the first changed moment to local midnight after the last."""
    spans: dict[str, tuple[dt.datetime, dt.datetime]] = {}
    for branch, start, end in changed:
        low, high = spans.get(branch, (start, end))
        spans[branch] = (min(low, start), max(high, end))
    days = {}
    for branch, (start, end) in spans.items():
        tz = config.branch(branch).tzinfo
        first = start.astimezone(tz).date()
        last = end.astimezone(tz).date()
        since = dt.datetime.combine(first, dt.time(0), tzinfo=tz)
        until = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
        days[branch] = (since, until)
    return days


def _recompute_kpis(
    config: Config,
    data_dir: Path,
    changed: list[tuple[str, dt.datetime, dt.datetime]],
    summary: BatchSummary,
    observer: BatchObserver,
) -> None:
    from retail_intel.kpis import compute_kpis

    days = affected_days(config, changed)
    observer.kpis_started(sorted(days))
    try:
        for minutes in _kpi_windows(data_dir):
            for branch, (since, until) in sorted(days.items()):
                result = compute_kpis(config, data_dir, window_minutes=minutes, branch=branch, start=since, end=until)
                summary.kpis.append(
                    KpiUpdate(branch, since.isoformat(), until.isoformat(), minutes, result.table.num_rows)
                )
    except RetailIntelError as exc:
        summary.kpi_error = f"KPIs were not recomputed: {exc}"


def _write_summary(data_dir: Path, summary: BatchSummary, began_at: dt.datetime) -> None:
    stamp = began_at.strftime("%Y%m%dT%H%M%S%fZ")
    path = data_dir / RUNS_DIR / f"batch-{stamp}.json"
    try:
        atomic_write_bytes(json.dumps(summary.to_dict(), indent=2, default=str).encode(), path)
    except OSError:
        summary.notes.append(f"could not write the batch summary {path}")
