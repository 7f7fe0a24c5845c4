"""Reading recorded video with OpenCV: metadata, content fingerprint, frames."""

from __future__ import annotations

import hashlib
import math
import queue
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

from retail_intel.errors import NextStep, Step, VideoError

Frame = npt.NDArray[np.uint8]

# No CCTV camera records faster; a header saying more (1000, 90000) carries its container's time base
MAX_HEADER_FPS = 240.0
# Elementary streams, with no container around them: nothing there gives OpenCV the frame rate, and it
# reports 25 whatever the camera recorded (a 10 fps H.264 or MJPEG stream reads as 25), so their rate
# counts as missing. Such a stream also has no length (OpenCV reports a negative frame count), which
# tells it from a container file that merely has one of these names (an AVI saved as .mjpeg).
RAW_STREAM_SUFFIXES = frozenset({".h264", ".264", ".h265", ".265", ".hevc", ".mjpeg", ".mjpg"})
# Containers that count the frames they hold: OpenCV reads the count from them. Every other one
# (Matroska, MPEG-TS, FLV, ASF/WMV, NUT, ...) keeps none, and OpenCV estimates one from its length
# at the header's rate, which a variable-frame-rate recording does not keep; an AVI counts the
# empty chunks that stand for frames a variable-rate recorder dropped, which decode to nothing.
EXACT_COUNT_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".3gp", ".3g2"})


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    width: int
    height: int
    header_fps: float
    frame_count: int  # as the container claims; 0 when unknown
    # an elementary stream with no container (header_fps is then 0: its rate is unknown)
    raw: bool = False


_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:/(?!/)")  # two letters at least: C:/ is a drive


def _stream_url(path: Path) -> str | None:
    """The stream URL ``path`` was made from (``rtsp://...`` becomes ``rtsp:/...`` as a path), redacted; or None."""
    from retail_intel.live.urls import is_stream_url, redact_url

    text = str(path)
    if is_stream_url(text):
        return redact_url(text)
    if _URL_SCHEME.match(text):
        return redact_url(text.replace(":/", "://", 1))
    return None


def probe(path: Path) -> VideoInfo:
    """Open ``path`` and read its header; a clear :class:`VideoError` for anything unusable."""
    if not path.exists():
        if (url := _stream_url(path)) is not None:
            raise VideoError(
                f"{url}: a stream URL, not a video file; this needs a recording (for example "
                "ffmpeg -i URL -t 10 -c copy clip.mp4).",
                next_step=NextStep(Step.PREVIEW_A_STREAM),
            )
        raise VideoError(f"{path}: no such video file")
    if not path.is_file():
        raise VideoError(f"{path}: expected a video file, found a directory or special file")
    if path.stat().st_size == 0:
        raise VideoError(f"{path}: the file is empty (0 bytes)")
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise VideoError(f"{path}: OpenCV cannot open it as a video (corrupt or unsupported format)")
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        claimed = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        raw = claimed <= 0 and (path.suffix.lower() in RAW_STREAM_SUFFIXES or _starts_as_raw_stream(path))
        fps = 0.0 if raw else float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        count = max(0, claimed)
        ok, _ = capture.read()
        if not ok or width <= 0 or height <= 0:
            raise VideoError(f"{path}: no decodable frame (corrupt or empty video)")
    finally:
        capture.release()
    return VideoInfo(path, width, height, fps, count, raw)


