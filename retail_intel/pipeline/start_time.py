"""When was frame 0 recorded? From a flag, the file name, or the container.

NVR exports carry the start in their names (``cam1_20260208_100000.mp4``);
MP4/MOV containers carry a creation time in their ``mvhd`` box.
"""

from __future__ import annotations

import datetime as dt
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

from retail_intel.config.filename_pattern import pattern_regex as pattern_regex
from retail_intel.errors import TimeError

_MP4_EPOCH = dt.datetime(1904, 1, 1, tzinfo=dt.UTC)


def time_from_filename(
    path: Path, pattern: str, tz: ZoneInfo, *, explicit_fix: str = "pass its start with start_time"
) -> dt.datetime | None:
    """The start time encoded in ``path``'s stem per ``pattern`` (local time in ``tz``), as UTC.

    A time in the hour a fall-back change repeats is its first occurrence (summer time); a time
    the clocks skipped (spring forward) names no instant and is refused, the error ending with
    ``explicit_fix`` (how to give the start instead).
    """
    match = pattern_regex(pattern).fullmatch(path.stem)
    if not match:
        return None
    g = match.groupdict()
    try:
        local = dt.datetime(
            int(g["Y"]), int(g["m"]), int(g["d"]), int(g["H"]), int(g["M"]), int(g.get("S") or 0), tzinfo=tz
        )
    except ValueError as exc:
        raise TimeError(f"{path.name}: matches {pattern!r} but is no valid date/time ({exc})") from exc
    found = local.astimezone(dt.UTC)
    if found.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        before = (found - dt.timedelta(hours=3)).astimezone(tz).isoformat(timespec="seconds")[-6:]
        after = (found + dt.timedelta(hours=3)).astimezone(tz).isoformat(timespec="seconds")[-6:]
        raise TimeError(
            f"{path.name}: names {local:%Y-%m-%d %H:%M:%S}, a time that does not exist in {tz.key} "
            f"(the clocks went forward from UTC{before} to UTC{after} that night): {explicit_fix}"
        )
    return found


def mp4_creation_time(path: Path) -> dt.datetime | None:
    """Creation time from an MP4/MOV ``moov/mvhd`` box; None when absent or zero."""
    try:
        with open(path, "rb") as handle:
            size = path.stat().st_size
            return _find_mvhd(handle, 0, size)
    except OSError:
        return None


def _find_mvhd(handle: BinaryIO, start: int, end: int) -> dt.datetime | None:
    pos = start
    while pos + 8 <= end:
        handle.seek(pos)
        header = handle.read(8)
        if len(header) < 8:
            return None
        box_size, box_type = struct.unpack(">I4s", header)
        body = pos + 8
        if box_size == 1:
            box_size = struct.unpack(">Q", handle.read(8))[0]
            body = pos + 16
        elif box_size == 0:
            box_size = end - pos
        if box_size < 8:
            return None
        if box_type == b"moov":
            return _find_mvhd(handle, body, pos + box_size)
        if box_type == b"mvhd":
            version = handle.read(4)[0]
            raw = handle.read(8 if version == 1 else 4)
            seconds = struct.unpack(">Q" if version == 1 else ">I", raw)[0]
            if seconds == 0:
                return None
            return _MP4_EPOCH + dt.timedelta(seconds=seconds)
        pos += box_size
    return None


@dataclass(frozen=True)
class StartFix:
    """How to give a video's start, as the command at hand accepts it."""

    no_start: str  # neither name nor container holds a start
    skipped: str  # the name holds a time the clocks skipped (spring forward)


# A single file takes a start (``start_time``, the CLI's --start-time); a batch refuses it (its
# explicit start is a manifest's start column); tracks takes no start at all (the run summary holds it).
def single_file_fix(start_time: str = "start_time") -> StartFix:
    """How one file's start is given, ``start_time`` named as the caller calls it (its flag: ``--start-time``)."""
    return StartFix(
        no_start=f"pass {start_time} 2026-02-08T10:00:00+00:00, "
        "or set the camera's filename_pattern (e.g. 'cam1_%Y%m%d_%H%M%S') in branches.yaml",
        skipped=f"pass its start with {start_time}",
    )


BATCH_FIX = StartFix(
    no_start="set the camera's filename_pattern (e.g. 'cam1_%Y%m%d_%H%M%S') in branches.yaml to match its name, "
    "or list it in a manifest CSV with a start column (path,start)",
    skipped="list it in a manifest CSV with a start column (path,start)",
)


def tracks_fix(start_time: str = "start_time") -> StartFix:
    """How a stored run's start is given again: by processing the video anew with ``start_time``."""
    gone = f"its run summary (DATA_DIR/runs/, which holds the start) is gone: process it again with {start_time}"
    return StartFix(
        no_start=f"{gone}, or set the camera's filename_pattern (e.g. 'cam1_%Y%m%d_%H%M%S') in branches.yaml",
        skipped=gone,
    )


def resolve_start_time(
    path: Path,
    *,
    explicit: dt.datetime | None,
    pattern: str | None,
    tz: ZoneInfo,
    how_to_fix: StartFix | None = None,
    explicit_from: str = "--start-time",
) -> tuple[dt.datetime, str]:
    """(start time in UTC, where it came from) or a :class:`TimeError` ending with ``how_to_fix``'s remedy.

    ``explicit`` wins over the file name and the container; ``explicit_from`` says where it
    was given. Without ``how_to_fix``, :func:`single_file_fix`'s. A batch passes :data:`BATCH_FIX`: it refuses ``--start-time``, so suggesting
    it would mislead (its explicit start is a manifest's start column).
    """
    if explicit is not None:
        return explicit.astimezone(dt.UTC), explicit_from
    how_to_fix = how_to_fix or single_file_fix()
    if pattern:
        found = time_from_filename(path, pattern, tz, explicit_fix=how_to_fix.skipped)
        if found is not None:
            return found, f"file name (pattern {pattern})"
    created = mp4_creation_time(path)
    if created is not None:
        return created, "container creation time"
    hint = f" (its name does not match the camera's pattern {pattern!r})" if pattern else ""
    raise TimeError(f"{path.name}: no recording start time{hint}: {how_to_fix.no_start}")
