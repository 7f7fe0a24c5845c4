"""A single-file ``process`` stopped with Ctrl-C says so in one line, exits 130 and leaves no files behind."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from retail_intel.pipeline import run as pipeline_run
from retail_intel.pipeline.plan import ProcessPlan
from retail_intel.vision.detections import Detections

from .cli_helpers import run_cli
from .fakes import write_video


class InterruptedDetector:
    """Finds nobody, and the user presses Ctrl-C at frame 10."""

    name = "interrupted"

    def detect(self, frame: npt.NDArray[np.uint8], frame_index: int) -> Detections:
        if frame_index >= 10:
            raise KeyboardInterrupt
        return Detections.from_boxes([])


@pytest.mark.parametrize("terminal", [False, True])
def test_ctrl_c_is_one_line_exit_130_and_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, terminal: bool
) -> None:
    if terminal:  # the progress bar runs only where stderr is a terminal: run it, started and stopped by Ctrl-C
        monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.chdir(tmp_path)
    video = write_video(tmp_path / "cam.avi", frames=40)

    def factory(plan: ProcessPlan) -> InterruptedDetector:
        return InterruptedDetector()

    monkeypatch.setattr(
        pipeline_run, "process_video", functools.partial(pipeline_run.process_video, detector_factory=factory)
    )
    args = ["process", str(video), "--branch", "b1", "--roi", "1,1,300,200", "--start-time", "2026-02-08T10:00:00Z"]
    result = run_cli([*args, "--save-video", str(tmp_path / "annotated.avi")], capsys, monkeypatch)
    assert result.exit_code == 130
    stderr = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", result.stderr)  # the terminal's cursor and colour codes
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines[-1] == "interrupted; nothing written (run the same command again to process the video)"
    assert ("cam.avi" in stderr) is terminal  # the bar's description, shown only on a terminal
    assert "Traceback" not in stderr and "Aborted" not in stderr
    assert result.stdout == ""
    assert not (tmp_path / "retail_data").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cam.avi"]  # no annotated video, not even a partial one
