"""snapshot and setup on a raw H.264 stream: the frame at --at needs the real frame rate, as in process.

A raw stream has no container to keep its rate and decoders report 25 whatever the camera
recorded at; `process` refuses it without --fps. `snapshot --at 2s` and `setup --at 2s` of a
10 fps stream showed frame 50 (5 s in) instead of frame 20, without a word. They now take
--fps or the camera's fps, or refuse with one line naming the flag.
"""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from retail_intel.camsetup import setup_session
from retail_intel.config import load_config
from retail_intel.errors import VideoError
from retail_intel.pipeline.snapshot import take_snapshot

from .cli_helpers import run_cli
from .fakes import write_video

# a Python caller is told its parameter (fps), the command its flag (--fps)
REFUSED = r"a raw .h264 stream has no container to keep its frame rate .*; pass {} with the rate the camera records at"


@pytest.fixture
def raw_stream(tmp_path: Path) -> Path:
    """60 frames recorded at 10 fps, each showing its index, as a raw H.264 stream (no container)."""
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    source = write_video(tmp_path / "source.avi", frames=60, fps=10)
    video = tmp_path / "cam.h264"
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(source)]
    subprocess.run([*command, "-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "h264", str(video)], check=True)
    return video


def _config(tmp_path: Path, fps: str = "") -> Path:
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    (config / "branches.yaml").write_text(
        textwrap.dedent(
            f"""
            branches:
              - id: s1
                name: Shop
                capacity: 10
                cameras:
                  - id: c1
                    roi: [0, 0, 300, 200]
                    {fps}
            """
        ),
        encoding="utf-8",
    )
    return config


def test_snapshot_of_a_raw_stream_needs_its_frame_rate(tmp_path: Path, raw_stream: Path) -> None:
    out = tmp_path / "f.png"
    with pytest.raises(VideoError, match=rf"cam\.h264: {REFUSED.format('fps')}"):
        take_snapshot(raw_stream, 2.0, out, fps=None, grid=100, roi=None)
    assert not out.exists()
    # --fps, or the camera's fps with --branch, finds frame 20: 2 s at 10 fps
    assert take_snapshot(raw_stream, 2.0, out, fps=10, grid=100, roi=None)[1] == 20
    camera = load_config(_config(tmp_path, "fps: 10")).camera("s1", "c1")
    assert take_snapshot(raw_stream, 2.0, out, fps=None, grid=100, roi=None, camera=camera)[1] == 20
    # at 0 s any rate finds the first frame: nothing to ask for
    assert take_snapshot(raw_stream, 0.0, out, fps=None, grid=100, roi=None)[1] == 0


def test_the_snapshot_command_says_which_flag_to_pass(
    tmp_path: Path, raw_stream: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "f.png"
    result = run_cli(["snapshot", str(raw_stream), "--at", "2s", "-o", str(out)], capsys, monkeypatch)
    assert result.exit_code == 1
    (line,) = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith("error: ") and "pass --fps" in line
    result = run_cli(["snapshot", str(raw_stream), "--at", "2s", "--fps", "10", "-o", str(out)], capsys, monkeypatch)
    assert result.exit_code == 0, result.stderr
    assert "frame 20," in result.stderr


def test_the_setup_picture_of_a_raw_stream_needs_its_frame_rate(tmp_path: Path, raw_stream: Path) -> None:
    config = _config(tmp_path)
    with pytest.raises(VideoError, match=rf"{REFUSED.format('fps')}, or set the camera's fps in branches\.yaml"):
        setup_session(config, tmp_path / "data", "s1", "c1", video=raw_stream, at_s=2.0)
    with pytest.raises(VideoError, match=rf"{REFUSED.format('--fps')}, or set the camera's fps in branches\.yaml"):
        setup_session(config, tmp_path / "data", "s1", "c1", video=raw_stream, at_s=2.0, names={"fps": "--fps"})
    picture = setup_session(config, tmp_path / "data", "s1", "c1", video=raw_stream, at_s=2.0, fps=10).picture
    assert "frame 20" in picture.source
    with_fps = _config(tmp_path, "fps: 10")
    assert (
        "frame 20" in setup_session(with_fps, tmp_path / "data", "s1", "c1", video=raw_stream, at_s=2.0).picture.source
    )
    assert "frame 0" in setup_session(config, tmp_path / "data", "s1", "c1", video=raw_stream).picture.source


def test_the_setup_command_says_which_flag_to_pass(
    tmp_path: Path, raw_stream: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import retail_intel.camsetup

    def serve(*args: object, **kwargs: object) -> None:
        raise AssertionError("the page was served: the frame was taken at a made-up rate")

    monkeypatch.setattr(retail_intel.camsetup, "run_setup", serve)
    config = _config(tmp_path)
    args = ["setup", "--branch", "s1", str(raw_stream), "--at", "2s", "--config", str(config), "--no-open"]
    result = run_cli([*args, "--data-dir", str(tmp_path / "data")], capsys, monkeypatch)
    assert result.exit_code == 1
    (line,) = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith("error: ") and "pass --fps" in line
    # --fps without a VIDEO has no frame to find: refused, not ignored
    result = run_cli(["setup", "--branch", "s1", "--fps", "10", "--config", str(config)], capsys, monkeypatch)
    assert result.exit_code == 1 and "--fps 10.0: needs a VIDEO" in result.stderr
