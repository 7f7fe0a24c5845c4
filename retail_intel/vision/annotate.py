"""Annotated output video and the ROI-drawing snapshot, so counts can be checked by eye."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from retail_intel.errors import InputError
from retail_intel.movements.classify import CountingRules
from retail_intel.movements.geometry import Polygon
from retail_intel.movements.zones import ZoneSpec
from retail_intel.storage import atomic_write_bytes
from retail_intel.vision.detections import Detections
from retail_intel.vision.video import Frame

ROI_COLOUR = (0, 200, 255)
PASSBY_COLOUR = (255, 160, 0)
LINE_COLOUR = (255, 0, 255)
INSIDE_COLOUR = (0, 220, 0)
OUTSIDE_COLOUR = (200, 200, 200)


def _poly(frame: Frame, polygon: Polygon, colour: tuple[int, int, int]) -> None:
    pts = np.asarray(polygon.points, dtype=np.int32).reshape(-1, 1, 2)
    cv2.polylines(frame, [pts], isClosed=True, color=colour, thickness=2)


def draw_regions(frame: Frame, rules: CountingRules) -> None:
    _poly(frame, rules.roi, ROI_COLOUR)
    if rules.passby_zone is not None:
        _poly(frame, rules.passby_zone, PASSBY_COLOUR)
    if rules.line is not None:
        a = tuple(int(v) for v in rules.line.start)
        b = tuple(int(v) for v in rules.line.end)
        cv2.arrowedLine(frame, a, b, LINE_COLOUR, 2, tipLength=0.03)


def running_label(t: float, inside_now: int, ids_inside: int) -> str:
    """The overlay's top line. Tracker ids are counted before stitching joins broken tracks, so the
    running figure is labelled as raw: it is not the people count of the run summary (often far lower)."""
    return f"t={t:6.1f}s  inside now: {inside_now}  raw track ids in ROI: {ids_inside} (before stitching)"


class VideoAnnotator:
    """Writes boxes, ids, the regions and running counts; the file appears only when complete."""

    def __init__(
        self,
        path: Path,
        width: int,
        height: int,
        fps: float,
        rules: CountingRules,
        *,
        source: Path | None = None,
        name: str = "save_video",
    ) -> None:
        # ``name``: what the caller calls ``path`` in messages (its flag: --save-video)
        if path.suffix.lower() not in (".mp4", ".avi", ".mkv", ".mov"):
            raise InputError(f"{name}: expected a .mp4/.avi/.mkv/.mov file name, got {path.name}")
        if source is not None and _same_file(path, source):
            # the annotated video replaces its target when complete: that would be the recording itself
            raise InputError(
                f"{name} {path}: that is the video being processed; name another file for the annotated copy"
            )
        if path.is_dir():
            # found out only when the finished copy was moved there: after the whole run, its data written
            raise InputError(f"{name} {path}: that is a folder; name a video file (e.g. {path / 'annotated.mp4'})")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{name} {path}: cannot make its folder {path.parent} ({exc.strerror or exc})") from None
        self._final = path
        self._tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
        fourcc = cv2.VideoWriter.fourcc(*("mp4v" if path.suffix.lower() in (".mp4", ".mov") else "MJPG"))
        self._writer = cv2.VideoWriter(str(self._tmp), fourcc, fps, (width, height))
        if not self._writer.isOpened():
            raise InputError(f"{name}: cannot write {path}")
        self._rules = rules
        self._seen_inside: set[int] = set()

    def write(self, frame: Frame, t: float, tracked: Detections | None) -> None:
        canvas = frame.copy()
        draw_regions(canvas, self._rules)
        inside_now = 0
        if tracked is not None and tracked.tracker_id is not None and len(tracked):
            feet_x = (tracked.xyxy[:, 0] + tracked.xyxy[:, 2]) / 2
            feet_y = tracked.xyxy[:, 3]
            inside = self._rules.roi.contains(feet_x.astype(np.float64), feet_y.astype(np.float64))
            for tid, box, ins in zip(tracked.tracker_id.tolist(), tracked.xyxy.tolist(), inside.tolist(), strict=True):
                colour = INSIDE_COLOUR if ins else OUTSIDE_COLOUR
                x1, y1, x2, y2 = (int(v) for v in box)
                cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, 2)
                cv2.putText(canvas, f"#{tid}", (x1, max(12, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1)
                cv2.circle(canvas, ((x1 + x2) // 2, y2), 3, colour, -1)
                if ins:
                    inside_now += 1
                    self._seen_inside.add(tid)
        label = running_label(t, inside_now, len(self._seen_inside))
        cv2.rectangle(canvas, (0, 0), (canvas.shape[1], 24), (0, 0, 0), -1)
        cv2.putText(canvas, label, (6, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1)
        self._writer.write(canvas)

    def close(self) -> None:
        self._writer.release()
        os.replace(self._tmp, self._final)

    def abort(self) -> None:
        self._writer.release()
        self._tmp.unlink(missing_ok=True)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:  # one of them does not exist (yet)
        return a.resolve() == b.resolve()


# zone kind -> BGR colour of its outline and shading
ZONE_COLOURS = {"area": (80, 200, 80), "queue": (0, 140, 255), "service": (230, 90, 60), "staff": (170, 170, 170)}


def draw_zones(frame: Frame, zones: Sequence[ZoneSpec]) -> None:
    """Each zone lightly shaded and outlined in its kind's colour, with its id at its top-left corner."""
    if not zones:
        return
    overlay = frame.copy()
    for zone in zones:
        pts = np.asarray(zone.polygon.points, dtype=np.int32).reshape(-1, 1, 2)
        cv2.fillPoly(overlay, [pts], ZONE_COLOURS.get(zone.kind, (255, 255, 255)))
    cv2.addWeighted(overlay, 0.25, frame, 0.75, 0, frame)
    for zone in zones:
        colour = ZONE_COLOURS.get(zone.kind, (255, 255, 255))
        _poly(frame, zone.polygon, colour)
        x1, y1, _, _ = zone.polygon.bounds()
        label = zone.id if zone.kind == "area" else f"{zone.id} ({zone.kind})"
        cv2.putText(frame, label, (int(x1) + 4, int(y1) + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)


def grid_snapshot(
    frame: Frame, step: int = 50, rules: CountingRules | None = None, zones: Sequence[ZoneSpec] = ()
) -> Frame:
    """The frame with a labelled coordinate grid (and regions and zones, if given) for drawing an ROI."""
    canvas = frame.copy()
    height, width = canvas.shape[:2]
    overlay = canvas.copy()
    for x in range(0, width, step):
        cv2.line(overlay, (x, 0), (x, height), (255, 255, 255), 1)
    for y in range(0, height, step):
        cv2.line(overlay, (0, y), (width, y), (255, 255, 255), 1)
    cv2.addWeighted(overlay, 0.35, canvas, 0.65, 0, canvas)
    for x in range(0, width, step * 2):
        cv2.putText(canvas, str(x), (x + 2, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 255), 1)
    for y in range(step * 2, height, step * 2):
        cv2.putText(canvas, str(y), (2, y - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 255), 1)
    draw_zones(canvas, zones)
    if rules is not None:
        draw_regions(canvas, rules)
    return canvas


def write_image(path: Path, image: Frame) -> Path:
    if path.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise InputError(f"-o: expected a .png or .jpg file name, got {path.name}")
    try:
        ok, encoded = cv2.imencode(path.suffix.lower(), image)
    except cv2.error as exc:
        raise InputError(f"cannot encode image {path}: {exc}") from exc
    if not ok:
        raise InputError(f"cannot encode image {path}")
    # written through a temporary file of this writer's own: two files of one camera processed at
    # once (a batch's workers) both write the camera's frame, and neither may lose its rename
    return atomic_write_bytes(encoded.tobytes(), path)
