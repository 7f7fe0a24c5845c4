"""The per-file work, the same function in every executor (in-process, process pool, Ray).

:func:`run_segment` reads the previous segment's carry file (if any), runs
:func:`~retail_intel.pipeline.run.process_video` with the carried people,
and writes this segment's carry file. It never touches the ledger: the
coordinating process records the outcome, so a worker on another machine
needs nothing but the video and the shared data directory.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from retail_intel.batch.carry import Carry, carried_into, read_carry, write_carry
from retail_intel.batch.ledger import carry_path
from retail_intel.errors import DataError, ModelError, RetailIntelError, Step, WriteError
from retail_intel.pipeline.continuity import CarriedPerson, Continuity
from retail_intel.pipeline.frame_times import BY_TIMESTAMPS
from retail_intel.pipeline.plan import DetectorSpec, ProcessPlan
from retail_intel.pipeline.run import process_video
from retail_intel.pipeline.video_tracks import DetectorFactory, ProgressFn
from retail_intel.vision.detections import Detector


@dataclass(frozen=True)
class SegmentTask:
    index: int
    key: str
    plan: ProcessPlan
    start_time: dt.datetime  # as resolved when planning; process_video resolves the same
    carry_from: str | None = None  # job key of the segment whose open people this one takes over
    steps: Mapping[Step, str] | None = None  # how the caller words an error's next step (see failure_reason)


@dataclass(frozen=True)
class SegmentOutcome:
    index: int
    key: str
    ok: bool
    reason: str | None = None
    summary: dict[str, Any] | None = None  # the run summary (RunSummary fields)
    # relative to the data directory; its trajectory and zone files lie at the same path under their
    # own folders (:func:`retail_intel.batch.carry.people_files`)
    movements: str | None = None
    carry: str | None = None
    claimed: tuple[str, ...] = ()
    frames: int = 0
    seconds: float = 0.0
    worker: str = ""
    # True when the file itself is at fault (unreadable, corrupt, no start time):
    # the ledger remembers it. Lost workers and the like are simply retried next run.
    permanent: bool = False
    # True when a write to the data directory failed because its disk is full (WriteError.disk_full):
    # every file started after it would decode and detect in full only to fail the same way
    disk_full: bool = False


def file_at_fault(exc: BaseException, video: Path) -> bool:
    """Whether ``exc`` says the file itself (with its settings) cannot be processed, so the ledger
    remembers it. A full disk (:class:`WriteError`), a model that could not be built, a missing
    carry file or a file that vanished mid-batch (a share unmounted) may pass on the next run."""
    if isinstance(exc, (WriteError, ModelError, DataError)) or not isinstance(exc, RetailIntelError):
        return False
    return video.is_file()


# Detectors kept per worker process, by detector settings: loading weights (and an OpenVINO
# compile) costs seconds, a batch has hundreds of files. Bounded, least recently used out first:
# settings that differ per file (an int8 model calibrated on each video) would otherwise keep one
# compiled model per file, 60-200 MiB each, until a long night runs the worker out of memory.
MAX_DETECTORS = 4
_DETECTORS: OrderedDict[tuple[DetectorFactory, DetectorSpec], Detector] = OrderedDict()


def _cached(factory: DetectorFactory) -> DetectorFactory:
    def make(plan: ProcessPlan) -> Detector:
        key = (factory, plan.detector)
        if key in _DETECTORS:
            _DETECTORS.move_to_end(key)
            return _DETECTORS[key]
        while len(_DETECTORS) >= MAX_DETECTORS:
            _DETECTORS.popitem(last=False)
        _DETECTORS[key] = detector = factory(plan)
        return detector

    return make


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` is a write to the data directory that failed for want of space (``SegmentOutcome.disk_full``)."""
    return isinstance(exc, WriteError) and exc.disk_full


def failure_reason(exc: BaseException, steps: Mapping[Step, str] | None = None) -> str:
    """What a file's report says of the error that failed it: its message, its next step as ``steps``
    word it (the CLI: a command line; the library's own words without them)."""
    if isinstance(exc, RetailIntelError):
        return exc.worded_for({}, steps)
    return f"{type(exc).__name__}: {exc}"


def run_segment(
    task: SegmentTask, detector_factory: DetectorFactory, progress: ProgressFn | None = None
) -> SegmentOutcome:
    """Process one segment; every error becomes a failed outcome naming the reason."""
    worker = f"{socket.gethostname()}:{os.getpid()}"
    data_dir = task.plan.data_dir
    try:
        carry_in: tuple[CarriedPerson, ...] = ()
        if task.carry_from is not None:
            carry_in = carried_into(read_carry(carry_path(data_dir, task.carry_from)), task.start_time)
        result = process_video(
            task.plan,
            detector_factory=_cached(detector_factory),
            progress=progress,
            continuity=Continuity(carry_in=carry_in),
        )
        summary = result.summary
        assert result.handover is not None  # always set with continuity
        own_carry = carry_path(data_dir, task.key)
        write_carry(
            own_carry,
            Carry(
                key=task.key,
                start_time=dt.datetime.fromisoformat(summary.start_time),
                frames=summary.frames,
                fps=summary.fps,
                people=result.handover.open_people,
                timed_duration_s=summary.duration_s if summary.frame_times == BY_TIMESTAMPS else None,
            ),
        )
    except Exception as exc:  # a bad file must not stop the batch
        return SegmentOutcome(
            task.index,
            task.key,
            False,
            failure_reason(exc, task.steps),
            worker=worker,
            permanent=file_at_fault(exc, task.plan.video),
            disk_full=disk_full(exc),
        )
    movements = result.output.relative_to(data_dir)
    return SegmentOutcome(
        task.index,
        task.key,
        True,
        summary=asdict(summary),
        movements=str(movements),
        carry=str(own_carry.relative_to(data_dir)),
        claimed=result.handover.claimed,
        frames=summary.frames,
        seconds=summary.seconds_taken,
        worker=worker,
    )
