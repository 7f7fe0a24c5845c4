"""Do the detector's own features tell apart the people our colour descriptor confuses?

Ultralytics' "native" re-identification (BoT-SORT with ``with_reid: True, model: auto``) needs
no second network: a hook keeps the inputs of the detection head (three feature maps), NMS
returns the anchor each kept box came from, and that anchor's vector at every scale, mean-reduced
to the smallest channel count, is the box's feature, compared by cosine. The weights are the
bundled YOLO11n-pose, so it would ship offline.

For PETS09-S2L1 (every 3rd frame, ``imgsz`` 1280), TUD-Stadtmitte and TUD-Campus (every frame,
640): run the bundled model on the PyTorch path, match its person boxes to the ground truth
(IoU >= 0.5, one to one, ``conf == 0`` rows left out; gt frame N is decoded frame N-1), and on
the same matched boxes describe each with our colour descriptor
(:func:`retail_intel.vision.appearance.box_appearance`, compared with
:func:`retail_intel.movements.stitch.appearance_similarity`) and with the native feature. Then:

- one person in two consecutive processed frames: median and 5th percentile of the similarity;
- two different people's mean descriptors: median, and the share of pairs above the same-person
  5th percentile (above it, a pair looks as alike as one person can look unlike themselves);
- TUD-Campus's persons 5, 6 and 8, between whom tracker ids drift (docs/accuracy.md).

Our descriptor is also measured on the ground-truth boxes of every frame, as docs/accuracy.md's
published figures were, to check this harness against them. Two readings of the native feature
help say why it does what it does: split by the head level each box came from, and (not
Ultralytics' way) the head inputs averaged over every cell inside the box. The cost of keeping the features
is timed separately: the feature extraction on each frame's head inputs (what Ultralytics adds
after NMS), and one whole predict call per frame for scale.

Usage: YOLO_OFFLINE=1 python benchmarks/native_features.py [--json PATH]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from retail_intel.accuracy.mot import read_mot
from retail_intel.movements.stitch import appearance_similarity
from retail_intel.vision.appearance import box_appearance
from retail_intel.vision.detector import PERSON_CLASS
from retail_intel.vision.offline import prepare_ultralytics
from retail_intel.vision.weights import bundled_weights

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
# (clip, video, imgsz, stride): PETS09-S2L1's people are small (1280, as its automatic size
# picks); every 3rd of its frames keeps the CPU time down
CLIPS = (
    ("TUD-Campus", "TUD-Campus.mp4", 640, 1),
    ("TUD-Stadtmitte", "TUD-Stadtmitte.mp4", 640, 1),
    ("PETS09-S2L1", "vtest.avi", 1280, 3),
)
CONF = 0.1  # the detector's default
IOU_NMS = 0.6
MATCH_IOU = 0.5
DRIFT_PAIRS = ((5, 8), (6, 8), (5, 6))  # TUD-Campus's look-alikes (docs/accuracy.md)

FloatArray = npt.NDArray[np.float32]


@dataclass
class Samples:
    """Per descriptor kind, per person: the descriptors of their matched boxes, by frame."""

    rows: dict[int, list[tuple[int, FloatArray]]] = field(default_factory=dict)

    def add(self, person: int, frame: int, descriptor: FloatArray) -> None:
        self.rows.setdefault(person, []).append((frame, descriptor))


def colour_similarity(a: FloatArray, b: FloatArray) -> float:
    return appearance_similarity(a, b)


def cosine(a: FloatArray, b: FloatArray) -> float:
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    return float(a @ b) / (na * nb) if na > 0 and nb > 0 else 0.0


def mean_descriptor(rows: list[tuple[int, FloatArray]], native: bool) -> FloatArray:
    stack = np.stack([d for _, d in rows]).astype(np.float64)
    if native:  # BoT-SORT normalises each feature before averaging
        stack /= np.clip(np.linalg.norm(stack, axis=1, keepdims=True), 1e-12, None)
    return np.asarray(stack.mean(axis=0), np.float32)


def summary(samples: Samples, step: int, native: bool) -> dict[str, Any]:
    similar = cosine if native else colour_similarity
    same: list[float] = []
    for rows in samples.rows.values():
        by_frame = dict(rows)
        same.extend(similar(d, by_frame[f + step]) for f, d in rows if f + step in by_frame)
    if len(same) < 2:
        same = [float("nan")] * 2  # too few to say (a head level seldom used)
    p5 = float(np.percentile(same, 5))
    means = {p: mean_descriptor(rows, native) for p, rows in samples.rows.items() if len(rows) >= 2}
    pairs = {(a, b): similar(means[a], means[b]) for a, b in itertools.combinations(sorted(means), 2)}
    values = np.array(list(pairs.values()))
    return {
        "same_pairs": len(same),
        "same_median": float(np.median(same)),
        "same_p5": p5,
        "people": len(means),
        "different_pairs": len(values),
        "different_median": float(np.median(values)),
        "different_above_p5": float((values > p5).mean()),
        "different_at_least_0.8": float((values >= 0.8).mean()),
        "different_at_least_0.9": float((values >= 0.9).mean()),
        "drift_pairs": {f"{a}/{b}": pairs.get((a, b)) for a, b in DRIFT_PAIRS},
    }


def iou_matrix(p: FloatArray, q: FloatArray) -> FloatArray:
    w = np.clip(np.minimum(p[:, None, 2], q[None, :, 2]) - np.maximum(p[:, None, 0], q[None, :, 0]), 0, None)
    h = np.clip(np.minimum(p[:, None, 3], q[None, :, 3]) - np.maximum(p[:, None, 1], q[None, :, 1]), 0, None)
    inter = w * h
    area_p = (p[:, 2] - p[:, 0]) * (p[:, 3] - p[:, 1])
    area_q = (q[:, 2] - q[:, 0]) * (q[:, 3] - q[:, 1])
    return np.asarray(inter / (area_p[:, None] + area_q[None, :] - inter), np.float32)


class NativeFeatures:
    """The bundled model on the PyTorch path, keeping each kept box's head-input feature."""

    def __init__(self, imgsz: int) -> None:
        prepare_ultralytics()
        import torch
        from ultralytics import YOLO

        torch.set_num_threads(2)
        self.imgsz = imgsz
        self.model = YOLO(str(bundled_weights()), task="pose")
        self.keep = True
        self.extract_s = 0.0  # time spent in get_obj_feats
        self.scales: npt.NDArray[np.intp] = np.empty(0, np.intp)  # each kept box's head level (0: stride 8)
        self.maps: list[Any] = []  # the last frame's head inputs
        self._warm = False

    def _setup(self, frame: npt.NDArray[np.uint8]) -> None:
        self._predict(frame)  # creates the predictor
        predictor = self.model.predictor
        head = predictor.model.model.model[-1]

        def pre_hook(_module: object, inputs: tuple[Any, ...]) -> None:
            # a copy of the list: the head replaces its items during forward
            predictor._feats = list(inputs[0]) if self.keep else None

        head.register_forward_pre_hook(pre_hook)
        original = predictor.get_obj_feats

        def timed(feat_maps: Any, idxs: Any) -> Any:
            start = time.perf_counter()
            out = original(feat_maps, idxs)
            self.extract_s += time.perf_counter() - start
            ends = np.cumsum([m.shape[2] * m.shape[3] for m in feat_maps])
            self.scales = np.searchsorted(ends, idxs[0].cpu().numpy(), side="right")
            self.maps = feat_maps
            return out

        predictor.get_obj_feats = timed
        self._warm = True

    def _predict(self, frame: npt.NDArray[np.uint8]) -> Any:
        return self.model.predict(
            frame, imgsz=self.imgsz, conf=CONF, iou=IOU_NMS, classes=[PERSON_CLASS], verbose=False, device="cpu"
        )[0]

    def __call__(self, frame: npt.NDArray[np.uint8]) -> tuple[FloatArray, FloatArray, npt.NDArray[np.intp]]:
        if not self._warm:
            self._setup(frame)
        result = self._predict(frame)
        xyxy = result.boxes.xyxy.cpu().numpy().astype(np.float32)
        feats = getattr(result, "feats", None)
        if feats is None or not len(xyxy):
            return xyxy, np.empty((len(xyxy), 0), np.float32), np.empty(0, np.intp)
        return xyxy, np.asarray(feats.cpu().numpy(), np.float32), self.scales

    def pooled(self, frame: npt.NDArray[np.uint8], xyxy: FloatArray) -> FloatArray:
        """Not Ultralytics' way: each level's head input averaged over every cell inside the box.

        One anchor's vector describes the cell that won NMS, which moves over the body from frame
        to frame; an average over the box does not depend on that. The levels are normalised
        and concatenated (64 + 128 + 256 values for YOLO11n), so each weighs the same.
        """
        maps = [m[0].cpu().numpy() for m in self.maps]
        in_h, in_w = 8 * maps[0].shape[1], 8 * maps[0].shape[2]  # the first level has stride 8
        height, width = frame.shape[:2]
        gain = min(in_h / height, in_w / width)
        pad_x, pad_y = (in_w - width * gain) / 2, (in_h - height * gain) / 2
        out = []
        for x1, y1, x2, y2 in xyxy.tolist():
            parts = []
            for m in maps:
                stride = in_h / m.shape[1]
                cols = np.arange(m.shape[2]) * stride + stride / 2
                rows = np.arange(m.shape[1]) * stride + stride / 2
                inside_x = (cols >= x1 * gain + pad_x) & (cols <= x2 * gain + pad_x)
                inside_y = (rows >= y1 * gain + pad_y) & (rows <= y2 * gain + pad_y)
                if not inside_x.any():  # a box narrower than a cell: its nearest column
                    inside_x[np.argmin(np.abs(cols - ((x1 + x2) / 2 * gain + pad_x)))] = True
                if not inside_y.any():
                    inside_y[np.argmin(np.abs(rows - ((y1 + y2) / 2 * gain + pad_y)))] = True
                vector = m[:, inside_y][:, :, inside_x].mean(axis=(1, 2))
                parts.append(vector / max(float(np.linalg.norm(vector)), 1e-12))
            out.append(np.concatenate(parts))
        return np.asarray(out, np.float32).reshape(len(xyxy), -1)


