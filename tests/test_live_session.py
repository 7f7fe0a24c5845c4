"""Live sessions driven by a scripted frame source and a fake clock: no network, no ffmpeg, no waiting."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from retail_intel.cli import process_live
from retail_intel.cli.common import OutputFormat
from retail_intel.errors import InputError, VideoError
from retail_intel.live.record import claim_session_id, live_fingerprint, record_path
from retail_intel.live.session import LiveOptions, LiveResult, LiveStatus, process_stream
from retail_intel.movements.compaction import compact_store
from retail_intel.movements.schema import MOVEMENT_SCHEMA, TRAJECTORY_SCHEMA
from retail_intel.movements.store import movement_files, read_movements
from retail_intel.pipeline.plan import ProcessPlan, ProcessRequest, make_plan
from retail_intel.storage import PREVIEWS_DIR, parquet_files

from .fakes import Box, ScriptedDetector, person_box
from .live_fakes import START, ClockStep, Drop, Fail, FakeClock, Frames, ScriptedSource

ROI = "100,80,220,200"
URL = "rtsp://admin:secret@10.0.0.7:554/stream1"


def plan_for(data_dir: Path, **kw: object) -> ProcessPlan:
    args: dict[str, object] = {"video": Path("live"), "branch": "b1", "data_dir": data_dir, "roi": ROI}
    args.update(kw)
    return make_plan(ProcessRequest.create(**args))  # type: ignore[arg-type]


def three_visits(frame: int) -> list[Box]:
    """Three people who finish at different times (frame k is read at k/10 + 0.1 s).

    B crosses the ROI fast over frames 10-40 (passed); A walks in over 0-19,
    stands inside, walks out to the right over 100-119 (entered, exit seen);
    C arrives at frame 250 and is still standing inside when the session stops.
    """
    boxes = []
    if frame <= 119:
        ax = 20 + min(frame, 20) * 6 if frame < 100 else 140 + (frame - 100) * 8
        boxes.append(person_box(ax, 150))
    if 10 <= frame <= 40:
        boxes.append(person_box(310 - (frame - 10) * 10, 110))
    if frame >= 250:
        boxes.append(person_box(160, 150))
    return boxes


def run(
    data_dir: Path,
    script: list[Frames | Drop | ClockStep | Fail],
    detections=three_visits,  # type: ignore[no-untyped-def]
    *,
    stop: threading.Event | None = None,
    progress=None,  # type: ignore[no-untyped-def]
    plan_kw: dict[str, object] | None = None,
    **options: object,
) -> tuple[LiveResult, ScriptedSource]:
    clock = FakeClock()
    source = ScriptedSource(clock, script)
    opts: dict[str, object] = {"url": URL, "flush_s": 5.0, "duration_s": 29.0, "session_id": "S1"}
    opts.update(options)
    result = process_stream(
        plan_for(data_dir, **(plan_kw or {})),
        LiveOptions(**opts),  # type: ignore[arg-type]
        detector_factory=lambda plan: ScriptedDetector(detections),
        source=source,
        clock=clock,
        stop=stop,
        progress=progress,
    )
    return result, source


def rows(path: Path) -> list[dict[str, object]]:
    return pq.read_table(path, schema=MOVEMENT_SCHEMA).to_pylist()


def test_people_are_judged_when_their_track_ends_and_flushed_in_their_window(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first_flush: dict[str, bytes] = {}

    def watch(status: LiveStatus) -> None:
        # keep the first file's bytes as written, to prove later flushes never touch it
        if status.flushes == 1 and not first_flush:
            (path,) = movement_files(data)
            first_flush[path.name] = path.read_bytes()

    result, source = run(data, [Frames(300)], progress=watch)
    assert source.started and source.stopped
    files = movement_files(data)
    assert [f.name for f in files] == [f"live-b1-cam1-S1-{n:04d}.parquet" for n in (1, 2, 3)]
    assert {f.parent for f in files} == {data / "movements" / "b1" / "2026-02-08"}
    b, a, c = (rows(f) for f in files)
    # B finished first (last seen 4.1 s), A next (12.0 s), C was still inside at the stop
    assert [(r["action_type"], r["exit_observed"]) for r in b] == [("passed", True)]
    assert [(r["action_type"], r["exit_observed"]) for r in a] == [("entered", True)]
    assert [(r["action_type"], r["exit_observed"]) for r in c] == [("entered", False)]
    # frame k is read at START + (k + 1) / 10 s; A's foot passes x = 100 at frame 14
    assert a[0]["enter_time"] == START + dt.timedelta(seconds=1.5)
    # ByteTrack confirms a new track on its second frame (frame 251)
    assert c[0]["first_seen"] == START + dt.timedelta(seconds=25.2)
    # a person is final 3 s (track buffer) + 6 s (the longest gap stitching bridges) after their
    # last sample, and written at the next flush (every 5 s): B (4.1 s) at 15 s, A (12.0 s) at 20 s
    flushed = [r[0]["processed_at"] for r in (b, a)]
    assert [round((t - START).total_seconds()) for t in flushed] == [15, 20]
    assert c[0]["processed_at"] == START + dt.timedelta(seconds=29)
    assert first_flush == {files[0].name: files[0].read_bytes()}
    # the password never reaches the data
    assert {r["source_video"] for r in b + a + c} == {"rtsp://10.0.0.7:554/stream1"}
    assert len({r["customer_id"] for r in b + a + c}) == 3
    summary = result.summary
    assert (summary.people, summary.entered, summary.passed) == (3, 2, 1)
    assert summary.stop_reason == "duration" and not summary.running
    assert result.files == files


def test_trajectories_and_the_run_record_follow_each_flush(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result, _ = run(data, [Frames(300)])
    trajectories = sorted((data / "trajectories").rglob("*.parquet"))
    assert [t.name for t in trajectories] == [f"live-b1-cam1-S1-{n:04d}.parquet" for n in (1, 2, 3)]
    for path in trajectories:
        assert pq.read_table(path).schema == TRAJECTORY_SCHEMA
    movement_ids = set(read_movements(data).column("customer_id").to_pylist())
    path_ids = {cid for t in trajectories for cid in pq.read_table(t).column("customer_id").to_pylist()}
    assert movement_ids == path_ids
    record = json.loads(record_path(data, "b1", "cam1", "S1").read_text())
    assert record == json.loads(json.dumps(result.summary.to_dict()))
    assert record["url"] == "rtsp://10.0.0.7:554/stream1"
    assert [f["seq"] for f in record["flushes"]] == [1, 2, 3]
    assert [f["people"] for f in record["flushes"]] == [1, 1, 1]
    assert record["frames"] == result.summary.frames >= 280
    # atomic writes leave no temporary files behind
    assert not [p for p in data.rglob("*") if p.name.startswith(".")]


def test_same_session_gives_the_same_ids_and_another_session_new_ones(tmp_path: Path) -> None:
    run(tmp_path / "one", [Frames(300)])
    run(tmp_path / "two", [Frames(300)])
    run(tmp_path / "three", [Frames(300)], session_id="S2")
    ids = [sorted(read_movements(tmp_path / d).column("customer_id").to_pylist()) for d in ("one", "two", "three")]
    assert ids[0] == ids[1]
    assert not set(ids[0]) & set(ids[2])


def test_a_quiet_stream_writes_no_empty_files(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result, _ = run(data, [Frames(100)], detections=lambda frame: [], duration_s=12.0)
    assert movement_files(data) == []
    assert result.summary.flushes == [] and result.summary.people == 0
    record = json.loads(record_path(data, "b1", "cam1", "S1").read_text())
    assert record["stop_reason"] == "duration" and record["frames"] == 100


def standing(frame: int) -> list[Box]:
    return [person_box(160, 150)]


def test_a_gap_is_recorded_and_splits_the_tracks(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result, _ = run(data, [Frames(50), Drop(10.0, "stream ended", attempts=3), Frames(50)], detections=standing)
    gaps = result.summary.gaps
    assert gaps == [
        {
            "start": (START + dt.timedelta(seconds=5)).isoformat(),
            "end": (START + dt.timedelta(seconds=15)).isoformat(),
            "seconds": 10.0,
            "reason": "stream ended",
            "attempts": 3,
            "last_error": None,
        }
    ]
    assert result.summary.reconnects == 1
    table = read_movements(data).sort_by("first_seen").to_pylist()
    # nobody can be followed through ten seconds without pictures: two people, ids differ
    assert [(r["first_seen"] - START).total_seconds() for r in table] == [0.1, 15.1]
    assert table[0]["last_seen"] == START + dt.timedelta(seconds=5)
    assert table[0]["track_id"] != table[1]["track_id"]
    record = json.loads(record_path(data, "b1", "cam1", "S1").read_text())
    assert record["gaps"] == gaps


def test_a_clock_stepping_back_holds_frame_times_instead_of_failing(tmp_path: Path) -> None:
    result, _ = run(tmp_path, [Frames(30), ClockStep(-2.0), Frames(30)], detections=standing, duration_s=10.0)
    (row,) = read_movements(tmp_path).to_pylist()
    # 60 frames of one person; the 20 read while the clock caught up share the time 3.0 s
    assert row["n_frames"] == 60 and row["last_seen"] == START + dt.timedelta(seconds=4.0)
    assert any("clock stepped back 1.9 s" in note for note in result.summary.notes)  # 3.0 -> 1.1


def test_stop_event_judges_who_is_still_inside(tmp_path: Path) -> None:
    stop = threading.Event()

    def stop_after_40_frames(status: LiveStatus) -> None:
        if status.frames >= 40:
            stop.set()

    result, _ = run(tmp_path, [Frames(300)], detections=standing, stop=stop, progress=stop_after_40_frames)
    assert result.summary.stop_reason == "stopped"
    assert 40 <= result.summary.frames < 50
    (row,) = read_movements(tmp_path).to_pylist()
    assert row["action_type"] == "entered" and row["exit_observed"] is False


def test_max_frames_stops_after_exactly_that_many(tmp_path: Path) -> None:
    result, _ = run(tmp_path, [Frames(300)], detections=standing, plan_kw={"max_frames": 37})
    assert result.summary.frames == 37 and result.summary.stop_reason == "max-frames"


def test_a_max_frames_session_is_a_preview_kept_apart_from_the_data(tmp_path: Path) -> None:
    # Before, a --max-frames session wrote into DATA_DIR/movements/, where kpis and report count it.
    data = tmp_path / "data"
    result, _ = run(data, [Frames(300)], plan_kw={"max_frames": 200}, session_id=None)
    previews = data / PREVIEWS_DIR
    assert result.summary.preview and result.summary.people == 2
    assert movement_files(data) == [] and not (data / "runs").exists() and not (data / "trajectories").exists()
    assert result.files == movement_files(previews) and len(result.files) == 2
    assert result.record == record_path(previews, "b1", "cam1", "20260208T100000Z") and result.record.exists()
    assert (previews / "frames" / "b1" / "cam1.jpg").exists()
    # a full session afterwards is neither numbered against the preview nor mixed with it
    full, _ = run(data, [Frames(300)], session_id=None)
    assert not full.summary.preview and full.summary.session_id == "20260208T100000Z"
    assert len(movement_files(data)) == 3 and movement_files(previews) == result.files


def test_a_stream_that_never_opens_raises_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="cannot read"):
        run(tmp_path, [Fail("rtsp://10.0.0.7/x: cannot read the stream")])
    assert not (tmp_path / "runs").exists() and movement_files(tmp_path) == []


def test_a_duration_that_ends_before_any_frame_is_an_error_not_a_run(tmp_path: Path) -> None:
    # an address that does not answer takes 15 s an attempt: a --duration 30s ended first, and the
    # command said "stopped by duration", 0 frames, exit 0, never that the stream could not be read
    # named options.duration_s, as a Python caller set it (the CLI passes --duration: the test below)
    with pytest.raises(
        VideoError, match=r"^rtsp://10.0.0.7:554/stream1: no frame within the options.duration_s of 5 s"
    ):
        run(tmp_path, [], duration_s=5.0, session_id=None)
    assert list((tmp_path / "runs").iterdir()) == [] and movement_files(tmp_path) == []


def test_roi_outside_the_stream_frame_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="outside the 160x120 frame"):
        run(tmp_path, [Frames(5, size=(160, 120))])
    assert movement_files(tmp_path) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        # the parameters, not the CLI's flags (which process checks first: tests/test_duration_flags.py)
        ({"flush_s": 0.0}, r"^options\.flush_s "),
        ({"duration_s": -1.0}, r"^options\.duration_s "),
        ({"flush_s": 86400.0 + 1}, r"^options\.flush_s must be a positive duration of at most 24h"),
        ({"duration_s": 365 * 86400.0 + 1}, r"^options\.duration_s must be a positive duration of at most 365d"),
    ],
)
def test_bad_options_are_refused(tmp_path: Path, options: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        run(tmp_path, [Frames(5)], **options)


def test_save_video_is_refused_for_streams(tmp_path: Path) -> None:
    # the request's field, not the flag: the CLI refuses --save-video for a stream before this
    with pytest.raises(InputError, match=r"^plan\.save_video is for recorded files"):
        run(tmp_path, [Frames(5)], plan_kw={"save_video": tmp_path / "out.mp4"})


def test_a_new_session_id_never_reuses_a_recorded_one(tmp_path: Path) -> None:
    first = claim_session_id(tmp_path, "b1", "cam1", START)
    assert first == "20260208T100000Z"
    assert record_path(tmp_path, "b1", "cam1", first).exists()  # claimed on disk at once
    assert claim_session_id(tmp_path, "b1", "cam1", START) == "20260208T100000Z-2"
    assert claim_session_id(tmp_path, "b1", "cam2", START) == first
    # camera ids are unique only within a branch: b2's entrance is another camera
    assert claim_session_id(tmp_path, "b2", "cam1", START) == first
    assert live_fingerprint("b1", "cam1", first) != live_fingerprint("b2", "cam1", first)


def test_cameras_of_one_id_in_two_branches_never_share_customer_ids(tmp_path: Path) -> None:
    # Before, the fingerprint was camera and session only: the same session id in b1 and b2 gave
    # the same customer ids, and one run record overwrote the other.
    data = tmp_path / "data"
    for branch in ("b1", "b2"):
        run(data, [Frames(300)], plan_kw={"branch": branch})
    table = read_movements(data)
    ids = {b: set(table.filter(pc.equal(table["branch_id"], b))["customer_id"].to_pylist()) for b in ("b1", "b2")}
    assert len(ids["b1"]) == len(ids["b2"]) == 3 and not ids["b1"] & ids["b2"]
    assert sorted(p.name for p in (data / "runs").iterdir()) == ["live-b1-cam1-S1.json", "live-b2-cam1-S1.json"]
    # A file name is its source's key in the whole store: with the same name in both branches, b2's
    # trajectories replaced b1's, and compacting b1 made readers drop b1's month for b2's files.
    for kind in ("movements", "trajectories"):
        names = {b: [p.name for p in parquet_files(data / kind / b)] for b in ("b1", "b2")}
        assert names["b1"] and names["b2"] and not set(names["b1"]) & set(names["b2"]), kind
    compact_store(data, before=dt.date(2100, 1, 1), branch="b1")
    compacted = read_movements(data)
    assert sorted(compacted["customer_id"].to_pylist()) == sorted(table["customer_id"].to_pylist())


class _SameSecond(ScriptedSource):
    """Starts only once every session has chosen its id, as services started together at boot."""

    def __init__(self, clock: FakeClock, script: list[Frames | Drop | ClockStep | Fail], chosen: threading.Barrier):
        super().__init__(clock, script)
        self.chosen = chosen

    def start(self) -> None:
        self.chosen.wait()
        super().start()


@pytest.mark.parametrize("branches", [("b1", "b2"), ("b1", "b1")])
def test_sessions_starting_in_the_same_second_get_their_own_ids(tmp_path: Path, branches: tuple[str, str]) -> None:
    # Before, both chose 20260208T100000Z before either wrote its record: same record, same ids.
    data = tmp_path / "data"
    chosen = threading.Barrier(len(branches), timeout=60)
    results: list[LiveResult] = []

    def session(branch: str) -> None:
        clock = FakeClock()  # both start at START
        results.append(
            process_stream(
                plan_for(data, branch=branch),
                LiveOptions(url=URL, flush_s=5.0, duration_s=29.0),
                detector_factory=lambda plan: ScriptedDetector(three_visits),
                source=_SameSecond(clock, [Frames(300)], chosen),
                clock=clock,
            )
        )

    threads = [threading.Thread(target=session, args=(b,)) for b in branches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2 and results[0].record != results[1].record
    ids = [{r["customer_id"] for f in result.files for r in rows(f)} for result in results]
    assert len(ids[0]) == len(ids[1]) == 3 and not ids[0] & ids[1]
    records = sorted(p.name for p in (data / "runs").iterdir())
    if branches[0] != branches[1]:
        assert records == ["live-b1-cam1-20260208T100000Z.json", "live-b2-cam1-20260208T100000Z.json"]
    else:
        assert records == ["live-b1-cam1-20260208T100000Z-2.json", "live-b1-cam1-20260208T100000Z.json"]
    for result in results:
        assert result.record is not None and json.loads(result.record.read_text())["frames"] == result.summary.frames


def test_a_session_that_never_gets_a_frame_leaves_no_claimed_record(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="cannot read"):
        run(tmp_path, [Fail("rtsp://10.0.0.7/x: cannot read the stream")], session_id=None)
    stop = threading.Event()
    stop.set()
    result, _ = run(tmp_path, [Frames(5)], session_id=None, stop=stop)
    assert result.record is None and list((tmp_path / "runs").iterdir()) == []


LINE_AND_STAFF_CONFIG = """
branches:
  - id: b1
    name: One
    capacity: 10
    staff:
      min_presence_minutes: null
      zone_seconds: 5
      door_crossings: null
      zones:
        cam1: [[[130, 110], [180, 110], [180, 170], [130, 170]]]
    cameras:
      - id: cam1
        roi: [100, 80, 220, 200]
        line: {start: [130, 60], end: [130, 230], in_side: left, band_px: 4}
