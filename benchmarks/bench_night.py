"""A store's night of footage on this box: a batch of H.264 files with long still stretches.

Builds a "store night" archive from the shared real clips: for each clip a camera at the clip's
own size and one upscaled to 1920x1080 (ROI and line scaled with it), ``--files`` files per
camera, each a piece of the clip (``--seconds`` long) between two still stretches of
``--still`` seconds (the clip's empty background, a per-pixel median, with fresh sensor noise
in every frame, as a closed shop looks). Then, in one run:

* ``retail-intel process manifest.csv --workers N`` over the whole archive: frames/s,
  real-time factor, peak memory of the largest process (a worker), and each file's entered /
  passed counts;
* each file processed alone (the counts its batch run must equal: batching and workers change
  nothing), and each camera's clip piece alone, without the still stretches (a piece that cuts a
  visit short, or a person who steps in while the motion gate still reuses the empty scene's
  detections, shows up there);
* Ultralytics' ``model.track`` on its own OpenVINO export (the same export ours starts from),
  file after file, as the peer.

With ``--compare SETTING=VALUE`` (a camera setting, e.g. ``adaptive_stride=4``) the same batch runs
a second time with that setting in every manifest row, right after the first, and both are
reported side by side (frames/s, frames detected, each file's counts); ``--skip-alone`` leaves
out the runs of each file and clip piece alone.

Usage: python benchmarks/bench_night.py [--clips tud-stadtmitte,intel-one-by-one] [--files 2]
       [--seconds 6] [--still 30] [--workers 2] [--skip-anchor] [--compare SETTING=VALUE] [--skip-alone]
Needs ../shared/data beside the repository and the test extra's imageio-ffmpeg (an ffmpeg binary).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_process import DATA, ROOT, measured

HD = (1920, 1080)
CONFIG = ROOT / "benchmarks" / "accuracy_config"  # its branch "bench" (UTC) takes cameras from the manifest


@dataclass(frozen=True)
class Source:
    key: str
    path: Path
    fps: float  # true frame rate
    roi: tuple[float, float, float, float]
    line: tuple[float, float, float, float] | None
    imgsz: int


SOURCES = [
    Source("tud-stadtmitte", DATA / "TUD-Stadtmitte" / "TUD-Stadtmitte.mp4", 25.0, (150, 200, 500, 400),
           (320, 180, 320, 420), 640),
    Source("intel-one-by-one", DATA / "intel-one-by-one" / "one-by-one-person-detection.mp4", 10.0,
           (200, 150, 600, 420), None, 640),
    Source("vtest", ROOT / "sample_videos" / "vtest.avi", 7.0, (300, 180, 700, 420), (500, 180, 500, 450), 1280),
]  # fmt: skip

_ANCHOR = """
import json, sys, time
from ultralytics import YOLO
folder, imgsz, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
model = YOLO(folder, task="pose")
t0 = time.perf_counter(); frames = 0
for source in files:
    for result in model.track(source=source, stream=True, imgsz=imgsz, classes=[0], verbose=False):
        frames += 1
