"""Tracking and count accuracy on real footage with ground truth: ``nox -s accuracy``.

For each clip in ``../shared/data`` with a MOTChallenge ``gt.txt`` (PETS09-S2L1, TUD-Stadtmitte):

1. run ``process_video`` exactly as ``retail-intel process`` does, with the camera's settings from
   its config (PETS09-S2L1: the sample config's ``b1``/``vtest``; TUD-Stadtmitte:
   ``benchmarks/accuracy_config``). The first run is real and its detections are recorded under
   ``benchmarks/results/detections`` (see ``accuracy_cache.py``); reruns replay them in seconds;
2. score the stitched people (one box per person per frame) against the ground truth: MOTA, IDF1,
   HOTA; and the same detections without stitching, for comparison;
3. count ``people``, ``entered``/``passed`` and line crossings per direction for several ROIs and
   lines, the expected counts coming from the same rules over the ground-truth tracks;
4. with ``--anchor``, do the same for Ultralytics' own loop (``model.track``, ByteTrack defaults).

Speed (fps) is frames per second of the real run, whole pipeline (decode, detect, track, stitch,
write); ``--fresh`` runs the model again.

Usage: python benchmarks/accuracy.py [--anchor] [--fresh] [--update-docs] [--json PATH]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import accuracy_cache
from accuracy_anchor import anchor_run

from retail_intel.accuracy.counts import CountComparison, compare_counts
from retail_intel.accuracy.metrics import TrackingScores, score_tracking
from retail_intel.accuracy.mot import boxes_to_tracks, read_mot, tracks_to_boxes
from retail_intel.movements.classify import CountingRules
from retail_intel.movements.geometry import CountingLine, Polygon
from retail_intel.movements.stitch import StitchSettings
from retail_intel.pipeline.plan import ProcessPlan, ProcessRequest, make_plan
from retail_intel.pipeline.run import process_video

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "accuracy.md"
DOC_BEGIN, DOC_END = "<!-- accuracy-table:begin -->", "<!-- accuracy-table:end -->"
START = dt.datetime(2026, 2, 8, 10, 0, tzinfo=dt.UTC)


def rect(x1: float, y1: float, x2: float, y2: float) -> Polygon:
    return Polygon.from_rect(x1, y1, x2, y2)


@dataclass(frozen=True)
class Clip:
    """A ground-truth clip and the camera (config dir, branch, camera id) that processes it."""

    name: str
    video: Path
    gt: Path
    config_dir: Path
    branch: str
    camera: str
    # more ROIs and lines to count with, besides the camera's own (name -> rules)
    extra_rules: dict[str, CountingRules] = field(default_factory=dict)
    anchor_sizes: tuple[int, ...] = (640,)


CLIPS = (
    Clip(
        name="PETS09-S2L1",
        video=DATA / "PETS09-S2L1" / "vtest.avi",
        gt=DATA / "PETS09-S2L1" / "gt.txt",
        config_dir=ROOT / "config",
        branch="b1",
        camera="vtest",
        extra_rules={
            "west": CountingRules(rect(0, 180, 300, 420), 3.0, line=CountingLine((250, 150), (250, 450), "left", 10)),
            "south": CountingRules(
                Polygon(((300, 300), (768, 300), (768, 576), (300, 576))),
                5.0,
                line=CountingLine((300, 300), (768, 300), "left", 10),
            ),
            "east-door": CountingRules(
                rect(600, 150, 768, 450), 2.0, line=CountingLine((650, 150), (650, 450), "right", 10)
            ),
        },
        anchor_sizes=(640, 960, 1280),
    ),
    Clip(
        name="TUD-Stadtmitte",
        video=DATA / "TUD-Stadtmitte" / "TUD-Stadtmitte.mp4",
        gt=DATA / "TUD-Stadtmitte" / "gt.txt",
        config_dir=ROOT / "benchmarks" / "accuracy_config",
        branch="bench",
        camera="tud-stadtmitte",
        extra_rules={
            "east": CountingRules(rect(400, 200, 640, 400), 1.0, line=CountingLine((450, 180), (450, 420), "left", 10)),
            "west": CountingRules(rect(0, 200, 320, 400), 1.0, line=CountingLine((250, 180), (250, 420), "right", 10)),
        },
        anchor_sizes=(640,),
    ),
)


@dataclass
class Row:
    """One line of the results table."""

    clip: str
    method: str
    fps: float  # wall-clock frames per second of the whole run
    cpu_ms: float  # CPU milliseconds per frame, all threads: comparable on a busy machine
    scores: TrackingScores
    counts: list[CountComparison]

    def count(self, rules: str, measure: str) -> CountComparison:
        return next(c for c in self.counts if c.rules == rules and c.measure == measure)


def rule_sets(clip: Clip, plan: ProcessPlan) -> dict[str, CountingRules]:
    return {"camera": plan.rules, **clip.extra_rules}


def evaluate_ours(clip: Clip, *, fresh: bool = False, cache_dir: Path = accuracy_cache.CACHE_DIR) -> list[Row]:
    """Our pipeline on ``clip`` with its camera's settings: as ``process`` runs it, and without stitching."""
    request = ProcessRequest(
        video=clip.video,
        branch=clip.branch,
        data_dir=Path(tempfile.mkdtemp(prefix="accuracy-")),
        config_dir=clip.config_dir,
        camera=clip.camera,
        start_time=START,
    )
    plan = make_plan(request)
    cache, recorded = accuracy_cache.ensure(plan, fresh=fresh, cache_dir=cache_dir)

    def replay(p: ProcessPlan) -> accuracy_cache.ReplayDetector:
        return accuracy_cache.ReplayDetector(cache, p.detector.conf)

    result = recorded or process_video(plan, detector_factory=replay)
    gt = read_mot(clip.gt)
    truth = boxes_to_tracks(gt, result.summary.fps)
    rules = rule_sets(clip, plan)
    spec = plan.detector
    label = f"ours: imgsz {spec.imgsz}" + (f", {spec.tiles}x{spec.tiles} tiles" if spec.tiles > 1 else "")
    rows = []
    # The same detections without stitching (each tracker fragment one person): what stitching adds.
    unstitched = dataclasses.replace(
        plan,
        stitch=StitchSettings(max_gap_s=0.0, still_gap_s=0.0, fill_gap_s=0.0),
        data_dir=Path(tempfile.mkdtemp(prefix="accuracy-")),
    )
    for method, people in (
        (label, result.judgement.people),
        (label + ", no stitching", process_video(unstitched, detector_factory=replay).judgement.people),
    ):
        scores = score_tracking(gt, tracks_to_boxes(people))
        counts = compare_counts(people, truth, rules)
        rows.append(Row(clip.name, method, cache.pipeline_fps, 1000 * cache.cpu_per_frame, scores, counts))
    return rows


