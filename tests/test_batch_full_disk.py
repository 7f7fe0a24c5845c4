"""A disk that fills up at a run's last writes: a file reported as failed leaves no people counted.

The movement file lands last: until it is there a failed file counts nobody. Were it written
before another output that then cannot be written, a file reported as failed would stay counted
(and a segment's people carried in from the one before twice, in both files), with no KPIs owed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import retail_intel.pipeline.run as run_module
from retail_intel.errors import WriteError

from .batch_fakes import stayer_and_passers
from .batch_helpers import batch, make_config, n_movement_files, write_segments


def test_a_camera_picture_that_cannot_be_written_fails_the_file_before_its_people_are_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_config(tmp_path)
    write_segments(tmp_path / "archive" / "b1" / "door", "door", stayer_and_passers, count=2)

    def full_disk(path: Path, image: object) -> Path:
        raise WriteError(f"{path}: cannot be written (No space left on device)")

    with monkeypatch.context() as patched:
        patched.setattr(run_module, "write_image", full_disk)
        night = batch(tmp_path / "archive", tmp_path)
    assert [f.status for f in night.files] == ["failed", "failed"]
    assert all("frames" in (f.reason or "") and "No space left" in (f.reason or "") for f in night.files)
    assert n_movement_files(tmp_path / "data") == 0
    assert batch(tmp_path / "archive", tmp_path).done == 2  # space freed: the next run does them


def test_a_run_summary_that_cannot_be_written_fails_the_file_before_its_people_are_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_config(tmp_path)
    write_segments(tmp_path / "archive" / "b1" / "door", "door", stayer_and_passers, count=2)
    real = run_module.atomic_write_bytes

    def full_disk(data: bytes, path: Path) -> Path:
        if path.parent.name == "runs":
            raise WriteError(f"{path}: cannot be written (No space left on device)")
        return real(data, path)

    with monkeypatch.context() as patched:
        patched.setattr(run_module, "atomic_write_bytes", full_disk)
        night = batch(tmp_path / "archive", tmp_path)
    assert [f.status for f in night.files] == ["failed", "failed"]
    assert all("runs" in (f.reason or "") and "No space left" in (f.reason or "") for f in night.files)
    assert n_movement_files(tmp_path / "data") == 0
    assert batch(tmp_path / "archive", tmp_path).done == 2
