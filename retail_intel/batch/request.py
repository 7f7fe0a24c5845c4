"""What a batch is asked to do (:class:`BatchRequest`), and what it runs with (:class:`Runtime`:
the detector and model identity, which tests replace with fakes)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from retail_intel.batch.chains import JOIN_GAP_S
from retail_intel.batch.segments import weights_identity
from retail_intel.config.camera_settings import CameraSettings
from retail_intel.pipeline.plan import DetectorSpec
from retail_intel.pipeline.run import default_detector_factory
from retail_intel.pipeline.video_tracks import DetectorFactory

EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class BatchRequest:
    source: str  # folder, glob pattern or manifest
    config_dir: Path
    data_dir: Path
    settings: CameraSettings = field(default_factory=CameraSettings)  # the flags' settings layer
    max_frames: int | None = None  # a preview of each file: written under previews/
    workers: int | None = None  # local: 1 by default; ray: the cluster's CPUs
    executor: str = "local"
    address: str | None = None  # ray: cluster address (auto, ray://host:10001); None starts a local Ray
    kpis: bool = True
    retry_failed: bool = False  # also redo files that failed before with the same key
    join_gap_s: float = JOIN_GAP_S
    ray_cpus_per_task: float = 1.0


@dataclass(frozen=True)
class Runtime:
    """Injection points: tests run the whole batch with a fake detector and no weights."""

    detector_factory: DetectorFactory = default_detector_factory
    model_identity: Callable[[DetectorSpec], str] = weights_identity


DEFAULT_RUNTIME = Runtime()
