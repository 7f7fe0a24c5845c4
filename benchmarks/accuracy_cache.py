"""Per-frame detections cached on disk, so each detector setting runs over each clip once.

The accuracy harness (``benchmarks/accuracy.py``) tracks, stitches and scores
cached detections in seconds; only a missing cache runs the model. A cache
holds every box at or above ``CONF_FLOOR`` (lower than any setting we use), so
one run serves every confidence threshold: greedy NMS never lets a lower-scored
box suppress a higher-scored one, so filtering the cache at ``conf`` gives
exactly what a run at ``conf`` would have given.

Run by hand to fill the cache:  python benchmarks/accuracy_cache.py VIDEO --imgsz 1280 [--tiles 2]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from retail_intel.vision.detections import Detections
from retail_intel.vision.video import fingerprint, read_frames

ROOT = Path(__file__).resolve().parents[1]
CACHE_DIR = ROOT / "benchmarks" / "results" / "detections"
CONF_FLOOR = 0.05


@dataclass(frozen=True)
class DetectionCache:
    """Every frame's boxes at ``conf >= CONF_FLOOR`` for one (video, model, imgsz, tiles)."""

    frame_index: npt.NDArray[np.int64]  # (N,) frame of each box
    xyxy: npt.NDArray[np.float32]  # (N, 4)
    confidence: npt.NDArray[np.float32]  # (N,)
    frames: int
    detect_seconds: float  # wall seconds the detector took over all frames
    meta: dict[str, object]

    def at(self, frame: int, conf: float) -> Detections:
        lo, hi = np.searchsorted(self.frame_index, [frame, frame + 1])
        keep = self.confidence[lo:hi] >= conf
        return Detections(self.xyxy[lo:hi][keep], self.confidence[lo:hi][keep])

    @property
    def detect_fps(self) -> float:
        return self.frames / self.detect_seconds if self.detect_seconds > 0 else 0.0


def cache_path(video: Path, model: str, imgsz: int, tiles: int, cache_dir: Path = CACHE_DIR) -> Path:
    digest = fingerprint(video)[:12]
    return cache_dir / f"{video.stem}-{digest}-{Path(model).stem}-i{imgsz}-t{tiles}.npz"


def load(path: Path) -> DetectionCache:
    with np.load(path) as data:
        meta = json.loads(str(data["meta"]))
        return DetectionCache(
            frame_index=data["frame_index"].astype(np.int64),
            xyxy=data["xyxy"].astype(np.float32),
            confidence=data["confidence"].astype(np.float32),
            frames=int(meta["frames"]),
            detect_seconds=float(meta["detect_seconds"]),
            meta=meta,
        )


def build(video: Path, *, model: str | None, imgsz: int, tiles: int, cache_dir: Path = CACHE_DIR) -> Path:
    """Run the detector over every frame of ``video`` and save the boxes; returns the cache path."""
    from retail_intel.vision.detector import UltralyticsDetector
    from retail_intel.vision.weights import resolve_weights

    weights = resolve_weights(model)
    detector = UltralyticsDetector(weights, imgsz=imgsz, conf=CONF_FLOOR, tiles=tiles)
    frames: list[npt.NDArray[np.int64]] = []
    boxes: list[npt.NDArray[np.float32]] = []
    scores: list[npt.NDArray[np.float32]] = []
    seconds = 0.0
    count = 0
    for index, frame in read_frames(video):
        t0 = time.perf_counter()
        found = detector.detect(frame, index)
        seconds += time.perf_counter() - t0
        frames.append(np.full(len(found), index, dtype=np.int64))
        boxes.append(found.xyxy)
        scores.append(found.confidence)
        count += 1
    meta = {
        "video": video.name,
        "model": weights.name,
        "imgsz": imgsz,
        "tiles": tiles,
        "conf_floor": CONF_FLOOR,
        "frames": count,
        "detect_seconds": round(seconds, 3),
    }
    path = cache_path(video, weights.name, imgsz, tiles, cache_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.npz")
    np.savez_compressed(
        partial,
        frame_index=np.concatenate(frames) if frames else np.zeros(0, np.int64),
        xyxy=np.concatenate(boxes) if boxes else np.zeros((0, 4), np.float32),
        confidence=np.concatenate(scores) if scores else np.zeros(0, np.float32),
        meta=np.array(json.dumps(meta)),
    )
    partial.replace(path)
    return path


def ensure(video: Path, *, model: str | None, imgsz: int, tiles: int, cache_dir: Path = CACHE_DIR) -> DetectionCache:
    """The cache for this setting, running the detector first if there is none."""
    from retail_intel.vision.weights import resolve_weights

    path = cache_path(video, resolve_weights(model).name, imgsz, tiles, cache_dir)
    if not path.exists():
        build(video, model=model, imgsz=imgsz, tiles=tiles, cache_dir=cache_dir)
    return load(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video", type=Path)
    parser.add_argument("--model", default=None)
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--tiles", type=int, default=1)
    args = parser.parse_args()
    cache = ensure(args.video, model=args.model, imgsz=args.imgsz, tiles=args.tiles)
    print(f"{args.video.name} imgsz {args.imgsz} tiles {args.tiles}: {len(cache.confidence)} boxes, "
          f"{cache.frames} frames, detector {cache.detect_fps:.2f} fps")  # fmt: skip


if __name__ == "__main__":
    main()
