"""Tracking and count accuracy on real footage with ground truth: ``nox -s accuracy``.

For each clip in ``../shared/data`` (PETS09-S2L1, TUD-Stadtmitte, TUD-Campus with MOTChallenge
``gt.txt``; intel-one-by-one with the hand-counted truth in ``benchmarks/truth``):

1. run ``process_video`` exactly as ``retail-intel process`` does, with the defaults and only what a
   user must say about the camera (ROI, line, min_dwell, true fps: ``benchmarks/accuracy_config``).
   The input size is chosen automatically from the video, as ``process`` does (the choice is
   cached under ``benchmarks/results/autosize``). The first run is real and its detections are
   recorded under ``benchmarks/results/detections`` (see ``accuracy_cache.py``); reruns replay
   them in seconds;
2. score the stitched people (one box per person per frame) against the ground truth: MOTA, IDF1,
   HOTA; and the same detections without stitching, for comparison;
3. count ``people``, ``entered``/``passed`` and line crossings per direction for several ROIs and
   lines, the expected counts coming from the same rules over the ground-truth tracks, or from the
   hand counts in ``benchmarks/truth/counts.csv`` where given;
4. compare each true visitor's dwell with the dwell of the person we matched to them
   (``retail_intel.accuracy.dwell``): median per-person error and error of the total;
5. with ``--anchor``, do the same for Ultralytics' own loop (``model.track``, ByteTrack defaults).

Speed (fps) is frames per second of the real run, whole pipeline (decode, detect, track, stitch,
write); ``--fresh`` runs the model again.

Usage: python benchmarks/accuracy.py [--anchor] [--fresh] [--update-docs] [--json PATH] [--variant NAME]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime as dt
import json
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import accuracy_cache
from accuracy_anchor import anchor_run

from retail_intel.accuracy.counts import MEASURES, CountComparison, compare_counts, count_events
from retail_intel.accuracy.dwell import DwellSummary, dwell_errors_from_tracks, dwell_errors_from_visits, read_visits
from retail_intel.accuracy.metrics import TrackingScores, score_tracking
from retail_intel.accuracy.mot import boxes_to_tracks, read_mot, tracks_to_boxes
from retail_intel.movements.classify import CountingRules
from retail_intel.movements.geometry import CountingLine, Polygon
from retail_intel.movements.stitch import StitchSettings
from retail_intel.movements.tracks import Track
from retail_intel.pipeline.autosize import SizeChoice, autosize_plan
from retail_intel.pipeline.plan import ProcessPlan, ProcessRequest, make_plan
from retail_intel.pipeline.run import default_detector_factory, process_video
from retail_intel.vision.video import fingerprint

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "accuracy.md"
CONFIG = ROOT / "benchmarks" / "accuracy_config"
TRUTH = ROOT / "benchmarks" / "truth"
AUTOSIZE_DIR = RESULTS / "autosize"
DOC_BEGIN, DOC_END = "<!-- accuracy-table:begin -->", "<!-- accuracy-table:end -->"
START = dt.datetime(2026, 2, 8, 10, 0, tzinfo=dt.UTC)


def rect(x1: float, y1: float, x2: float, y2: float) -> Polygon:
    return Polygon.from_rect(x1, y1, x2, y2)


@dataclass(frozen=True)
class Clip:
    """A clip, its truth (``gt.txt`` boxes and/or hand counts) and the camera that processes it."""

    name: str
    video: Path
    gt: Path | None
    camera: str
    # more ROIs and lines to count with, besides the camera's own (name -> rules)
    extra_rules: dict[str, CountingRules] = field(default_factory=dict)
    anchor_sizes: tuple[int, ...] = (640,)
    visits: Path | None = None  # hand-counted enter/exit times per person (dwell truth without boxes)
    config_dir: Path = CONFIG
    branch: str = "bench"


CLIPS = (
    Clip(
        name="PETS09-S2L1",
        video=DATA / "PETS09-S2L1" / "vtest.avi",
        gt=DATA / "PETS09-S2L1" / "gt.txt",
        camera="pets09",
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
        camera="tud-stadtmitte",
        extra_rules={
            "east": CountingRules(rect(400, 200, 640, 400), 1.0, line=CountingLine((450, 180), (450, 420), "left", 10)),
            "west": CountingRules(rect(0, 200, 320, 400), 1.0, line=CountingLine((250, 180), (250, 420), "right", 10)),
        },
    ),
    Clip(
        name="TUD-Campus",
        video=DATA / "TUD-Campus" / "TUD-Campus.mp4",
        gt=DATA / "TUD-Campus" / "gt.txt",
        camera="tud-campus",
    ),
    Clip(
        name="intel-one-by-one",
        video=DATA / "intel-one-by-one" / "one-by-one-person-detection.mp4",
        gt=None,
        camera="intel-one-by-one",
        visits=TRUTH / "intel-one-by-one-visits.csv",
    ),
)


def hand_counts(path: Path = TRUTH / "counts.csv") -> dict[tuple[str, str], dict[str, int]]:
    """(clip, rules) -> {measure: count} from the hand-counted truth (empty cells: not counted)."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = [line for line in handle if line.strip() and not line.startswith("#")]
    return {
        (row["clip"], row["rules"]): {m: int(row[m]) for m in MEASURES if row.get(m, "").strip()}
        for row in csv.DictReader(rows)
    }


