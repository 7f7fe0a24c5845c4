"""A file a batch processed while the recorder was still writing it, processed again once finished.

Outputs are named by the video's content, so the finished file's outputs do not replace the
first version's: the batch removes those (every per-source table, a compacted month copy too),
or the people of the first version would be counted twice.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from retail_intel.config.camera_settings import CameraSettings
from retail_intel.movements.compacted import compacted_files, compacted_sources
from retail_intel.movements.compaction import compact_store
from retail_intel.pipeline.video_tracks import source_key
from retail_intel.storage import MOVEMENTS_DIR
from retail_intel.vision.video import fingerprint

from .batch_fakes import stayer_and_passers, walker, write_scene
from .batch_helpers import batch, make_config, rows

NAME = "door_20260208_100000.avi"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    make_config(tmp_path)
    return tmp_path


def _files_of(data_dir: Path, key: str) -> list[str]:
    return sorted(str(p.relative_to(data_dir)) for p in data_dir.rglob(f"{key}*") if p.is_file())


def test_the_finished_file_replaces_what_was_processed_while_it_was_recorded(root: Path) -> None:
    video = root / "archive" / "b1" / "door" / NAME
    write_scene(video, stayer_and_passers, frames=30)  # the recorder is still writing it
    assert batch(root / "archive", root).done == 1
    early = source_key("door", fingerprint(video))
    assert any(f.startswith("zone_visits/") for f in _files_of(root / "data", early))
    write_scene(video, stayer_and_passers, frames=50)  # finished
    again = batch(root / "archive", root, kpis=True)
    assert again.done == 1 and again.exit_code == 0
    assert _files_of(root / "data", early) == []  # movements, trajectories, tracks, zone tables, run summary
    assert any("earlier version" in note for note in again.notes)
    write_scene(root / "fresh" / "b1" / "door" / NAME, stayer_and_passers, frames=50)
    batch(root / "fresh", root, data="once")
    assert rows(root / "data") == rows(root / "once")
    assert len(rows(root / "data")) == 2
    assert [(k.start[:10], k.end[:10]) for k in again.kpis] == [("2026-02-08", "2026-02-09")]


def test_the_earlier_version_is_cut_out_of_its_compacted_month(root: Path) -> None:
    video = root / "archive" / "b1" / "door" / NAME
    write_scene(video, stayer_and_passers, frames=30)
    till = write_scene(root / "archive" / "b1" / "till" / "till_20260208_100000.avi", walker, frames=50)
    batch(root / "archive", root)
    early = source_key("door", fingerprint(video))
    compact_store(root / "data", before=dt.date(2026, 3, 1))
    (month,) = compacted_files(root / "data" / MOVEMENTS_DIR)
    assert sorted(s.key for s in compacted_sources(month)) == sorted([early, source_key("till", fingerprint(till))])
    write_scene(video, stayer_and_passers, frames=50)
    batch(root / "archive", root)
    assert [s.key for s in compacted_sources(month)] == [source_key("till", fingerprint(till))]
    assert len(rows(root / "data")) == 3  # the door's two people, the till's one


def test_an_earlier_content_the_ledger_knows_under_another_path_is_kept(root: Path) -> None:
    video = root / "archive" / "b1" / "door" / NAME
    write_scene(video, stayer_and_passers, frames=30)
    batch(root / "archive", root)
    copy = root / "copy" / "b1" / "door" / NAME
    copy.parent.mkdir(parents=True)
    shutil.copy(video, copy)
    # the same content under another path, recorded there (another ROI: not a skip)
    assert batch(root / "copy", root, settings=CameraSettings(roi="100,80,160,200")).done == 1
    early = source_key("door", fingerprint(video))
    write_scene(video, stayer_and_passers, frames=50)
    assert batch(root / "archive", root).done == 1
    assert f"{MOVEMENTS_DIR}/b1/2026-02-08/{early}.parquet" in _files_of(root / "data", early)
