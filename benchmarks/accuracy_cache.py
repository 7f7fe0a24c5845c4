"""Detections recorded from a real ``process`` run, so each detector setting runs over each clip once.

The first time a (clip, detector, imgsz, tiles) is evaluated, ``process_video`` runs for real with
the detector ``retail-intel process`` builds for the camera (``default_detector_factory``: OpenVINO
on the CPU when installed, else PyTorch), wrapped so that every box at or above ``CONF_FLOOR`` of
every frame it detects is recorded. That run's speed is the speed we report. Later evaluations
replay the recorded boxes through the same ``process_video`` (same motion gate, tracker, stitching)
in seconds, filtered at the camera's confidence: greedy NMS never lets a lower-scored box suppress a
higher-scored one, so filtering at ``conf`` gives what a run at ``conf`` gives.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from accuracy_anchor import cpu_seconds

from retail_intel.pipeline.plan import ProcessPlan
from retail_intel.pipeline.run import ProcessResult, default_detector_factory, process_video
from retail_intel.vision.detections import Detections, Detector
from retail_intel.vision.int8 import CALIBRATION_FRAMES, QUANTIZE_VERSION
from retail_intel.vision.video import Frame, fingerprint

ROOT = Path(__file__).resolve().parents[1]
CACHE_DIR = ROOT / "benchmarks" / "results" / "detections"
CONF_FLOOR = 0.05


@dataclass(frozen=True)
class DetectionCache:
    """The boxes (``conf >= CONF_FLOOR``) of every frame one real run detected, and that run's speed."""

    frame_index: npt.NDArray[np.int64]  # (N,) frame of each box
    xyxy: npt.NDArray[np.float32]  # (N, 4)
    confidence: npt.NDArray[np.float32]  # (N,)
    detected: frozenset[int]  # frames the run sent to the detector (the motion gate skips still ones)
    meta: dict[str, object]

    def at(self, frame: int, conf: float) -> Detections:
        if frame not in self.detected:
            raise KeyError(f"frame {frame} was not detected in the recorded run; rerun with --fresh")
        lo, hi = np.searchsorted(self.frame_index, [frame, frame + 1])
        keep = self.confidence[lo:hi] >= conf
        return Detections(self.xyxy[lo:hi][keep], self.confidence[lo:hi][keep])

    def at_or_before(self, frame: int, conf: float) -> Detections:
        """The boxes of ``frame``, or of the last frame detected before it: what the recorded run used there.

        A frame the recorded run did not detect was still (the motion gate reused the last detected
        frame's boxes). A run that schedules frames differently (adaptive stride) may send such a
        frame to the detector; the replay answers with what that frame looked like to the recorded run.
        """
        if frame in self.detected:
            return self.at(frame, conf)
        earlier = [i for i in self.detected if i < frame]
        return self.at(max(earlier), conf) if earlier else Detections.empty()

    @property
    def model(self) -> str:
        return str(self.meta["model"])

    @property
    def cpu_per_frame(self) -> float:
        """CPU seconds (all threads) the recorded run spent per frame: robust to a busy machine."""
        return float(str(self.meta["cpu_seconds"])) / int(str(self.meta["frames"]))

    @property
    def pipeline_fps(self) -> float:
        """Frames per second of the whole recorded ``process_video`` run."""
        return float(str(self.meta["pipeline_fps"]))


class RecordingDetector:
    """Runs the real detector at ``CONF_FLOOR``, records everything, answers at the camera's ``conf``."""

    def __init__(self, inner: Detector, conf: float) -> None:
        self.name = inner.name
        self.batch_size = int(getattr(inner, "batch_size", 1))
        self.inner = inner
        self.conf = conf
        self.found: dict[int, Detections] = {}

    def _keep(self, index: int, found: Detections) -> Detections:
        self.found[index] = found
        return found.filter(found.confidence >= self.conf)

    def detect(self, frame: Frame, frame_index: int) -> Detections:
        return self._keep(frame_index, self.inner.detect(frame, frame_index))

    def detect_batch(self, frames: list[Frame], frame_indices: list[int]) -> list[Detections]:
        if hasattr(self.inner, "detect_batch"):
            results = self.inner.detect_batch(frames, frame_indices)
        else:
            results = [self.inner.detect(f, i) for f, i in zip(frames, frame_indices, strict=True)]
        return [self._keep(i, d) for i, d in zip(frame_indices, results, strict=True)]


