"""Zone judging cost relative to ``process`` wall time, on one real video.

Processes the video once (detection included) with the camera's zones from
the config, then times :func:`judge_zones` on that run's full-rate people,
without detection, ``--repeat`` times. Prints one JSON object.

    python benchmarks/bench_zones.py sample_videos/vtest.avi --branch b1 --start-time 2026-02-08T10:00:00+00:00
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from retail_intel.movements.zones import ZoneSource, judge_zones
from retail_intel.pipeline.plan import ProcessRequest, make_plan
from retail_intel.pipeline.run import process_video
from retail_intel.pipeline.zone_step import judgement_paths, last_frame_t
from retail_intel.timeutil import parse_datetime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", type=Path)
    parser.add_argument("--branch", default="b1")
    parser.add_argument("--config", type=Path, default=Path("config"))
    parser.add_argument("--start-time", default="2026-02-08T10:00:00+00:00")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        plan = make_plan(
            ProcessRequest(
                video=args.video,
                branch=args.branch,
                data_dir=Path(data),
                config_dir=args.config,
                start_time=parse_datetime(args.start_time),
            )
        )
        result = process_video(plan)
    summary = result.summary
    paths = judgement_paths(result.judgement, summary.video_fingerprint, summary.camera_id)
    source = ZoneSource(
        summary.branch_id, summary.camera_id, summary.video_fingerprint, parse_datetime(summary.start_time),
        last_frame_t(summary.duration_s, summary.frames),
    )  # fmt: skip
    timings = []
    tables = None
    for _ in range(args.repeat):
        began = time.perf_counter()
        tables = judge_zones(paths, plan.zones, source)
        timings.append(time.perf_counter() - began)
    assert tables is not None
    best, median = min(timings), sorted(timings)[len(timings) // 2]
    print(
        json.dumps(
            {
                "video": str(args.video),
                "frames": summary.frames,
                "people": summary.people,
                "samples": sum(len(p.track) for p in paths),
                "zones": [z.id for z in plan.zones],
                "process_wall_s": summary.seconds_taken,
                "judge_zones_best_s": round(best, 4),
                "judge_zones_median_s": round(median, 4),
                "share_of_process": round(median / summary.seconds_taken, 5),
                "visits": tables.visits.num_rows,
                "counted": sum(tables.visits.column("counted").to_pylist()),
                "visit_rows": [
                    {k: (str(v) if k.endswith("time") else v) for k, v in row.items() if k != "video_fingerprint"}
                    for row in tables.visits.to_pylist()
                ],
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
