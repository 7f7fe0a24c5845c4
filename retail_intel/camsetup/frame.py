"""The picture the setup page draws on: a frame of a video, or the camera's latest picture.

Without a video the picture is ``DATA_DIR/frames/<branch>/<camera>.jpg``,
which ``process`` keeps for every camera it has seen (or, before a full run, the
one a ``--max-frames`` preview kept under ``DATA_DIR/previews/``).
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from retail_intel.errors import InputError, NextStep, Step
from retail_intel.storage import PREVIEWS_DIR, camera_frame_path


@dataclass(frozen=True)
class Picture:
    data: bytes
    media_type: str
    width: int
    height: int
    source: str  # what it was taken from, for the page's caption


def _jpeg_size(data: bytes, source: str) -> tuple[int, int]:
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            return int(width), int(height)
    except (UnidentifiedImageError, OSError) as exc:
        raise InputError(f"{source}: expected a JPEG picture of the camera, could not read it ({exc})") from None


def frame_from_video(video: Path, at_s: float, fps: float | None, fps_name: str = "fps") -> Picture:
    """The frame ``at_s`` seconds into ``video`` as JPEG (OpenCV decodes it, in :mod:`retail_intel.vision`).

    ``fps_name`` is what the caller calls ``fps`` in messages (its flag: ``--fps``)."""
    from retail_intel.vision.annotate import write_image
    from retail_intel.vision.video import probe, read_frame_at, seek_rate

    info = probe(video)
    remedy = f"pass {fps_name} with the rate the camera records at, or set the camera's fps in branches.yaml"
    index, frame = read_frame_at(video, at_s, seek_rate(info, at_s, fps, remedy))
    with tempfile.TemporaryDirectory(prefix="retail-intel-setup-") as scratch:
        path = write_image(Path(scratch) / "frame.jpg", frame)
        data = path.read_bytes()
    width, height = _jpeg_size(data, str(video))
    return Picture(data, "image/jpeg", width, height, f"{video.name}, frame {index}")


def latest_picture(data_dir: Path, branch_id: str, camera_id: str) -> Picture:
    """The camera's latest picture under the data directory, or :class:`InputError` saying how to get one.

    Without one from a full run, the picture a ``--max-frames`` preview kept under
    ``DATA_DIR/previews/`` will do: it is the same camera's view.
    """
    path = camera_frame_path(data_dir, branch_id, camera_id)
    preview = camera_frame_path(data_dir / PREVIEWS_DIR, branch_id, camera_id)
    source = f"{path.name} (latest picture)"
    if not path.is_file() and preview.is_file():
        path, source = preview, f"{preview.name} (latest picture, of a --max-frames preview)"
    if not path.is_file():
        raise InputError(
            f"no picture of camera {camera_id} at {path}: ",
            next_step=NextStep(Step.SETUP_FROM_VIDEO, {"branch": branch_id, "camera": camera_id}),
        )
    data = path.read_bytes()
    width, height = _jpeg_size(data, str(path))
    return Picture(data, "image/jpeg", width, height, source)