def evaluate_anchor(clip: Clip, imgsz: int, fps_video: float, rules: dict[str, CountingRules]) -> Row:
    run = anchor_run(clip.video, imgsz, fps_video)
    gt = read_mot(clip.gt)
    truth = boxes_to_tracks(gt, fps_video)
    return Row(
        clip.name,
        f"Ultralytics model.track, imgsz {imgsz}",
        run.fps,
        1000 * run.cpu_seconds / run.frames,
        score_tracking(gt, tracks_to_boxes(run.tracks)),
        compare_counts(run.tracks, truth, rules),
    )


def _acc(c: CountComparison) -> str:
    return f"{c.counted}/{c.expected}"


def tracking_table(rows: Sequence[Row]) -> str:
    head = (
        "| clip | method | MOTA | IDF1 | HOTA | recall | precision | ID switches | predicted ids "
        "| people counted (truth) | fps | CPU ms/frame |\n|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for r in rows:
        s = r.scores
        people = r.count("all", "people")
        lines.append(
            f"| {r.clip} | {r.method} | {s.mota:.3f} | {s.idf1:.3f} | {s.hota:.3f} | {s.recall:.3f} | "
            f"{s.precision:.3f} | {s.id_switches} | {s.predicted_ids} | {people.counted} ({people.expected}) | {r.fps:.1f} "
            f"| {r.cpu_ms:.0f} |"
        )
    return "\n".join(lines)


def counts_table(rows: Sequence[Row]) -> str:
    """Counted/expected per rule set and measure, with the count accuracy over all of them."""
    lines = [
        "| clip | method | rules | entered | passed | line in | line out | count accuracy |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        for rules in dict.fromkeys(c.rules for c in r.counts if c.rules != "all"):
            cells = []
            measured = [c for c in r.counts if c.rules == rules]
            for measure in ("entered", "passed", "line_in", "line_out"):
                hit = [c for c in measured if c.measure == measure]
                cells.append(_acc(hit[0]) if hit else "-")
            expected = sum(c.expected for c in measured)
            errors = sum(abs(c.error) for c in measured)
            overall = 1 - errors / expected if expected else 1.0
            lines.append(f"| {r.clip} | {r.method} | {rules} | " + " | ".join(cells) + f" | {overall:.0%} |")
    return "\n".join(lines)


def summary_table(rows: Sequence[Row]) -> str:
    """One line per method: count accuracy pooled over every rule set and measure of the clip."""
    lines = [
        "| clip | method | people | entered+passed accuracy | line crossings accuracy | all counts accuracy |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:

        def pooled(measures: tuple[str, ...], r: Row = r) -> str:
            picked = [c for c in r.counts if c.measure in measures and c.rules != "all"]
            expected = sum(c.expected for c in picked)
            return f"{1 - sum(abs(c.error) for c in picked) / expected:.0%}" if expected else "-"

        people = r.count("all", "people")
        lines.append(
            f"| {r.clip} | {r.method} | {people.counted}/{people.expected} | {pooled(('entered', 'passed'))} | "
            f"{pooled(('line_in', 'line_out'))} | {pooled(('entered', 'passed', 'line_in', 'line_out'))} |"
        )
    return "\n".join(lines)


def report(rows: Sequence[Row]) -> str:
    return "\n\n".join(
        [
            "Tracking (MOTChallenge ground truth, IoU 0.5; ours = stitched people as written to the movements):",
            tracking_table(rows),
            "Count accuracy pooled over every ROI and line (1 - sum of |errors| / sum of true counts):",
            summary_table(rows),
            "Counted / expected per ROI and line (expected: the same rules over the ground-truth tracks):",
            counts_table(rows),
        ]
    )


def update_docs(text: str, doc: Path = DOC) -> None:
    current = doc.read_text()
    if DOC_BEGIN not in current or DOC_END not in current:
        raise SystemExit(f"{doc}: no {DOC_BEGIN} ... {DOC_END} block to replace")
    head, _, rest = current.partition(DOC_BEGIN)
    _, _, tail = rest.partition(DOC_END)
    doc.write_text(f"{head}{DOC_BEGIN}\n{text}\n{DOC_END}{tail}")


def run(*, anchor: bool, fresh: bool) -> list[Row]:
    rows: list[Row] = []
    for clip in CLIPS:
        if not clip.video.exists() or not clip.gt.exists():
            print(f"skipping {clip.name}: {clip.video} or {clip.gt} missing", file=sys.stderr)
            continue
        ours = evaluate_ours(clip, fresh=fresh)
        rows.extend(ours)
        if anchor:
            plan = make_plan(
                ProcessRequest(clip.video, clip.branch, RESULTS, config_dir=clip.config_dir, camera=clip.camera)
            )
            fps_video = plan.fps_override or 0.0
            if not fps_video:
                from retail_intel.vision.video import probe

                fps_video = probe(clip.video).header_fps
            rows.extend(evaluate_anchor(clip, size, fps_video, rule_sets(clip, plan)) for size in clip.anchor_sizes)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--anchor", action="store_true", help="also run and score Ultralytics' model.track loop")
    parser.add_argument("--fresh", action="store_true", help="re-run the detector even if detections are cached")
    parser.add_argument("--update-docs", action="store_true", help=f"write the tables into {DOC.relative_to(ROOT)}")
    parser.add_argument("--json", type=Path, default=RESULTS / "accuracy.json", help="where to write the raw figures")
    args = parser.parse_args()
    rows = run(anchor=args.anchor, fresh=args.fresh)
    text = report(rows)
    print(text)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            [
                {
                    "clip": r.clip,
                    "method": r.method,
                    "fps": round(r.fps, 2),
                    "cpu_ms_per_frame": round(r.cpu_ms, 1),
                    "scores": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(r.scores).items()},
                    "counts": [{**asdict(c), "accuracy": round(c.accuracy, 4)} for c in r.counts],
                }
                for r in rows
            ],
            indent=2,
        )
    )
    if args.update_docs:
        update_docs(text)


if __name__ == "__main__":
    main()