def _starts_as_raw_stream(path: Path) -> bool:
    """Whether ``path`` begins as a stream with no container: an H.264/H.265 start code or a JPEG.

    A raw stream saved under another name (``clip.avc``, an NVR export named ``.mp4``) reads at
    OpenCV's made-up 25 fps as one named ``.h264`` does. Containers begin otherwise (MP4 with its
    ftyp box, RIFF, Matroska, MPEG-PS, whose start code is followed by a byte with its top bit set,
    as no H.264/H.265 unit header is).
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError:
        return False
    if head[:2] == b"\xff\xd8":  # a JPEG: concatenated ones are an MJPEG stream
        return True
    if head[4:8] == b"ftyp":  # an MP4 whose first box has a 64-bit size (00 00 00 01)
        return False
    for code in (b"\x00\x00\x00\x01", b"\x00\x00\x01"):
        if head.startswith(code) and len(head) > len(code):
            return head[len(code)] < 0x80
    return False


def header_rate(info: VideoInfo, remedy: str) -> float:
    """The header's frame rate, or :class:`VideoError` saying it is missing or impossible, and ``remedy``."""
    fps = info.header_fps
    if not math.isfinite(fps) or fps <= 0:
        if info.raw:
            suffix = info.path.suffix.lower()
            kind = f"a raw {info.path.suffix} stream" if suffix in RAW_STREAM_SUFFIXES else "a raw video stream"
            raise VideoError(
                f"{info.path}: {kind} has no container to keep its frame rate "
                f"(decoders assume 25, whatever the camera recorded at); {remedy}"
            )
        raise VideoError(f"{info.path}: the header has no frame rate; {remedy}")
    if fps > MAX_HEADER_FPS:
        raise VideoError(
            f"{info.path}: the header says {fps:g} frames a second, more than any CCTV camera records "
            f"(at most {MAX_HEADER_FPS:g}), so times and dwell would be wrong; {remedy}"
        )
    return fps


def seek_rate(info: VideoInfo, at_s: float, fps: float | None, remedy: str) -> float:
    """The frame rate that finds the frame ``at_s`` seconds in: ``fps`` (``--fps``, the camera's) where
    given, else the header's, refused as :func:`header_rate` refuses it for ``process`` (a raw stream
    has none: decoders make up 25, and the frame shown would be of another time).

    At 0 s every rate finds the first frame, so none is asked for (25 where the header has none).
    """
    if fps:
        return fps
    if at_s == 0 and not (math.isfinite(info.header_fps) and info.header_fps > 0):
        return 25.0
    return header_rate(info, remedy)


