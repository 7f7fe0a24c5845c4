import datetime as dt
import re
import struct
from pathlib import Path
from typing import NoReturn
from zoneinfo import ZoneInfo

import pytest

from retail_intel.batch.discover import discover
from retail_intel.batch.ledger import Ledger
from retail_intel.batch.segments import MANIFEST_START, Segment, prepare
from retail_intel.config.camera_settings import CameraSettings
from retail_intel.config.loader import load_config, validate_config
from retail_intel.errors import InputError, TimeError
from retail_intel.pipeline.start_time import (
    BATCH_FIX,
    mp4_creation_time,
    resolve_start_time,
    single_file_fix,
    time_from_filename,
)

from .batch_fakes import walker
from .batch_helpers import make_config, write_segments

UTC = ZoneInfo("UTC")


def box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(body), kind) + body


def mp4_with_creation(seconds_since_1904: int, version: int = 0) -> bytes:
    if version == 0:
        mvhd = bytes([0, 0, 0, 0]) + struct.pack(">II", seconds_since_1904, seconds_since_1904) + b"\0" * 88
    else:
        mvhd = bytes([1, 0, 0, 0]) + struct.pack(">QQ", seconds_since_1904, seconds_since_1904) + b"\0" * 88
    return box(b"ftyp", b"isom\0\0\0\0") + box(b"free", b"\0" * 16) + box(b"moov", box(b"mvhd", mvhd))


SECONDS_2026_02_08_10 = int(
    (dt.datetime(2026, 2, 8, 10, tzinfo=dt.UTC) - dt.datetime(1904, 1, 1, tzinfo=dt.UTC)).total_seconds()
)


@pytest.mark.parametrize("version", [0, 1])
def test_mp4_creation_time(tmp_path: Path, version: int) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(mp4_with_creation(SECONDS_2026_02_08_10, version))
    assert mp4_creation_time(path) == dt.datetime(2026, 2, 8, 10, tzinfo=dt.UTC)


def test_zero_creation_time_means_unknown(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(mp4_with_creation(0))
    assert mp4_creation_time(path) is None


def test_non_mp4_has_no_creation_time(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    path.write_bytes(b"RIFF\0\0\0\0AVI LIST")
    assert mp4_creation_time(path) is None


def test_filename_pattern_in_local_time() -> None:
    got = time_from_filename(Path("/x/cam1_20260208_100000.mp4"), "cam1_%Y%m%d_%H%M%S", ZoneInfo("America/New_York"))
    assert got == dt.datetime(2026, 2, 8, 15, 0, tzinfo=dt.UTC)


def test_filename_pattern_wildcard() -> None:
    got = time_from_filename(Path("ch03-main_20260208_1015.mkv"), "*_%Y%m%d_%H%M", UTC)
    assert got == dt.datetime(2026, 2, 8, 10, 15, tzinfo=dt.UTC)


def test_filename_not_matching_is_none() -> None:
    assert time_from_filename(Path("holiday.mp4"), "cam1_%Y%m%d_%H%M%S", UTC) is None


def test_filename_with_impossible_date_is_an_error() -> None:
    with pytest.raises(TimeError, match="no valid date"):
        time_from_filename(Path("cam1_20261345_100000.mp4"), "cam1_%Y%m%d_%H%M%S", UTC)


def test_pattern_without_date_fields_is_refused() -> None:
    with pytest.raises(InputError, match="needs at least"):
        time_from_filename(Path("cam1.mp4"), "cam%H", UTC)


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("entrance_%Y%m%d", "needs at least %Y %m %d %H %M"),
        ("entrance_%y%m%d_%H%M%S", "uses %y: only %Y %m %d %H %M %S"),
        ("cam_%Y%m%d_%H%M_%f", "uses %f"),
        # a code given twice passed validate, then process and batch stopped on a traceback (re.error)
        ("entrance_%Y%m%d_%H%M%S_%S", "uses %S twice: each of %Y %m %d %H %M %S may appear once"),
        ("cam%Y_%Y%m%d_%H%M", "uses %Y twice"),
    ],
)
def test_validate_refuses_the_patterns_process_refuses(tmp_path: Path, pattern: str, why: str) -> None:
    # validate used to pass these; process and batch then refused (or never matched) every video
    with pytest.raises(InputError, match=re.escape(why)):
        time_from_filename(Path("entrance_20261124_070000.mp4"), pattern, UTC)
    (tmp_path / "branches.yaml").write_text(
        "branches:\n  - id: b1\n    name: A\n    capacity: 5\n    cameras:\n"
        f"      - {{id: door, roi: [0, 0, 10, 10], filename_pattern: '{pattern}'}}\n"
    )
    problems = validate_config(tmp_path)
    assert len(problems) == 1 and 'cameras["door"].filename_pattern' in problems[0], problems
    assert why in problems[0]


