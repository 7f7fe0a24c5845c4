"""Writing a camera's frame: two writers of one camera at once (a batch's workers) both succeed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retail_intel.errors import InputError
from retail_intel.vision import annotate
from retail_intel.vision.annotate import write_image


def test_a_second_writer_finishing_inside_the_first_leaves_both_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the race a batch met: while one worker encodes the camera's frame, another writes the same
    # camera's frame and renames it into place; the first must still find its own partial file
    target = tmp_path / "frames" / "b1" / "door.jpg"
    real_imwrite = annotate.cv2.imwrite
    nested: list[Path] = []
    calls: list[str] = []

    def imwrite_with_a_rival(name: str, image: np.ndarray) -> bool:
        calls.append(name)
        written = bool(real_imwrite(name, image))
        if len(calls) == 1:  # the rival writes once, inside the first writer's encoding
            nested.append(write_image(target, np.full((24, 32, 3), 200, np.uint8)))
        return written

    monkeypatch.setattr(annotate.cv2, "imwrite", imwrite_with_a_rival)
    assert write_image(target, np.zeros((24, 32, 3), np.uint8)) == target
    assert nested == [target]
    assert target.is_file()
    assert [p.name for p in target.parent.iterdir()] == ["door.jpg"]  # no partial file left behind


def test_a_failed_write_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(annotate.cv2, "imwrite", lambda name, image: False)
    with pytest.raises(InputError, match="cannot write image"):
        write_image(tmp_path / "door.jpg", np.zeros((8, 8, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_only_image_names_are_accepted(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"expected a \.png or \.jpg file name, got door\.gif"):
        write_image(tmp_path / "door.gif", np.zeros((8, 8, 3), np.uint8))
