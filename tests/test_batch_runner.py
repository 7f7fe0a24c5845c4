"""The batch library end to end: mapping, ledger, bad files, continuity across cuts, KPIs.

Synthetic segments whose people are drawn into the frames and a detector that
finds them again (tests/batch_fakes.py): real decoding, tracking and writing,
no model weights.
"""

from __future__ import annotations

import json
import signal
import sys
import types
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from retail_intel.batch.ledger import DONE, FAILED, Ledger, ledger_path
from retail_intel.batch.pending import load_pending
from retail_intel.batch.request import BatchRequest, Runtime
from retail_intel.batch.runner import run_batch
from retail_intel.batch.summary import EXIT_PARTIAL
from retail_intel.config.camera_settings import CameraSettings
from retail_intel.errors import DataError, InputError
from retail_intel.movements.events import customer_id
from retail_intel.movements.store import read_movements
from retail_intel.pipeline.plan import ProcessPlan
from retail_intel.pipeline.video_tracks import source_key
from retail_intel.vision.detections import Detections
from retail_intel.vision.video import fingerprint

from .batch_fakes import BlobDetector, stayer_and_passers, walker, write_scene
from .batch_helpers import (
    RUNTIME,
    SEGMENT_FRAMES,
    batch,
    make_archive,
    make_config,
    n_movement_files,
    nightly_archives,
    people,
    rows,
    statuses,
    write_segments,
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    make_config(tmp_path)
    return tmp_path


def test_a_person_spanning_cuts_is_counted_once(root: Path) -> None:
    segments = write_segments(root / "archive" / "b1" / "door", "door", stayer_and_passers, count=3)
    write_scene(root / "whole" / "door_20260208_100000.avi", stayer_and_passers, frames=150)
    split = batch(root / "archive", root)
    whole = batch(root / "whole", root, data="whole_data")
    assert split.exit_code == 0 and whole.exit_code == 0
    assert [f.status for f in split.files] == ["done"] * 3
    # A stands in the ROI across both cuts, B crosses the first cut, C the second:
    # three people, exactly as in the uncut recording, with the same times.
    assert people(root / "data") == people(root / "whole_data")
    assert len(people(root / "data")) == 3
    table = read_movements(root / "data").to_pylist()
    assert len({r["customer_id"] for r in table}) == 3
    stayer = next(r for r in table if r["action_type"] == "entered")
    # written by the last segment it was seen in (carried in: a negative track id),
    # under the id the first segment gave it
    assert stayer["source_video"] == segments[2].name and stayer["track_id"] < 0
    assert stayer["customer_id"] == customer_id(fingerprint(segments[0]), "door", 1)
    taken = {Path(f.video).name: f.taken_over for f in split.files}
    assert taken == {segments[0].name: 0, segments[1].name: 2, segments[2].name: 2}


def test_rerun_skips_done_files_and_changes_nothing(root: Path) -> None:
    archive = make_archive(root)
    first = batch(archive, root)
    before = rows(root / "data")
    again = batch(archive, root)
    assert first.done == 6 and again.skipped == 6 and again.done == 0 and again.frames == 0
    assert rows(root / "data") == before
    assert n_movement_files(root / "data") == 6


def test_another_roi_redoes_the_files_and_replaces_their_output(root: Path) -> None:
    archive = make_archive(root)
    batch(archive, root)
    original = rows(root / "data")
    narrow = batch(archive, root, settings=CameraSettings(roi="100,80,160,200"))
    assert narrow.done == 6
    assert n_movement_files(root / "data") == 6
    assert rows(root / "data") != original
    back = batch(archive, root)  # the old ROI again: its files were overwritten since, so redo
    assert back.done == 6
    assert rows(root / "data") == original


class CountingBlobs:
    """The blob detector factory, counting the frames its detectors see (inline: one process)."""

    def __init__(self) -> None:
        self.frames = 0

    def __call__(self, plan: ProcessPlan) -> BlobDetector:
        factory = self

        class Counting(BlobDetector):
            def detect(self, frame: npt.NDArray[np.uint8], frame_index: int) -> Detections:
                factory.frames += 1
                return super().detect(frame, frame_index)

        return Counting()


def test_a_tracking_setting_in_the_config_redoes_the_camera_and_a_judging_one_rejudges(root: Path) -> None:
    archive = make_archive(root)
    counting = CountingBlobs()
    runtime = Runtime(counting, RUNTIME.model_identity)
    assert batch(archive, root, runtime=runtime).done == 6
    first = counting.frames
    assert first > 0
    config = root / "config" / "branches.yaml"
    original = config.read_text()
    # a tracker threshold of the door camera: its three files are detected again, the till's skipped
    config.write_text(original.replace("      - id: door\n", "      - id: door\n        new_track_conf: 0.9\n"))
    tracked = batch(archive, root, runtime=runtime)
    assert (tracked.done, tracked.skipped) == (3, 3)
    detected = counting.frames
    assert first < detected < 2 * first  # the door's files only
    # only the ROI of both cameras: every file is judged again from its stored tracks, nothing detected
    config.write_text(config.read_text().replace("roi: [100, 80, 220, 200]", "roi: [100, 80, 160, 200]"))
    rejudged = batch(archive, root, runtime=runtime)
    assert rejudged.done == 6 and counting.frames == detected
    # the same rows as a full run with the new settings into an empty data directory
    assert batch(archive, root, data="fresh").done == 6
    assert rows(root / "data") == rows(root / "fresh")
    entries = [e for e in Ledger.load(root / "data").entries() if e.status == DONE]
    assert all(e.tracks_hash and e.judge_hash for e in entries)


def test_another_model_redoes_the_files(root: Path) -> None:
    archive = make_archive(root)
    batch(archive, root)
    other = Runtime(RUNTIME.detector_factory, lambda spec: "blobs-v2")
    assert batch(archive, root, runtime=other).done == 6
    assert batch(archive, root, runtime=other).skipped == 6


def test_ledger_records_fingerprint_settings_model_and_outputs(root: Path) -> None:
    archive = make_archive(root)
    batch(archive, root)
    lines = ledger_path(root / "data").read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    done = [e for e in entries if e["status"] == DONE]
    assert {e["model_hash"] for e in done} == {"blobs-v1"}
    assert all(len(e["fingerprint"]) == 64 and e["settings_hash"] and e["movements"] for e in done)
    chained = [e for e in done if e["prev_key"] is not None]
    assert chained and all(e["prev_key"] in {d["key"] for d in done} for e in chained)


def test_bad_files_are_listed_and_the_batch_is_partial(root: Path) -> None:
    archive = make_archive(root)
    door = archive / "b1" / "door"
    (door / "door_20260208_110000.avi").write_bytes(b"not a video" * 50)
    (door / "notime.avi").write_bytes((door / "door_20260208_100000.avi").read_bytes())
    (root / "archive" / "stray.avi").write_bytes(b"")
    # a segment that breaks off half way: found only while decoding
    whole = write_scene(root / "tmp.avi", stayer_and_passers, frames=80)
    data = whole.read_bytes()
    (door / "door_20260208_120000.avi").write_bytes(data[: len(data) // 2])
    summary = batch(archive, root)
    assert summary.exit_code == EXIT_PARTIAL
    failed = {Path(f.video).name: f.reason or "" for f in summary.files if f.status == "failed"}
    assert set(failed) == {"door_20260208_110000.avi", "notime.avi", "stray.avi", "door_20260208_120000.avi"}
    assert "cannot open" in failed["door_20260208_110000.avi"] or "decodable" in failed["door_20260208_110000.avi"]
    assert "no recording start time" in failed["notime.avi"]
    assert "--start-time" not in failed["notime.avi"] and "manifest" in failed["notime.avi"]  # what a batch accepts
    assert "cannot tell which camera" in failed["stray.avi"]
    assert "breaks off" in failed["door_20260208_120000.avi"]
    assert summary.done == 6
    # the broken segment is remembered; a rerun reports it without decoding it again ...
    again = batch(archive, root)
    assert again.exit_code == EXIT_PARTIAL and again.done == 0
    reasons = {Path(f.video).name: f.reason or "" for f in again.files}
    # named as a Python caller sets it (the CLI passes --retry-failed: tests/test_batch_cli.py)
    assert (
        "failed earlier (same file and settings; request.retry_failed tries again)"
        in reasons["door_20260208_120000.avi"]
    )
    # ... unless asked to try again
    retry = batch(archive, root, retry_failed=True)
    assert statuses(retry)["door_20260208_120000.avi"] == "failed"
    assert "breaks off" in (next(f for f in retry.files if f.video.endswith("120000.avi")).reason or "")
    assert sum(e.status == FAILED for e in Ledger.load(root / "data").entries()) == 1


def test_a_full_disk_is_not_remembered_as_a_bad_file(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the disk fills up during a night: every file fails, but none of them is at fault; once space
    # is freed the next run processes them (the message itself says to run the command again)
    import retail_intel.pipeline.run as run_module
    from retail_intel.errors import WriteError

    archive = make_archive(root)
    real_write = run_module.write_movements

    def full_disk(*args: object, **kw: object) -> Path:
        raise WriteError("data/movements: no space left on device; free some space and run the command again")

    monkeypatch.setattr(run_module, "write_movements", full_disk)
    assert batch(archive, root).done == 0
    assert not any(e.status == FAILED for e in Ledger.load(root / "data").entries())
    monkeypatch.setattr(run_module, "write_movements", real_write)
    assert batch(archive, root).done == 6


def test_a_file_that_vanished_mid_batch_is_not_remembered_as_bad() -> None:
    from retail_intel.batch.work import file_at_fault
    from retail_intel.errors import InputError, ModelError, VideoError

    here = Path(__file__)
    assert file_at_fault(VideoError("breaks off at frame 40"), here)
    assert file_at_fault(InputError("no recording start time"), here)
    assert not file_at_fault(VideoError("no such video file"), here.with_name("gone.avi"))
    assert not file_at_fault(ModelError("the export failed"), here)
    assert not file_at_fault(DataError("the carry file is missing"), here)
    assert not file_at_fault(RuntimeError("a bug"), here)


def test_a_failed_middle_segment_loses_nobody(root: Path) -> None:
    segments = write_segments(root / "archive" / "b1" / "door", "door", stayer_and_passers, count=3)
    data = segments[1].read_bytes()
    segments[1].write_bytes(data[: len(data) // 2])
    summary = batch(root / "archive", root)
    assert statuses(summary) == {segments[0].name: "done", segments[1].name: "failed", segments[2].name: "done"}
    table = read_movements(root / "data").to_pylist()
    # the first segment keeps the people open at its end; the third starts afresh
    assert {r["source_video"] for r in table} == {segments[0].name, segments[2].name}
    first = [r for r in table if r["source_video"] == segments[0].name]
    assert len(first) == 2  # A (in the ROI when the segment ended) and B


def test_redoing_a_segment_whose_successor_is_done_duplicates_nobody(root: Path) -> None:
    segments = write_segments(root / "archive" / "b1" / "door", "door", stayer_and_passers, count=3)
    batch(root / "archive", root)
    reference = rows(root / "data")
    first = source_key("door", fingerprint(segments[0]))
    (victim,) = (root / "data" / "movements").rglob(f"{first}.parquet")
    victim.unlink()  # lost output: that file is redone (with everybody), the next one stays done
    again = batch(root / "archive", root)
    assert again.done == 1 and again.skipped == 2
    assert rows(root / "data") == reference


def _two_segment_manifest(root: Path, second_start: str) -> Path:
    first, second = sorted((root / "clips").glob("*.avi"))
    manifest = root / "night.csv"
    manifest.write_text(
        f"path,branch,camera,start\n{first},b1,door,2026-02-08T10:00:00+01:00\n{second},b1,door,{second_start}\n"
    )
    return manifest


def test_redoing_a_segment_that_no_longer_continues_the_one_before_gives_its_people_back(root: Path) -> None:
    write_segments(root / "clips", "clip", stayer_and_passers, count=2)  # names the cameras' patterns do not match
    night = batch(_two_segment_manifest(root, "2026-02-08T10:00:05+01:00"), root)
    assert [f.taken_over for f in night.files] == [0, 2]
    corrected = _two_segment_manifest(root, "2026-02-08T10:00:30+01:00")  # the second's start was wrong
    rerun = batch(corrected, root)
    # the first is redone too: it writes the two people the second had taken over, as if alone
    assert [f.status for f in rerun.files] == ["done", "done"]
    assert [f.taken_over for f in rerun.files] == [0, 0]
    batch(corrected, root, data="fresh")
    assert rows(root / "data") == rows(root / "fresh")
    assert len(rows(root / "data")) == 5
    assert batch(corrected, root).skipped == 2


def test_redoing_a_segment_without_the_one_it_took_people_from_says_so(root: Path) -> None:
    write_segments(root / "clips", "clip", stayer_and_passers, count=2)
    batch(_two_segment_manifest(root, "2026-02-08T10:00:05+01:00"), root)
    first, second = sorted((root / "clips").glob("*.avi"))
    alone = root / "second.csv"
    alone.write_text(f"path,branch,camera,start\n{second},b1,door,2026-02-08T10:00:30+01:00\n")
    rerun = batch(alone, root)
    assert rerun.done == 1
    assert [n for n in rerun.notes if "redone without" in n] == [
        f"{second.name} is redone without {first.name}, which it had taken 2 people over from: "
        "process both together to give them back"
    ]


def test_a_manifest_start_the_store_would_refuse_is_reported_with_its_row_before_any_run(root: Path) -> None:
    # was planned and handed to a worker, which refused it as process does; the reason named no
    # row, and the ledger remembered the file as failed
    write_segments(root / "clips", "clip", stayer_and_passers, count=2)
    manifest = _two_segment_manifest(root, "1970-01-01T00:00:00+00:00")  # a camera whose clock was reset
    summary = batch(manifest, root)
    assert summary.exit_code == EXIT_PARTIAL
    first, second = sorted((root / "clips").glob("*.avi"))
    assert statuses(summary) == {first.name: "done", second.name: "failed"}
    reason = next(f.reason for f in summary.files if f.status == "failed") or ""
    assert reason.startswith("night.csv line 3: start time 1970-01-01T00:00:00+00:00 (from manifest start column)")
    assert "plausible range" in reason and "a manifest's start column in a batch" in reason
    assert [e.video for e in Ledger.load(root / "data").entries()] == [str(first)]
    # a preview is not refused, as with process --max-frames
    preview = batch(manifest, root, data="preview", max_frames=20)
    assert statuses(preview) == {first.name: "done", second.name: "done"}


def test_a_manifest_fps_the_store_would_refuse_is_reported_with_its_row_before_any_run(root: Path) -> None:
    # was handed to a worker, which refused it naming no row; meanwhile its 15-year duration had
    # made the next file of the camera "overlap the segment before by 499999995.0 s"
    write_segments(root / "clips", "clip", stayer_and_passers, count=2)
    first, second = sorted((root / "clips").glob("*.avi"))
    manifest = root / "night.csv"
    manifest.write_text(
        "path,branch,camera,start,fps\n"
        f"{first},b1,door,2026-02-08T10:00:00+01:00,0.0000001\n"
        f"{second},b1,door,2026-02-08T10:00:05+01:00,\n"
    )
    summary = batch(manifest, root)
    assert summary.exit_code == EXIT_PARTIAL
    assert statuses(summary) == {first.name: "failed", second.name: "done"}
    reason = next(f.reason for f in summary.files if f.status == "failed") or ""
    assert reason.startswith("night.csv line 2: 50 frames at 1e-07 fps from 2026-02-08T09:00:00+00:00")
    assert "outside the plausible range" in reason
    assert not [n for n in summary.notes if "overlaps" in n]
    assert [e.video for e in Ledger.load(root / "data").entries()] == [str(second)]


def test_a_later_batch_continues_where_an_earlier_one_ended(root: Path) -> None:
    segments = write_segments(root / "all" / "b1" / "door", "door", stayer_and_passers, count=3)
    for night in nightly_archives(root, segments):
        assert batch(night, root).done == 1
    batch(root / "all", root, data="together")
    assert rows(root / "data") == rows(root / "together")


def test_kpis_of_the_affected_branch_and_day_are_recomputed(root: Path) -> None:
    archive = make_archive(root)
    summary = batch(archive, root, kpis=True)
    assert [(k.branch, k.window_minutes) for k in summary.kpis] == [("b1", 60)]
    assert summary.kpis[0].start == "2026-02-08T00:00:00+01:00"
    assert summary.kpis[0].end == "2026-02-09T00:00:00+01:00"
    assert (root / "data" / "kpis" / "60m" / "b1.parquet").is_file()
    skipped = batch(archive, root, kpis=True)
    assert skipped.kpis == []  # nothing changed, nothing recomputed


def test_a_file_redone_with_another_start_day_recomputes_the_day_it_left(root: Path) -> None:
    # its movements moved from 8 to 5 February; only the 5th's KPIs were recomputed, and the 8th
    # kept the people it had counted, who were then counted on both days
    from retail_intel.kpis import read_kpis

    (clip,) = write_segments(root / "clips", "clip", stayer_and_passers, count=1)
    manifest = root / "night.csv"
    manifest.write_text(f"path,branch,camera,start\n{clip},b1,door,2026-02-08T10:00:00+01:00\n")
    first = batch(manifest, root, kpis=True)
    assert {k.start[:10] for k in first.kpis} == {"2026-02-08"}
    counted = sum(read_kpis(root / "data", branch_id="b1", window_minutes=60)["visitors"].to_pylist())
    assert counted > 0
    manifest.write_text(f"path,branch,camera,start\n{clip},b1,door,2026-02-05T10:00:00+01:00\n")  # corrected
    corrected = batch(manifest, root, kpis=True)
    assert corrected.done == 1
    assert [(k.start, k.end) for k in corrected.kpis] == [("2026-02-05T00:00:00+01:00", "2026-02-09T00:00:00+01:00")]
    stored = read_kpis(root / "data", branch_id="b1", window_minutes=60)
    assert {t.date().isoformat() for t in stored["window_start"].to_pylist()} == {"2026-02-05"}
    assert sum(stored["visitors"].to_pylist()) == counted


def test_a_file_moved_off_a_branch_that_is_gone_from_the_config_still_recomputes_its_new_branch(root: Path) -> None:
    # the redo owes the earlier run's span, under its old branch; once the typo'd branch was removed
    # from branches.yaml the KPI step failed on it ("unknown branch"), recomputing nothing at all
    from retail_intel.kpis import read_kpis

    from .batch_helpers import BRANCHES

    typo = BRANCHES.replace("  - id: b1\n    name: High Street", "  - id: b0\n    name: Typo")
    (root / "config" / "branches.yaml").write_text(BRANCHES + typo.split("branches:\n", 1)[1])
    (clip,) = write_segments(root / "clips", "clip", stayer_and_passers, count=1)
    manifest = root / "night.csv"
    manifest.write_text(f"path,branch,camera,start\n{clip},b0,door,2026-02-08T10:00:00+01:00\n")
    assert batch(manifest, root, kpis=True).exit_code == 0
    (root / "config" / "branches.yaml").write_text(BRANCHES)  # b0 fixed to b1 and removed
    manifest.write_text(f"path,branch,camera,start\n{clip},b1,door,2026-02-08T10:00:00+01:00\n")
    redone = batch(manifest, root, kpis=True)
    assert redone.exit_code == 0 and redone.done == 1
    assert [k.branch for k in redone.kpis] == ["b1"]
    assert sum(read_kpis(root / "data", branch_id="b1", window_minutes=60)["visitors"].to_pylist()) > 0


def test_kpi_days_owed_by_two_failed_kpi_steps_are_both_recomputed_later(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import retail_intel.kpis as kpis

    (first,) = write_segments(root / "n1" / "b1" / "door", "door", walker, count=1)
    later = root / "n2" / "b1" / "door" / "door_20260310_100000.avi"
    later.parent.mkdir(parents=True)
    later.write_bytes(first.read_bytes())
    compute = kpis.compute_kpis

    def broken(*args: object, **kwargs: object) -> None:
        raise DataError("the KPI store cannot be written")

    monkeypatch.setattr(kpis, "compute_kpis", broken)
    for night in ("n1", "n2"):  # each night's KPI step fails: its days stay owed, the earlier ones too
        assert batch(root / night, root, kpis=True).exit_code == EXIT_PARTIAL
    owed = load_pending(root / "data")
    assert [(b, s.date().isoformat(), e.date().isoformat()) for b, s, e in owed] == [("b1", "2026-02-08", "2026-03-10")]
    monkeypatch.setattr(kpis, "compute_kpis", compute)
    paid = batch(root / "n2", root, kpis=True)  # nothing new: it only pays what is owed
    assert paid.exit_code == 0 and paid.skipped == 1
    assert [(k.start[:10], k.end[:10]) for k in paid.kpis] == [("2026-02-08", "2026-03-11")]
    assert load_pending(root / "data") == []


def test_no_kpis_leaves_the_kpi_store_alone(root: Path) -> None:
    batch(make_archive(root), root, kpis=False)
    assert not (root / "data" / "kpis").exists()


def test_csv_manifest_with_per_file_settings_and_unknown_camera(root: Path) -> None:
    clip = write_scene(root / "clips" / "street.avi", stayer_and_passers, frames=60)
    manifest = root / "night.csv"
    manifest.write_text(
        "path,branch,camera,start,roi,min_dwell\n"
        f'{clip},b1,street,2026-02-08T09:00:00Z,"100,80,220,200",2s\n'
        f"{clip},b1,door,2026-02-08T09:00:00Z,,\n"
    )
    summary = batch(manifest, root)
    assert summary.done == 2
    table = read_movements(root / "data").to_pylist()
    assert {r["camera_id"] for r in table} == {"street", "door"}


def test_the_same_video_twice_is_done_once(root: Path) -> None:
    archive = make_archive(root)
    copy = archive / "b1" / "door" / "copy" / "door_20260208_100000.avi"
    copy.parent.mkdir()
    copy.write_bytes((archive / "b1" / "door" / "door_20260208_100000.avi").read_bytes())
    summary = batch(archive, root)
    assert summary.done == 6 and summary.skipped == 1
    assert "same video" in (next(f for f in summary.files if f.status == "skipped").reason or "")


def test_two_local_workers_give_the_same_result(root: Path) -> None:
    archive = make_archive(root)
    one = batch(archive, root, data="one")
    two = batch(archive, root, data="two", workers=2)
    assert one.done == two.done == 6 and two.workers == 2
    assert rows(root / "one") == rows(root / "two")


def test_bad_executor_and_address_are_refused_before_starting(root: Path) -> None:
    from retail_intel.errors import InputError

    archive = make_archive(root)
    with pytest.raises(InputError, match=r"^request\.executor must be one of"):
        batch(archive, root, executor="dask")
    with pytest.raises(InputError, match=r"^request\.address is for"):
        batch(archive, root, address="auto")
    assert not (root / "data").exists()


def test_segments_of_a_camera_run_in_time_order(root: Path) -> None:
    from retail_intel.batch.runner import run_batch
    from retail_intel.batch.summary import BatchObserver, FileReport

    archive = make_archive(root)
    started: list[str] = []

    class Recorder(BatchObserver):
        def started(self, report: FileReport) -> None:
            started.append(Path(report.video).name)

    from retail_intel.batch.request import BatchRequest

    run_batch(
        BatchRequest(str(archive), root / "config", root / "data", kpis=False), runtime=RUNTIME, observer=Recorder()
    )
    doors = [name for name in started if name.startswith("door")]
    assert doors == sorted(doors) and len(doors) == 3


def test_a_lone_segment_is_written_exactly_as_process_writes_it(root: Path) -> None:
    from retail_intel.pipeline.plan import ProcessRequest, make_plan
    from retail_intel.pipeline.run import process_video

    from .batch_fakes import BlobDetector

    (video,) = write_segments(root / "archive" / "b1" / "door", "door", stayer_and_passers, count=1, frames=120)
    batch(root / "archive", root)
    plan = make_plan(ProcessRequest(video, "b1", root / "single", config_dir=root / "config", camera="door"))
    process_video(plan, detector_factory=lambda plan: BlobDetector())
    assert rows(root / "data") == rows(root / "single")
    assert len(rows(root / "data")) == 3


def test_the_automatic_input_size_is_chosen_once_per_camera_with_people_and_recorded_for_every_file(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import retail_intel.batch.coordinator as coordinator_module

    probed: list[tuple[str, str]] = []
    real_probe = coordinator_module.autosize_plan

    def counting_probe(plan: ProcessPlan, factory: object) -> object:
        probed.append((plan.camera_id, plan.video.name))
        return real_probe(plan, factory)  # type: ignore[arg-type]

    monkeypatch.setattr(coordinator_module, "autosize_plan", counting_probe)
    archive = make_archive(root)
    summary = batch(archive, root)
    assert summary.done == 6
    # two cameras, three files each: the door (a stayer and passers) is probed once, on its first
    # file; the till shows one shopper at a time, too few to size on, so each of its files probes
    assert sorted(camera for camera, _video in probed) == ["door", "till", "till", "till"]
    assert summary.input_sizes["b1/door"]["people_sampled"] >= 3
    assert summary.input_sizes["b1/till"]["people_sampled"] < 3
    written = [json.loads(p.read_text()) for p in (root / "data" / "runs").glob("*.json")]
    runs = [r for r in written if "camera_id" in r]  # one per file, besides the batch's own summary
    assert len(runs) == 6
    (batch_summary,) = [r for r in written if "camera_id" not in r]
    assert batch_summary["input_sizes"] == summary.input_sizes
    for run in runs:
        chosen = summary.input_sizes[f"b1/{run['camera_id']}"]
        if run["camera_id"] == "door":
            assert run["input_size"] == chosen  # every file says which size it ran at, and why
        else:
            assert (run["input_size"]["imgsz"], run["input_size"]["reason"]) == (chosen["imgsz"], chosen["reason"])
    # a judging change re-judges every file from its stored tracks: nothing to size, no probe
    probed.clear()
    config = root / "config" / "branches.yaml"
    config.write_text(config.read_text().replace("roi: [100, 80, 220, 200]", "roi: [100, 80, 160, 200]"))
    assert batch(archive, root).done == 6
    assert probed == []


def test_a_probe_that_fails_decides_nothing_and_the_camera_next_file_probes(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import retail_intel.batch.coordinator as coordinator_module

    probed: list[str] = []
    real_probe = coordinator_module.autosize_plan

    def flaky_probe(plan: ProcessPlan, factory: object) -> object:
        probed.append(plan.camera_id)
        if probed.count("door") == 1 and plan.camera_id == "door":
            raise RuntimeError("the model could not be compiled")  # not a RetailIntelError
        return real_probe(plan, factory)  # type: ignore[arg-type]

    monkeypatch.setattr(coordinator_module, "autosize_plan", flaky_probe)
    summary = batch(make_archive(root), root)
    assert summary.done == 6  # the batch goes on; the file of the failed probe runs at the default size
    assert sorted(probed).count("door") == 2  # the door's next file probed again
    assert sorted(probed).count("till") == 3  # one shopper at a time: too few to size on, every file probes
    assert set(summary.input_sizes) == {"b1/door", "b1/till"}


def probes_of_files(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files the batch probes for an input size, in order (the probe still runs)."""
    import retail_intel.batch.coordinator as coordinator_module

    probed: list[str] = []
    real_probe = coordinator_module.autosize_plan

    def counting_probe(plan: ProcessPlan, factory: object) -> object:
        probed.append(plan.video.name)
        return real_probe(plan, factory)  # type: ignore[arg-type]

    monkeypatch.setattr(coordinator_module, "autosize_plan", counting_probe)
    return probed


def test_a_camera_is_sized_on_its_first_file_with_people_not_on_a_closed_shop(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a far camera's night: its first file is the empty shop, then three small shoppers (24 px tall
    # in a 320 px frame: the size rule wants 1280). Sized on the empty file, the whole night would
    # run at the default 640, where such people are lost.
    from .fakes import person_box

    def closed_then_open(frame: int) -> list[tuple[float, float, float, float, float]]:
        return [] if frame < SEGMENT_FRAMES else [person_box(x, 150, h=24) for x in (120, 160, 200)]

    probed = probes_of_files(monkeypatch)
    empty, first_open, second_open = write_segments(root / "archive" / "b1" / "door", "door", closed_then_open, count=3)
    summary = batch(root / "archive", root)
    assert summary.done == 3
    # the empty file decides nothing; the first file with people does, and the next reuses it
    assert probed == [empty.name, first_open.name]
    assert summary.input_sizes["b1/door"]["imgsz"] == 1280
    assert summary.input_sizes["b1/door"]["people_sampled"] >= 3
    runs = {
        r["video"]: r
        for r in map(json.loads, [p.read_text() for p in (root / "data" / "runs").glob("*.json")])
        if "camera_id" in r
    }
    sizes = {Path(video).name: run["input_size"]["imgsz"] for video, run in runs.items()}
    assert sizes == {empty.name: 640, first_open.name: 1280, second_open.name: 1280}
    assert "too few" in runs[str(empty)]["input_size"]["reason"]


def test_a_camera_that_never_shows_enough_people_reports_its_last_probe(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from .fakes import person_box

    def empty_then_one(frame: int) -> list[tuple[float, float, float, float, float]]:
        return [] if frame < SEGMENT_FRAMES else [person_box(160, 150, h=24)]

    probed = probes_of_files(monkeypatch)
    empty, lone = write_segments(root / "archive" / "b1" / "door", "door", empty_then_one, count=2)
    summary = batch(root / "archive", root)
    assert summary.done == 2
    assert probed == [empty.name, lone.name]  # neither decides, so each probes
    choice = summary.input_sizes["b1/door"]
    assert (choice["imgsz"], choice["people_sampled"], choice["decided"]) == (640, 2, False)  # the last probe's


def test_a_camera_run_with_two_precisions_is_listed_once_per_precision() -> None:
    from retail_intel.batch.runner import _input_sizes
    from retail_intel.pipeline.autosize import size_rule

    tall, small = size_rule([300.0] * 3, (640, 480)), size_rule([40.0] * 3, (640, 480))
    door = ("b1", "door", "yolo.pt", "openvino")
    named = _input_sizes(
        {(*door, "auto", "cpu", None): tall, (*door, "int8", "cpu", None): small, ("b1", "till", "yolo.pt"): tall}
    )
    assert named == {
        "b1/door (yolo.pt, openvino, auto, cpu)": tall.as_dict(),
        "b1/door (yolo.pt, openvino, int8, cpu)": small.as_dict(),
        "b1/till": tall.as_dict(),
    }


def test_a_worker_keeps_a_bounded_number_of_detectors(monkeypatch: pytest.MonkeyPatch) -> None:
    # an int8 model is calibrated on each video, so each file has detector settings of its own:
    # a worker keeps the most recently used few, not one compiled model per file of the night
    from dataclasses import replace as replace_in

    from retail_intel.batch import work

    monkeypatch.setattr(work, "_DETECTORS", type(work._DETECTORS)())
    built: list[str | None] = []

    def factory(plan: ProcessPlan) -> BlobDetector:
        built.append(plan.detector.calibration)
        return BlobDetector()

    cached = work._cached(factory)

    class Plan:
        def __init__(self, calibration: str) -> None:
            self.detector = replace_in(
                work.DetectorSpec(None, 640, 0.25, None, 1, "openvino", "int8"), calibration=calibration
            )

    first = cached(Plan("night-00.mp4"))  # type: ignore[arg-type]
    assert cached(Plan("night-00.mp4")) is first  # type: ignore[arg-type]
    for n in range(1, 10):
        cached(Plan(f"night-{n:02d}.mp4"))  # type: ignore[arg-type]
    assert len(work._DETECTORS) == work.MAX_DETECTORS
    assert built == [f"night-{n:02d}.mp4" for n in range(10)]
    assert cached(Plan("night-09.mp4")) is not first  # type: ignore[arg-type]
    cached(Plan("night-00.mp4"))  # type: ignore[arg-type]
    assert built[-1] == "night-00.mp4"  # the oldest went out, so it is built again


class _RayThatTakesSigterm:
    """Just enough of Ray for RayExecutor: ``init`` replaces SIGTERM's handler as ray.init does."""

    def __init__(self) -> None:
        self.running = False

    def is_initialized(self) -> bool:
        return self.running

    def init(self, **options: object) -> None:
        self.running = True
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(signum))

    def remote(self, **options: object) -> Callable[[object], object]:
        return lambda function: function

    def cluster_resources(self) -> dict[str, float]:
        return {"CPU": 2.0}

    def kill(self, actor: object) -> None:
        pass

    def shutdown(self) -> None:
        self.running = False


def test_the_ray_executor_puts_back_the_signal_handlers_ray_init_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    # ray.init left its own SIGTERM handler (SystemExit) behind in the process after the batch
    from retail_intel.batch import executors

    fake = _RayThatTakesSigterm()
    queue_module = types.ModuleType("ray.util.queue")
    queue_module.Queue = lambda: types.SimpleNamespace(actor=None)  # type: ignore[attr-defined]
    monkeypatch.setattr(executors, "import_ray", lambda: fake)
    monkeypatch.setitem(sys.modules, "ray.util.queue", queue_module)
    before = signal.getsignal(signal.SIGTERM)
    try:
        executor = executors.RayExecutor(lambda plan: None, lambda index, done, total: None)  # type: ignore[arg-type,return-value]
        assert signal.getsignal(signal.SIGTERM) is not before  # what ray.init does
        executor.close(cancel=False)
        assert signal.getsignal(signal.SIGTERM) is before
    finally:
        signal.signal(signal.SIGTERM, before)


def test_a_line_outside_the_frame_is_refused_when_the_file_is_prepared(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # only the ROI was checked when files were prepared: a line (or zone) outside the frame failed each
    # file only once its turn came, after the files before it had been processed
    from tests.batch_helpers import BRANCHES

    (root / "config" / "branches.yaml").write_text(
        BRANCHES.replace(
            '        filename_pattern: "till_%Y%m%d_%H%M%S"',
            '        filename_pattern: "till_%Y%m%d_%H%M%S"\n'
            "        line: {start: [50, 10], end: [50, 900], in_side: left}",
        )
    )
    write_segments(root / "archive" / "b1" / "till", "till", stayer_and_passers, count=1)
    import retail_intel.pipeline.run as pipeline_run

    def no_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file was processed before its line was checked against the frame")

    monkeypatch.setattr(pipeline_run, "_run_video", no_run)
    summary = batch(root / "archive", root)
    [failed] = summary.files
    assert failed.status == "failed" and "line point (50, 900) is outside the 320x240 frame" in (failed.reason or "")


def test_a_manifest_listing_a_camera_newest_first_is_skipped_whole_on_a_rerun(root: Path) -> None:
    segments = write_segments(root / "archive" / "b1" / "door", "door", stayer_and_passers, count=3)
    manifest = root / "newest-first.txt"
    manifest.write_text("".join(f"{path}\n" for path in reversed(segments)))
    first = batch(manifest, root)
    assert first.done == 3
    before = rows(root / "data")
    again = batch(manifest, root)
    # each file's key follows the one before it in time, not in the manifest: nothing is redone
    assert (again.done, again.skipped) == (0, 3)
    assert [f.status for f in again.files] == ["skipped"] * 3
    assert rows(root / "data") == before


def test_a_resumed_batch_runs_a_camera_at_the_size_its_chain_was_started_at(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first file's small shoppers size the camera at 1280; later files show taller people, whose
    # own probe would say 640. A batch stopped after the first file and run again must go on at 1280,
    # as the uninterrupted batch does, not size the rest of the chain again on the second file.
    from .fakes import person_box

    def small_then_tall(frame: int) -> list[tuple[float, float, float, float, float]]:
        height = 24 if frame < SEGMENT_FRAMES else 60
        return [person_box(x, 150 if height == 24 else 200, h=height) for x in (120, 160, 200)]

    segments = write_segments(root / "clips", "door", small_then_tall, count=3)
    archive = root / "archive" / "b1" / "door"
    archive.mkdir(parents=True)
    (archive / segments[0].name).write_bytes(segments[0].read_bytes())
    assert batch(root / "archive", root).done == 1  # the night stopped here
    for later in segments[1:]:
        (archive / later.name).write_bytes(later.read_bytes())
    probed = probes_of_files(monkeypatch)
    resumed = batch(root / "archive", root)
    assert (resumed.skipped, resumed.done) == (1, 2)
    assert probed == []  # the chain's size is known from the file it continues
    runs = [json.loads(p.read_text()) for p in (root / "data" / "runs").glob("*.json")]
    sizes = {Path(r["video"]).name: r["input_size"]["imgsz"] for r in runs if "camera_id" in r}
    assert sizes == {s.name: 1280 for s in segments}
    whole = batch(root / "archive", root, data="whole")
    assert whole.input_sizes["b1/door"]["imgsz"] == 1280
    assert rows(root / "data") == rows(root / "whole")


def test_the_saved_summary_is_named_by_the_batch_start_as_documented(root: Path) -> None:
    # docs/batch.md: DATA_DIR/runs/batch-<UTC start>.json; the name was the time the summary was written, at the end
    import datetime as dt

    from retail_intel.batch.request import BatchRequest
    from retail_intel.batch.runner import run_batch
    from retail_intel.batch.summary import BatchObserver, FileReport

    started: list[dt.datetime] = []

    class Recorder(BatchObserver):
        def started(self, report: FileReport) -> None:
            started.append(dt.datetime.now(dt.UTC))

    write_segments(root / "archive" / "b1" / "door", "door", walker, count=1)
    before = dt.datetime.now(dt.UTC)
    request = BatchRequest(str(root / "archive"), root / "config", root / "data", kpis=False)
    assert run_batch(request, runtime=RUNTIME, observer=Recorder()).done == 1
    (saved,) = (root / "data" / "runs").glob("batch-*Z.json")
    stamp = dt.datetime.strptime(saved.stem, "batch-%Y%m%dT%H%M%S%fZ").replace(tzinfo=dt.UTC)
    assert before <= stamp <= started[0]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"executor": "spark"}, r"^request\.executor must be one of local, ray, got 'spark'"),
        ({"address": "auto"}, r"^request\.address is for request\.executor ray$"),
        ({"executor": "ray"}, r"^request\.executor ray needs Ray, which is not installed"),
    ],
)
def test_run_batch_names_the_requests_fields(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: dict[str, str], message: str
) -> None:
    # run_batch said "--executor must be one of ..." and "--address is for --executor ray" to a Python caller
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(InputError, match=message):
        batch(tmp_path / "archive", tmp_path, **given)
    with pytest.raises(InputError, match=message.replace(r"request\.", "--")):
        request = replace(BatchRequest(str(tmp_path), tmp_path / "config", tmp_path / "data"), **given)
        run_batch(request, names={"executor": "--executor", "address": "--address"})