print(json.dumps({"frames": frames, "seconds": time.perf_counter() - t0}))
"""


def read_piece(path: Path, frames: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    out = []
    while len(out) < frames:
        ok, frame = capture.read()
        if not ok:
            break
        out.append(frame)
    capture.release()
    return out


def write_h264(path: Path, frames: list[np.ndarray], fps: float) -> None:
    import imageio_ffmpeg

    height, width = frames[0].shape[:2]
    ffmpeg = subprocess.Popen(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24",
         "-s", f"{width}x{height}", "-r", f"{fps}", "-i", "-", "-c:v", "libx264", "-preset", "veryfast",
         "-pix_fmt", "yuv420p", str(path)],
        stdin=subprocess.PIPE,
    )  # fmt: skip
    assert ffmpeg.stdin is not None
    for frame in frames:
        ffmpeg.stdin.write(frame.tobytes())
    ffmpeg.stdin.close()
    if ffmpeg.wait() != 0:
        raise SystemExit(f"ffmpeg failed writing {path}")


def still_stretch(background: np.ndarray, frames: int, rng: np.random.Generator) -> list[np.ndarray]:
    """An empty scene: the background with sensor noise (sigma 2 grey levels) that changes every frame.

    The noise is drawn from a bank of 16 fields in random order: drawing a fresh 1080p field
    per frame made building the archive slower than processing it."""
    base = background.astype(np.int16)
    bank = [rng.normal(0, 2, base.shape).round().astype(np.int16) for _ in range(16)]
    return [np.clip(base + bank[i], 0, 255).astype(np.uint8) for i in rng.integers(0, len(bank), frames)]


def empty_scene(sample: list[np.ndarray]) -> np.ndarray:
    """The clip's background, with nobody in it where the clip allows.

    The per-pixel median of the sampled frames in which nobody is detected, or of all of them when
    fewer than three are empty (a busy street: people walk on). A median over
    every frame keeps whoever stood still for most of the clip (intel-one-by-one's people stand at
    the table most of the time: a ghost found at confidence 0.48), and that ghost would be counted
    in every still stretch.
    """
    import dataclasses

    from retail_intel.pipeline.plan import ProcessRequest, make_plan
    from retail_intel.pipeline.run import default_detector_factory

    height, width = sample[0].shape[:2]
    request = ProcessRequest.create(
        Path("background"), "bench", Path(tempfile.mkdtemp()), imgsz=640, roi=f"0,0,{width},{height}"
    )
    detector = default_detector_factory(dataclasses.replace(make_plan(request), auto_size=False))
    empty = [frame for index, frame in enumerate(sample) if len(detector.detect(frame, index)) == 0]
    background = np.median(np.stack(empty if len(empty) >= 3 else sample), axis=0).astype(np.uint8)
    if len(detector.detect(background, 0)):
        # TUD-Stadtmitte: a man stands at the shop window for the whole clip; he is part of the
        # scene, so the still stretches hold him too and the clip piece alone differs by construction
        print(
            f"note: somebody is in every sampled frame ({width}x{height}): the still stretches show them too, "
            "so this camera's files cannot equal its clip piece alone",
            file=sys.stderr,
        )
    return background


def build(opts: argparse.Namespace, folder: Path) -> tuple[Path, list[dict[str, str]], dict[str, Path], int]:
    """The archive's manifest, its rows, each camera's piece alone, and the archive's frame count."""
    rng = np.random.default_rng(0)
    rows: list[dict[str, str]] = []
    alone: dict[str, Path] = {}
    total = 0
    frames_in: dict[str, int] = {}
    for source in SOURCES:
        if source.key not in opts.clips.split(",") or not source.path.exists():
            continue
        piece = read_piece(source.path, int(opts.seconds * source.fps))
        sample = read_piece(source.path, 10_000)[:: max(1, int(source.fps))]
        background = empty_scene(sample)
        height, width = piece[0].shape[:2]
        for suffix, size in (("", (width, height)), ("-1080", HD)):
            camera = source.key + suffix
            sx, sy = size[0] / width, size[1] / height
            frames = [cv2.resize(f, size) for f in piece] if suffix else piece
            back = cv2.resize(background, size) if suffix else background
            alone[camera] = folder / f"{camera}-alone.mp4"
            write_h264(alone[camera], frames, source.fps)
            still = int(opts.still * source.fps)
            for n in range(opts.files):
                path = folder / camera / f"{camera}_{n}.mp4"
                path.parent.mkdir(exist_ok=True)
                video = still_stretch(back, still, rng) + frames + still_stretch(back, still, rng)
                write_h264(path, video, source.fps)
                total += len(video)
                frames_in[path.name] = len(video)
                x1, y1, x2, y2 = source.roi
                row = {
                    "path": str(path),
                    "branch": "bench",
                    "camera": camera,
                    "start": f"2026-02-08T{1 + n:02d}:00:00+00:00",
                    "roi": f"{x1 * sx:.0f},{y1 * sy:.0f},{x2 * sx:.0f},{y2 * sy:.0f}",
                    "line": "",
                    "imgsz": str(source.imgsz),
                    "fps": str(source.fps),
                }
                if source.line:
                    lx1, ly1, lx2, ly2 = source.line
                    row["line"] = f"{lx1 * sx:.0f},{ly1 * sy:.0f} {lx2 * sx:.0f},{ly2 * sy:.0f}"
                rows.append(row)
    manifest = folder / "night.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for row in rows:  # kept out of the manifest: the frame count, for the real-time factor
        row["frames"] = str(frames_in[Path(row["path"]).name])
    return manifest, rows, alone, total


