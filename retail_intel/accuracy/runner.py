"""``audit``: process a video as ``process`` would, then score its counts against a ground truth.

The video is processed into a scratch data directory, so an audit never adds
movements to the user's data. The truth is either a MOTChallenge ``gt.txt``
(boxes with identities: tracking scores too, and counts from the same rules
over the ground-truth tracks) or a CSV of hand counts per time slice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from retail_intel.accuracy.audit import (
    MeasureAudit,
    SliceCounts,
    TimeSlice,
    audit_measures,
    counts_per_slice,
    even_slices,
    event_times,
    read_hand_counts,
)
from retail_intel.accuracy.metrics import TrackingScores, score_tracking
from retail_intel.accuracy.mot import MotBoxes, boxes_to_tracks, read_mot, tracks_to_boxes
from retail_intel.errors import InputError
from retail_intel.naming import CallerNames
from retail_intel.pipeline import run as pipeline_run
from retail_intel.pipeline.plan import ProcessRequest, make_plan
from retail_intel.pipeline.run import count_video
from retail_intel.pipeline.video_tracks import DetectorFactory, ProgressFn
from retail_intel.vision.video import header_rate, probe

# Any fixed time will do: audit results never reach the data directory.
DEFAULT_MOT_SLICES = 10


@dataclass(frozen=True)
class AuditRun:
    """What the audited run counted (nothing is written)."""

    video: str
    model: str
    fps: float
    frames: int
    duration_s: float
    people: int
    entered: int
    passed: int
    line_in: int
    line_out: int


@dataclass(frozen=True)
class AuditReport:
    video: str
    truth: str
    truth_kind: str  # "mot" or "hand counts"
    run: AuditRun
    slices: list[SliceCounts]
    measures: list[MeasureAudit]
    level: float
    tracking: TrackingScores | None = None


def truth_kind(path: Path) -> str:
    """``mot`` for a MOTChallenge ``.txt``, ``hand counts`` for a ``.csv``."""
    if path.is_dir():
        # a sequence's folder (SEQ/gt.txt, or SEQ/gt/gt.txt as MOTChallenge ships it) was called "a bare file"
        inside = next((p for p in (path / "gt.txt", path / "gt" / "gt.txt") if p.is_file()), None)
        raise InputError(
            f"{path}: a folder; expected a MOTChallenge gt.txt or a CSV of hand counts"
            + (f" (this folder has {inside})" if inside is not None else "")
        )
    suffix = path.suffix.lower()
    if suffix == ".txt":
        return "mot"
    if suffix == ".csv":
        return "hand counts"
    raise InputError(
        f"{path}: expected a MOTChallenge gt.txt (.txt) or a CSV of hand counts (.csv), got a {suffix or 'bare'} file"
    )


def audit_video(
    request: ProcessRequest,
    truth: Path,
    *,
    slice_s: float | None = None,
    level: float = 0.95,
    detector_factory: DetectorFactory | None = None,
    progress: ProgressFn | None = None,
    names: Mapping[str, str] | None = None,
) -> AuditReport:
    """Process ``request.video`` with the camera's settings and compare its counts with ``truth``.

    ``slice_s`` cuts a MOTChallenge truth into slices of that many seconds
    (default: :data:`DEFAULT_MOT_SLICES` equal slices); hand counts bring their own slices.
    ``detector_factory`` defaults to the one ``process`` uses. ``names`` say what the caller calls
    ``slice_s`` and the ``line`` and ``fps`` settings in messages (its flags: ``{"slice_s": "--slice"}``);
    one left out is named as it is here.
    """
    named = CallerNames(names)
    kind = truth_kind(truth)
    if slice_s is not None and kind == "hand counts":
        # hand counts bring their own slices (one per counted clip): a slice length would be ignored
        # without a word, and the interval be over the clips all the same
        raise InputError(
            f"{named('slice_s')} {slice_s:g}s: cuts a MOTChallenge gt.txt into slices, but {truth} "
            f"is hand counts, whose rows are the slices; leave {named('slice_s')} out"
        )
    hand = read_hand_counts(truth) if kind == "hand counts" else None
    gt = read_mot(truth) if kind == "mot" else None
    plan = make_plan(request)
    if hand is not None and plan.rules.line is None and any(m.startswith("line_") for _, e in hand for m in e):
        # checked before the run, which may take as long as the video
        raise InputError(
            f"{truth}: has line counts but camera {plan.camera_id} has no counting line; "
            f"add a line to the camera (or pass {named('line')}) or drop the line_in/line_out columns"
        )
    if hand is not None:
        # counts of another (longer) video: told before the run, by the header's length; checked again after it.
        # With room: a variable frame rate's header length is its frames over an average that may be off
        # (39.3 s for 41.7), and the run times the frames by their timestamps.
        info = probe(request.video)
        rate = plan.fps_override or header_rate(info, f"pass {named('fps')} with the rate the camera records at")
        if info.frame_count:
            length = info.frame_count / rate
            _check_slices_within([s for s, _ in hand], length, truth, limit_s=length * HEADER_LENGTH_ROOM + 1.0)
    if gt is not None:
        # the gt.txt of another (longer) video: told before the run, by the header's frame count (with room)
        info = probe(request.video)
        if info.frame_count:
            _check_truth_frames(gt, info.frame_count, truth, limit=int(info.frame_count * HEADER_LENGTH_ROOM) + 1)
    factory = detector_factory or pipeline_run.default_detector_factory
    video_tracks, judgement = count_video(plan, detector_factory=factory, progress=progress)
    if gt is not None:
        _check_truth_frames(gt, video_tracks.frames, truth)
    duration_s = video_tracks.duration_s
    people = judgement.people
    ours = event_times(people, plan.rules)
    tracking: TrackingScores | None = None
    if gt is not None:
        fps = video_tracks.fps
        duration = duration_s
        slices = even_slices(duration, slice_s or duration / DEFAULT_MOT_SLICES)
        truth_tracks = boxes_to_tracks(gt, fps, video_tracks.frame_t)
        expected = counts_per_slice(event_times(truth_tracks, plan.rules), slices)
        if plan.rules.line is None:
            expected = [{m: v for m, v in e.items() if not m.startswith("line_")} for e in expected]
        # A fixed stride gives our tracks a position only on every stride-th frame (the loop's
        # index % stride == 0): scored on every frame, each true box in between counted as missed
        # (MOTA 0.41 for 0.80 on TUD-Campus at stride 2); so score the frames the detector ran on
        scored = gt if plan.stride == 1 else gt.select(gt.frame % plan.stride == 0)
        tracking = score_tracking(scored, tracks_to_boxes(people))
    else:
        assert hand is not None
        slices = [s for s, _ in hand]
        expected = [c for _, c in hand]
        _check_slices_within(slices, duration_s, truth)
    counted = counts_per_slice(ours, slices)
    pairs = [SliceCounts(s, e, c) for s, e, c in zip(slices, expected, counted, strict=True)]
    return AuditReport(
        video=str(request.video),
        truth=str(truth),
        truth_kind=kind,
        run=AuditRun(
            video=str(request.video),
            model=video_tracks.model,
            fps=video_tracks.fps,
            frames=video_tracks.frames,
            duration_s=duration_s,
            **{k: judgement.counts[k] for k in ("people", "entered", "passed", "line_in", "line_out")},
        ),
        slices=pairs,
        measures=audit_measures(pairs, level=level),
        level=level,
        tracking=tracking,
    )


# How much longer than its header says a video may turn out (audit_video's check before the run)
HEADER_LENGTH_ROOM = 1.1


def _check_slices_within(slices: list[TimeSlice], duration_s: float, path: Path, limit_s: float | None = None) -> None:
    """:class:`InputError` for a slice starting at ``limit_s`` or later (default: ``duration_s``)."""
    late = [s for s in slices if s.start_s >= (duration_s if limit_s is None else limit_s)]
    if late:
        raise InputError(
            f"{path}: slice {late[0].start_s:g}-{late[0].end_s:g} s starts after the video ends "
            f"({duration_s:.1f} s at the camera's frame rate); are the times from the start of this video?"
        )


def _check_truth_frames(gt: MotBoxes, frames: int, path: Path, limit: int | None = None) -> None:
    """:class:`InputError` for ground-truth boxes on frames the video does not have (``limit``: its header's, with room).

    The counts compare only the slices the video covers, but the tracking scores would count every
    true box past its end as missed: MOTA near 0 for a truth of a longer video, with no word why.
    """
    last = int(gt.frame.max()) + 1 if len(gt) else 0  # 1-based, as gt.txt numbers it
    if last > (frames if limit is None else limit):
        raise InputError(
            f"{path}: has boxes up to frame {last}, but the video has {frames} frames; "
            "is this the ground truth of this video (cut to the same frames)?"
        )
