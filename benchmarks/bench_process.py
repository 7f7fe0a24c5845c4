"""Throughput of `retail-intel process` beside Ultralytics' own tracking loop (the anchor).

Runs, in one invocation and side by side on each clip: our command with the sample config's
settings, and `YOLO(weights).track(source, stream=True)` with the same weights and input size and
Ultralytics' defaults otherwise (as a user would run it). Reports frames per second, the real-time
factor (video seconds per wall second, at each clip's true frame rate), peak memory, where our time
goes, and how many people each counted against the ground truth.

Usage: python benchmarks/bench_process.py [--clips vtest,tud-stadtmitte] [--skip-anchor] [--skip-torch] [--int8]

``--skip-torch`` leaves out the PyTorch peer (on a CPU without AMX it takes minutes per clip at
1280), ``--int8`` adds a run of ours with ``--precision int8`` (needs ``nncf``; its warm-up run
quantizes, so the counted run reuses the cached model).
Needs ../shared/data (the ground-truth clips) beside the repository.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
START = "2026-02-08T10:00:00+00:00"


@dataclass(frozen=True)
class Clip:
    key: str
    path: Path
    fps: float  # true frame rate
    gt: Path | None
    people: int | None  # people in the ground truth
    args: tuple[str, ...]  # how we run it (beyond the common flags)
    imgsz: int


CLIPS = [
    Clip("vtest", ROOT / "sample_videos" / "vtest.avi", 7.0, DATA / "PETS09-S2L1" / "gt.txt", 19,
         ("--branch", "b1", "--camera", "vtest", "--config", str(ROOT / "config")), 1280),
    Clip("tud-stadtmitte", DATA / "TUD-Stadtmitte" / "TUD-Stadtmitte.mp4", 25.0, DATA / "TUD-Stadtmitte" / "gt.txt", 10,
         ("--branch", "bench", "--camera", "tud-stadtmitte", "--config", str(ROOT / "benchmarks" / "accuracy_config")), 640),
    Clip("tud-campus", DATA / "TUD-Campus" / "TUD-Campus.mp4", 25.0, DATA / "TUD-Campus" / "gt.txt", 8,
         ("--branch", "bench", "--roi", "1,1,639,479", "--fps", "25", "--imgsz", "640"), 640),
    Clip("intel-one-by-one", DATA / "intel-one-by-one" / "one-by-one-person-detection.mp4", 10.0, None, 6,
         ("--branch", "bench", "--roi", "1,1,767,431", "--fps", "10", "--imgsz", "640"), 640),
]  # fmt: skip

# Runs a command and prints its peak resident memory (KiB) as the last line of stderr.
_MEASURE = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
    "sys.stderr.write(f'\\nPEAK_KIB {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\\n'); sys.exit(r.returncode)"
)

_ANCHOR = """
import json, os, sys, time
from ultralytics import YOLO
weights, source, imgsz = sys.argv[1], sys.argv[2], int(sys.argv[3])
model = YOLO(weights)
t0 = time.perf_counter(); frames = 0; ids = set()
for result in model.track(source=source, stream=True, imgsz=imgsz, classes=[0], verbose=False, persist=True):
    frames += 1
    if result.boxes.id is not None:
        ids.update(int(i) for i in result.boxes.id.tolist())
print(json.dumps({"frames": frames, "seconds": time.perf_counter() - t0, "people": len(ids)}))
"""


def _failed_files(stdout: str) -> str:
    """The failed files of a batch's JSON summary with their reasons (a batch reports them on stdout)."""
    try:
        files = json.loads(stdout).get("files", [])
    except (ValueError, AttributeError):
        return f"\n{stdout[-3000:]}"
    return "".join(f"\n{f['video']}: {f['reason']}" for f in files if f.get("status") == "failed")


def measured(command: list[str], env: dict[str, str]) -> tuple[str, float, float]:
    """(stdout, wall seconds, peak MiB) of ``command`` in a fresh process, run outside the repository
    so that clips without a camera config are not looked up in ./config."""
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as cwd:
        done = subprocess.run(
            [sys.executable, "-c", _MEASURE, *command], capture_output=True, text=True, env=env, cwd=cwd
        )
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{done.stderr[-3000:]}{_failed_files(done.stdout)}")
    peak_kib = int(done.stderr.rsplit("PEAK_KIB", 1)[1].split()[0])
    return done.stdout, wall, peak_kib / 1024


