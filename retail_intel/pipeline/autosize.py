"""Choosing the detector's input size from the video itself, when nobody set it.

The nano pose model finds almost nobody under ~80 px tall *in its input*, so a
camera whose people are small needs the frame enlarged, and one whose people
are tall wastes time at a large size. A store that installs retail-intel
points it at its cameras with the defaults, so ``process`` decides by itself
unless the camera config or a flag sets ``imgsz`` or ``tiles``:

1. sample a few frames spread over the video (few enough that the probe costs
   a small share of the run: :func:`probe_frames`);
2. detect people on them at the smallest size (640); unless the people found
   there are already tall enough for it, detect again at the largest size
   (1280), where small people are found if anywhere;
3. apply the size rule of ``retail-intel calibrate``
   (:func:`retail_intel.accuracy.calibrate.rule_imgsz`: the smallest people,
   the 10th percentile of heights, ~120 px tall in the input).

When even 1280 leaves the smallest people under :data:`TOO_SMALL_INPUT_PX` in
the model's input, counts will be low whatever we do: the choice carries a
warning that the run summary shows, instead of low counts arriving silently.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from retail_intel.accuracy.calibrate import FOUND_CONF, MAX_IMGSZ, MIN_IMGSZ, TARGET_HEIGHT_PX, rule_imgsz
from retail_intel.naming import CallerNames
from retail_intel.pipeline.plan import ProcessPlan
from retail_intel.vision.detections import Detections, Detector

# Probe at this size: the largest the size rule picks, so the smallest people it can use are found.
PROBE_IMGSZ = MAX_IMGSZ
# Under this height in the model's input the nano model finds almost nobody (docs/accuracy.md).
TOO_SMALL_INPUT_PX = 80
# Sampled frames: about one per this many frames of the video, within these bounds. A frame at
# 1280 costs ~3-4 frames at 640 and the first batch of a size pays for its model set-up, so one in
# 150 keeps the probe under ~5% of a run's CPU time on the clips of docs/accuracy.md.
FRAMES_PER_PROBE = 150
MIN_PROBE_FRAMES, MAX_PROBE_FRAMES = 2, 6
# Fewer people than this in the sample is too little to size on: the default size is kept.
MIN_PEOPLE = 3

# builds the detector ``process`` would use at (imgsz, tiles), answering at FOUND_CONF
DetectorAt = Callable[[int, int], Detector]


@dataclass(frozen=True)
class SizeChoice:
    """The input size chosen for a video, why, and a warning when counts cannot be trusted."""

    imgsz: int
    tiles: int
    reason: str
    warning: str | None
    small_person_px: float | None  # 10th percentile of the heights found (frame pixels)
    people_sampled: int
    frames_sampled: int
    seconds: float  # wall time the probe took
    cpu_seconds: float = 0.0  # CPU time (all threads) the probe took: comparable on a busy machine

    @property
    def decided(self) -> bool:
        """Sized on enough people; otherwise the default size was kept for want of people to size on."""
        return self.people_sampled >= MIN_PEOPLE

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "decided": self.decided}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SizeChoice:
        """The choice :meth:`as_dict` wrote (``decided`` is derived, so it is left out)."""
        return cls(**{k: v for k, v in values.items() if k != "decided"})


def probe_frames(frame_count: int) -> int:
    """How many frames to sample from a video of ``frame_count`` frames."""
    return int(min(MAX_PROBE_FRAMES, max(MIN_PROBE_FRAMES, frame_count // FRAMES_PER_PROBE)))


def size_rule(
    heights: Sequence[float],
    frame_size: tuple[int, int],
    *,
    default_imgsz: int = MIN_IMGSZ,
    tiles_name: str = "tiles",
    calibrate_name: str = "calibrate_camera",
) -> SizeChoice:
    """The input size for people ``heights`` px tall (found at :data:`PROBE_IMGSZ`) in a frame of ``frame_size``.

    ``tiles_name`` is what the caller calls the tiles setting in the warning (its flag: ``--tiles``), and
    ``calibrate_name`` what it calls :func:`~retail_intel.accuracy.calibrate.calibrate_camera` (its command).

    Pure: the probe's timing and frame count are filled in by :func:`choose_input_size`.
    """
    long_side = max(frame_size)
    found = [h for h in heights if h > 0]
    if len(found) < MIN_PEOPLE:
        return SizeChoice(
            imgsz=default_imgsz,
            tiles=1,
            reason=f"only {len(found)} people found in the sampled frames: too few to size on, default kept",
            warning=None,
            small_person_px=float(np.percentile(found, 10)) if found else None,
            people_sampled=len(found),
            frames_sampled=0,
            seconds=0.0,
        )
    small = float(np.percentile(found, 10))
    imgsz = rule_imgsz(long_side, small)
    at_largest = small * MAX_IMGSZ / long_side
    warning = None
    if at_largest < TOO_SMALL_INPUT_PX:
        warning = (
            f"people are too small to count reliably: the smallest are ~{small:.0f} px tall in a "
            f"{frame_size[0]}x{frame_size[1]} frame, ~{at_largest:.0f} px at the largest input size "
            f"({MAX_IMGSZ}), under the ~{TOO_SMALL_INPUT_PX} px the model needs; counts will be low "
            f"(a closer camera or {tiles_name} 2 may help; check with {calibrate_name})"
        )
    reason = (
        f"smallest people ~{small:.0f} px tall (10th percentile of {len(found)}) in a {long_side} px frame: "
        f"imgsz {imgsz} makes them ~{small * imgsz / long_side:.0f} px in the model's input "
        f"(target {TARGET_HEIGHT_PX}, sizes {MIN_IMGSZ}-{MAX_IMGSZ})"
    )
    return SizeChoice(imgsz, 1, reason, warning, small, len(found), 0, 0.0)


def _heights(found: Detections) -> list[float]:
    keep = found.confidence >= FOUND_CONF
    return [float(h) for h in found.xyxy[keep, 3] - found.xyxy[keep, 1]]


def _detect_all(detector: Detector, frames: Sequence[npt.NDArray[np.uint8]]) -> list[Detections]:
    # in one batch where the detector can (OpenVINO runs its streams in parallel): several times faster
    batch = getattr(detector, "detect_batch", None)
    if batch is not None and len(frames) > 1:
        found: list[Detections] = batch(list(frames), list(range(len(frames))))
        return found
    return [detector.detect(frame, index) for index, frame in enumerate(frames)]


def probe_input_size(
    video: Path,
    detector_at: DetectorAt,
    *,
    frames: int | None = None,
    tiles_name: str = "tiles",
    calibrate_name: str = "calibrate_camera",
) -> tuple[SizeChoice, Detector]:
    """:func:`choose_input_size`, also returning the detector of the size chosen (the run reuses it).

    Two steps, so that cameras with tall people pay for no large model: the sample is first
    detected at the smallest size; when the people found there are already tall enough for it
    (the rule gives the smallest size), that is the answer. People under ~80 px in the input are
    invisible at that size, but they are never alone: a camera with some people that small has
    people at 80-120 px too, who are found and pull the 10th percentile below the target. Only
    otherwise is the sample detected again at :data:`PROBE_IMGSZ`.
    """
    from retail_intel.accuracy.calibrate import sample_frames
    from retail_intel.vision.video import probe

    began, cpu_began = time.perf_counter(), time.process_time()
    count = frames if frames is not None else probe_frames(probe(video).frame_count)
    sampled, frame_size = sample_frames(video, count)
    detector = detector_at(MIN_IMGSZ, 1)
    heights = [h for found in _detect_all(detector, sampled) for h in _heights(found)]
    choice = size_rule(heights, frame_size, tiles_name=tiles_name, calibrate_name=calibrate_name)
    tall_enough = choice.people_sampled >= MIN_PEOPLE and choice.imgsz == MIN_IMGSZ
    if not tall_enough:
        detector = detector_at(PROBE_IMGSZ, 1)
        heights = [h for found in _detect_all(detector, sampled) for h in _heights(found)]
        choice = size_rule(heights, frame_size, tiles_name=tiles_name, calibrate_name=calibrate_name)
    seconds = round(time.perf_counter() - began, 3)
    cpu = round(time.process_time() - cpu_began, 3)
    return dataclasses.replace(choice, frames_sampled=len(sampled), seconds=seconds, cpu_seconds=cpu), detector


def choose_input_size(video: Path, detector_at: DetectorAt, *, frames: int | None = None) -> SizeChoice:
    """Sample frames of ``video``, detect at :data:`PROBE_IMGSZ`, and apply :func:`size_rule`.

    ``detector_at(imgsz, tiles)`` builds the detector ``process`` would use; only boxes with
    confidence >= ``FOUND_CONF`` count as people.
    """
    return probe_input_size(video, detector_at, frames=frames)[0]


def autosize_plan(
    plan: ProcessPlan, detector_factory: Callable[[ProcessPlan], Detector]
) -> tuple[ProcessPlan, SizeChoice, Detector | None]:
    """``plan`` with the input size the probe picks, the choice, and the probe's last detector when
    the run can reuse it (it is of the size chosen: no second model load)."""
    built: dict[int, tuple[int, int]] = {}  # id of each detector built -> its size

    def detector_at(imgsz: int, tiles: int) -> Detector:
        sized = plan.settings.model_copy(update={"imgsz": imgsz, "tiles": tiles})
        made = detector_factory(dataclasses.replace(plan, settings=sized))
        built[id(made)] = (imgsz, tiles)
        return made

    named = CallerNames(plan.names)
    choice, detector = probe_input_size(
        plan.video, detector_at, tiles_name=named("tiles"), calibrate_name=named("calibrate_camera")
    )
    reusable = detector if built.get(id(detector)) == (choice.imgsz, choice.tiles) else None
    return sized_by(plan, choice), choice, reusable


def sized_by(plan: ProcessPlan, choice: SizeChoice) -> ProcessPlan:
    """``plan`` at the input size ``choice`` gives, carrying the choice (its summary records it).

    Still an automatic size: the stored tracks and the ledger know it by the rule, not the answer.
    """
    chosen = plan.settings.model_copy(update={"imgsz": choice.imgsz, "tiles": choice.tiles})
    return dataclasses.replace(plan, settings=chosen, size_choice=choice.as_dict())
