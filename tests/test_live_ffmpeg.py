"""A real stream on the loopback interface: ffmpeg serves a synthetic video as MJPEG over HTTP.

The session reads it with OpenCV (FFmpeg backend), a scripted detector
stands in for the model, ffmpeg is killed and restarted part-way, and the
session must record the gap, reconnect, and flush people to Parquet.
Needs ffmpeg: the system's, or the static build in the ``imageio-ffmpeg`` wheel (a test dependency).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from retail_intel.live.session import LiveOptions, LiveResult, process_stream
from retail_intel.live.stream import StreamReader, StreamSettings
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.stitch import StitchSettings
from retail_intel.movements.store import movement_files
from retail_intel.pipeline.plan import ProcessRequest, make_plan

from .cli_helpers import run_cli
from .fakes import Box, ScriptedDetector, person_box, write_video


def _ffmpeg() -> str | None:
    # The system's ffmpeg if there is one, else the static build that the
    # imageio-ffmpeg wheel (a test dependency) carries: no system package needed.
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    return str(imageio_ffmpeg.get_ffmpeg_exe())


FFMPEG = _ffmpeg()
pytestmark = pytest.mark.skipif(
    FFMPEG is None,
    reason="needs ffmpeg to serve a local stream (pip install imageio-ffmpeg, or apt-get install ffmpeg)",
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """``ffmpeg -re`` looping a video as multipart JPEG on http://127.0.0.1:PORT/cam (one client at a time)."""

    def __init__(self, video: Path, port: int, log: Path) -> None:
        self.video, self.port, self.log = video, port, log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def args(self) -> list[str]:
        return ["-i", str(self.video), "-c:v", "mjpeg", "-q:v", "5", "-f", "mpjpeg", "-listen", "1", self.url]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/cam"

    def start(self) -> None:
        assert FFMPEG is not None
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-stream_loop", "-1", *self.args],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    video = write_video(tmp_path / "loop.avi", frames=60, fps=25.0)
    srv = Server(video, free_port(), tmp_path / "ffmpeg.log")
    srv.start()
    try:
        yield srv
    finally:
        srv.kill()


def walkers(frame: int) -> list[Box]:
    """Somebody walks left to right through the ROI for 30 of every 40 frames (1.2 s of 1.6 s at 25 fps)."""
    phase = frame % 40
    return [person_box(20 + phase * 9, 150)] if phase < 30 else []


# How long a wait below may take before the test calls it a hang: the waits bound a hang, not the speed.
HANG_S = 180.0


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {seconds:g} s waiting for {what}")
        time.sleep(0.05)


def test_stream_drop_is_recorded_reconnected_and_people_flushed(server: Server, tmp_path: Path) -> None:
    data = tmp_path / "data"
    plan = make_plan(
        ProcessRequest.create(
            video=Path("live"),
            branch="b1",
            data_dir=data,
            roi="100,80,220,200",
            fps=25.0,
            track_buffer=0.5,
            # frame times are arrival times, and some ffmpeg builds deliver in bursts: keep short walks
            min_track=0.0,
        )
    )
    plan = dataclasses.replace(plan, stitch=StitchSettings(max_gap_s=0.5))
    # A deep buffer: this test is about the drop and the reconnect, and some ffmpeg builds send frames
    # in bursts that a 4-frame buffer would thin out (dropping frames to keep up is tested elsewhere).
    settings = StreamSettings(
        first_backoff_s=0.2,
        max_backoff_s=0.5,
        open_timeout_s=3.0,
        read_timeout_s=3.0,
        startup_attempts=25,
        buffer_frames=500,
    )
    reader = StreamReader(server.url, settings)
    stop = threading.Event()
    outcome: list[LiveResult | BaseException] = []
    options = LiveOptions(server.url, flush_s=1.0, duration_s=60.0, session_id="T1", stream=settings)

    def session() -> None:
        try:
            outcome.append(
                process_stream(
                    plan, options, detector_factory=lambda p: ScriptedDetector(walkers), source=reader, stop=stop
                )
            )
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=session)
    worker.start()
    try:
        # the reader starts once the session has imported the tracker's modules (torch: many seconds on a
        # busy machine, which the 30 s this wait had did not always cover)
        wait_for(lambda: reader.state().frames_read >= 40, HANG_S, "40 frames from the stream")
        server.kill()
        wait_for(lambda: reader.state().open_gap is not None, HANG_S, "the reader to notice the drop")
        read_before = reader.state().frames_read
        server.start()
        wait_for(lambda: reader.state().reconnects >= 1, HANG_S, "the reader to reconnect")
        # 70 frames hold one whole walk, whatever the phase the stream resumed at
        wait_for(lambda: reader.state().frames_read >= read_before + 70, HANG_S, "70 frames after the reconnect")
    finally:
        stop.set()
        worker.join(HANG_S)
    assert not worker.is_alive()
    (result,) = outcome
    assert isinstance(result, LiveResult), result
    summary = result.summary
    assert summary.stop_reason == "stopped" and summary.reconnects >= 1
    gap = summary.gaps[0]
    assert gap["end"] is not None and isinstance(gap["seconds"], float) and gap["seconds"] > 0
    # frames still buffered when the stop came are not processed
    assert 70 <= summary.frames + summary.frames_dropped <= reader.state().frames_read
    assert summary.people >= 2
    files = movement_files(data)
    assert files and files == result.files
    assert all(f.name.startswith("live-b1-cam1-T1-") for f in files)
    table = [row for f in files for row in pq.read_table(f, schema=MOVEMENT_SCHEMA).to_pylist()]
    assert {r["action_type"] for r in table} <= {"passed", "entered"}
    # A walk cut short by the drop or the stop may be judged "not counted": a person, and no row
    # (docs/counting.md). Where the cuts fall depends on timing, so rows == people failed at times.
    assert len(table) == summary.entered + summary.passed, summary
    assert summary.people == summary.entered + summary.passed + summary.not_counted, summary
    # people are seen on both sides of the gap: counting went on after the reconnect
    gap_start, gap_end = (dt.datetime.fromisoformat(str(gap[k])) for k in ("start", "end"))
    assert any(r["last_seen"] <= gap_start for r in table) and any(r["first_seen"] >= gap_end for r in table)
    record = json.loads(result.record.read_text()) if result.record else {}
    assert record["gaps"][0] == gap and record["running"] is False
    assert not [p for p in data.rglob("*") if p.name.startswith(".")]


def test_cli_reads_a_stream_url_for_a_duration(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import retail_intel.live.session as live_session

    monkeypatch.setattr(live_session, "default_detector_factory", lambda plan: ScriptedDetector(walkers))
    monkeypatch.chdir(tmp_path)
    args = ["process", server.url, "--branch", "b1", "--roi", "100,80,220,200", "--fps", "25"]
    args += ["--duration", "4s", "--flush", "2s", "--format", "json", "-q"]
    result = run_cli(args, capsys, monkeypatch)
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["stop_reason"] == "duration" and summary["frames"] > 0
    assert summary["url"] == server.url
    records = list((tmp_path / "retail_data" / "runs").glob("live-b1-cam1-*.json"))
    assert len(records) == 1 and json.loads(records[0].read_text())["frames"] == summary["frames"]
