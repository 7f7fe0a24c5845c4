"""The detector's overlap suppression (NMS IoU) for people standing close: every clip, several values.

Two people in a file, one half behind the other, give two boxes that overlap a lot; non-maximum
suppression keeps only the more confident of any two boxes overlapping by more than its IoU
threshold (0.6 by default), so the hidden one is never detected. A higher threshold keeps them,
and keeps more duplicate boxes on one person too. This runs the real detector (the recorded
detections of ``accuracy.py`` were suppressed at the default, so they cannot be replayed) at each
value on every clip, scores it as ``accuracy.py`` does, and picks a value leave-one-clip-out as
``accuracy_loo.py`` does (best mean pooled count accuracy on the other clips; ties: the value
nearest the default).

Usage: python benchmarks/accuracy_nms.py [--values 0.6,0.65,0.7,0.75,0.8] [--clips TUD-Campus,...] [--json PATH]
(about three minutes per value on a 2-core CPU, PETS09-S2L1 at imgsz 1280 being most of it)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from accuracy import CLIPS, RESULTS, Clip, choose_size, clip_request, rule_sets, score

from retail_intel.pipeline.plan import make_plan
from retail_intel.pipeline.run import default_detector_factory, process_video
from retail_intel.vision.detections import Detector

DEFAULT_IOU = 0.6


def measure(clip: Clip, iou: float) -> dict[str, Any]:
    """Process ``clip`` with the detector's NMS IoU set to ``iou``; its pooled counts and scores."""
    plan, _ = choose_size(make_plan(clip_request(clip, "accuracy-nms-")), fresh=False)

    def detector(p: Any) -> Detector:
        found = default_detector_factory(p)
        found.iou = iou  # type: ignore[attr-defined]  # both backends keep it as a plain attribute
        return found

    result = process_video(plan, detector_factory=detector)
    scores, counts, _ = score(clip, result.judgement.people, rule_sets(clip, plan), result.summary.fps, plan.rules)
    picked = [c for c in counts if c.measure != "people"]
    expected = sum(c.expected for c in picked)
    wrong = sum(abs(c.error) for c in picked)
    people = next(c for c in counts if c.measure == "people")
    return {
        "wrong": wrong,
        "counts": expected,
        "pooled_accuracy": 1 - wrong / expected if expected else 1.0,
        "people": people.counted,
        "people_truth": people.expected,
        "mota": round(scores.mota, 4) if scores else None,
        "idf1": round(scores.idf1, 4) if scores else None,
        "hota": round(scores.hota, 4) if scores else None,
    }


def leave_one_out(results: dict[float, dict[str, dict[str, Any]]]) -> dict[str, float]:
    """For each clip, the value with the best mean pooled accuracy on the others (ties: nearest the default)."""
    clips = sorted(next(iter(results.values())))
    picks = {}
    for held in clips:
        others = [c for c in clips if c != held]

        def merit(value: float, others: list[str] = others) -> tuple[float, float]:
            mean = sum(results[value][c]["pooled_accuracy"] for c in others) / len(others)
            return (mean, -abs(value - DEFAULT_IOU))

        picks[held] = max(results, key=merit)
    return picks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--values", default="0.6,0.65,0.7,0.75,0.8", help="NMS IoU thresholds, comma-separated")
    parser.add_argument("--clips", default="", help="clip names, comma-separated (default: every clip found)")
    parser.add_argument("--json", type=Path, default=RESULTS / "accuracy-nms.json", help="where to write the figures")
    args = parser.parse_args()
    values = [float(v) for v in args.values.split(",")]
    wanted = {name for name in args.clips.split(",") if name}
    clips = [
        c
        for c in CLIPS
        if (not wanted or c.name in wanted) and all(p.exists() for p in (c.video, c.gt, c.visits) if p is not None)
    ]
    results: dict[float, dict[str, dict[str, Any]]] = {}
    print("| NMS IoU | " + " | ".join(c.name for c in clips) + " |")
    print("| --- |" + " --- |" * len(clips))
    for value in values:
        results[value] = {c.name: measure(c, value) for c in clips}
        cells = []
        for c in clips:
            r = results[value][c.name]
            scores = f", MOTA {r['mota']:.3f}, IDF1 {r['idf1']:.3f}" if r["mota"] is not None else ""
            cells.append(
                f"{100 * r['pooled_accuracy']:.1f}% ({r['wrong']} of {r['counts']} wrong), "
                f"{r['people']} ({r['people_truth']}){scores}"
            )
        print(f"| {value} | " + " | ".join(cells) + " |", flush=True)
    picks = leave_one_out(results)
    print("\nLeave-one-clip-out: | held-out clip | picked on the others | held-out pooled accuracy |")
    for clip, value in picks.items():
        r = results[value][clip]
        print(f"| {clip} | {value} | {100 * r['pooled_accuracy']:.1f}% ({r['wrong']} of {r['counts']} wrong) |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps({"results": {str(k): v for k, v in results.items()}, "leave_one_out": picks}, indent=2)
    )


if __name__ == "__main__":
    main()