def process_alone(row: dict[str, str], video: Path, env: dict[str, str]) -> tuple[int, int]:
    """Entered and passed of ``video`` processed on its own, with ``row``'s camera and settings.

    A one-row manifest: the camera (which the config may lack) resolves exactly as in the batch."""
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "one.csv"
        fields = [k for k in row if k != "frames"]
        with manifest.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerow({**{k: row[k] for k in fields}, "path": str(video)})
        command = [
            sys.executable, "-m", "retail_intel", "process", str(manifest), "--config", str(CONFIG),
            "--workers", "1", "--data-dir", str(Path(tmp) / "data"), "--format", "json", "--quiet",
        ]  # fmt: skip
        out, _, _ = measured(command, env)
    report = json.loads(out)["files"][0]
    return report["entered"], report["passed"]


@dataclass(frozen=True)
class BatchRun:
    """One batch over the archive: its JSON report, wall seconds, peak MiB and the workers' run summaries."""

    report: dict[str, object]
    wall: float
    peak: float
    summaries: list[dict[str, object]]

    @property
    def frames(self) -> int:
        return int(str(self.report["frames"]))

    def counts(self) -> dict[str, tuple[int, int]]:
        files: list[dict[str, object]] = self.report["files"]  # type: ignore[assignment]
        return {Path(str(f["video"])).name: (int(str(f["entered"])), int(str(f["passed"]))) for f in files}

    def detected(self) -> int:
        return sum(int(str(s.get("frames_detected", 0))) for s in self.summaries)


def run_batch(manifest: Path, data: Path, workers: int, env: dict[str, str]) -> BatchRun:
    command = [
        sys.executable, "-m", "retail_intel", "process", str(manifest), "--config", str(CONFIG),
        "--workers", str(workers), "--data-dir", str(data), "--format", "json", "--quiet",
    ]  # fmt: skip
    out, wall, peak = measured(command, env)
    summaries = [json.loads(path.read_text()) for path in (data / "runs").glob("*.json")]  # one per file
    return BatchRun(json.loads(out), wall, peak, summaries)


