"""INT8 post-training quantization of the OpenVINO export, calibrated on the camera's own frames.

Why calibrate here instead of calling Ultralytics' ``export(int8=True)``: that
export wants a labelled dataset (a download); NNCF's post-training
quantization needs only unlabelled images, and frames sampled evenly from the
footage being processed are the most representative ones there are.

The quantized model is cached beside the float export under
``<cache>/exports/<weights hash>-int8-<key>``, ``key`` hashing the float
export's folder name (itself the weights' hash), the input size, the
calibration source (the video's sha256) and the number of frames, so a rerun
or another worker reuses it. It needs the optional ``nncf`` package
(``pip install 'retail-intel[int8]'``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from retail_intel.errors import ModelError
from retail_intel.vision.openvino_backend import find_openvino_xml, letterbox_shape, publish_export

# NNCF's default subset is 300 samples; a camera's frames are alike, and on two
# cores each calibration frame at 1280 costs about a second, so fewer suffice.
CALIBRATION_FRAMES = 64
QUANTIZE_VERSION = 2  # bump when the recipe below changes, so old caches are not reused (2: attention in float)

# Kept in float (NNCF's ignored scope): the box decoding at the end of the graph, as Ultralytics'
# own int8 export does (quantizing its adds, multiplies and DFL softmax moves boxes by whole
# pixels), and the attention block's matrix products, whose two inputs are both activations:
# quantized, they moved small people's scores by a few hundredths and the detector, at the 0.5 a
# new track needs, found 2 in 100 fewer true boxes on PETS09-S2L1 (docs/throughput.md, INT8).
FLOAT_PATTERNS = (r".*/Add", r".*/Sub.*", r".*/Mul.*", r".*/Div.*", r".*\.dfl.*")
FLOAT_TYPES = ("Sigmoid", "MatMul")


def nncf_available() -> bool:
    try:
        import nncf  # noqa: F401
    except ImportError:
        return False
    return True


def calibration_indices(frame_count: int, count: int) -> list[int]:
    """``count`` frame indices spread evenly over ``frame_count`` frames (each at most once)."""
    if frame_count <= 0 or count <= 0:
        return []
    if frame_count <= count:
        return list(range(frame_count))
    step = frame_count / count
    return sorted({int(step * i + step / 2) for i in range(count)})


def sample_frames(video: Path, count: int = CALIBRATION_FRAMES) -> list[npt.NDArray[np.uint8]]:
    """Up to ``count`` frames spread evenly over ``video`` (BGR, as decoded)."""
    capture = cv2.VideoCapture(str(video))
    try:
        total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        frames: list[npt.NDArray[np.uint8]] = []
        for index in calibration_indices(total, count):
            capture.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, frame = capture.read()
            if ok:
                frames.append(np.asarray(frame, np.uint8))
    finally:
        capture.release()
    if not frames:
        raise ModelError(f"{video}: no frames could be read to calibrate the int8 model")
    return frames


def network_input(frame: npt.NDArray[np.uint8], imgsz: int) -> npt.NDArray[np.float32]:
    """The float export's own input for ``frame``: letterboxed as the detector does, RGB, NCHW, [0, 1]."""
    height, width = frame.shape[:2]
    scale, in_w, in_h = letterbox_shape(width, height, imgsz)
    new_w, new_h = round(width * scale), round(height * scale)
    blob = np.full((in_h, in_w, 3), 114, np.uint8)
    blob[:new_h, :new_w] = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(blob[:, :, ::-1].transpose(2, 0, 1)[None], dtype=np.float32) / 255.0


def int8_folder(float_folder: Path, imgsz: int, source_hash: str, frames: int) -> Path:
    """Where the int8 model of ``float_folder`` calibrated on ``source_hash`` is cached."""
    identity = {
        "float": float_folder.name,
        "imgsz": imgsz,
        "source": source_hash,
        "frames": frames,
        "recipe": QUANTIZE_VERSION,
    }
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
    prefix = float_folder.name.removesuffix("-openvino")
    return float_folder.parent / f"{prefix}-int8-{key}"


@contextlib.contextmanager
def _nncf_silenced() -> Iterator[None]:
    """NNCF logs to stdout and draws its progress bars there, but a library run prints nothing:
    ``process --format json`` writes its result to stdout, and a run that quantized wrote NNCF's
    lines before it, so its output was no JSON (a batch's report could not be read)."""
    # NNCF's handler holds the stdout of import time, so redirecting misses its lines; importing NNCF
    # imports torch, which warns on stderr that this machine has no CUDA
    loggers = [logging.getLogger(name) for name in ("nncf", "torch.utils.cpp_extension")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the progress bars write to sys.stdout as it is now
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def float_scope(patterns: Sequence[str] = (), quantized_types: Sequence[str] = ()) -> Any:
    """NNCF's ignored scope: what the recipe keeps in float (above), with ``patterns`` as well and
    ``quantized_types`` left out of its types (benchmarks measure recipe variants this way)."""
    import nncf

    types = [t for t in FLOAT_TYPES if t not in quantized_types]
    return nncf.IgnoredScope(patterns=[*FLOAT_PATTERNS, *patterns], types=types, validate=False)


def quantize(float_folder: Path, frames: Sequence[npt.NDArray[np.uint8]], imgsz: int, target: Path) -> Path:
    """Quantize the export in ``float_folder`` to int8 on ``frames``, written to ``target`` (returned)."""
    if find_openvino_xml(target) is not None:
        return target
    if not nncf_available():
        raise ModelError("precision int8 needs the nncf package (pip install 'retail-intel[int8]')")
    import openvino as ov

    xml = find_openvino_xml(float_folder)
    if xml is None:
        raise ModelError(f"{float_folder}: no OpenVINO .xml model inside")
    model = ov.Core().read_model(str(xml))
    inputs = [network_input(frame, imgsz) for frame in frames]
    try:
        with _nncf_silenced():
            import nncf

            quantized = nncf.quantize(
                model,
                nncf.Dataset(inputs),
                subset_size=len(inputs),
                preset=nncf.QuantizationPreset.MIXED,
                ignored_scope=float_scope(),
            )
    except Exception as exc:
        raise ModelError(f"could not quantize {xml} to int8 ({exc}); use precision auto") from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".int8-", dir=target.parent))
    try:
        ov.save_model(quantized, str(work / xml.name), compress_to_fp16=False)
        for extra in float_folder.iterdir():
            if extra.suffix not in (".xml", ".bin") and extra.is_file():
                shutil.copy2(extra, work / extra.name)  # metadata.yaml: class names
        publish_export(work, target)  # another worker that quantized the same model first wins
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def int8_export(float_folder: Path, video: Path, imgsz: int, frames: int = CALIBRATION_FRAMES) -> Path:
    """The int8 model for ``float_folder`` calibrated on ``video`` at ``imgsz``, made on first use."""
    from retail_intel.vision.video import fingerprint

    if not video.is_file():
        raise ModelError(f"precision int8 calibrates on frames of a video file; {video} is not one (use auto)")
    target = int8_folder(float_folder, imgsz, fingerprint(video), frames)
    if find_openvino_xml(target) is not None:
        return target
    return quantize(float_folder, sample_frames(video, frames), imgsz, target)
