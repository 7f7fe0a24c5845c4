"""The baseline we compare against: Ultralytics' own tracking loop (``model.track``, ByteTrack defaults).

Runs the bundled weights over a clip with ``model.track(stream=True, persist=True)`` at a given
``imgsz``, times the loop, and caches the tracker's boxes (one run per clip and size) under
``benchmarks/results/anchor/``. Scoring happens in ``benchmarks/accuracy.py`` with the same
metrics as ours; each Ultralytics track id is taken as one person (no stitching, no length filter).
"""

from __future__ import annotations

import json
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retail_intel.movements.tracks import Track, TrackAccumulator
from retail_intel.vision.detections import Detections
from retail_intel.vision.offline import prepare_ultralytics
from retail_intel.vision.video import fingerprint

ROOT = Path(__file__).resolve().parents[1]
ANCHOR_DIR = ROOT / "benchmarks" / "results" / "anchor"


@dataclass(frozen=True)
class AnchorRun:
    tracks: list[Track]
    frames: int
    seconds: float
    cpu_seconds: float  # user + system CPU time of this process over the run (all threads)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def _path(video: Path, imgsz: int, cache_dir: Path) -> Path:
    return cache_dir / f"{video.stem}-{fingerprint(video)[:12]}-ultralytics-track-i{imgsz}.npz"


def _run(video: Path, imgsz: int, path: Path) -> None:
    prepare_ultralytics()
    from ultralytics import YOLO

    from retail_intel.vision.weights import resolve_weights

    model = YOLO(str(resolve_weights(None)), task="pose")
    rows: list[tuple[int, int, float, float, float, float, float]] = []
    frames = 0
    cpu_before = cpu_seconds()
    began = time.perf_counter()
    for index, result in enumerate(
        model.track(source=str(video), imgsz=imgsz, classes=[0], stream=True, persist=True, verbose=False)
    ):
        frames += 1
        boxes = result.boxes
        if boxes is None or boxes.id is None:
            continue
        ids = boxes.id.cpu().numpy().astype(int)
        xyxy = boxes.xyxy.cpu().numpy()
        conf = boxes.conf.cpu().numpy()
        rows.extend((index, int(i), *map(float, b), float(c)) for i, b, c in zip(ids, xyxy, conf, strict=True))
    seconds = time.perf_counter() - began
    cpu = cpu_seconds() - cpu_before
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.npz")
    np.savez_compressed(
        partial,
        rows=np.asarray(rows, dtype=np.float64).reshape(-1, 7),
        meta=np.array(
            json.dumps({"video": video.name, "imgsz": imgsz, "frames": frames, "seconds": seconds, "cpu_seconds": cpu})
        ),
    )
    partial.replace(path)


def anchor_run(video: Path, imgsz: int, fps: float, cache_dir: Path = ANCHOR_DIR) -> AnchorRun:
    """Ultralytics' tracks for ``video`` at ``imgsz`` (times in seconds at the real ``fps``)."""
    path = _path(video, imgsz, cache_dir)
    if not path.exists():
        _run(video, imgsz, path)
    with np.load(path) as data:
        rows = data["rows"]
        meta = json.loads(str(data["meta"]))
    acc = TrackAccumulator()
    for frame in np.unique(rows[:, 0]).astype(int).tolist():
        r = rows[rows[:, 0] == frame]
        boxes = Detections(r[:, 2:6].astype(np.float32), r[:, 6].astype(np.float32), r[:, 1].astype(np.int64))
        acc.add(frame, frame / fps, boxes)
    return AnchorRun(acc.tracks(), int(meta["frames"]), float(meta["seconds"]), float(meta["cpu_seconds"]))


def cpu_seconds() -> float:
    """CPU time (user + system) this process has used so far, every thread included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