def gt_people(gt: Path) -> int:
    rows = np.loadtxt(gt, delimiter=",")
    return len(np.unique(rows[rows[:, 6] != 0, 1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", default=",".join(c.key for c in CLIPS))
    parser.add_argument("--skip-anchor", action="store_true", help="leave out both Ultralytics peers")
    parser.add_argument("--skip-torch", action="store_true", help="leave out the PyTorch peer")
    parser.add_argument("--int8", action="store_true", help="also run ours with --precision int8")
    opts = parser.parse_args()
    wanted = opts.clips.split(",")
    env = dict(os.environ, YOLO_OFFLINE="1", YOLO_AUTOINSTALL="False")
    from retail_intel.vision.weights import bundled_weights

    weights = str(bundled_weights())
    openvino = ""
    if not opts.skip_anchor:
        import shutil

        from retail_intel.vision.openvino_backend import export_openvino

        # a copy under its Ultralytics name, so that YOLO() loads it as an OpenVINO model
        scratch = tempfile.mkdtemp()
        atexit.register(shutil.rmtree, scratch, True)
        export_dir = Path(scratch) / f"{bundled_weights().stem}_openvino_model"
        shutil.copytree(export_openvino(bundled_weights()), export_dir)
        openvino = str(export_dir)
    rows = []
    for clip in CLIPS:
        if clip.key not in wanted or not clip.path.exists():
            continue
        truth = gt_people(clip.gt) if clip.gt and clip.gt.exists() else clip.people

        def command(data: str, clip: Clip = clip, extra: tuple[str, ...] = ()) -> list[str]:
            return [
                sys.executable, "-m", "retail_intel", "process", str(clip.path), *clip.args, *extra,
                "--data-dir", data, "--start-time", START, "--format", "json", "--quiet",
            ]  # fmt: skip

        ours = [("retail-intel process", ())] + (
            [("retail-intel process, int8", ("--precision", "int8"))] if opts.int8 else []
        )
        for label, extra in ours:
            # warm-up once (OpenVINO export and int8 quantization on first use are cached), then the
            # counted run into another data directory: in the same one it would reuse the warm-up's tracks
            with tempfile.TemporaryDirectory() as warm, tempfile.TemporaryDirectory() as tmp:
                measured(command(warm, extra=extra), env)
                out, wall, peak = measured(command(tmp, extra=extra), env)
            summary = json.loads(out)
            frames = summary["frames"]
            stages = summary["stage_seconds"]
            inference = stages["inference"]
            rows.append(
                {
                    "clip": clip.key,
                    "run": label,
                    "frames": frames,
                    "imgsz": clip.imgsz,
                    "wall_s": wall,
                    "fps": frames / wall,
                    "rtf": frames / clip.fps / wall,
                    "peak_mib": peak,
                    "people": summary["people"],
                    "truth": truth,
                    "shares": (
                        f"decode wait {stages['decode_wait'] / wall:.0%}, inference {inference / wall:.0%}, "
                        f"tracking {stages['tracking'] / wall:.0%}, judging+writing "
                        f"{(stages['judging'] + stages['writing']) / wall:.0%}; "
                        f"{summary['frames_skipped_still']} still frames skipped"
                    ),
                }
            )
        # the peers: Ultralytics as a user first runs it (PyTorch), and on its own OpenVINO export
        # (`yolo export format=openvino`, export time not counted), the loop a knowledgeable user runs
        peers = [("Ultralytics model.track, PyTorch", weights)] if not opts.skip_torch else []
        peers.append(("Ultralytics model.track, OpenVINO", openvino))
        for label, model in peers if not opts.skip_anchor else []:
            out, wall, peak = measured([sys.executable, "-c", _ANCHOR, model, str(clip.path), str(clip.imgsz)], env)
            anchor = json.loads(out.strip().splitlines()[-1])
            rows.append(
                {
                    "clip": clip.key,
                    "run": label,
                    "frames": anchor["frames"],
                    "imgsz": clip.imgsz,
                    "wall_s": wall,
                    "fps": anchor["frames"] / wall,
                    "rtf": anchor["frames"] / clip.fps / wall,
                    "peak_mib": peak,
                    "people": anchor["people"],
                    "truth": truth,
                    "shares": "",
                }
            )
    print(
        "| clip | run | imgsz | frames | wall s | fps | real-time factor | peak MiB | people counted / truth | where the time goes |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['clip']} | {r['run']} | {r['imgsz']} | {r['frames']} | {r['wall_s']:.1f} | {r['fps']:.1f} | "
            f"{r['rtf']:.2f}x | {r['peak_mib']:.0f} | {r['people']} / {r['truth']} | {r['shares']} |"
        )


if __name__ == "__main__":
    main()