def frames_of(video: Path) -> list[npt.NDArray[np.uint8]]:
    capture = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(np.asarray(frame, np.uint8))
    capture.release()
    return frames


def gt_by_frame(gt_path: Path) -> dict[int, tuple[npt.NDArray[np.int64], FloatArray]]:
    """Decoded frame index -> (person ids, xyxy) of the scored ground-truth boxes."""
    gt = read_mot(gt_path)
    keep = ~gt.ignore
    out: dict[int, tuple[npt.NDArray[np.int64], FloatArray]] = {}
    frames = gt.frame[keep] - 1
    ids = gt.ids[keep]
    xyxy = np.stack([gt.x, gt.y, gt.x + gt.w, gt.y + gt.h], axis=1)[keep].astype(np.float32)
    for frame in np.unique(frames):
        at = frames == frame
        out[int(frame)] = (ids[at].astype(np.int64), xyxy[at])
    return out


def measure_clip(name: str, video: str, imgsz: int, stride: int) -> dict[str, Any]:
    frames = frames_of(DATA / name / video)
    truth = gt_by_frame(DATA / name / "gt.txt")
    on_truth = Samples()  # our descriptor on every frame's ground-truth boxes (the published way)
    for index, (ids, boxes) in truth.items():
        if index < len(frames):
            for person, row in zip(ids.tolist(), box_appearance(frames[index], boxes), strict=True):
                on_truth.add(person, index, row)
    colour, native, pooled = Samples(), Samples(), Samples()
    by_level: dict[int, Samples] = {}  # the native features again, split by the head level they came from
    detector = NativeFeatures(imgsz)
    matched = detections = truth_boxes = 0
    colour_s = 0.0
    for index in range(0, len(frames), stride):
        xyxy, feats, scales = detector(frames[index])
        detections += len(xyxy)
        if index not in truth or not len(xyxy):
            continue
        ids, boxes = truth[index]
        truth_boxes += len(ids)
        overlap = iou_matrix(xyxy, boxes)
        rows, cols = linear_sum_assignment(-overlap)
        good = overlap[rows, cols] >= MATCH_IOU
        rows, cols = rows[good], cols[good]
        start = time.perf_counter()
        described = box_appearance(frames[index], xyxy)
        colour_s += time.perf_counter() - start
        boxed = detector.pooled(frames[index], xyxy)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            person = int(ids[c])
            colour.add(person, index, described[r])
            native.add(person, index, feats[r])
            pooled.add(person, index, boxed[r])
            by_level.setdefault(int(scales[r]), Samples()).add(person, index, feats[r])
        matched += len(rows)
    processed = len(range(0, len(frames), stride))
    timing = time_predict(detector, frames[::stride][:30])
    return {
        "clip": name,
        "imgsz": imgsz,
        "stride": stride,
        "frames": processed,
        "feature_length": int(next(iter(native.rows.values()))[0][1].shape[0]),
        "detections_per_frame": detections / processed,
        "truth_boxes": truth_boxes,
        "matched": matched,
        "colour_on_truth_every_frame": summary(on_truth, 1, native=False),
        "colour_on_detections": summary(colour, stride, native=False),
        "native_on_detections": summary(native, stride, native=True),
        "pooled_on_detections": summary(pooled, stride, native=True),
        "native_by_level": {
            level: {"boxes": sum(len(r) for r in samples.rows.values()), **summary(samples, stride, native=True)}
            for level, samples in sorted(by_level.items())
            if sum(len(r) >= 2 for r in samples.rows.values()) >= 3
        },
        "ms_per_frame": {
            "feature_extraction": 1000 * detector.extract_s / (processed + 1),  # +1: the setup call
            "colour_descriptor": 1000 * colour_s / processed,
            **timing,
        },
    }


