"""The OpenVINO backend: export once (cached by weights hash), same people as PyTorch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retail_intel.vision.detections import Detections
from retail_intel.vision.openvino_backend import boxes_only, decode_person_boxes, letterbox_shape

ROOT = Path(__file__).resolve().parents[1]


def test_letterbox_keeps_aspect_and_pads_to_stride() -> None:
    scale, w, h = letterbox_shape(768, 576, 1280)
    assert scale == pytest.approx(1280 / 768)
    assert (w, h) == (1280, 960)
    scale, w, h = letterbox_shape(640, 481, 640)
    assert (w, h) == (640, 512)


def test_decode_keeps_confident_people_and_suppresses_duplicates() -> None:
    # 3 candidate boxes (cx, cy, w, h, person score): two overlap, one is below the threshold
    out = np.array(
        [
            [100.0, 102.0, 300.0],
            [200.0, 201.0, 200.0],
            [40.0, 40.0, 40.0],
            [100.0, 100.0, 100.0],
            [0.9, 0.8, 0.05],
        ],
        dtype=np.float32,
    )
    boxes, scores = decode_person_boxes(out, num_classes=1, conf=0.1, iou=0.6, scale=2.0)
    assert scores.tolist() == pytest.approx([0.9])
    assert boxes[0].tolist() == pytest.approx([40.0, 75.0, 60.0, 125.0])


def test_decode_multiclass_requires_person_to_be_best() -> None:
    # rows: cx, cy, w, h, person, car
    out = np.array([[10.0, 50.0], [10.0, 50.0], [4.0, 4.0], [4.0, 4.0], [0.5, 0.5], [0.9, 0.1]], np.float32)
    _, scores = decode_person_boxes(out, num_classes=2, conf=0.1, iou=0.6, scale=1.0)
    assert scores.tolist() == pytest.approx([0.5])


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    from retail_intel.vision.video import read_frame_at

    _, image = read_frame_at(ROOT / "sample_videos" / "vtest.avi", 2.0, 7.0)
    return image


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return float(inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter))


def _matched(a: Detections, b: Detections, min_iou: float = 0.7) -> int:
    return sum(any(_iou(x, y) >= min_iou for y in b.xyxy) for x in a.xyxy)


def test_export_is_cached_and_finds_the_same_people(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, frame: np.ndarray
) -> None:
    pytest.importorskip("openvino")
    from retail_intel.vision.detector import UltralyticsDetector
    from retail_intel.vision.openvino_backend import OpenVinoDetector, export_openvino
    from retail_intel.vision.weights import bundled_weights

    monkeypatch.setenv("RETAIL_INTEL_CACHE", str(tmp_path / "cache"))
    folder = export_openvino(bundled_weights())
    assert folder.parent == tmp_path / "cache" / "exports"
    assert folder.name.startswith("869e83fcdffdc737")
    stamp = next(folder.glob("*.xml")).stat().st_mtime_ns
    assert export_openvino(bundled_weights()) == folder  # second call: no new export
    assert next(folder.glob("*.xml")).stat().st_mtime_ns == stamp
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".export-")]

    ov = OpenVinoDetector(folder, imgsz=960, conf=0.25, precision="f32").detect(frame, 0)
    pt = UltralyticsDetector(bundled_weights(), imgsz=960, conf=0.25).detect(frame, 0)
    assert len(pt) >= 3
    assert abs(len(ov) - len(pt)) <= 1
    assert _matched(ov, pt) >= len(pt) - 1


def test_batch_equals_one_by_one_and_tiles_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("openvino")
    from retail_intel.vision.openvino_backend import OpenVinoDetector, export_openvino
    from retail_intel.vision.video import read_frame_at
    from retail_intel.vision.weights import bundled_weights

    monkeypatch.setenv("RETAIL_INTEL_CACHE", str(tmp_path / "cache"))
    folder = export_openvino(bundled_weights())
    frames = [read_frame_at(ROOT / "sample_videos" / "vtest.avi", t, 7.0)[1] for t in (1.0, 5.0, 9.0)]
    for tiles in (1, 2):
        detector = OpenVinoDetector(folder, imgsz=640, conf=0.2, tiles=tiles, precision="f32")
        together = detector.detect_batch(frames, [7, 35, 63])
        alone = [detector.detect(f, i) for f, i in zip(frames, [7, 35, 63], strict=True)]
        for a, b in zip(together, alone, strict=True):
            np.testing.assert_allclose(a.xyxy, b.xyxy, atol=1e-3)
            np.testing.assert_allclose(a.confidence, b.confidence, atol=1e-4)
    # 2x2 tiles at 640 see the small people a single 640 pass misses
    single = OpenVinoDetector(folder, imgsz=640, conf=0.2, precision="f32").detect(frames[1], 35)
    tiled = OpenVinoDetector(folder, imgsz=640, conf=0.2, tiles=2, precision="f32").detect(frames[1], 35)
    assert len(tiled) > len(single)


def _head(widths: list[int]) -> object:
    """A tiny graph ending like a YOLO head: parts of ``widths`` channels concatenated along axis 1."""
    ov = pytest.importorskip("openvino")
    import openvino.opset13 as ops

    image = ops.parameter([1, 3, 4, 5], np.float32, name="images")
    flat = ops.reshape(image, ops.constant(np.array([1, 3, 20], np.int64)), special_zero=False)
    parts = [
        ops.multiply(ops.concat([flat] * (width // 3 + 1), axis=1), ops.constant(np.float32(i + 1)))
        for i, width in enumerate(widths)
    ]
    parts = [ops.slice(p, [0], [w], [1], [1]) for p, w in zip(parts, widths, strict=True)]
    return ov.Model([ops.concat(parts, axis=1).output(0)], [image], "head")


def _run(model: object, image: np.ndarray) -> np.ndarray:
    ov = pytest.importorskip("openvino")
    compiled = ov.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return np.asarray(compiled(image)[0])


def test_boxes_only_drops_the_keypoint_branch_and_keeps_boxes_and_scores() -> None:
    image = np.random.default_rng(0).random((1, 3, 4, 5), dtype=np.float32)
    pose = _head([4, 1, 51])  # boxes, person score, 17 keypoints x 3
    cut = boxes_only(pose, num_classes=1)
    assert cut is not pose
    full, boxes = _run(pose, image), _run(cut, image)
    assert full.shape == (1, 56, 20) and boxes.shape == (1, 5, 20)
    np.testing.assert_array_equal(boxes, full[:, :5])
    # several classes: boxes and all their scores stay
    many = _head([4, 3, 51])
    np.testing.assert_array_equal(_run(boxes_only(many, num_classes=3), image), _run(many, image)[:, :7])


def test_boxes_only_leaves_other_graphs_alone() -> None:
    ov = pytest.importorskip("openvino")
    import openvino.opset13 as ops

    detect = _head([4, 1])  # a detection model: nothing after the scores
    assert boxes_only(detect, num_classes=1) is detect
    odd = _head([3, 3, 50])  # the scores do not end at a part's edge: not a head we know
    assert boxes_only(odd, num_classes=1) is odd
    pose = _head([4, 1, 51])
    assert boxes_only(pose, num_classes=3) is pose  # metadata saying 3 classes: 7 rows end at no edge
    # two outputs (a segmentation model's masks beside its head)
    two = ov.Model([pose.output(0), pose.output(0)], pose.get_parameters(), "two")
    assert boxes_only(two, num_classes=1) is two
    # not a (batch, channels, anchors) head: a rank-4 concatenation, and a rank that is not known
    image = ops.parameter([1, 5, 4, 5], np.float32, name="images")  # 5 channels: 4 + 1 class would fit
    grid = ov.Model([ops.concat([image, image], axis=-2).output(0)], [image], "grid")
    assert boxes_only(grid, num_classes=1) is grid
    loose = ops.parameter(ov.PartialShape.dynamic(), np.float32, name="loose")
    dynamic = ov.Model([ops.concat([loose, loose, loose], axis=1).output(0)], [loose], "dynamic")
    assert boxes_only(dynamic, num_classes=1) is dynamic


def test_boxes_only_cuts_a_head_whose_boxes_and_scores_are_already_one_part() -> None:
    ov = pytest.importorskip("openvino")
    import openvino.opset13 as ops

    flat = _head([4, 1, 51])
    boxes, scores, keypoints = flat.get_results()[0].input_value(0).get_node().input_values()
    nested = ov.Model(
        [ops.concat([ops.concat([boxes, scores], axis=1), keypoints], axis=1).output(0)], flat.get_parameters()
    )
    image = np.random.default_rng(1).random((1, 3, 4, 5), dtype=np.float32)
    cut = boxes_only(nested, num_classes=1)
    np.testing.assert_array_equal(_run(cut, image), _run(nested, image)[:, :5])


def test_detector_boxes_equal_those_of_the_whole_pose_graph(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("openvino")
    from retail_intel.vision.openvino_backend import OpenVinoDetector, export_openvino, find_openvino_xml
    from retail_intel.vision.video import read_frame_at
    from retail_intel.vision.weights import bundled_weights

    monkeypatch.setenv("RETAIL_INTEL_CACHE", str(tmp_path / "cache"))
    folder = export_openvino(bundled_weights())
    frames = [read_frame_at(ROOT / "sample_videos" / "vtest.avi", t, 7.0)[1] for t in (5.0, 9.0)]
    cut = OpenVinoDetector(folder, imgsz=960, conf=0.2)
    whole = OpenVinoDetector(folder, imgsz=960, conf=0.2)
    whole._model = whole._core.read_model(str(find_openvino_xml(folder)))  # as exported, keypoints included
    assert cut._model.outputs[0].get_partial_shape()[1].get_length() == 5
    assert whole._model.outputs[0].get_partial_shape()[1].get_length() == 56
    found = cut.detect_batch(frames, [14, 42])
    assert sum(len(a) for a in found) >= 3
    for a, b in zip(found, whole.detect_batch(frames, [14, 42]), strict=True):
        np.testing.assert_array_equal(a.xyxy, b.xyxy)
        np.testing.assert_array_equal(a.confidence, b.confidence)