@dataclass
class Row:
    """One line of the results table."""

    clip: str
    method: str
    fps: float  # wall-clock frames per second of the whole run
    cpu_ms: float  # CPU milliseconds per frame, all threads: comparable on a busy machine
    scores: TrackingScores | None  # None without ground-truth boxes
    counts: list[CountComparison]
    dwell: DwellSummary | None = None
    size: SizeChoice | None = None  # the automatic input size choice (None when set by config)
    run_cpu_seconds: float = 0.0  # CPU seconds (all threads) of the recorded real run
    detected_share: float | None = None  # share of frames the detector ran on (the rest: still or skipped)

    def count(self, rules: str, measure: str) -> CountComparison:
        return next(c for c in self.counts if c.rules == rules and c.measure == measure)


HAND_COUNTS = hand_counts()


def rule_sets(clip: Clip, plan: ProcessPlan) -> dict[str, CountingRules]:
    """The camera's rules and the clip's extra ones; the extra lines confirm crossings as the camera's does."""
    line = plan.rules.line
    extra = {
        name: (
            dataclasses.replace(r, line=dataclasses.replace(r.line, confirm_samples=line.confirm_samples))
            if r.line is not None and line is not None
            else r
        )
        for name, r in clip.extra_rules.items()
    }
    return {"camera": plan.rules, **extra}


def _confirm_samples(n: int) -> Callable[[ProcessPlan], ProcessPlan]:
    # a judging constant (not a camera setting): the same tracks, crossings confirmed by n samples
    def change(p: ProcessPlan) -> ProcessPlan:
        line = p.rules.line
        if line is None:
            return p
        return dataclasses.replace(
            p, rules=dataclasses.replace(p.rules, line=dataclasses.replace(line, confirm_samples=n))
        )

    return change


def choose_size(plan: ProcessPlan, *, fresh: bool) -> tuple[ProcessPlan, SizeChoice | None]:
    """The automatic input size ``process`` would choose for ``plan`` (cached per video)."""
    if not plan.auto_size:
        return plan, None
    path = AUTOSIZE_DIR / f"{plan.video.stem}-{fingerprint(plan.video)[:12]}.json"
    if path.exists() and not fresh:
        choice = SizeChoice.from_dict(json.loads(path.read_text()))
        return plan.with_settings(imgsz=choice.imgsz, tiles=choice.tiles), choice
    sized, choice, _probe = autosize_plan(plan, default_detector_factory)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(choice.as_dict(), indent=2))
    return sized, choice


def _stitching(**changes: float | bool) -> Callable[[ProcessPlan], ProcessPlan]:
    return lambda p: dataclasses.replace(p, stitch=dataclasses.replace(p.stitch, **changes))


def _tracking(min_track_s: float | None = None, **changes: float) -> Callable[[ProcessPlan], ProcessPlan]:
    # the tracker's threshold and buffer are camera settings; its other constants are the plan's
    as_settings = {"new_track_thresh": "new_track_conf", "track_buffer_s": "track_buffer"}
    settings: dict[str, float] = {as_settings[k]: v for k, v in changes.items() if k in as_settings}
    constants = {k: v for k, v in changes.items() if k not in as_settings}
    if min_track_s is not None:
        settings["min_track"] = min_track_s

    def change(p: ProcessPlan) -> ProcessPlan:
        p = dataclasses.replace(p, tracker_constants=dataclasses.replace(p.tracker_constants, **constants))
        return p.with_settings(**settings)

    return change


