"""A data directory whose disk is full stops the batch starting files: each would be decoded and
detected in full, only to fail at its first write.

The disk fills up at a file's camera picture (``write_image``), raised as the writers raise it
(``storage.write_error`` of an ``ENOSPC`` OSError). The files not started are reported as not
run, the ledger has no line of them, and the next batch (space freed) does them.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

import retail_intel.batch.runner as runner_module
import retail_intel.pipeline.run as run_module
from retail_intel.batch.ledger import Ledger
from retail_intel.batch.request import Runtime
from retail_intel.batch.summary import EXIT_PARTIAL
from retail_intel.batch.work import SegmentOutcome, SegmentTask, run_segment
from retail_intel.pipeline.plan import ProcessPlan
from retail_intel.pipeline.video_tracks import DetectorFactory
from retail_intel.storage import write_error
from retail_intel.vision.detections import Detections

from .batch_fakes import BlobDetector, blob_identity, stayer_and_passers, walker
from .batch_helpers import batch, make_config, statuses, write_segments

DOOR_1, DOOR_2, TILL = "door_20260208_100000.avi", "door_20260208_100005.avi", "till_20260208_100000.avi"


def _archive(root: Path) -> Path:
    """Two consecutive door segments (the longest chain, started first) and one till segment."""
    make_config(root)
    archive = root / "archive"
    write_segments(archive / "b1" / "door", "door", stayer_and_passers, count=2)
    write_segments(archive / "b1" / "till", "till", walker, count=1)
    return archive


def _counting_runtime(detected: list[int]) -> Runtime:
    """The blob detector, noting each frame it is asked to detect in ``detected``."""

    class Counting(BlobDetector):
        def detect(self, frame: npt.NDArray[np.uint8], frame_index: int) -> Detections:
            detected.append(frame_index)
            return super().detect(frame, frame_index)

    def factory(plan: ProcessPlan) -> Counting:
        return Counting()

    return Runtime(factory, blob_identity)


def _failing_writes(code: int, failures: list[int], detected: list[int], times: int = 1) -> Any:
    """A ``write_image`` whose first ``times`` calls fail with ``code``, noting the frames detected by then."""

    def write(path: Path, image: object) -> Path:
        if len(failures) < times:
            failures.append(len(detected))
            raise write_error(path, OSError(code, os.strerror(code)))
        return path

    return write


def test_a_full_disk_stops_the_batch_starting_files_and_the_next_run_does_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = _archive(tmp_path)
    detected: list[int] = []
    failures: list[int] = []
    runtime = _counting_runtime(detected)
    with monkeypatch.context() as patched:
        patched.setattr(run_module, "write_image", _failing_writes(errno.ENOSPC, failures, detected))
        night = batch(archive, tmp_path, runtime=runtime)
    assert statuses(night) == {DOOR_1: "failed", DOOR_2: "not run", TILL: "not run"}
    assert failures and len(detected) == failures[0]  # nothing was detected after the disk filled up
    assert "No space left on device" in (night.files[0].reason or "")
    for reason in [f.reason or "" for f in night.files[1:]]:
        assert f"the disk of the data directory {tmp_path / 'data'} is full ({DOOR_1} could not" in reason
        assert reason.endswith("free some space and run the command again")
    assert (night.not_run, night.exit_code, night.to_dict()["not_run"]) == (2, EXIT_PARTIAL, 2)
    assert Ledger.load(tmp_path / "data").entries() == []  # none remembered as failed

    again = batch(archive, tmp_path, runtime=runtime)  # space freed; no --retry-failed needed
    assert statuses(again) == {DOOR_1: "done", DOOR_2: "done", TILL: "done"}
    assert again.exit_code == 0


def test_a_file_failing_for_another_reason_does_not_stop_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = _archive(tmp_path)
    detected: list[int] = []
    with monkeypatch.context() as patched:
        patched.setattr(run_module, "write_image", _failing_writes(errno.EACCES, [], detected))
        night = batch(archive, tmp_path, runtime=_counting_runtime(detected))
    assert statuses(night) == {DOOR_1: "failed", DOOR_2: "done", TILL: "done"}
    assert "Permission denied" in (night.files[0].reason or "")


class TwoAtOnce:
    """Two segments in flight: both submitted ones run (in this process) before either is collected."""

    capacity = 2

    def __init__(self, factory: DetectorFactory) -> None:
        self.factory = factory
        self.queue: list[SegmentTask] = []

    def submit(self, task: SegmentTask) -> None:
        self.queue.append(task)

    def wait(self, timeout: float) -> list[SegmentOutcome]:
        tasks, self.queue = self.queue, []
        return [run_segment(task, self.factory) for task in tasks]

    def close(self, *, cancel: bool) -> None:
        self.queue.clear()


def test_a_file_running_when_the_disk_fills_up_finishes_and_its_kpis_are_recomputed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = _archive(tmp_path)
    detected: list[int] = []
    failures: list[int] = []
    runtime = _counting_runtime(detected)
    with monkeypatch.context() as patched:
        patched.setattr(
            runner_module, "_make_executor", lambda request, rt, on_progress: TwoAtOnce(rt.detector_factory)
        )
        patched.setattr(run_module, "write_image", _failing_writes(errno.ENOSPC, failures, detected))
        night = batch(archive, tmp_path, runtime=runtime, kpis=True)
    # the door's first file and the till's ran side by side: the till's, written after space came back, is done
    assert statuses(night) == {DOOR_1: "failed", DOOR_2: "not run", TILL: "done"}
    assert {k.branch for k in night.kpis} == {"b1"} and night.kpi_error is None
    assert night.exit_code == EXIT_PARTIAL
    assert [e.video for e in Ledger.load(tmp_path / "data").entries()] == [str(archive / "b1" / "till" / TILL)]