def test_validate_keeps_the_patterns_process_reads(tmp_path: Path) -> None:
    # a % not before a letter is text (a URL-escaped space in an NVR's names); an empty pattern is none
    pattern = "cam%20front_%Y%m%d_%H%M%S"
    assert time_from_filename(Path("cam%20front_20261124_070000.mp4"), pattern, UTC) == dt.datetime(
        2026, 11, 24, 7, tzinfo=dt.UTC
    )
    (tmp_path / "branches.yaml").write_text(
        "branches:\n  - id: b1\n    name: A\n    capacity: 5\n    cameras:\n"
        f"      - {{id: door, roi: [0, 0, 10, 10], filename_pattern: '{pattern}'}}\n"
        "      - {id: side, roi: [0, 0, 10, 10], filename_pattern: ''}\n"
    )
    assert validate_config(tmp_path) == []
    assert load_config(tmp_path).branch("b1").cameras[1].filename_pattern is None


def test_resolution_order(tmp_path: Path) -> None:
    path = tmp_path / "cam1_20260208_100000.mp4"
    path.write_bytes(mp4_with_creation(SECONDS_2026_02_08_10 + 3600))
    explicit = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert resolve_start_time(path, explicit=explicit, pattern="cam1_%Y%m%d_%H%M%S", tz=UTC)[0] == explicit
    by_name, source = resolve_start_time(path, explicit=None, pattern="cam1_%Y%m%d_%H%M%S", tz=UTC)
    assert by_name.hour == 10 and "file name" in source
    by_container, source = resolve_start_time(path, explicit=None, pattern=None, tz=UTC)
    assert by_container.hour == 11 and source == "container creation time"


def test_nothing_known_names_the_flag(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    path.write_bytes(b"RIFF")
    # the parameter a Python caller passes (ProcessRequest.start_time), or the caller's flag
    with pytest.raises(TimeError, match=r"no recording start time: pass start_time 2026"):
        resolve_start_time(path, explicit=None, pattern=None, tz=UTC)
    with pytest.raises(TimeError, match=r"no recording start time: pass --start-time 2026"):
        resolve_start_time(path, explicit=None, pattern=None, tz=UTC, how_to_fix=single_file_fix("--start-time"))


def test_a_batch_takes_a_manifest_start_over_the_file_name_and_says_so(tmp_path: Path) -> None:
    make_config(tmp_path)
    video = write_segments(tmp_path / "v", "door", walker, count=1, frames=5)[0]  # door_20260208_100000.avi
    assert resolve_start_time(video, explicit=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), pattern=None, tz=UTC)[1] == (
        "--start-time"  # a single file's explicit start is the flag's
    )
    (tmp_path / "night.csv").write_text(
        f"path,branch,camera,start\n{video},b1,door,2026-02-08T15:30:00+01:00\n{video},b1,door,\n"
    )
    config = load_config(tmp_path / "config")
    given, unset = (
        prepare(job, config, tmp_path / "data", CameraSettings(), Ledger(tmp_path / "data"))
        for job in discover(str(tmp_path / "night.csv"), config).jobs
    )
    assert isinstance(given, Segment) and isinstance(unset, Segment)
    assert given.start_time == dt.datetime(2026, 2, 8, 14, 30, tzinfo=dt.UTC)
    assert given.start_source == MANIFEST_START == "manifest start column"
    # the branch's clock is Europe/Berlin: 10:00 there is 09:00 UTC
    assert unset.start_time == dt.datetime(2026, 2, 8, 9, 0, tzinfo=dt.UTC)
    assert unset.start_source.startswith("file name")