"""


def test_live_rows_carry_the_door_line_and_the_branch_staff_rules_as_a_file_run_does(tmp_path: Path) -> None:
    # A walks in across the door line and stands 10 s in the staff zone (staff); B crosses the
    # line on the way through (a passer-by). Before, live rows had no line counts and ignored the
    # branch's staff block.
    config = tmp_path / "config"
    config.mkdir()
    (config / "branches.yaml").write_text(LINE_AND_STAFF_CONFIG, encoding="utf-8")
    data = tmp_path / "data"
    run(data, [Frames(300)], plan_kw={"config_dir": config, "roi": None})
    live = sorted(
        (r["action_type"], r["line_in"], r["line_out"], r["is_staff"], r["staff_reason"] is not None)
        for r in read_movements(data).to_pylist()
    )
    assert live == [
        ("entered", 0, 0, False, False),  # C: appears inside at the end, crosses nothing
        (
            "entered",
            1,
            0,
            True,
            True,
        ),  # A: in over the line (the in side is the picture's right), 8 s in the staff zone
        ("passed", 0, 1, False, False),  # B: crosses the line leaving to the left
    ]


def test_the_library_example_of_the_live_doc_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # docs/live.md built its plan with ProcessRequest(..., roi="100,80,700,500"): a TypeError, roi is no field
    import retail_intel.live.session

    doc = (Path(__file__).resolve().parents[1] / "docs" / "live.md").read_text(encoding="utf-8")
    code = doc.split("## Library", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    calls: list[tuple[ProcessPlan, LiveOptions]] = []
    monkeypatch.setattr(
        retail_intel.live.session, "process_stream", lambda plan, options, **kw: calls.append((plan, options))
    )
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/live.md", "exec"), {})
    [(plan, options)] = calls
    assert plan.branch_id == "b1" and options.url == "rtsp://cam/1" and options.flush_s == 300
    assert plan.rules.roi.points == ((100.0, 80.0), (700.0, 80.0), (700.0, 500.0), (100.0, 500.0))


def walker_behind_stander(stander_until: int) -> Callable[[int], list[Box]]:
    """A walks right along y = 170, below the door line's end (x = 160, y 80-140), over frames 0-59;
    while passing behind S (frames 20-40) only A's upper body is seen, its box ending at y = 130,
    inside the line's span. S stands nearer the camera (feet at y = 220) from frame 10 to
    ``stander_until``."""

    def boxes(frame: int) -> list[Box]:
        found: list[Box] = []
        if frame <= 59:
            x = 100 + 2 * frame
            bottom = 130.0 if 20 <= frame <= 40 else 170.0
            found.append((x - 15, 110.0, x + 15, bottom, 0.9))
        if 10 <= frame <= stander_until:
            found.append(person_box(160, 220, h=100))
        return found

    return boxes


@pytest.mark.parametrize(
    "stander_until",
    [
        299,  # S still stands there when A is judged
        41,  # S leaves just after A passed behind, and is judged before A
    ],
)
def test_a_person_judged_after_the_one_who_hid_them_crosses_no_line(tmp_path: Path, stander_until: int) -> None:
    # live judging saw only the people finished at the same moment, so A's cut boxes counted a
    # crossing that never happened whenever S was judged at another moment
    data = tmp_path / "data"
    result, _ = run(data, [Frames(300)], walker_behind_stander(stander_until), plan_kw={"line": "160,80 160,140:left"})
    # one row: A, inside the ROI; S stands below it (counted as a person, not as a visit)
    assert [(r["line_in"], r["line_out"]) for r in read_movements(data).to_pylist()] == [(0, 0)]
    assert (result.summary.people, result.summary.line_in, result.summary.line_out) == (2, 0, 0)


def test_the_status_block_ends_its_line_before_the_error_in_a_log_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # stderr into a file (a service's log, a pipe): the error line was glued to the status, "... gaps 0error: ..."
    status = LiveStatus(
        url="rtsp://10.0.0.7:554/stream1",
        session_id="S1",
        elapsed_s=3.0,
        frames=0,
        fps=0.0,
        open_tracks=0,
        people=0,
        entered=0,
        passed=0,
        flushes=0,
        last_flush=None,
        connected=False,
        gaps=0,
        open_gap_since=None,
        open_gap_reason=None,
        frames_dropped=0,
    )

    def no_stream(plan: ProcessPlan, options: LiveOptions, **kw: Callable[[LiveStatus], None]) -> LiveResult:
        kw["progress"](status)
        raise VideoError("rtsp://10.0.0.7:554/stream1: cannot read the stream after 3 attempts")

    monkeypatch.setattr(process_live, "process_stream", no_stream)
    options = process_live.live_options(URL, duration=None, flush=None)
    with pytest.raises(VideoError):
        process_live.run_live(plan_for(tmp_path), options, fmt=OutputFormat.table, quiet=False)
    assert capsys.readouterr().err.endswith("gaps 0\n")


def test_the_duration_and_fps_are_named_as_the_caller_names_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # process_stream said "no frame within the --duration" and "(pass --fps to set it)" to a Python caller;
    # the live command passes its flags, so its user still reads them
    result, _ = run(tmp_path / "a", [Frames(5, fps=200.0)])
    assert any(note.endswith("the tracker assumes 25 (pass fps to set it)") for note in result.summary.notes)

    scripts = iter([[Frames(5, fps=200.0)], []])

    def scripted(plan: ProcessPlan, options: LiveOptions, **kw: object) -> LiveResult:
        clock = FakeClock()
        fake = {"source": ScriptedSource(clock, next(scripts)), "clock": clock}
        fake["detector_factory"] = lambda plan: ScriptedDetector(three_visits)
        return process_stream(plan, options, **{**kw, **fake})  # type: ignore[arg-type]

    monkeypatch.setattr(process_live, "process_stream", scripted)
    options = process_live.live_options(URL, duration="29s", flush="5s")
    shown = process_live.run_live(plan_for(tmp_path / "b"), options, fmt=OutputFormat.json, quiet=True)
    assert any(note.endswith("the tracker assumes 25 (pass --fps to set it)") for note in shown.summary.notes)
    options = process_live.live_options(URL, duration="5s", flush="5s")
    with pytest.raises(VideoError, match=r"no frame within the --duration of 5 s"):
        process_live.run_live(plan_for(tmp_path / "c"), options, fmt=OutputFormat.json, quiet=True)
