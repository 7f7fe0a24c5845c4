"""Detector-only speed of one lever against the default, alternating A/B in one process (not part of ``nox -s bench``: it takes the lever as an argument).

On a shared, noisy machine absolute frames/s mean little; this runs the default detector (A) and
the lever (B) on the same decoded frames in turns, several rounds, and reports the median frames/s
of each and their ratio. Decode is outside the timing (frames are decoded once, up front).

Levers: ``pose-head`` (the detector as it runs, its keypoint branch cut off, against the whole
exported pose graph; the boxes must be identical), ``int8`` (``precision: int8``, quantized on the clip's own frames; needs ``nncf``),
``int8-recipes`` (variants of the quantization recipe against the float model: each detector's recall
against the clip's ground truth at the confidences the tracker uses, on every 3rd frame; needs ``nncf``),
``crop`` (``detect_margin``: only the box around ``--roi`` and ``--line`` grown by ``--margin``
pixels; defaults: the sample config's vtest camera), ``decode`` (OpenCV against PyAV with threads, on the clip itself and on a 1080p H.264 copy)
and ``still-gops`` (whether an H.264 file's packet sizes tell the groups of pictures in which nothing moved, which could
then go undecoded: a 1080p copy with one keyframe a second, each group's largest predicted packet against the
motion gate's verdict on its frames; needs PyAV).

Usage: python benchmarks/levers.py pose-head [--imgsz 1280] [--frames 48] [--rounds 3]
       python benchmarks/levers.py int8 [--video sample_videos/vtest.avi] [--imgsz 1280]
       [--frames 48] [--rounds 3]
       python benchmarks/levers.py int8-recipes [--video sample_videos/vtest.avi] [--gt ../shared/data/PETS09-S2L1/gt.txt]
       python benchmarks/levers.py crop [--margin 80]
       python benchmarks/levers.py decode [--video ...] [--frames 300]
       python benchmarks/levers.py still-gops --video ../shared/data/intel-one-by-one/one-by-one-person-detection.mp4
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def read(video: Path, count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(video))
    frames = []
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def alternate(runs: dict[str, Callable[[], int]], rounds: int) -> dict[str, float]:
    """Median items/s of each run, the runs taking turns (A B A B ...) so load drifts hit both."""
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            t0 = time.perf_counter()
            items = run()
            rates[name].append(items / (time.perf_counter() - t0))
    return {name: statistics.median(values) for name, values in rates.items()}


def int8_lever(opts: argparse.Namespace) -> None:
    from retail_intel.vision.int8 import int8_export
    from retail_intel.vision.openvino_backend import OpenVinoDetector, export_openvino
    from retail_intel.vision.weights import bundled_weights

    folder = export_openvino(bundled_weights())
    frames = read(opts.video, opts.frames)
    default = OpenVinoDetector(folder, imgsz=opts.imgsz)
    int8 = OpenVinoDetector(int8_export(folder, opts.video, opts.imgsz), imgsz=opts.imgsz)
    compare(opts, frames, {"auto (bf16/f32)": default, "int8": int8})


# Variants of int8.quantize's recipe (mixed preset; int8.FLOAT_PATTERNS and FLOAT_TYPES kept in float):
# more kept in float, NNCF options, or (recipe 1, before the attention's products were kept in float)
# less. Measured on a CPU without VNNI, where the overflow fix matters.
INT8_RECIPES: dict[str, dict[str, Any]] = {
    "as shipped": {},
    "attention's products quantized (recipe 1)": {"quantize_types": ["MatMul"]},
    "full bias correction": {"fast_bias_correction": False},
    "overflow fix on every layer": {"overflow_fix": True},
    "first two convolutions in float": {"float": [r"__module\.model\.0\..*", r"__module\.model\.1\..*"]},
    "class branch in float": {"float": [r"__module\.model\.23\.cv3.*"]},
    "whole detection head in float": {"float": [r"__module\.model\.23\..*"]},
}


def int8_recipes_lever(opts: argparse.Namespace) -> None:
    """Each recipe's detector recall against the ground truth, beside the float model's."""
    import shutil

    import nncf
    import openvino as ov

    from retail_intel.accuracy.metrics import iou_matrix
    from retail_intel.accuracy.mot import read_mot
    from retail_intel.vision.int8 import CALIBRATION_FRAMES, float_scope, network_input, sample_frames
    from retail_intel.vision.openvino_backend import OpenVinoDetector, export_openvino, find_openvino_xml
    from retail_intel.vision.weights import bundled_weights

    folder = export_openvino(bundled_weights())
    xml = find_openvino_xml(folder)
    assert xml is not None
    inputs = [network_input(f, opts.imgsz) for f in sample_frames(opts.video, CALIBRATION_FRAMES)]
    truth = read_mot(opts.gt).scored()
    every = read(opts.video, 1_000_000)  # gt frame N is decoded frame N - 1 (read_mot makes it 0-based)
    indices = list(range(0, len(every), 3))
    frames = [every[i] for i in indices]
    del every

    def recall(detector: Any) -> tuple[dict[float, float], float]:
        found: list[Any] = []
        t0 = time.perf_counter()
        for lo in range(0, len(frames), 4):
            found.extend(detector.detect_batch(frames[lo : lo + 4], indices[lo : lo + 4]))
        rate = len(frames) / (time.perf_counter() - t0)
        out = {}
        for conf in (0.1, 0.3, 0.5):
            hits = total = 0
            for index, boxes in zip(indices, found, strict=True):
                true = truth.select(truth.frame == index).xyxy
                mine = boxes.xyxy[boxes.confidence >= conf].astype(np.float64)
                total += len(true)
                if len(true) and len(mine):
                    overlap = iou_matrix(true, mine)
                    while overlap.size and overlap.max() >= 0.5:  # greedy one-to-one matching
                        r, c = np.unravel_index(overlap.argmax(), overlap.shape)
                        hits += 1
                        overlap[r, :] = -1
                        overlap[:, c] = -1
            out[conf] = hits / max(total, 1)
        return out, rate

    rows = [("float (no quantization)", *recall(OpenVinoDetector(folder, imgsz=opts.imgsz, conf=0.05)))]
    with tempfile.TemporaryDirectory() as tmp:
        for name, recipe in INT8_RECIPES.items():
            kwargs: dict[str, Any] = {}
            if "fast_bias_correction" in recipe:
                kwargs["fast_bias_correction"] = recipe["fast_bias_correction"]
            if recipe.get("overflow_fix"):
                kwargs["advanced_parameters"] = nncf.AdvancedQuantizationParameters(
                    overflow_fix=nncf.OverflowFix.ENABLE
                )
            scope = float_scope(recipe.get("float", ()), recipe.get("quantize_types", ()))
            quantized = nncf.quantize(
                ov.Core().read_model(str(xml)),
                nncf.Dataset(inputs),
                subset_size=len(inputs),
                preset=nncf.QuantizationPreset.MIXED,
                ignored_scope=scope,
                **kwargs,
            )
            target = Path(tmp) / name.replace(" ", "-")
            target.mkdir()
            ov.save_model(quantized, str(target / xml.name), compress_to_fp16=False)
            shutil.copy2(folder / "metadata.yaml", target / "metadata.yaml")
            rows.append((f"int8, {name}", *recall(OpenVinoDetector(target, imgsz=opts.imgsz, conf=0.05))))
    print(f"{opts.video.name} imgsz {opts.imgsz}, every 3rd frame ({len(frames)}), recall against {opts.gt.name}:")
    print("| detector | recall, conf >= 0.1 | >= 0.3 | >= 0.5 | frames/s (one pass) |")
    print("| --- | --- | --- | --- | --- |")
    for name, recalls, rate in rows:
        print(f"| {name} | {recalls[0.1]:.3f} | {recalls[0.3]:.3f} | {recalls[0.5]:.3f} | {rate:.1f} |")


def compare(opts: argparse.Namespace, frames: list[np.ndarray], detectors: dict[str, Any]) -> None:
    """Alternate the detectors on ``frames``; print median frames/s, the ratio and boxes found."""
    size = max(int(getattr(d, "batch_size", 1)) for d in detectors.values())
    for detector in detectors.values():  # compile every input shape before timing
        detector.detect_batch(frames[:size], list(range(size)))

    def run(detector: Any) -> Callable[[], int]:
        def go() -> int:
            for lo in range(0, len(frames), size):
                chunk = frames[lo : lo + size]
                detector.detect_batch(chunk, list(range(lo, lo + len(chunk))))
            return len(frames)

        return go

    rates = alternate({name: run(d) for name, d in detectors.items()}, opts.rounds)
    (a, rate_a), (b, rate_b) = rates.items()
    print(f"{opts.video.name} imgsz {opts.imgsz}, {len(frames)} frames, {opts.rounds} rounds (median frames/s):")
    for name, d in detectors.items():
        boxes = sum(len(x.xyxy) for x in d.detect_batch(frames, list(range(len(frames)))))
        print(f"  {name}: {rates[name]:.1f} frames/s, {boxes} boxes (conf >= 0.1)")
    print(f"  ratio {b} / {a}: {rate_b / rate_a:.2f}x")


def pose_head_lever(opts: argparse.Namespace) -> None:
    """The detector as it runs (keypoint branch cut off) against the whole exported pose graph."""
    from retail_intel.vision.openvino_backend import OpenVinoDetector, export_openvino, find_openvino_xml
    from retail_intel.vision.weights import bundled_weights

    folder = export_openvino(bundled_weights())
    frames = read(opts.video, opts.frames)
    whole = OpenVinoDetector(folder, imgsz=opts.imgsz)
    whole._model = whole._core.read_model(str(find_openvino_xml(folder)))  # keypoints included
    boxes = OpenVinoDetector(folder, imgsz=opts.imgsz)
    compare(opts, frames, {"whole pose graph": whole, "boxes only": boxes})
    same = all(
        np.array_equal(a.xyxy, b.xyxy) and np.array_equal(a.confidence, b.confidence)
        for a, b in zip(
            whole.detect_batch(frames, list(range(len(frames)))),
            boxes.detect_batch(frames, list(range(len(frames)))),
            strict=True,
        )
    )
    print(f"  boxes and scores identical on every frame: {same}")


def crop_lever(opts: argparse.Namespace) -> None:
    from retail_intel.config.camera_settings import settings_layer
    from retail_intel.vision.crop import CroppedDetector, watched_region
    from retail_intel.vision.openvino_backend import OpenVinoDetector, export_openvino
    from retail_intel.vision.weights import bundled_weights

    folder = export_openvino(bundled_weights())
    frames = read(opts.video, opts.frames)
    region = watched_region(settings_layer({"roi": opts.roi, "line": opts.line, "detect_margin": opts.margin}))
    assert region is not None
    cropped = CroppedDetector(OpenVinoDetector(folder, imgsz=opts.imgsz), region, opts.imgsz)
    compare(opts, frames, {"whole frame": OpenVinoDetector(folder, imgsz=opts.imgsz), "cropped": cropped})


def decode_lever(opts: argparse.Namespace) -> None:
    import av

    def with_opencv(path: Path) -> Callable[[], int]:
        def go() -> int:
            capture = cv2.VideoCapture(str(path))
            count = 0
            while count < opts.frames and capture.read()[0]:
                count += 1
            capture.release()
            return count

        return go

    def with_pyav(path: Path) -> Callable[[], int]:
        def go() -> int:
            with av.open(str(path)) as container:
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                count = 0
                for frame in container.decode(stream):
                    frame.to_ndarray(format="bgr24")
                    count += 1
                    if count >= opts.frames:
                        break
            return count

        return go

    with tempfile.TemporaryDirectory() as tmp:
        hd = Path(tmp) / "hd.mp4"
        import imageio_ffmpeg

        subprocess.run(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(opts.video), "-frames:v", str(opts.frames),
             "-vf", "scale=1920:1080", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(hd)],
            check=True,
        )  # fmt: skip
        for path, label in ((opts.video, opts.video.name), (hd, "1080p H.264 copy")):
            rates = alternate({"opencv": with_opencv(path), "pyav threads": with_pyav(path)}, opts.rounds)
            print(
                f"{label}: opencv {rates['opencv']:.0f} frames/s, pyav {rates['pyav threads']:.0f} frames/s, "
                f"ratio pyav / opencv {rates['pyav threads'] / rates['opencv']:.2f}x"
            )


def still_gops_lever(opts: argparse.Namespace) -> None:
    """Can a group of pictures in which nothing moved be told from its packet sizes, without decoding it?

    Skipping the decode of still stretches needs that: a P frame depends on the one before, so
    only a whole group (keyframe to keyframe) can go undecoded, and only if something says
    beforehand that nobody moved in it. Here every frame is decoded, the motion gate (the
    pipeline's, at its default threshold) says which are still, and each group's largest
    predicted packet is set against that verdict.
    """
    import av
    import imageio_ffmpeg

    from retail_intel.config.camera_settings import DEFAULTS
    from retail_intel.vision.motion import MotionGate

    fps = round(cv2.VideoCapture(str(opts.video)).get(cv2.CAP_PROP_FPS)) or 10
    with tempfile.TemporaryDirectory() as tmp:
        hd = Path(tmp) / "hd.mp4"
        subprocess.run(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(opts.video), "-vf", "scale=1920:1080",
             "-c:v", "libx264", "-preset", "veryfast", "-g", str(fps), "-pix_fmt", "yuv420p", str(hd)],
            check=True,
        )  # fmt: skip
        gate = MotionGate(float(DEFAULTS.motion_threshold or 0.0))
        groups: list[tuple[int, list[bool]]] = []  # (largest predicted packet, each frame still?)
        with av.open(str(hd)) as container:
            stream = container.streams.video[0]
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue
                if packet.is_keyframe or not groups:
                    groups.append((0, []))
                largest, still = groups[-1]
                if not packet.is_keyframe:
                    largest = max(largest, packet.size)
                for frame in packet.decode():
                    still.append(not gate.should_detect(frame.to_ndarray(format="bgr24")))
                groups[-1] = (largest, still)
        whole = [size for size, still in groups if still and all(still)]
        moved = [size for size, still in groups if still and sum(still) <= len(still) // 2]
        print(f"{opts.video.name} at 1920x1080, a keyframe every {fps} frames: {len(groups)} groups of pictures")
        print(f"  every frame still: {len(whole)} groups, largest predicted packet up to {max(whole, default=0)} bytes")
        print(
            f"  half the frames or more moved: {len(moved)} groups, largest predicted packet from {min(moved, default=0)} bytes"
        )
        verdict = "separates them" if max(whole, default=0) < min(moved, default=0) else "does not separate them"
        print(f"  a packet-size threshold {verdict}")

        # what skipping the colour conversion alone would save: grab() decodes, read() also converts to BGR
        def with_opencv(grab_only: bool) -> Callable[[], int]:
            def go() -> int:
                capture = cv2.VideoCapture(str(hd))
                count = 0
                while count < opts.frames and (capture.grab() if grab_only else capture.read()[0]):
                    count += 1
                capture.release()
                return count

            return go

        rates = alternate({"read": with_opencv(False), "grab": with_opencv(True)}, opts.rounds)
        print(
            f"  OpenCV on the copy: decode and convert {rates['read']:.0f} frames/s, decode only {rates['grab']:.0f} "
            f"frames/s ({rates['grab'] / rates['read']:.2f}x)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lever", choices=["int8", "int8-recipes", "crop", "decode", "still-gops", "pose-head"])
    parser.add_argument("--video", type=Path, default=ROOT / "sample_videos" / "vtest.avi")
    parser.add_argument("--gt", type=Path, default=ROOT.parent / "shared" / "data" / "PETS09-S2L1" / "gt.txt")
    parser.add_argument("--imgsz", type=int, default=1280)
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--roi", default="300,180,700,420")
    parser.add_argument("--line", default="500,180 500,450")
    parser.add_argument("--margin", type=float, default=80.0)
    opts = parser.parse_args()
    levers = {
        "int8": int8_lever,
        "int8-recipes": int8_recipes_lever,
        "crop": crop_lever,
        "decode": decode_lever,
        "still-gops": still_gops_lever,
        "pose-head": pose_head_lever,
    }
    levers[opts.lever](opts)


if __name__ == "__main__":
    sys.exit(main())
