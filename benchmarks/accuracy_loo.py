"""Leave-one-clip-out choice of one constant: which value would we pick without seeing the clip?

For a family of ``--variant`` settings of ``accuracy.py`` (e.g. ``new-track-conf-*``), every value
is run on every clip from the cached detections (the model never runs again). Then, for each clip
in turn, the value with the best mean pooled count accuracy on the *other* clips is picked, and
the held-out clip's figures at that value are reported: what a camera nobody tuned would get.

Usage: python benchmarks/accuracy_loo.py new-track-conf [--json PATH]
(families measured: new-track-conf, min-track, confirm-samples, appearance-heights, botsort-appearance)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from accuracy import CLIPS, RESULTS, VARIANTS, Row, evaluate_ours


def pooled(row: Row) -> float:
    """1 - sum of |errors| / sum of true counts, over every rule set and measure but ``people``."""
    picked = [c for c in row.counts if c.rules != "all"]
    expected = sum(c.expected for c in picked)
    return 1 - sum(abs(c.error) for c in picked) / expected if expected else 1.0


def figures(row: Row) -> dict[str, float | int | None]:
    people = row.count("all", "people")
    return {
        "pooled_accuracy": round(pooled(row), 4),
        "people": people.counted,
        "people_truth": people.expected,
        "idf1": round(row.scores.idf1, 4) if row.scores else None,
        "mota": round(row.scores.mota, 4) if row.scores else None,
        "dwell_median_error": round(row.dwell.median_error, 4) if row.dwell and row.dwell.errors else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("family", help="variant name prefix, e.g. new-track-conf, min-track, min-similarity")
    parser.add_argument("--json", type=Path, default=None, help="where to write the figures")
    args = parser.parse_args()
    values = [v for v in VARIANTS if v.startswith(args.family + "-")]
    if not values:
        raise SystemExit(f"no variant starts with {args.family}-: choose from {sorted(VARIANTS)}")
    table: dict[str, dict[str, dict[str, float | int | None]]] = {}
    for clip in CLIPS:
        for value in values:
            row = evaluate_ours(clip, variant=value)[0]  # stitched, not the "no stitching" row
            table.setdefault(clip.name, {})[value] = figures(row)
            print(clip.name, value, table[clip.name][value], file=sys.stderr)
    clips = list(table)
    print(
        "| held-out clip | value picked on the other clips | pooled count accuracy | people | IDF1 | "
        "(best value on this clip: accuracy) |\n|---|---|---|---|---|---|"
    )
    held: dict[str, str] = {}
    for out in clips:
        others = [c for c in clips if c != out]

        def mean(v: str, others: list[str] = others) -> float:
            return sum(float(table[c][v]["pooled_accuracy"] or 0) for c in others) / len(others)

        pick = max(values, key=lambda v: (mean(v), -values.index(v)))
        held[out] = pick
        f = table[out][pick]
        best = max(values, key=lambda v: float(table[out][v]["pooled_accuracy"] or 0))
        print(
            f"| {out} | {pick} | {f['pooled_accuracy']:.0%} | {f['people']}/{f['people_truth']} | {f['idf1'] or '-'} "
            f"| {best}: {table[out][best]['pooled_accuracy']:.0%} |"
        )
    out_path = args.json or RESULTS / f"loo-{args.family}.json"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps({"table": table, "held_out_pick": held}, indent=2))


if __name__ == "__main__":
    main()