def _botsort(similarity: float) -> Callable[[ProcessPlan], ProcessPlan]:
    # BoT-SORT with our thresholds, no camera-motion compensation; similarity 0 = motion only
    def change(p: ProcessPlan) -> ProcessPlan:
        constants = dataclasses.replace(p.tracker_constants, method="botsort", appearance_similarity=similarity)
        return dataclasses.replace(p, tracker_constants=constants)

    return change


# Settings variants measured on the cached detections (--variant; accuracy_loo.py sweeps them):
# most change what runs after the detector (tracker, stitching), never the detections; a fixed or
# adaptive stride changes which frames are detected, each detected frame's boxes being the recorded ones;
# the input size and INT8 variants change the detector itself, so they are recorded once, fresh.
VARIANTS: dict[str, Callable[[ProcessPlan], ProcessPlan]] = {
    "default": lambda p: p,
    "no-overlap-merge": _stitching(max_overlap_s=0.0),
    "no-appearance-link": _stitching(appearance_gap_s=0.0),
    "before-issue-15": _stitching(max_overlap_s=0.0, appearance_gap_s=0.0, hidden_feet=False),
    # main before issue 15, with a neutral camera: fixed imgsz 640 and the old tracker/stitching defaults
    "main-defaults": lambda p: _tracking(min_track_s=1.0, new_track_thresh=0.3)(
        _stitching(max_overlap_s=0.0, appearance_gap_s=0.0, hidden_feet=False)(p)
    ).with_settings(imgsz=640, tiles=1),
    # people hidden in standing groups (issue 15, item 3), measured only: lower-confidence boxes may
    # extend tracks (the cache holds every box >= 0.05), and lost tracks are kept twice as long
    "low-conf-0.05": lambda p: _tracking(track_low_thresh=0.05)(p.with_settings(conf=0.05)),
    "track-buffer-6": _tracking(track_buffer_s=6.0),
    **{f"still-prior-{v}": _tracking(lost_still_speed=v) for v in (0.3, 0.5, 1.0)},
    **{f"new-track-conf-{v}": _tracking(new_track_thresh=v) for v in (0.3, 0.4, 0.5, 0.6)},
    **{f"min-track-{v}": _tracking(min_track_s=v) for v in (0.5, 1.0)},
    **{f"min-similarity-{v}": _stitching(min_similarity=v) for v in (0.7, 0.8, 0.85, 0.9)},
    # issue 15: how far someone hidden for long (appearance link) may have moved (0.5: the default)
    **{f"appearance-heights-{v}": _stitching(appearance_heights=v) for v in (0.5, 0.75, 1.0)},
    # issue 15: a moving link is refused when A would have left the picture during the gap and B came
    # from outside it (off by default), alone and with the longer appearance link
    **{f"predicted-exits-{k}": _stitching(predicted_exits=k == "on") for k in ("off", "on")},
    **{
        f"exits-and-appearance-heights-{v}": _stitching(predicted_exits=True, appearance_heights=v) for v in (0.75, 1.0)
    },
    # feet hidden behind someone nearer are placed below the box's top (on by default): without it
    "no-hidden-feet": _stitching(hidden_feet=False),
    # issue 15: a line crossing counts once seen beyond the band in n samples (1: before this rule)
    **{f"confirm-samples-{n}": _confirm_samples(n) for n in (1, 2, 3, 4)},
    # issue 15, identity drift inside the tracker: BoT-SORT on motion alone (its Kalman filter), and
    # with our colour descriptor per detection at a few similarity thresholds (docs/accuracy.md)
    "botsort-motion": _botsort(0.0),
    **{f"botsort-appearance-{v}": _botsort(v) for v in (0.6, 0.7, 0.8, 0.9)},
    # issue 19, lever 1: the detector quantized to INT8 on the clip's own frames (fresh detections)
    "int8": lambda p: p.with_settings(precision="int8"),
    # issue 19: a fixed input size where the automatic one chose 1280 (fresh detections)
    **{f"imgsz-{v}": (lambda p, v=v: p.with_settings(imgsz=v) if p.detector.imgsz > v else p) for v in (960, 1088)},
    **{
        f"int8-imgsz-{v}": (lambda p, v=v: p.with_settings(precision="int8", imgsz=min(v, p.detector.imgsz)))
        for v in (960, 1088)
    },
    # issue 19, lever 3: detect every k-th frame while nobody is new or near an edge
    **{f"adaptive-stride-{k}": (lambda p, k=k: p.with_settings(adaptive_stride=k)) for k in (2, 3, 4)},
    # issue 19: detect every k-th frame everywhere (a fixed stride), the tracker at fps / k
    **{f"stride-{k}": (lambda p, k=k: p.with_settings(stride=k)) for k in (2, 3)},
}


