"""Accuracy on variable-frame-rate versions of the clips: ``python benchmarks/accuracy_vfr.py``.

Many NVRs record fewer frames while little moves, or drop frames under load; the file then keeps
each frame's own timestamp. None of the shared clips is recorded that way, so this builds a
variable-rate version of each, re-encoded losslessly (H.264, ``-qp 0``) into Matroska with every
kept frame at its true time (``benchmarks/results/vfr/``): ``--pattern quarters`` keeps only every
4th frame of the second and fourth quarters (frames dropped while people walk, as under load),
``--pattern still`` every frame that moved and one a second of the rest (a recorder that lowers
its rate while nothing moves). Each is processed as ``retail-intel process``
processes a camera that does not give its ``fps``: the frames are timed by their timestamps.

Scored against the same truth as ``accuracy.py``, restricted to what the video still shows: the
MOT boxes of the kept frames (our frames mapped back to the clip's numbering), counts by the same
rules over those truth tracks or the hand counts, dwell by time. Beside each, the clip as
recorded (``accuracy.py``'s default row), so what dropping frames costs and what timing them costs
can be told apart; ``--without-clock`` tracks as before the tracker's clock (each frame one
interval), for comparison.

Usage: python benchmarks/accuracy_vfr.py [--clips NAME,...] [--pattern quarters|still] [--without-clock]
       [--fresh] [--json PATH]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))

import accuracy
import accuracy_cache

from retail_intel.accuracy.mot import read_mot, write_mot
from retail_intel.config.camera_settings import DEFAULTS
from retail_intel.movements.tracks import Track
from retail_intel.pipeline.frame_times import BY_TIMESTAMPS
from retail_intel.pipeline.plan import make_plan
from retail_intel.pipeline.run import process_video
from retail_intel.vision.motion import MotionGate
from retail_intel.vision.video import frame_stamps, probe, read_frames

OUT = accuracy.RESULTS / "vfr"
SPARSE_EVERY = 4  # a sparse quarter keeps every 4th frame


def kept_frames(video: Path, fps: float, frames: int, pattern: str) -> npt.NDArray[np.int64]:
    """The clip's frames a variable-rate version keeps.

    ``quarters``: every frame of quarters 1 and 3, every 4th of quarters 2 and 4 (frames dropped
    while people walk, as under load). ``still``: as a recorder that lowers its rate while nothing
    moves: every frame that changed from the one before (the motion gate's test, at its default
    threshold), and else one a second.
    """
    index = np.arange(frames)
    if pattern == "quarters":
        q = frames // 4
        sparse = ((index >= q) & (index < 2 * q)) | (index >= 3 * q)
        return index[~sparse | (index % SPARSE_EVERY == 0)]
    gate = MotionGate(float(DEFAULTS.motion_threshold or 0.0))
    kept: list[int] = []
    for i, frame in read_frames(video):
        moved = gate.should_detect(frame)  # against the last frame that moved
        gate.remember(frame)  # a recorder compares each frame with the one before
        if moved or not kept or i - kept[-1] >= round(fps):
            kept.append(i)
    return np.asarray(kept, dtype=np.int64)


def _select(kept: npt.NDArray[np.int64]) -> str:
    """An ffmpeg ``select`` filter keeping exactly the frames ``kept``, as runs of consecutive frames."""
    starts = np.flatnonzero(np.diff(kept, prepend=-2) != 1)
    ends = np.append(starts[1:], len(kept)) - 1
    terms = [f"between(n,{kept[a]},{kept[b]})" for a, b in zip(starts, ends, strict=True)]
    while len(terms) > 1:  # summed as a balanced tree: ffmpeg's parser recurses once per nested term
        terms = [f"({'+'.join(terms[i : i + 2])})" for i in range(0, len(terms), 2)]
    return f"select='{terms[0]}'"


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def build(
    clip: accuracy.Clip, fps: float, frames: int, pattern: str = "quarters"
) -> tuple[Path, npt.NDArray[np.int64]]:
    """The variable-rate Matroska file of ``clip`` (built once) and the clip frames it holds."""
    kept = kept_frames(clip.video, fps, frames, pattern)
    out = OUT / f"{clip.video.stem}-vfr{SPARSE_EVERY if pattern == 'quarters' else pattern}.mkv"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.stem + ".partial.mkv")
        # -r before -i: the clip's frames at its true rate (vtest.avi's header says 10 fps)
        command = [_ffmpeg(), "-y", "-loglevel", "error", "-r", f"{fps:g}", "-i", str(clip.video)]
        command += ["-vf", _select(kept), "-fps_mode", "passthrough", "-c:v", "libx264", "-qp", "0"]
        command += ["-preset", "ultrafast", str(partial)]
        subprocess.run(command, check=True)
        partial.replace(out)
    stamps = np.asarray(frame_stamps(out))
    if len(stamps) != len(kept) or np.abs(stamps - stamps[0] - kept / fps).max() > 0.5 / fps:
        raise SystemExit(f"{out}: expected {len(kept)} frames at the clip's times, got {len(stamps)}; delete it")
    return out, kept


def without_fps(config_dir: Path) -> Path:
    """A copy of the accuracy cameras without their ``fps``: the timestamps time the frames."""
    target = accuracy.scratch_dir("accuracy-vfr-config-")
    for path in config_dir.glob("*.yaml"):
        (target / path.name).write_text(re.sub(r"(?m)^\s+fps: .*\n", "", path.read_text()))
    return target


def on_clip_frames(people: list[Track], kept: npt.NDArray[np.int64]) -> list[Track]:
    """``people`` with their frames numbered as in the clip (their times already are)."""
    return [dataclasses.replace(p, frames=kept[p.frames]) for p in people]


def evaluate(clip: accuracy.Clip, *, fresh: bool, pattern: str = "quarters") -> list[accuracy.Row]:
    recorded_plan, size = accuracy.choose_size(make_plan(accuracy.clip_request(clip)), fresh=False)
    fps = recorded_plan.fps_override
    if fps is None:
        raise SystemExit(f"{clip.name}: its camera gives no fps to build the variable-rate version at")
    as_recorded = accuracy.evaluate_ours(clip)[0]
    as_recorded.method = f"as recorded, {probe(clip.video).frame_count} frames at {fps:g} fps"
    video, kept = build(clip, fps, probe(clip.video).frame_count, pattern)
    if len(kept) == probe(clip.video).frame_count:
        print(f"{clip.name}: every frame kept ({pattern}), nothing to compare", file=sys.stderr)
        return [as_recorded]
    work = accuracy.scratch_dir("accuracy-vfr-")
    gt = None
    if clip.gt is not None:
        boxes = read_mot(clip.gt)
        keep = np.isin(boxes.frame, kept)
        gt = work / "gt.txt"
        write_mot(
            dataclasses.replace(boxes, **{f.name: getattr(boxes, f.name)[keep] for f in dataclasses.fields(boxes)}), gt
        )
    vfr = dataclasses.replace(clip, video=video, gt=gt, config_dir=without_fps(clip.config_dir))
    plan = make_plan(accuracy.clip_request(vfr, prefix="accuracy-vfr-"))
    plan = plan.with_settings(imgsz=recorded_plan.detector.imgsz, tiles=recorded_plan.detector.tiles)
    cache, _ = accuracy_cache.ensure(plan, fresh=fresh)
    result = process_video(plan, detector_factory=lambda p: accuracy_cache.ReplayDetector(cache, p.detector.conf))
    if result.summary.frame_times != BY_TIMESTAMPS:
        raise SystemExit(f"{video}: timed by its {result.summary.frame_times}, not its timestamps")
    people = on_clip_frames(result.judgement.people, kept)
    # MOT boxes of the kept frames are numbered as in the clip; so are our people now
    scores, counts, dwell = accuracy.score(vfr, people, accuracy.rule_sets(vfr, plan), fps, plan.rules)
    how = f"every {SPARSE_EVERY}th in quarters 2 and 4" if pattern == "quarters" else "one a second while still"
    method = f"variable rate, {len(kept)} frames ({how})"
    row = accuracy.Row(clip.name, method, cache.pipeline_fps, 1000 * cache.cpu_per_frame, scores, counts, dwell)
    del size
    return [as_recorded, row]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", default=",".join(c.name for c in accuracy.CLIPS), help="clips, comma-separated")
    parser.add_argument("--pattern", choices=("quarters", "still"), default="quarters", help="which frames to keep")
    parser.add_argument(
        "--without-clock",
        action="store_true",
        help="the tracker takes each frame for one interval, as before the tracker's clock (for comparison)",
    )
    parser.add_argument("--fresh", action="store_true", help="run the detector again on the variable-rate files")
    parser.add_argument("--json", type=Path, default=accuracy.RESULTS / "accuracy-vfr.json")
    args = parser.parse_args()
    names = args.clips.split(",")
    if args.without_clock:
        from retail_intel.pipeline import frame_times

        frame_times.UnseenIntervals.before = lambda self, index: 0  # type: ignore[method-assign]
    rows = [
        row
        for clip in accuracy.CLIPS
        if clip.name in names
        for row in evaluate(clip, fresh=args.fresh, pattern=args.pattern)
    ]
    print(
        "\n\n".join(
            [
                "Tracking (MOT boxes of the frames each version holds):",
                accuracy.tracking_table(rows),
                "Counts pooled over every ROI and line, and dwell:",
                accuracy.summary_table(rows),
                "Counted / expected per ROI and line:",
                accuracy.counts_table(rows),
            ]
        )
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            [
                {
                    "clip": r.clip,
                    "method": r.method,
                    "scores": dataclasses.asdict(r.scores) if r.scores is not None else None,
                    "counts": [dataclasses.asdict(c) for c in r.counts],
                    "dwell_median_error": r.dwell.median_error if r.dwell is not None else None,
                    "dwell_total": [r.dwell.total_counted, r.dwell.total_true] if r.dwell is not None else None,
                }
                for r in rows
            ],
            indent=2,
            default=float,
        )
    )


if __name__ == "__main__":
    main()
