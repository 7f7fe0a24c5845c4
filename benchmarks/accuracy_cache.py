"""Per-frame detections cached on disk, so each detector setting runs over each clip once.

The accuracy harness (``benchmarks/accuracy.py``) tracks, stitches and scores cached detections
in seconds; only a missing cache runs the model. The detector is the one ``retail-intel process``
builds for the camera (``default_detector_factory``: OpenVINO on the CPU when installed, else
PyTorch), with every box at or above ``CONF_FLOOR`` kept. One run serves every confidence
threshold: greedy NMS never lets a lower-scored box suppress a higher-scored one, so filtering the
cache at ``conf`` gives what a run at ``conf`` would have given.

Every frame is detected here; the motion gate of the real pipeline still applies when the cache
is replayed through ``process_video``, which asks only for the frames it would have detected.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from retail_intel.pipeline.plan import ProcessPlan
from retail_intel.pipeline.run import default_detector_factory
from retail_intel.vision.detections import Detections, Detector
from retail_intel.vision.video import Frame, fingerprint, read_frames

ROOT = Path(__file__).resolve().parents[1]
CACHE_DIR = ROOT / "benchmarks" / "results" / "detections"
CONF_FLOOR = 0.05


@dataclass(frozen=True)
class DetectionCache:
    """Every frame's boxes at ``conf >= CONF_FLOOR`` for one (video, detector, imgsz, tiles)."""

    frame_index: npt.NDArray[np.int64]  # (N,) frame of each box
    xyxy: npt.NDArray[np.float32]  # (N, 4)
    confidence: npt.NDArray[np.float32]  # (N,)
    frames: int
    detect_seconds: float  # wall seconds the detector took over all frames (first-use set-up included)
    meta: dict[str, object]

    def at(self, frame: int, conf: float) -> Detections:
        lo, hi = np.searchsorted(self.frame_index, [frame, frame + 1])
        keep = self.confidence[lo:hi] >= conf
        return Detections(self.xyxy[lo:hi][keep], self.confidence[lo:hi][keep])

    @property
    def seconds_per_frame(self) -> float:
        return self.detect_seconds / self.frames if self.frames else 0.0

    @property
    def model(self) -> str:
        return str(self.meta["model"])


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()


def cache_path(video: Path, detector_name: str, plan: ProcessPlan, cache_dir: Path = CACHE_DIR) -> Path:
    spec = plan.detector
    key = f"{_slug(detector_name)}-{spec.precision}-i{spec.imgsz}-t{spec.tiles}"
    return cache_dir / f"{video.stem}-{fingerprint(video)[:12]}-{key}.npz"


def _detect_all(detector: Detector, video: Path) -> tuple[list[Detections], float]:
    batch_size = max(1, int(getattr(detector, "batch_size", 1)))
    found: list[Detections] = []
    pending: list[tuple[int, Frame]] = []
    seconds = 0.0

    def flush() -> None:
        nonlocal seconds
        t0 = time.perf_counter()
        if len(pending) > 1 and hasattr(detector, "detect_batch"):
            found.extend(detector.detect_batch([f for _, f in pending], [i for i, _ in pending]))
        else:
            found.extend(detector.detect(f, i) for i, f in pending)
        seconds += time.perf_counter() - t0
        pending.clear()

    for index, frame in read_frames(video):
        pending.append((index, frame))
        if len(pending) >= batch_size:
            flush()
    if pending:
        flush()
    return found, seconds


def ensure(plan: ProcessPlan, *, fresh: bool = False, cache_dir: Path = CACHE_DIR) -> DetectionCache:
    """The cache for ``plan``'s video and detector settings, running the detector if there is none."""
    floor = dataclasses.replace(plan, detector=dataclasses.replace(plan.detector, conf=CONF_FLOOR))
    detector = default_detector_factory(floor)
    path = cache_path(plan.video, detector.name, plan, cache_dir)
    if fresh or not path.exists():
        found, seconds = _detect_all(detector, plan.video)
        meta = {
            "video": plan.video.name,
            "model": detector.name,
            "imgsz": plan.detector.imgsz,
            "tiles": plan.detector.tiles,
            "precision": plan.detector.precision,
            "conf_floor": CONF_FLOOR,
            "frames": len(found),
            "detect_seconds": round(seconds, 3),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.stem + ".partial.npz")
        np.savez_compressed(
            partial,
            frame_index=np.concatenate([np.full(len(d), i, np.int64) for i, d in enumerate(found)]),
            xyxy=np.concatenate([d.xyxy for d in found]).astype(np.float32),
            confidence=np.concatenate([d.confidence for d in found]).astype(np.float32),
            meta=np.array(json.dumps(meta)),
        )
        partial.replace(path)
    return load(path)


def load(path: Path) -> DetectionCache:
    with np.load(path) as data:
        meta = json.loads(str(data["meta"]))
        return DetectionCache(
            frame_index=data["frame_index"].astype(np.int64),
            xyxy=data["xyxy"].astype(np.float32).reshape(-1, 4),
            confidence=data["confidence"].astype(np.float32),
            frames=int(meta["frames"]),
            detect_seconds=float(meta["detect_seconds"]),
            meta=meta,
        )
