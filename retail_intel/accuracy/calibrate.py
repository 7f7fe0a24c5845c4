"""Choosing a camera's detection settings (input size, tiling) from a sample of its frames.

A nano pose model finds almost nobody under ~80 px tall in its *input*, about
88% at 100-120 px and ~95% above 140 px, so the input size has to follow how
tall people appear in the frame. Calibration runs each candidate setting over
the same sampled frames, measures its speed and how many people it finds, and
recommends the fastest setting that finds (nearly) as many people as the best.

The size rule (``rule_imgsz``) scales the frame so that the smallest people
(the 10th percentile of heights found) are about ``TARGET_HEIGHT_PX`` tall in
the model's input, rounded up to a multiple of 32 and clamped to 640..1280.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from retail_intel.config.camera_settings import settings_layer
from retail_intel.errors import InputError, VideoError
from retail_intel.naming import CallerNames
from retail_intel.pipeline.loop import detect_in_batches
from retail_intel.vision.detections import Detections, Detector

TARGET_HEIGHT_PX = 120
MIN_IMGSZ, MAX_IMGSZ = 640, 1280
# A person "found" for calibration purposes: Ultralytics' own default threshold.
FOUND_CONF = 0.25
# Settings finding at least this share of the best setting's people are "as good".
GOOD_ENOUGH = 0.95
# Measured speeds this close (relative) are treated as the same.
SAME_SPEED = 0.10
DEFAULT_CANDIDATES: tuple[tuple[int, int], ...] = ((640, 1), (960, 1), (1280, 1), (640, 2))

Frame = npt.NDArray[np.uint8]
# builds the detector ``process`` would use, at (imgsz, tiles)
DetectorFactory = Callable[[int, int], Detector]


@dataclass(frozen=True)
class CandidateResult:
    imgsz: int
    tiles: int
    seconds_per_frame: float
    people_found: int  # boxes with confidence >= FOUND_CONF over all sampled frames
    share_of_best: float
    median_height_px: float | None

    @property
    def fps(self) -> float:
        return 1.0 / self.seconds_per_frame if self.seconds_per_frame > 0 else 0.0

    @property
    def label(self) -> str:
        return f"imgsz {self.imgsz}" + (f", {self.tiles}x{self.tiles} tiles" if self.tiles > 1 else "")


@dataclass(frozen=True)
class Calibration:
    video: str
    frame_size: tuple[int, int]
    frames_sampled: int
    candidates: list[CandidateResult]
    recommended: CandidateResult
    small_person_px: float | None  # 10th percentile of heights found by the best setting
    rule_imgsz: int | None
    notes: list[str] = field(default_factory=list)

    def settings_to_write(self, names: Mapping[str, str] | None = None) -> dict[str, int]:
        """The recommended ``imgsz`` and ``tiles`` for the camera's config; refused when no setting found anybody.

        Then every setting ties at 0 and the fastest wins by default: writing it would replace the
        camera's size with one chosen on no evidence. ``names`` say what the caller calls
        :func:`calibrate_camera`'s ``frames`` in messages (its flag: ``{"frames": "--frames"}``).
        """
        if self.recommended.people_found == 0:
            frames = CallerNames(names)("frames")
            raise InputError(
                f"nothing written: every setting found nobody in the {self.frames_sampled} sampled frames of "
                f"{Path(self.video).name}; sample more frames ({frames}) or a busier recording of the camera"
            )
        return {"imgsz": self.recommended.imgsz, "tiles": self.recommended.tiles}


def rule_imgsz(long_side: int, small_person_px: float) -> int:
    """``clamp(round up to 32 of long_side * TARGET_HEIGHT_PX / small_person_px, 640, 1280)``."""
    if small_person_px <= 0:
        raise InputError(f"person height must be positive, got {small_person_px:g}")
    raw = long_side * TARGET_HEIGHT_PX / small_person_px
    return int(min(MAX_IMGSZ, max(MIN_IMGSZ, math.ceil(raw / 32) * 32)))


def recommend(results: Sequence[CandidateResult]) -> CandidateResult:
    """The fastest candidate that finds at least :data:`GOOD_ENOUGH` of the best one's people.

    Speeds within :data:`SAME_SPEED` of the fastest count as equal (timing noise); among
    those, the one with the fewest input pixels wins.
    """
    good = [r for r in results if r.share_of_best >= GOOD_ENOUGH]
    fastest = min(r.seconds_per_frame for r in good)
    close = [r for r in good if r.seconds_per_frame <= fastest * (1 + SAME_SPEED)]
    return min(close, key=lambda r: ((r.imgsz * r.tiles) ** 2, r.seconds_per_frame))


def sample_frames(
    video: Path, count: int, name: str = "frames", opened: Callable[[], None] | None = None
) -> tuple[list[Frame], tuple[int, int]]:
    """``count`` frames spread evenly over the video (seeking, so long videos are cheap).

    ``name`` is what the caller calls ``count`` in messages (its flag: ``--frames``). ``opened`` is
    called once the video has been opened and probed, before any frame is read."""
    import cv2

    from retail_intel.vision.video import probe

    if count < 1:
        raise InputError(f"{name} must be at least 1, got {count}")
    info = probe(video)
    if opened is not None:
        opened()
    total = info.frame_count or count
    # clamped before the duplicates go: a short video asked for more frames than it has gives each once
    wanted = sorted({min(round((i + 0.5) * total / count), max(0, total - 1)) for i in range(count)})
    capture = cv2.VideoCapture(str(video))
    frames: list[Frame] = []
    try:
        for index in wanted:
            capture.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, frame = capture.read()
            if ok:
                frames.append(np.asarray(frame, dtype=np.uint8))
    finally:
        capture.release()
    if not frames:
        raise VideoError(f"{video}: could not decode any of the sampled frames")
    return frames, (info.width, info.height)


def _detect_frames(detector: Detector, frames: Sequence[Frame]) -> list[Detections]:
    # batched as the frame loop batches, so the speed is the speed ``process`` gets
    return detect_in_batches(detector, frames)


def _run_candidate(detector: Detector, frames: Sequence[Frame]) -> tuple[float, int, list[float]]:
    _detect_frames(detector, frames[:2])  # warm-up: the first call pays for model set-up
    began = time.perf_counter()
    found = _detect_frames(detector, frames)
    seconds = (time.perf_counter() - began) / len(frames)
    heights: list[float] = []
    count = 0
    for d in found:
        keep = d.confidence >= FOUND_CONF
        count += int(keep.sum())
        heights.extend((d.xyxy[keep, 3] - d.xyxy[keep, 1]).tolist())
    return seconds, count, heights


def calibrate(
    video: Path,
    make_detector: DetectorFactory,
    *,
    frames: int = 24,
    candidates: Sequence[tuple[int, int]] = DEFAULT_CANDIDATES,
    names: Mapping[str, str] | None = None,
    started: Callable[[], None] | None = None,
) -> Calibration:
    """Measure each ``(imgsz, tiles)`` candidate on sampled frames and recommend one.

    The size rule's ``imgsz`` is added as a candidate when it is not one already.
    ``names`` say what the caller calls ``frames`` in messages (its flag: ``{"frames": "--frames"}``).
    ``started`` is called once the video has been opened, before its frames are read and measured (seeking
    through a long video takes a while): a caller that says it is at work says so only once every input
    has been accepted (a video none of whose sampled frames decode is the one error that can follow).
    """
    if not candidates:
        raise InputError("give at least one candidate setting")
    sampled, size = sample_frames(video, frames, CallerNames(names)("frames"), opened=started)
    measured: dict[tuple[int, int], tuple[float, int, list[float]]] = {}
    for imgsz, tiles in candidates:
        measured[(imgsz, tiles)] = _run_candidate(make_detector(imgsz, tiles), sampled)
    best_key = max(measured, key=lambda k: (measured[k][1], -k[0] * k[1]))
    heights = measured[best_key][2]
    small = float(np.percentile(heights, 10)) if heights else None
    rule = rule_imgsz(max(size), small) if small else None
    notes = []
    if rule is not None and (rule, 1) not in measured:
        measured[(rule, 1)] = _run_candidate(make_detector(rule, 1), sampled)
        notes.append(f"imgsz {rule} added by the size rule (smallest people ~{small:.0f} px tall)")
    top = max(m[1] for m in measured.values())
    results = [
        CandidateResult(
            imgsz=imgsz,
            tiles=tiles,
            seconds_per_frame=spf,
            people_found=found,
            share_of_best=found / top if top else 1.0,
            median_height_px=float(np.median(hs)) if hs else None,
        )
        for (imgsz, tiles), (spf, found, hs) in sorted(measured.items())
    ]
    if top == 0:
        notes.append("no setting found anybody in the sampled frames: sample more frames or a busier part")
    return Calibration(
        video=str(video),
        frame_size=size,
        frames_sampled=len(sampled),
        candidates=results,
        recommended=recommend(results),
        small_person_px=small,
        rule_imgsz=rule,
        notes=notes,
    )


def calibrate_camera(
    video: Path,
    *,
    branch: str | None = None,
    camera: str | None = None,
    config_dir: Path | None = None,
    model: str | None = None,
    backend: str | None = None,
    device: str | None = None,
    frames: int = 24,
    candidates: Sequence[tuple[int, int]] = DEFAULT_CANDIDATES,
    names: Mapping[str, str] | None = None,
    started: Callable[[], None] | None = None,
) -> Calibration:
    """:func:`calibrate` with the detector ``process`` would build for this camera (or flags).

    ``names`` say what the caller calls ``branch``, ``camera``, ``frames`` and the settings (``model``,
    ``backend``, ``device``) in messages (its flags: ``{"camera": "--camera"}``); a parameter left out
    is named as it is here.
    """
    from retail_intel.pipeline.plan import ProcessRequest, make_plan
    from retail_intel.pipeline.run import default_detector_factory
    from retail_intel.vision.video import probe
    from retail_intel.vision.weights import resolve_weights

    if camera is not None and branch is None:
        # a camera is found within its branch: without one, its settings (model, ROI) would go unread unseen
        named = CallerNames(names)
        raise InputError(f"{named('camera')} {camera} needs {named('branch')} (the branch the camera belongs to)")
    info = probe(video)
    request = ProcessRequest(
        video=video,
        branch=branch or "calibrate",
        data_dir=Path("."),
        config_dir=config_dir if branch else None,
        camera=camera,
        layers=(
            # settings_layer: a bad --device or --backend is an InputError naming it, not pydantic's traceback
            settings_layer(
                {
                    # without a camera the ROI does not matter here: the whole frame will do
                    "roi": None if branch else (0, 0, info.width, info.height),
                    "model": model,
                    "backend": backend,
                    "device": device,
                }
            ),
        ),
        names=names,
    )
    base = make_plan(request)
    # weights that are not there are refused before any frame is read, as process refuses them
    resolve_weights(base.detector.model, base.detector.model_name)

    def make(imgsz: int, tiles: int) -> Detector:
        settings = base.settings.model_copy(update={"imgsz": imgsz, "tiles": tiles, "conf": FOUND_CONF})
        return default_detector_factory(dataclasses.replace(base, settings=settings))

    return calibrate(video, make, frames=frames, candidates=candidates, names=names, started=started)


def parse_candidates(text: str, name: str = "candidates") -> list[tuple[int, int]]:
    """``"640,960,1280,640x2"`` -> ``[(640, 1), (960, 1), (1280, 1), (640, 2)]`` (``x2``: 2x2 tiles).

    ``name`` is what the caller calls ``text`` in messages (its flag: ``--try``)."""
    out = []
    for part in text.split(","):
        size, _, tiles = part.strip().lower().partition("x")
        try:
            imgsz, n = int(size), int(tiles or 1)
        except ValueError as exc:
            raise InputError(f"{name}: expected sizes like 640,960,1280,640x2, got {part.strip()!r}") from exc
        # the bounds branches.yaml accepts (imgsz 32-4096, tiles 1-4): --write must be able to write the winner
        if not 32 <= imgsz <= 4096 or imgsz % 32 or not 1 <= n <= 4:
            raise InputError(f"{name}: {part.strip()!r}: imgsz must be a multiple of 32 from 32 to 4096, tiles 1-4")
        out.append((imgsz, n))
    if not out:
        raise InputError(f"{name}: give at least one setting")
    return out
