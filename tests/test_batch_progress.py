"""The batch's overall progress line ends at its end: failed files leave no frames to wait for.

The plan counts the frames of every file to run; a file that fails (or was remembered as failing)
runs none of them, so counted as planned it would leave the bar short of its end and the time left
above zero for the rest of the night, and after the last file.
"""

from __future__ import annotations

from pathlib import Path

from retail_intel.batch.request import BatchRequest
from retail_intel.batch.runner import run_batch
from retail_intel.batch.summary import BatchObserver, BatchSummary, FileReport
from retail_intel.cli.process_batch import RichBatchObserver

from .batch_fakes import stayer_and_passers, write_scene
from .batch_helpers import RUNTIME, make_config, write_segments


class Planned(BatchObserver):
    def __init__(self) -> None:
        self.plan: tuple[int, int, int] | None = None

    def planned(self, files: int, to_run: int, frames_to_run: int) -> None:
        self.plan = (files, to_run, frames_to_run)


def batch(root: Path, observer: Planned, *, retry_failed: bool = False) -> BatchSummary:
    request = BatchRequest(str(root / "archive"), root / "config", root / "data", kpis=False, retry_failed=retry_failed)
    return run_batch(request, runtime=RUNTIME, observer=observer)


def test_a_file_remembered_as_failing_is_not_planned_to_run(tmp_path: Path) -> None:
    make_config(tmp_path)
    door = tmp_path / "archive" / "b1" / "door"
    write_segments(door, "door", stayer_and_passers, count=1)
    whole = write_scene(tmp_path / "whole.avi", stayer_and_passers, frames=80)
    data = whole.read_bytes()
    (door / "door_20260208_120000.avi").write_bytes(data[: len(data) // 2])  # breaks off half way
    first = Planned()
    assert batch(tmp_path, first).done == 1
    assert first.plan is not None and first.plan[1] == 2 and first.plan[2] > 0
    again = Planned()
    summary = batch(tmp_path, again)
    assert [f.status for f in summary.files] == ["skipped", "failed"]
    assert again.plan == (2, 0, 0)  # only reported again: nothing to run, no frames to wait for
    retried = Planned()
    batch(tmp_path, retried, retry_failed=True)
    assert retried.plan is not None and retried.plan[1] == 1 and retried.plan[2] > 0


def test_the_overall_bar_ends_complete_when_a_running_file_fails() -> None:
    observer = RichBatchObserver(quiet=True)
    broken = FileReport("a.avi", "not run", "b1", "door", frames_estimate=60)
    good = FileReport("b.avi", "not run", "b1", "door", frames_estimate=40)
    observer.planned(2, 2, 100)
    observer.started(broken)
    observer.progress(broken, 10, 60)
    broken.status, broken.reason = "failed", "breaks off at frame 12"
    observer.finished(broken)
    observer.started(good)
    observer.progress(good, 40, 40)
    good.status, good.frames = "done", 40
    observer.finished(good)
    (overall,) = observer.bar.tasks
    assert (overall.completed, overall.total) == (40, 40)
    assert overall.finished and overall.time_remaining == 0
    observer.stop()
