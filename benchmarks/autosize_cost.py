"""What automatic input sizing costs a real ``process`` run: CPU time with it against without it.

For each clip of ``accuracy.py`` (or those named), runs ``process_video`` for real twice per repeat,
alternating: once with the size left to the probe (``auto_size``), once with the size the probe
chose set up front. The probe's detector is reused by the run when it is of the chosen size, so
the net cost is less than the probe's own time (the ``accuracy.py`` table gives that gross figure).
CPU seconds of all threads are compared, so a busy machine matters less than for wall time.

Usage: python benchmarks/autosize_cost.py [CLIP ...] [--repeats 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from accuracy import CLIPS, clip_request, scratch_dir

from retail_intel.pipeline.plan import ProcessPlan, make_plan
from retail_intel.pipeline.run import process_video


def cpu_of(plan: ProcessPlan) -> tuple[float, int]:
    began = time.process_time()
    result = process_video(dataclasses.replace(plan, data_dir=scratch_dir("autosize-")))
    imgsz = (result.summary.input_size or {}).get("imgsz", plan.detector.imgsz)
    return time.process_time() - began, int(imgsz)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clips", nargs="*", help="clip names (default: all)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print("| clip | imgsz | CPU s, size fixed | CPU s, automatic | net cost |\n|---|---|---|---|---|")
    for clip in CLIPS:
        if args.clips and clip.name not in args.clips:
            continue
        auto = make_plan(clip_request(clip, "autosize-"))
        fixed_total = auto_total = 0.0
        # untimed: the process's one-off start-up (OpenVINO's runtime, the export's first load) would
        # otherwise land on whichever run comes first
        imgsz = cpu_of(auto)[1]
        for _ in range(args.repeats):
            cpu, imgsz = cpu_of(auto)
            auto_total += cpu
            fixed = dataclasses.replace(auto.with_settings(imgsz=imgsz), auto_size=False)
            fixed_total += cpu_of(fixed)[0]
        cost = (auto_total - fixed_total) / fixed_total
        print(
            f"| {clip.name} | {imgsz} | {fixed_total / args.repeats:.2f} | {auto_total / args.repeats:.2f} | {cost:+.1%} |"
        )


if __name__ == "__main__":
    main()
