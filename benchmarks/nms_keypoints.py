"""Can a pose model's keypoints tell a person half hidden behind another from a second box on one person?

Overlap suppression (NMS) at IoU 0.6 drops a person walking half behind another (TUD-Campus); a
higher threshold keeps them, and second boxes on one person too (docs/accuracy.md). Two boxes on
one person should share their keypoints, two people should not. This runs the bundled pose model's
OpenVINO export with its keypoint branch on each clip, takes the boxes that an IoU threshold of
``--high`` keeps beyond the default 0.6, and prints the keypoint similarity (OKS, COCO's sigmas) of
each to the box that suppressed it at 0.6, split by whether the two boxes are on the same
ground-truth person or on two.

Usage: python benchmarks/nms_keypoints.py [--clips TUD-Campus,TUD-Stadtmitte] [--high 0.8] [--min-score 0.25]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("YOLO_OFFLINE", "1")

from accuracy import CLIPS

from retail_intel.accuracy.mot import read_mot
from retail_intel.vision import openvino_backend
from retail_intel.vision.detector import nms
from retail_intel.vision.video import read_frames
from retail_intel.vision.weights import resolve_weights

# COCO's per-keypoint spreads (nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles)
SIGMAS = np.array(
    [0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89]
)
SIGMAS = SIGMAS / 10
Candidates = tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]


def candidates(video: Path, imgsz: int) -> list[Candidates]:
    """Per frame: every person box above 0.1 before suppression, its score and its 17 keypoints (x, y, conf)."""
    folder = openvino_backend.export_openvino(resolve_weights(None))
    detector = openvino_backend.OpenVinoDetector(folder=folder, imgsz=imgsz, precision="f32")
    xml = openvino_backend.find_openvino_xml(folder)
    detector._model = detector._core.read_model(str(xml))  # the whole head, keypoints included
    found: list[Candidates] = []

    def keep_all(output: npt.NDArray[np.float32], *, num_classes: int, conf: float, iou: float, scale: float):  # type: ignore[no-untyped-def]
        keep = output[4] >= 0.1
        cx, cy, w, h = output[0, keep], output[1, keep], output[2, keep], output[3, keep]
        boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1) / scale
        points = output[5:, keep].T.reshape(-1, 17, 3).copy()
        points[:, :, :2] /= scale
        found.append((boxes.astype(np.float32), output[4, keep].astype(np.float32), points.astype(np.float32)))
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)

    openvino_backend.decode_person_boxes = keep_all  # type: ignore[assignment]
    frames = [frame for _, frame in read_frames(video)]
    for start in range(0, len(frames), 4):
        detector.detect_batch(frames[start : start + 4], list(range(start, start + 4)))
    return found


def iou(box: npt.NDArray[np.float32], others: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    x1, y1 = np.maximum(box[0], others[:, 0]), np.maximum(box[1], others[:, 1])
    x2, y2 = np.minimum(box[2], others[:, 2]), np.minimum(box[3], others[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return np.asarray(inter / (area + areas - inter), dtype=np.float32)


def oks(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32], area: float) -> float | None:
    """Keypoint similarity over the keypoints both boxes see (confidence above 0.5); None where none."""
    seen = (a[:, 2] > 0.5) & (b[:, 2] > 0.5)
    if not seen.any():
        return None
    d2 = ((a[:, :2] - b[:, :2]) ** 2).sum(axis=1)
    return float(np.exp(-d2 / ((2 * SIGMAS) ** 2 * area * 2))[seen].mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", default="TUD-Campus,TUD-Stadtmitte")
    parser.add_argument("--high", type=float, default=0.8)
    parser.add_argument("--min-score", type=float, default=0.25)
    parser.add_argument("--imgsz", type=int, default=640, help="input size (the automatic size of the TUD clips)")
    args = parser.parse_args()
    for clip in (c for c in CLIPS if c.name in args.clips.split(",")):
        assert clip.gt is not None, f"{clip.name} has no MOT ground truth"
        truth = read_mot(clip.gt)
        same: list[float] = []
        other: list[float] = []
        for frame, (boxes, scores, points) in enumerate(candidates(clip.video, args.imgsz)):
            rows = np.flatnonzero(truth.frame == frame)
            gt = np.stack(
                [truth.x[rows], truth.y[rows], truth.x[rows] + truth.w[rows], truth.y[rows] + truth.h[rows]], 1
            )
            base = nms(boxes, scores, 0.6)
            for extra in sorted(set(nms(boxes, scores, args.high).tolist()) - set(base.tolist())):
                if scores[extra] < args.min_score or not len(rows):
                    continue
                suppressor = int(base[np.argmax(iou(boxes[extra], boxes[base]))])
                on_extra, on_suppressor = (
                    iou(boxes[extra], gt.astype(np.float32)),
                    iou(boxes[suppressor], gt.astype(np.float32)),
                )
                if on_extra.max() <= 0.5 or on_suppressor.max() <= 0.5:
                    continue  # a box on nobody the truth has
                area = float(
                    (boxes[suppressor, 2] - boxes[suppressor, 0]) * (boxes[suppressor, 3] - boxes[suppressor, 1])
                )
                similarity = oks(points[extra], points[suppressor], area)
                if similarity is not None:
                    (same if np.argmax(on_extra) == np.argmax(on_suppressor) else other).append(round(similarity, 2))
        median = float(np.median(same)) if same else float("nan")
        print(
            f"{clip.name}: same person {len(same)} (OKS {min(same, default=float('nan'))}-{max(same, default=float('nan'))}, "
            f"median {median:.2f}, {sum(s < 0.7 for s in same)} below 0.7); two people {len(other)}: {sorted(other)}"
        )


if __name__ == "__main__":
    main()
