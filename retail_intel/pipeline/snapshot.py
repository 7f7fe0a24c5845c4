"""One frame with a coordinate grid, for drawing an ROI."""

from __future__ import annotations

from pathlib import Path

from retail_intel.movements.classify import CountingRules
from retail_intel.movements.geometry import parse_rect
from retail_intel.vision.annotate import grid_snapshot, write_image
from retail_intel.vision.video import probe, read_frame_at


def take_snapshot(
    video: Path, at_s: float, output: Path, *, fps: float | None, grid: int, roi: str | None
) -> tuple[Path, int, tuple[int, int]]:
    """Write the frame at ``at_s`` seconds with a grid; returns (path, frame index, (width, height))."""
    info = probe(video)
    rate = fps or info.header_fps or 25.0
    index, frame = read_frame_at(video, at_s, rate)
    rules = CountingRules(parse_rect(roi)) if roi else None
    if rules is not None:
        rules.roi.check_inside_frame(info.width, info.height)
    path = write_image(output, grid_snapshot(frame, grid, rules))
    return path, index, (info.width, info.height)