def truth_of(clip: Clip, fps: float) -> tuple[object, list[Track] | None]:
    if clip.gt is None:
        return None, None
    gt = read_mot(clip.gt)
    return gt, boxes_to_tracks(gt, fps)


def score(
    clip: Clip, people: list[Track], rules: dict[str, CountingRules], fps: float, camera_rules: CountingRules
) -> tuple[TrackingScores | None, list[CountComparison], DwellSummary | None]:
    """Tracking scores, counts against the truth (hand counts win) and dwell errors of ``people``."""
    gt, truth = truth_of(clip, fps)
    scores = score_tracking(gt, tracks_to_boxes(people)) if gt is not None else None  # type: ignore[arg-type]
    counts = compare_counts(people, truth or [], rules) if truth is not None else []
    for (name, rule_set), hand in HAND_COUNTS.items():
        if name != clip.name:
            continue
        ours = {"people": len(people), **count_events(people, rules[rule_set])}
        counts = [c for c in counts if not (c.rules == rule_set or (rule_set == "camera" and c.rules == "all"))]
        if "people" in hand:
            counts.insert(0, CountComparison("all", "people", hand["people"], ours["people"]))
        counts.extend(CountComparison(rule_set, m, hand[m], ours[m]) for m in MEASURES[1:] if m in hand)
    dwell = None
    if truth is not None:
        dwell = dwell_errors_from_tracks(truth, people, camera_rules)
    elif clip.visits is not None:
        dwell = dwell_errors_from_visits(read_visits(clip.visits), people, camera_rules)
    return scores, counts, dwell


# Every run's data directories go under one folder that is removed when the harness exits:
# each `nox -s accuracy` left eight folders of about 400 KB in the temporary directory.
_scratch: tempfile.TemporaryDirectory[str] | None = None


def scratch_dir(prefix: str = "accuracy-") -> Path:
    """A fresh directory for one run, inside a folder removed when this process exits."""
    global _scratch
    if _scratch is None:
        _scratch = tempfile.TemporaryDirectory(prefix="retail-intel-accuracy-")
    return Path(tempfile.mkdtemp(prefix=prefix, dir=_scratch.name))


def clip_request(clip: Clip, prefix: str = "accuracy-") -> ProcessRequest:
    """``process`` of ``clip`` with its camera, into a fresh temporary data directory."""
    return ProcessRequest(
        video=clip.video,
        branch=clip.branch,
        data_dir=scratch_dir(prefix),
        config_dir=clip.config_dir,
        camera=clip.camera,
        start_time=START,
    )


