"""Person detection with Ultralytics YOLO weights, optionally over tiles.

Small people (under ~80 px in the model's input) are invisible to a nano
model, so a camera whose people are small either raises ``imgsz`` or splits
the frame into ``tiles`` x ``tiles`` overlapping tiles, each run at ``imgsz``.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from importlib import util as importlib_util
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from retail_intel.errors import ModelError
from retail_intel.vision.detections import Detections
from retail_intel.vision.offline import prepare_ultralytics

PERSON_CLASS = 0
# Tiles overlap by this share of the frame's long side, so a person cut by
# one tile's inner edge appears whole in its neighbour.
TILE_OVERLAP = 0.2
# A box this close to an inner tile edge is a cut-off person: drop it, its
# neighbour tile has the whole person.
EDGE_MARGIN_PX = 3.0


def nms(xyxy: npt.NDArray[np.float32], scores: npt.NDArray[np.float32], iou: float) -> npt.NDArray[np.intp]:
    """Indices kept by greedy non-maximum suppression, best score first."""
    order = np.argsort(-scores, kind="stable")
    areas = (xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1])
    keep: list[int] = []
    while order.size:
        best = int(order[0])
        keep.append(best)
        rest = order[1:]
        ix1 = np.maximum(xyxy[best, 0], xyxy[rest, 0])
        iy1 = np.maximum(xyxy[best, 1], xyxy[rest, 1])
        ix2 = np.minimum(xyxy[best, 2], xyxy[rest, 2])
        iy2 = np.minimum(xyxy[best, 3], xyxy[rest, 3])
        inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
        overlap = inter / np.maximum(areas[best] + areas[rest] - inter, 1e-6)
        order = rest[overlap <= iou]
    return np.asarray(keep, dtype=np.intp)


@dataclass(frozen=True)
class Tile:
    x0: int
    y0: int
    x1: int
    y1: int
    # which sides are inner edges (shared with another tile)
    inner_left: bool
    inner_top: bool
    inner_right: bool
    inner_bottom: bool


@functools.lru_cache(maxsize=16)
def tile_grid(width: int, height: int, tiles: int) -> list[Tile]:
    """``tiles`` x ``tiles`` overlapping tiles covering a ``width`` x ``height`` frame.

    Cached by frame size, so a stream whose frames change size gets the grid of each size.
    Callers must not change the list.
    """
    if tiles <= 1:
        return [Tile(0, 0, width, height, False, False, False, False)]
    overlap = int(TILE_OVERLAP * max(width, height))
    tw = -(-(width + (tiles - 1) * overlap) // tiles)
    th = -(-(height + (tiles - 1) * overlap) // tiles)
    grid = []
    for row in range(tiles):
        for col in range(tiles):
            x0 = min(col * (tw - overlap), width - tw)
            y0 = min(row * (th - overlap), height - th)
            grid.append(Tile(x0, y0, x0 + tw, y0 + th, col > 0, row > 0, col < tiles - 1, row < tiles - 1))
    return grid


def merge_tile_boxes(
    per_tile: list[tuple[Tile, npt.NDArray[np.float32], npt.NDArray[np.float32]]], iou: float = 0.5
) -> Detections:
    """Shift tile boxes into frame coordinates, drop cut-off boxes, then NMS."""
    boxes, scores = [], []
    for tile, xyxy, conf in per_tile:
        if not len(conf):
            continue
        keep = np.ones(len(conf), dtype=bool)
        tw, th = tile.x1 - tile.x0, tile.y1 - tile.y0
        if tile.inner_left:
            keep &= xyxy[:, 0] > EDGE_MARGIN_PX
        if tile.inner_top:
            keep &= xyxy[:, 1] > EDGE_MARGIN_PX
        if tile.inner_right:
            keep &= xyxy[:, 2] < tw - EDGE_MARGIN_PX
        if tile.inner_bottom:
            keep &= xyxy[:, 3] < th - EDGE_MARGIN_PX
        shifted = xyxy[keep] + np.array([tile.x0, tile.y0, tile.x0, tile.y0], dtype=np.float32)
        boxes.append(shifted)
        scores.append(conf[keep])
    if not boxes:
        return Detections.empty()
    all_boxes = np.concatenate(boxes).astype(np.float32)
    all_scores = np.concatenate(scores).astype(np.float32)
    kept = nms(all_boxes, all_scores, iou)
    return Detections(all_boxes[kept], all_scores[kept])


@dataclass
class UltralyticsDetector:
    """A :class:`~retail_intel.vision.detections.Detector` backed by Ultralytics weights."""

    weights: Path
    imgsz: int = 640
    conf: float = 0.1
    device: str | None = None
    tiles: int = 1
    iou: float = 0.6
    model_name: str = "model"  # what messages call the model setting (a caller's flag: --model)
    name: str = field(init=False)
    backend: ClassVar[str] = "torch"  # what the run summary records for backend auto
    _model: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.name = self.weights.name
        if self.weights.suffix.lower() == ".onnx" and importlib_util.find_spec("onnxruntime") is None:
            # Ultralytics would only find out at the first frame, with a traceback
            raise ModelError(
                f"model {self.weights}: an ONNX model needs the onnxruntime package, which is not installed "
                f"(pip install onnxruntime); or pass {self.model_name} with Ultralytics weights (.pt) or an OpenVINO "
                "export folder"
            )
        prepare_ultralytics()
        from ultralytics import YOLO

        if self.device in (None, "cpu"):
            import torch

            # Ultralytics leaves torch at 1 thread on small machines; use every core.
            torch.set_num_threads(max(1, os.cpu_count() or 1))
        try:
            self._model = YOLO(str(self.weights), task=_task_of(self.weights))
        except Exception as exc:
            raise ModelError(
                f"could not load model {self.weights}: {exc}; pass {self.model_name} with Ultralytics weights "
                "(.pt), an ONNX file or an OpenVINO export folder"
            ) from exc

    def detect(self, frame: npt.NDArray[np.uint8], frame_index: int) -> Detections:
        height, width = frame.shape[:2]
        grid = tile_grid(width, height, self.tiles)
        crops = [frame[t.y0 : t.y1, t.x0 : t.x1] for t in grid]
        results = self._model.predict(
            crops,
            imgsz=self.imgsz,
            conf=self.conf,
            iou=self.iou,
            classes=[PERSON_CLASS],
            device=self.device,
            verbose=False,
            half=bool(self.device and self.device.startswith("cuda")),
        )
        per_tile = []
        for tile, result in zip(grid, results, strict=True):
            boxes = result.boxes
            xyxy = boxes.xyxy.cpu().numpy().astype(np.float32)
            conf = boxes.conf.cpu().numpy().astype(np.float32)
            per_tile.append((tile, xyxy, conf))
        if len(per_tile) == 1:
            _, xyxy, conf = per_tile[0]
            return Detections(xyxy, conf)
        return merge_tile_boxes(per_tile, self.iou)


def _task_of(weights: Path) -> str | None:
    # Exported models (ONNX, OpenVINO) don't always record their task; the
    # bundled default is a pose model, whose boxes are people.
    return "pose" if "pose" in weights.name else None