@pytest.mark.parametrize(
    ("name", "zone"),
    [
        ("cam1_20260329_023000", "Europe/Paris"),
        ("cam1_20260308_021500", "America/New_York"),
        ("cam1_20261004_020000", "Australia/Sydney"),
    ],
)
def test_filename_time_skipped_by_spring_forward_is_an_error(name: str, zone: str) -> None:
    # 02:30 on the night the clocks jump 02:00 -> 03:00 names no instant; it used to be read
    # silently with the winter offset (Paris: 01:30 UTC, shown as 03:30)
    with pytest.raises(TimeError, match=rf"does not exist in {zone}.*went forward.*: pass its start with start_time$"):
        time_from_filename(Path(f"{name}.mp4"), "cam1_%Y%m%d_%H%M%S", ZoneInfo(zone))


def test_skipped_filename_time_in_a_batch_asks_for_a_manifest_start() -> None:
    with pytest.raises(TimeError, match=r"does not exist in Europe/Paris.*manifest CSV with a start column"):
        resolve_start_time(
            Path("cam1_20260329_023000.mp4"),
            explicit=None,
            pattern="cam1_%Y%m%d_%H%M%S",
            tz=ZoneInfo("Europe/Paris"),
            how_to_fix=BATCH_FIX,
        )


def test_filename_time_around_a_clock_change() -> None:
    paris = ZoneInfo("Europe/Paris")
    pattern = "cam1_%Y%m%d_%H%M%S"
    # the last minute before the spring gap and its end are real times
    assert time_from_filename(Path("cam1_20260329_015900.mp4"), pattern, paris) == dt.datetime(
        2026, 3, 29, 0, 59, tzinfo=dt.UTC
    )
    assert time_from_filename(Path("cam1_20260329_030000.mp4"), pattern, paris) == dt.datetime(
        2026, 3, 29, 1, 0, tzinfo=dt.UTC
    )
    # the repeated hour of the fall-back night is its first occurrence (summer time), as documented
    assert time_from_filename(Path("cam1_20261025_023000.mp4"), pattern, paris) == dt.datetime(
        2026, 10, 25, 0, 30, tzinfo=dt.UTC
    )
    # no DST: Kolkata's +05:30 all year
    assert time_from_filename(Path("cam1_20260329_023000.mp4"), pattern, ZoneInfo("Asia/Kolkata")) == dt.datetime(
        2026, 3, 28, 21, 0, tzinfo=dt.UTC
    )


@pytest.mark.parametrize(
    "start",
    [
        dt.datetime(2099, 1, 1, tzinfo=dt.UTC),  # a typo for 2026: every KPI, etl and report run then refused the store
        dt.datetime(1970, 1, 1, tzinfo=dt.UTC),  # a camera whose clock was reset
    ],
)
def test_process_refuses_a_start_the_store_would_refuse_and_writes_nothing(tmp_path: Path, start: dt.datetime) -> None:
    from retail_intel.pipeline.plan import ProcessRequest, make_plan
    from retail_intel.pipeline.run import process_video

    from .fakes import ScriptedDetector, two_people, write_video

    video = write_video(tmp_path / "cam.avi")
    data = tmp_path / "data"
    plan = make_plan(ProcessRequest.create(video, "b1", data, start_time=start, roi="100,80,220,200"))
    with pytest.raises(TimeError, match=re.escape(f"start time {start.isoformat()} (from --start-time)")) as raised:
        process_video(plan, detector_factory=lambda plan: ScriptedDetector(two_people))
    assert "outside the plausible range 2000-01-01" in str(raised.value)
    assert not (data / "movements").exists()


