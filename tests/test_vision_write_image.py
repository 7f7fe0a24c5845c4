"""Writing a camera's frame: two writers of one camera at once (a batch's workers) both succeed."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from retail_intel.errors import InputError, RetailIntelError
from retail_intel.storage import atomic_write_bytes
from retail_intel.vision import annotate
from retail_intel.vision.annotate import write_image


def test_a_second_writer_finishing_inside_the_first_leaves_both_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the race a batch met: while one worker writes the camera's frame, another writes the same
    # camera's frame and renames it into place; the first must still find its own partial file
    target = tmp_path / "frames" / "b1" / "door.jpg"
    calls: list[Path] = []

    def write_with_a_rival(data: bytes, path: Path) -> Path:
        calls.append(path)
        if len(calls) == 1:  # the rival writes once, while the first writer is under way
            write_image(target, np.full((24, 32, 3), 200, np.uint8))
        return atomic_write_bytes(data, path)

    monkeypatch.setattr(annotate, "atomic_write_bytes", write_with_a_rival)
    assert write_image(target, np.zeros((24, 32, 3), np.uint8)) == target
    assert calls == [target, target]
    assert [p.name for p in target.parent.iterdir()] == ["door.jpg"]  # no partial file left behind
    image = cv2.imread(str(target))
    assert image is not None and image.shape == (24, 32, 3) and int(image.max()) < 20  # the last writer's


def test_the_frame_is_readable_by_others(tmp_path: Path) -> None:
    # dashboards and other users' workers read the camera frames: not a private temporary file's mode
    old = os.umask(0o022)
    try:
        path = write_image(tmp_path / "door.png", np.zeros((8, 8, 3), np.uint8))
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o044 == 0o044


def test_a_frame_that_cannot_be_written_is_one_clear_error(tmp_path: Path) -> None:
    blocked = tmp_path / "frames"
    blocked.write_text("a file where the folder should be")
    with pytest.raises(RetailIntelError):
        write_image(blocked / "door.jpg", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(InputError, match="cannot encode image"):
        write_image(tmp_path / "empty.jpg", np.zeros((0, 0, 3), np.uint8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames"]


def test_only_image_names_are_accepted(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"expected a \.png or \.jpg file name, got door\.gif"):
        write_image(tmp_path / "door.gif", np.zeros((8, 8, 3), np.uint8))