def evaluate_ours(
    clip: Clip, *, fresh: bool = False, cache_dir: Path = accuracy_cache.CACHE_DIR, variant: str = "default"
) -> list[Row]:
    """Our pipeline on ``clip`` with the defaults and its camera's ROI/line/fps: as ``process`` runs it,
    and without stitching."""
    plan, size = choose_size(make_plan(clip_request(clip)), fresh=fresh)
    plan = VARIANTS[variant](plan)
    cache, recorded = accuracy_cache.ensure(plan, fresh=fresh, cache_dir=cache_dir)

    def replay(p: ProcessPlan) -> accuracy_cache.ReplayDetector:
        # a stride of either kind sends frames to the detector that the recorded run found still
        return accuracy_cache.ReplayDetector(
            cache, p.detector.conf, reuse_still=(p.settings.adaptive_stride or 1) > 1 or (p.settings.stride or 1) > 1
        )

    result = recorded if recorded is not None and variant == "default" else process_video(plan, detector_factory=replay)
    fps = result.summary.fps
    rules = rule_sets(clip, plan)
    spec = plan.detector
    label = f"ours: imgsz {spec.imgsz}" + (f", {spec.tiles}x{spec.tiles} tiles" if spec.tiles > 1 else "")
    if size is not None and variant != "main-defaults":
        label += " (auto)"
    if variant != "default":
        label += f", {variant}"
    rows = []
    # The same detections without stitching (each tracker fragment one person): what stitching adds.
    unstitched = dataclasses.replace(
        plan,
        # judged as the variant judges (hidden feet placed or not), only no fragments joined or filled
        stitch=StitchSettings(
            max_gap_s=0.0, still_gap_s=0.0, fill_gap_s=0.0, max_overlap_s=0.0, hidden_feet=plan.stitch.hidden_feet
        ),
        data_dir=scratch_dir(),
    )
    run_cpu = float(str(cache.meta["cpu_seconds"]))
    for method, people in (
        (label, result.judgement.people),
        (label + ", no stitching", process_video(unstitched, detector_factory=replay).judgement.people),
    ):
        scores, counts, dwell = score(clip, people, rules, fps, plan.rules)
        rows.append(
            Row(
                clip.name,
                method,
                cache.pipeline_fps,
                1000 * cache.cpu_per_frame,
                scores,
                counts,
                dwell,
                size if method == label else None,
                run_cpu,
                result.summary.frames_detected / max(1, result.summary.frames),
            )
        )
    return rows


def evaluate_anchor(
    clip: Clip, imgsz: int, fps_video: float, rules: dict[str, CountingRules], camera_rules: CountingRules
) -> Row:
    run = anchor_run(clip.video, imgsz, fps_video)
    scores, counts, dwell = score(clip, run.tracks, rules, fps_video, camera_rules)
    return Row(
        clip.name,
        f"Ultralytics model.track, imgsz {imgsz}",
        run.fps,
        1000 * run.cpu_seconds / run.frames,
        scores,
        counts,
        dwell,
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
        if s is None:
            continue  # no ground-truth boxes
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


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.0%}" if signed else f"{value:.0%}"


