"""The frame loop's settings from a resolved plan, and the edges adaptive stride watches."""

from __future__ import annotations

from retail_intel.movements.adaptive_stride import Edges
from retail_intel.movements.geometry import Polygon
from retail_intel.pipeline.loop import LoopSettings
from retail_intel.pipeline.plan import ProcessPlan


def watched_edges(plan: ProcessPlan) -> Edges:
    """Every edge judging reads: the ROI, the pass-by zone, the counting line and each named zone."""
    rules = plan.rules
    polygons: list[Polygon] = [rules.roi]
    if rules.passby_zone is not None:
        polygons.append(rules.passby_zone)
    polygons.extend(zone.polygon for zone in plan.zones)
    return Edges.of(polygons, [rules.line] if rules.line is not None else [])


def loop_settings(plan: ProcessPlan, fps: float) -> LoopSettings:
    """What :class:`~retail_intel.pipeline.loop.FrameLoop` needs of ``plan``, at the video's true ``fps``."""
    adaptive = plan.settings.adaptive_stride or 1
    return LoopSettings(
        plan.stride,
        plan.motion_threshold,
        plan.tracker,
        fps,
        adaptive_stride=adaptive,
        edges=watched_edges(plan) if adaptive > 1 else None,
    )