def fingerprint(path: Path, chunk: int = 4 << 20) -> str:
    """sha256 of the file's bytes: the same footage gives the same ids wherever it lives."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_frames(
    path: Path,
    *,
    expected: int = 0,
    promised: int = 0,
    prefetch: int = 8,
    stamps: list[float] | None = None,
    header_fps: float = 0.0,
) -> Iterator[tuple[int, Frame]]:
    """Yield ``(index, frame)``, decoding in a background thread so inference never waits.

    ``stamps``, where given, gets each decoded frame's timestamp (seconds, the container's
    origin) appended, in order: a variable-frame-rate recording is timed by them
    (:mod:`retail_intel.pipeline.frame_times`). The decoder runs ahead, so it may hold a
    few more than the frames taken.

    Raises :class:`VideoError` naming the frame where decoding broke off when
    ``expected`` frames were wanted and clearly fewer came: all the header's,
    or a preview's first ones (``promised``: the header's count, to name it).
    In a container that keeps no frame count (any but :data:`EXACT_COUNT_SUFFIXES`),
    where ``header_fps`` is given and the frames' timestamps reach as far as
    ``expected`` frames at it would, fewer frames are no break: the count is
    OpenCV's estimate from the length, at a rate a variable-frame-rate recording
    does not keep.
    """
    frames: queue.Queue[tuple[int, Frame] | BaseException | None] = queue.Queue(maxsize=prefetch)
    stop = threading.Event()
    times = stamps if stamps is not None else []
    estimated = path.suffix.lower() not in EXACT_COUNT_SUFFIXES and expected > 0 and header_fps > 0
    timed = stamps is not None or estimated  # else no one reads them

    def offer(item: tuple[int, Frame] | BaseException | None) -> None:
        # never block for good: a consumer that stopped early (a preview's last frame, an error)
        # reads no more, and a plain put on the full queue would hold this thread and its decoder
        while not stop.is_set():
            try:
                frames.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def decode() -> None:
        capture = cv2.VideoCapture(str(path))
        try:
            index = 0
            while not stop.is_set():
                ok, frame = capture.read()
                if not ok:
                    break
                if timed:
                    times.append(capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0)
                offer((index, cast(Frame, frame)))
                index += 1
            offer(None)
        except BaseException as exc:  # surfaced in the consumer thread
            offer(exc)
        finally:
            capture.release()

    worker = threading.Thread(target=decode, name="retail-intel-decode", daemon=True)
    worker.start()
    delivered = 0
    try:
        while True:
            item = frames.get()
            if item is None:
                break
            if isinstance(item, BaseException):
                raise VideoError(f"{path}: decoding failed at frame {delivered}: {item}") from item
            delivered += 1
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)
    # Containers may over-count by a frame or two; a real break loses many.
    slack = max(2, expected // 100)
    if expected and delivered < expected - slack:
        if estimated and _reaches(times[:delivered], expected - slack, header_fps):
            return
        raise VideoError(
            f"{path}: the video breaks off at frame {delivered} of the {max(expected, promised)} its header "
            "promises (truncated or corrupt); nothing was written"
        )


def first_frame_stamp(path: Path) -> float:
    """The first frame's timestamp (seconds, the container's origin; 0 where the decoder gives none)."""
    capture = cv2.VideoCapture(str(path))
    try:
        capture.read()
        return float(capture.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0
    finally:
        capture.release()


def frame_stamps(path: Path) -> list[float]:
    """Every frame's timestamp (seconds, the container's origin), in order: one decoding pass, no pictures kept."""
    capture = cv2.VideoCapture(str(path))
    stamps: list[float] = []
    try:
        while capture.grab():
            stamps.append(float(capture.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0)
    finally:
        capture.release()
    return stamps


def _reaches(times: list[float], frames: int, fps: float) -> bool:
    """Whether timestamps ``times`` span as long as ``frames`` frames at ``fps`` (False where unknown)."""
    finite = [t for t in times if math.isfinite(t)]
    if fps <= 0 or len(finite) < 2:
        return False
    # the latest, not the last: a decoder flushed at the end gives its last frames no timestamp (0)
    return max(finite) - finite[0] >= (frames - 1) / fps


def read_frame_at(path: Path, seconds: float, fps: float) -> tuple[int, Frame]:
    """The frame at ``seconds`` from the start (at the given real ``fps``)."""
    info = probe(path)
    index = max(0, round(seconds * fps))
    if info.frame_count and index >= info.frame_count > seconds * fps:
        # within the last frame's time, nearer its end: that frame, not "past the end"
        index = info.frame_count - 1
    if info.frame_count and index >= info.frame_count:
        raise _past_the_end(path, seconds, index, info.frame_count, fps)
    frame = _seek_frame(path, index)
    if frame is not None:
        return index, frame
    # MPEG-TS and other streams without an index: OpenCV's seek fails or lands elsewhere
    # (an NVR's H.264 .ts could not show frame 50 of its 100), so decode up to the frame
    frame, decoded = _decode_to_frame(path, index)
    if frame is not None:
        return index, frame
    if not info.frame_count:  # a raw stream (.h264, .mjpeg) says no length: it is just shorter
        raise _past_the_end(path, seconds, index, decoded, fps)
    raise VideoError(
        f"{path}: could not decode frame {index}: the video breaks off at frame {decoded}, "
        f"though its header promises {info.frame_count} (truncated or corrupt)"
    )


def _past_the_end(path: Path, seconds: float, index: int, frames: int, fps: float) -> VideoError:
    return VideoError(
        f"{path}: asked for {seconds:g}s (frame {index}) but the video has {frames} frames "
        f"({frames / fps:.1f}s at {fps:g} fps)"
    )


def _seek_frame(path: Path, index: int) -> Frame | None:
    """Frame ``index`` by seeking; None where the seek failed or did not land on that frame."""
    capture = cv2.VideoCapture(str(path))
    try:
        if index:
            capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = capture.read()
        landed = int(capture.get(cv2.CAP_PROP_POS_FRAMES)) - 1
    finally:
        capture.release()
    return cast(Frame, frame) if ok and landed == index else None


def _decode_to_frame(path: Path, index: int) -> tuple[Frame | None, int]:
    """Frame ``index`` by decoding from the start, and how many frames came before; None where it ends first."""
    capture = cv2.VideoCapture(str(path))
    try:
        for decoded in range(index):
            if not capture.grab():
                return None, decoded
        ok, frame = capture.read()
    finally:
        capture.release()
    return (cast(Frame, frame), index) if ok else (None, index)