def summary_table(rows: Sequence[Row]) -> str:
    """One line per method: count accuracy pooled over every rule set and measure, and dwell errors."""
    lines = [
        "| clip | method | people | entered+passed accuracy | line crossings accuracy | all counts accuracy "
        "| dwell error per person (median) | total dwell (truth) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:

        def pooled(measures: tuple[str, ...], r: Row = r) -> str:
            picked = [c for c in r.counts if c.measure in measures and c.rules != "all"]
            expected = sum(c.expected for c in picked)
            return f"{1 - sum(abs(c.error) for c in picked) / expected:.0%}" if expected else "-"

        people = r.count("all", "people")
        d = r.dwell
        dwell_cells = (
            f"{_pct(d.median_error)} ({len(d.errors)} visitors) | {d.total_counted:.0f} s ({d.total_true:.0f} s, "
            f"{_pct(d.total_error, signed=True)})"
            if d is not None and d.errors
            else "- | -"
        )
        lines.append(
            f"| {r.clip} | {r.method} | {people.counted}/{people.expected} | {pooled(('entered', 'passed'))} | "
            f"{pooled(('line_in', 'line_out'))} | {pooled(('entered', 'passed', 'line_in', 'line_out'))} | "
            f"{dwell_cells} |"
        )
    return "\n".join(lines)


def autosize_table(rows: Sequence[Row]) -> str:
    """The automatic input size of each clip: what, why, and what the probe cost against the run.

    Costs are CPU seconds (all threads), robust to a busy machine; the run reuses the probe's
    detector when the probe's last size is the one chosen, which saves the run its own model set-up.
    """
    lines = [
        "| clip | imgsz chosen | smallest people (px, 10th pct.) | frames probed | probe CPU s | run CPU s | cost "
        "| warning |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        c = r.size
        if c is None:
            continue
        small = f"{c.small_person_px:.0f}" if c.small_person_px is not None else "-"
        cost = c.cpu_seconds / r.run_cpu_seconds if r.run_cpu_seconds else 0.0
        lines.append(
            f"| {r.clip} | {c.imgsz} | {small} | {c.frames_sampled} | {c.cpu_seconds:.2f} | {r.run_cpu_seconds:.1f} "
            f"| {cost:.1%} | {c.warning or '-'} |"
        )
    return "\n".join(lines)


def report(rows: Sequence[Row]) -> str:
    return "\n\n".join(
        [
            "Tracking (MOTChallenge ground truth, IoU 0.5; ours = stitched people as written to the movements):",
            tracking_table(rows),
            "Count accuracy pooled over every ROI and line (1 - sum of |errors| / sum of true counts); dwell: "
            "each true visitor's dwell against the matched person's, and the summed dwell of all true visitors:",
            summary_table(rows),
            "Counted / expected per ROI and line (expected: the same rules over the ground-truth tracks, or the "
            "hand counts in benchmarks/truth):",
            counts_table(rows),
            "Automatic input size (the probe's CPU time against the whole recorded run's):",
            autosize_table(rows),
            "Frames the detector ran on (the rest were still, or skipped by a stride):",
            detected_table(rows),
        ]
    )


def detected_table(rows: Sequence[Row]) -> str:
    lines = ["| clip | method | frames detected |", "|---|---|---|"]
    lines += [f"| {r.clip} | {r.method} | {r.detected_share:.1%} |" for r in rows if r.detected_share is not None]
    return "\n".join(lines)


def update_docs(text: str, doc: Path = DOC) -> None:
    current = doc.read_text()
    if DOC_BEGIN not in current or DOC_END not in current:
        raise SystemExit(f"{doc}: no {DOC_BEGIN} ... {DOC_END} block to replace")
    head, _, rest = current.partition(DOC_BEGIN)
    _, _, tail = rest.partition(DOC_END)
    doc.write_text(f"{head}{DOC_BEGIN}\n{text}\n{DOC_END}{tail}")


def run(*, anchor: bool, fresh: bool, variant: str = "default") -> list[Row]:
    rows: list[Row] = []
    for clip in CLIPS:
        needed = [p for p in (clip.video, clip.gt, clip.visits) if p is not None]
        if not all(p.exists() for p in needed):
            print(f"skipping {clip.name}: one of {', '.join(map(str, needed))} is missing", file=sys.stderr)
            continue
        ours = evaluate_ours(clip, fresh=fresh, variant=variant)
        rows.extend(ours)
        if anchor:
            plan = make_plan(
                ProcessRequest(clip.video, clip.branch, RESULTS, config_dir=clip.config_dir, camera=clip.camera)
            )
            fps_video = plan.fps_override or 0.0
            if not fps_video:
                from retail_intel.vision.video import probe

                fps_video = probe(clip.video).header_fps
            rows.extend(
                evaluate_anchor(clip, size, fps_video, rule_sets(clip, plan), plan.rules) for size in clip.anchor_sizes
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--anchor", action="store_true", help="also run and score Ultralytics' model.track loop")
    parser.add_argument("--fresh", action="store_true", help="re-run the detector even if detections are cached")
    parser.add_argument("--update-docs", action="store_true", help=f"write the tables into {DOC.relative_to(ROOT)}")
    parser.add_argument("--json", type=Path, default=RESULTS / "accuracy.json", help="where to write the raw figures")
    parser.add_argument(
        "--variant",
        choices=sorted(VARIANTS),
        default="default",
        help="stitching variant to measure (cached detections)",
    )
    args = parser.parse_args()
    rows = run(anchor=args.anchor, fresh=args.fresh, variant=args.variant)
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
                    "scores": (
                        {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(r.scores).items()}
                        if r.scores is not None
                        else None
                    ),
                    "counts": [{**asdict(c), "accuracy": round(c.accuracy, 4)} for c in r.counts],
                    "dwell": (
                        {
                            "median_error": r.dwell.median_error,
                            "total_true_s": r.dwell.total_true,
                            "total_counted_s": r.dwell.total_counted,
                            "per_person": [{**asdict(e), "relative_error": e.relative_error} for e in r.dwell.errors],
                        }
                        if r.dwell is not None
                        else None
                    ),
                    "input_size": r.size.as_dict() if r.size is not None else None,
                    "detected_share": round(r.detected_share, 4) if r.detected_share is not None else None,
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