class ReplayDetector:
    """A Detector that answers from the recorded run, filtered at the camera's confidence."""

    def __init__(self, cache: DetectionCache, conf: float, *, reuse_still: bool = False) -> None:
        self.name = cache.model
        self._cache = cache
        self._conf = conf
        # frames the recorded run found still are answered with the boxes it reused there
        self._reuse_still = reuse_still

    def detect(self, frame: Frame, frame_index: int) -> Detections:
        if self._reuse_still:
            return self._cache.at_or_before(frame_index, self._conf)
        return self._cache.at(frame_index, self._conf)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()


def cache_path(plan: ProcessPlan, detector_name: str, cache_dir: Path = CACHE_DIR) -> Path:
    spec = plan.detector
    # an int8 model's boxes follow its quantization (recipe and calibration frames): another records afresh
    precision = spec.precision if spec.precision != "int8" else f"int8r{QUANTIZE_VERSION}f{CALIBRATION_FRAMES}"
    key = f"{_slug(detector_name)}-{precision}-i{spec.imgsz}-t{spec.tiles}-m{plan.motion_threshold:g}"
    return cache_dir / f"{plan.video.stem}-{fingerprint(plan.video)[:12]}-{key}.npz"


def ensure(
    plan: ProcessPlan, *, fresh: bool = False, cache_dir: Path = CACHE_DIR
) -> tuple[DetectionCache, ProcessResult | None]:
    """The recorded detections for ``plan``; runs ``process_video`` for real (returning its result) if needed."""
    floor = dataclasses.replace(plan, settings=plan.settings.model_copy(update={"conf": CONF_FLOOR}))
    inner = default_detector_factory(floor)
    path = cache_path(plan, inner.name, cache_dir)
    if path.exists() and not fresh:
        return load(path), None
    recorder = RecordingDetector(inner, plan.detector.conf)
    cpu_before = cpu_seconds()
    result = process_video(plan, detector_factory=lambda _plan: recorder, reuse_tracks=False)
    cpu = cpu_seconds() - cpu_before
    found = sorted(recorder.found.items())
    meta = {
        "video": plan.video.name,
        "model": inner.name,
        "imgsz": plan.detector.imgsz,
        "tiles": plan.detector.tiles,
        "precision": plan.detector.precision,
        "conf_floor": CONF_FLOOR,
        "frames": result.summary.frames,
        "frames_detected": result.summary.frames_detected,
        "pipeline_fps": result.summary.processing_fps,
        "cpu_seconds": round(cpu, 3),
        "stage_seconds": result.summary.stage_seconds,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.stem + ".partial.npz")
    np.savez_compressed(
        partial,
        frame_index=np.concatenate([np.full(len(d), i, np.int64) for i, d in found] or [np.zeros(0, np.int64)]),
        xyxy=np.concatenate([d.xyxy for _, d in found] or [np.zeros((0, 4), np.float32)]).astype(np.float32),
        confidence=np.concatenate([d.confidence for _, d in found] or [np.zeros(0, np.float32)]).astype(np.float32),
        detected=np.asarray([i for i, _ in found], dtype=np.int64),
        meta=np.array(json.dumps(meta)),
    )
    partial.replace(path)
    return load(path), result


def load(path: Path) -> DetectionCache:
    with np.load(path) as data:
        return DetectionCache(
            frame_index=data["frame_index"].astype(np.int64),
            xyxy=data["xyxy"].astype(np.float32).reshape(-1, 4),
            confidence=data["confidence"].astype(np.float32),
            detected=frozenset(int(i) for i in data["detected"]),
            meta=json.loads(str(data["meta"])),
        )
