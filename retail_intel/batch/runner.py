"""The batch: discover, plan, run each camera's segments in order, record, recompute KPIs.

:func:`run_batch` is the entry point. It plans every file (:mod:`retail_intel.batch.segments`),
links each camera's files into chains (:mod:`retail_intel.batch.chains`), hands the running and
the bookkeeping to the :class:`~retail_intel.batch.coordinator.Coordinator`, then recomputes the
KPIs of the days whose data changed and saves the :class:`~retail_intel.batch.summary.BatchSummary`.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from retail_intel.batch.chains import link_segments
from retail_intel.batch.coordinator import Coordinator, Item
from retail_intel.batch.discover import discover
from retail_intel.batch.executors import Executor, InlineExecutor, PoolExecutor, RayExecutor, import_ray
from retail_intel.batch.ledger import Ledger
from retail_intel.batch.pending import clear_pending, load_pending
from retail_intel.batch.request import DEFAULT_RUNTIME, EXECUTORS, BatchRequest, Runtime
from retail_intel.batch.segments import Rejected, Segment, prepare
from retail_intel.batch.summary import BatchObserver, BatchSummary, FileReport, KpiUpdate
from retail_intel.batch.work import failure_reason
from retail_intel.config.loader import Config, load_config
from retail_intel.datadir import require_writable_data_dir
from retail_intel.errors import InputError, RetailIntelError, Step
from retail_intel.locking import BATCH_LOCK, data_dir_lock
from retail_intel.naming import CallerNames
from retail_intel.pipeline.autosize import SizeChoice
from retail_intel.pipeline.plan import DetectorSpec
from retail_intel.pipeline.run import RUNS_DIR
from retail_intel.storage import KPIS_DIR, atomic_write_bytes

DEFAULT_KPI_WINDOW_MINUTES = 60


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


def _prepare_all(
    request: BatchRequest,
    config: Config,
    ledger: Ledger,
    jobs: list[Any],
    names: Mapping[str, str] | None,
    steps: Mapping[Step, str] | None,
) -> list[Segment | Rejected]:
    # Threads: probing and hashing wait on the disk and OpenCV, not on Python.
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="retail-intel-prepare") as pool:
        return list(
            pool.map(
                lambda job: prepare(
                    job, config, request.data_dir, request.settings, ledger, request.max_frames, names, steps
                ),
                jobs,
            )
        )


def run_batch(
    request: BatchRequest,
    *,
    runtime: Runtime | None = None,
    observer: BatchObserver | None = None,
    names: Mapping[str, str] | None = None,
    steps: Mapping[Step, str] | None = None,
) -> BatchSummary:
    """Process every video of ``request.source``; see docs/batch.md.

    Raises only for problems that stop the batch before it starts (config,
    source, model, executor); a bad file is reported in the summary instead.
    Two batches into one data directory take turns (the second then skips
    what the first finished): see :mod:`retail_intel.locking`. ``names`` say what the
    caller calls ``request``'s ``executor``, ``address`` and ``retry_failed`` in messages (its
    flags: ``{"executor": "--executor"}``); one left out is named as ``request.executor``. The
    settings are named as ``names`` call them too (``{"fps": "--fps"}``), else as settings (``fps``).
    ``steps`` word the next step of an error in a file's reason as the caller offers it (the CLI:
    ``COMMAND_STEPS``); without them a reason says it in the library's words.
    """
    _check_request(request, CallerNames(names, "request."))  # before the lock, which creates the data directory
    waiting = observer.waiting if observer is not None else None
    with data_dir_lock(request.data_dir, BATCH_LOCK, on_wait=waiting):
        return _run_batch(request, runtime=runtime, observer=observer, names=names, steps=steps)


def _check_request(request: BatchRequest, names: CallerNames) -> None:
    # a file there: one line naming it, not the lock file's failure
    require_writable_data_dir(request.data_dir, names("data_dir"))
    executor = names("executor")
    if request.executor not in EXECUTORS:
        raise InputError(f"{executor} must be one of {', '.join(EXECUTORS)}, got {request.executor!r}")
    if request.address is not None and request.executor != "ray":
        raise InputError(f"{names('address')} is for {executor} ray")
    if request.executor == "ray":
        import_ray(executor)  # says how to install it before any work is done


def _run_batch(
    request: BatchRequest,
    *,
    runtime: Runtime | None = None,
    observer: BatchObserver | None = None,
    names: Mapping[str, str] | None = None,
    steps: Mapping[Step, str] | None = None,
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

    coordinator = Coordinator(request, runtime, observer, config, ledger, names=names, steps=steps)
    if request.kpis:
        # KPIs an earlier batch owed when it was killed during (or before) its KPI step
        known = {b.id for b in config.branches}
        pending = load_pending(request.data_dir)
        coordinator.changed.extend(span for span in pending if span[0] in known)
        # still owed until this batch's KPI step succeeds: add_pending rewrites the file from ``owed``
        coordinator.owed.extend(pending)
    prepared = _prepare_all(request, config, ledger, discovery.jobs, names, steps)
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
        coordinator.items.append(Item(len(coordinator.items), result, report, base))
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
            if _will_run(ledger, item.key, request.retry_failed):
                frames_to_run += item.segment.frames_estimate
            current = successors.get(current)
    coordinator.plan_give_backs()
    for index in coordinator.redo:
        if ledger.done(coordinator.items[index].key or "") is not None:
            frames_to_run += coordinator.items[index].segment.frames_estimate
    to_run = sum(
        1
        for i in coordinator.items
        if i.key and (i.index in coordinator.redo or _will_run(ledger, i.key, request.retry_failed))
    )
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
        _recompute_kpis(config, request.data_dir, coordinator.changed, summary, observer, steps)
        if summary.kpi_error is None:
            clear_pending(request.data_dir)
    summary.notes.extend(coordinator.notes)
    summary.input_sizes = _input_sizes({**coordinator.undecided, **coordinator.sizes})
    summary.wall_s = time.perf_counter() - began
    _write_summary(request.data_dir, summary, began_at)
    return summary


def _will_run(ledger: Ledger, key: str, retry_failed: bool) -> bool:
    """Whether the planned ``key`` is run: not done, nor failed before for the file's own fault
    (only reported again, so its frames would keep the progress display's time left up)."""
    return ledger.done(key) is None and (retry_failed or ledger.failed(key) is None)


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
    steps: Mapping[Step, str] | None = None,
) -> None:
    from retail_intel.kpis import compute_kpis

    # a file redone under a corrected branch owes its earlier run's span too, and that branch
    # may be gone from branches.yaml (the typo fixed): it has no KPIs to recompute, as pending
    # spans of such a branch are left out when they are loaded
    known = {b.id for b in config.branches}
    days = affected_days(config, [span for span in changed if span[0] in known])
    observer.kpis_started(sorted(days))
    try:
        for minutes in _kpi_windows(data_dir):
            for branch, (since, until) in sorted(days.items()):
                result = compute_kpis(config, data_dir, window_minutes=minutes, branch=branch, start=since, end=until)
                summary.kpis.append(
                    KpiUpdate(branch, since.isoformat(), until.isoformat(), minutes, result.table.num_rows)
                )
    except RetailIntelError as exc:
        summary.kpi_error = f"KPIs were not recomputed: {failure_reason(exc, steps)}"


def _write_summary(data_dir: Path, summary: BatchSummary, began_at: dt.datetime) -> None:
    stamp = began_at.strftime("%Y%m%dT%H%M%S%fZ")
    path = data_dir / RUNS_DIR / f"batch-{stamp}.json"
    try:
        atomic_write_bytes(json.dumps(summary.to_dict(), indent=2, default=str).encode(), path)
    except OSError:
        summary.notes.append(f"could not write the batch summary {path}")