@pytest.mark.parametrize("below", [False, True])
def test_process_refuses_a_data_dir_that_is_a_file_before_detecting(tmp_path: Path, below: bool) -> None:
    # detected the whole video, then failed writing its first result
    from retail_intel.pipeline.plan import ProcessRequest, make_plan
    from retail_intel.pipeline.run import process_video

    from .fakes import write_video

    video = write_video(tmp_path / "cam.avi")
    blocker = tmp_path / "notes"
    blocker.write_text("a file")
    data = blocker / "data" if below else blocker
    start = dt.datetime(2026, 2, 8, 10, tzinfo=dt.UTC)
    plan = make_plan(ProcessRequest.create(video, "b1", data, start_time=start, roi="100,80,220,200"))

    def no_detector(plan: object) -> NoReturn:
        raise AssertionError("the detector was built")

    # a Python caller reads the parameter's name (the CLI passes its flag: test_directory_names.py)
    with pytest.raises(InputError, match=re.escape(f"data_dir {data}: ")):
        process_video(plan, detector_factory=no_detector)
    assert blocker.read_text() == "a file"


def test_a_preview_with_a_reset_camera_clock_still_runs(tmp_path: Path) -> None:
    # a preview (--max-frames) writes under previews/, which no KPI, etl or report reads: checking an
    # ROI on a recording whose clock says 1970 needs no --start-time
    from retail_intel.pipeline.plan import ProcessRequest, make_plan
    from retail_intel.pipeline.run import process_video

    from .fakes import ScriptedDetector, two_people, write_video

    video = write_video(tmp_path / "cam.avi")
    start = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    plan = make_plan(
        ProcessRequest.create(video, "b1", tmp_path / "data", start_time=start, roi="100,80,220,200", max_frames=20)
    )
    result = process_video(plan, detector_factory=lambda plan: ScriptedDetector(two_people))
    assert result.summary.frames == 20


def test_process_refuses_a_frame_rate_that_stretches_the_video_past_the_plausible_range(tmp_path: Path) -> None:
    # --fps 0.0001 (for 10) passed the start's check: 60 frames became a week of movements, written,
    # and every KPI, etl and report run then refused the file holding them
    from dataclasses import replace

    from retail_intel.pipeline.plan import ProcessRequest, make_plan
    from retail_intel.pipeline.run import process_video

    from .fakes import ScriptedDetector, two_people, write_video

    video = write_video(tmp_path / "cam.avi")
    data = tmp_path / "data"
    start = dt.datetime(2026, 2, 8, 10, tzinfo=dt.UTC)
    detector = ScriptedDetector(two_people)
    slow = ProcessRequest.create(video, "b1", data, start_time=start, roi="100,80,220,200", fps=0.0001)
    with pytest.raises(TimeError, match=re.escape("60 frames at 0.0001 fps from 2026-02-08T10:00:00+00:00")) as raised:
        process_video(make_plan(slow), detector_factory=lambda plan: detector, now=lambda: start)
    assert "outside the plausible range 2000-01-01" in str(raised.value)
    assert "give the true frame rate (fps, the camera's fps" in str(raised.value)  # the request's setting
    assert detector.calls == []  # refused before detecting
    assert not (data / "movements").exists()
    # a preview is not refused, as with a start out of range
    preview = process_video(
        make_plan(replace(slow, max_frames=10)), detector_factory=lambda plan: detector, now=lambda: start
    )
    assert preview.summary.preview


def test_process_refuses_a_video_that_would_end_past_the_plausible_range(tmp_path: Path) -> None:
    # a start just inside the range (now + 1 day) passed, and the frames after it were written beyond it
    from retail_intel.pipeline.plan import ProcessRequest, make_plan
    from retail_intel.pipeline.run import process_video

    from .fakes import ScriptedDetector, two_people, write_video

    video = write_video(tmp_path / "cam.avi")  # 60 frames at 10 fps: 6 s
    data = tmp_path / "data"
    now = dt.datetime(2026, 2, 8, 10, tzinfo=dt.UTC)
    start = now + dt.timedelta(days=1, seconds=-3)
    plan = make_plan(ProcessRequest.create(video, "b1", data, start_time=start, roi="100,80,220,200"))
    with pytest.raises(TimeError, match=re.escape(f"60 frames at 10 fps from {start.isoformat()} (from --start-time)")):
        process_video(plan, detector_factory=lambda plan: ScriptedDetector(two_people), now=lambda: now)
    assert not (data / "movements").exists()