def with_setting(manifest: Path, setting: str) -> Path:
    """A copy of ``manifest`` with ``SETTING=VALUE`` as a column in every row."""
    name, _, value = setting.partition("=")
    if not name or not value:
        raise SystemExit(f"--compare expects SETTING=VALUE (a camera setting, e.g. adaptive_stride=4), got {setting!r}")
    with manifest.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    out = manifest.with_name(f"{manifest.stem}-{name}.csv")
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*rows[0], name])
        writer.writeheader()
        writer.writerows({**row, name: value} for row in rows)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", default="tud-stadtmitte,intel-one-by-one")
    parser.add_argument("--files", type=int, default=2, help="files per camera")
    parser.add_argument("--seconds", type=float, default=6.0, help="seconds of each clip per file")
    parser.add_argument("--still", type=float, default=30.0, help="seconds of still scene before and after")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-anchor", action="store_true")
    parser.add_argument("--compare", metavar="SETTING=VALUE", help="also run the batch with this camera setting")
    parser.add_argument("--skip-alone", action="store_true", help="do not process each file and clip piece alone")
    opts = parser.parse_args()
    env = dict(os.environ, YOLO_OFFLINE="1", YOLO_AUTOINSTALL="False")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        manifest, rows, alone, total = build(opts, folder)
        video_s = sum(float(r["frames"]) / float(r["fps"]) for r in rows)
        piece: dict[str, tuple[int, int]] = {}
        single: dict[str, tuple[int, int]] = {}
        if not opts.skip_alone:
            piece = {camera: process_alone(next(r for r in rows if r["camera"] == camera), path, env)
                     for camera, path in alone.items()}  # fmt: skip
            single = {row["path"]: process_alone(row, Path(row["path"]), env) for row in rows}
        runs = {
            f"retail-intel process --workers {opts.workers}": run_batch(manifest, folder / "data", opts.workers, env)
        }
        if opts.compare:
            runs[f"the same, {opts.compare}"] = run_batch(
                with_setting(manifest, opts.compare), folder / "data-compare", opts.workers, env
            )
        first = next(iter(runs.values()))
        print(f"store night: {len(rows)} files, {first.frames} frames ({total} written), {video_s:.0f} s of video, "
              f"{opts.workers} workers")  # fmt: skip
        print("| run | wall s | frames/s | real-time factor | peak MiB (largest process) | frames detected |")
        print("| --- | --- | --- | --- | --- | --- |")
        for label, batch_run in runs.items():
            wall = batch_run.wall
            print(f"| {label} | {wall:.1f} | {batch_run.frames / wall:.1f} | {video_s / wall:.1f}x | "
                  f"{batch_run.peak:.0f} | {batch_run.detected() / batch_run.frames:.1%} |")  # fmt: skip
            stages: dict[str, float] = {}
            for summary in batch_run.summaries:  # each file's run summary, written by its worker
                for stage, seconds in dict(summary.get("stage_seconds", {})).items():  # type: ignore[call-overload]
                    stages[stage] = stages.get(stage, 0.0) + seconds
            busy = opts.workers * wall  # worker-seconds the batch had
            shares = ", ".join(f"{stage} {seconds / busy:.0%}" for stage, seconds in stages.items())
            print(f"| where the workers' time goes (share of {opts.workers} x wall) | {shares} | | | | |")
        if not opts.skip_anchor:
            from retail_intel.vision.openvino_backend import export_openvino
            from retail_intel.vision.weights import bundled_weights

            # Ultralytics recognises an OpenVINO export by its folder name
            export = folder / f"{bundled_weights().stem}_openvino_model"
            shutil.copytree(export_openvino(bundled_weights()), export)
            for imgsz in sorted({r["imgsz"] for r in rows}):
                files = [r["path"] for r in rows if r["imgsz"] == imgsz]
                aout, awall, apeak = measured([sys.executable, "-c", _ANCHOR, str(export), imgsz, *files], env)
                anchor = json.loads(aout.strip().splitlines()[-1])
                print(f"| Ultralytics model.track, OpenVINO, imgsz {imgsz}, {len(files)} files | {awall:.1f} | "
                      f"{anchor['frames'] / awall:.1f} | - | {apeak:.0f} |")  # fmt: skip
        print()
        compared = list(runs.values())[1:]
        print("| file | entered / passed in the batch | the same file alone | the clip piece alone |"
              + "".join(f" with {opts.compare} |" for _ in compared))  # fmt: skip
        print("| --- | --- | --- | --- |" + " --- |" * len(compared))
        counts = first.counts()
        for row in rows:
            name = Path(row["path"]).name
            got = counts[name]
            cells = [f"{got[0]} / {got[1]}"]
            for other in [single.get(row["path"]), piece.get(row["camera"])] + [r.counts()[name] for r in compared]:
                cells.append("-" if other is None else
                             f"{other[0]} / {other[1]}{'' if other == got else ' (differs)'}")  # fmt: skip
            print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