def time_predict(detector: NativeFeatures, frames: list[npt.NDArray[np.uint8]]) -> dict[str, float]:
    """Whole predict calls with and without the features, interleaved (the machine's load moves both)."""
    spent = {True: 0.0, False: 0.0}
    for frame in frames:
        for keep in (True, False):
            detector.keep = keep
            start = time.perf_counter()
            detector(frame)
            spent[keep] += time.perf_counter() - start
    detector.keep = True
    return {"predict_with": 1000 * spent[True] / len(frames), "predict_without": 1000 * spent[False] / len(frames)}


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| clip | descriptor | same person, median (5th pct) | different people, median | above same-person 5th pct "
        "| 5/8, 6/8, 5/6 |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for result in results:
        for label, key in (
            ("colour, truth boxes", "colour_on_truth_every_frame"),
            ("colour", "colour_on_detections"),
            ("native", "native_on_detections"),
            ("head inputs pooled over the box", "pooled_on_detections"),
        ):
            s = result[key]
            drift = ", ".join("-" if v is None else f"{v:.2f}" for v in s["drift_pairs"].values())
            lines.append(
                f"| {result['clip']} | {label} | {s['same_median']:.3f} ({s['same_p5']:.3f}) "
                f"| {s['different_median']:.2f} | {s['different_above_p5']:.0%} of {s['different_pairs']} "
                f"| {drift if result['clip'] == 'TUD-Campus' else '-'} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument("--clip", action="append", help="only these clips (default: all three)")
    args = parser.parse_args(argv)
    results = [measure_clip(*clip) for clip in CLIPS if not args.clip or clip[0] in args.clip]
    sys.stdout.write(table(results) + "\n\n")
    for result in results:
        sys.stdout.write(
            f"{result['clip']}: {result['matched']} of {result['truth_boxes']} truth boxes matched, "
            f"{result['detections_per_frame']:.1f} boxes a frame, feature length {result['feature_length']}, "
            f"ms per frame {json.dumps({k: round(v, 2) for k, v in result['ms_per_frame'].items()})}\n"
        )
        for level, s in result["native_by_level"].items():
            drift = {k: None if v is None else round(v, 2) for k, v in s["drift_pairs"].items()}
            said = f"; {drift}" if result["clip"] == "TUD-Campus" else ""
            sys.stdout.write(
                f"  native, level {level} only ({s['boxes']} boxes): same person {s['same_median']:.3f} "
                f"({s['same_p5']:.3f}, {s['same_pairs']} pairs), different {s['different_median']:.2f}, "
                f"{s['different_above_p5']:.0%} of {s['different_pairs']} above{said}\n"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
