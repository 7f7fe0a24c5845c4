"""Short clips for hand counting, and the CSV to fill in while watching them.

Counting a whole day by hand is nobody's job; counting a handful of 30-second
clips spread over it is. Clips are drawn one per equal stretch of the video
(at a random offset within it, fixed by ``seed``), so busy and quiet parts
are both represented. Each clip shows the camera's ROI and counting line and
the time from the start of the video, so the counter applies the same rules
as the software.
"""

from __future__ import annotations

import csv
import functools
import itertools
import math
import os
import random
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from retail_intel.accuracy.audit import TimeSlice
from retail_intel.errors import InputError, VideoError
from retail_intel.movements.classify import CountingRules
from retail_intel.movements.geometry import Polygon
from retail_intel.movements.zones import ZoneSpec
from retail_intel.naming import CallerNames
from retail_intel.pipeline.frame_times import BY_TIMESTAMPS, EVEN_TOLERANCE_FRAMES, FloatArray, time_frames, times_at
from retail_intel.pipeline.zone_step import check_regions_inside_frame
from retail_intel.storage import file_in_the_way
from retail_intel.vision.video import first_frame_stamp, frame_stamps, header_rate, probe

COUNTS_FILE = "counts.csv"
# the names sample_clips gives its clips (clip01_000123s.mp4): only these are ever removed from --out
CLIP_NAME = re.compile(r"clip\d{2,}_\d{6,}s\.mp4")
# the hidden folder inside --out where a sample is cut before it replaces the earlier one: inside --out,
# so moving its files into place is a rename on the same file system, never a copy
STAGING_PREFIX = ".audit-sample-"
# inside the staging folder: the earlier sample's files, kept until the new one is in place
EARLIER = "earlier"


@dataclass(frozen=True)
class SampledClip:
    path: Path
    slice: TimeSlice


def pick_slices(
    duration_s: float, clips: int, length_s: float, seed: int = 0, names: Mapping[str, str] | None = None
) -> list[TimeSlice]:
    """``clips`` non-overlapping slices of ``length_s``, one at a random offset in each equal stretch.

    ``names`` say what the caller calls ``clips`` and ``length_s`` in messages (its flags: ``{"clips": "--clips"}``).
    """
    named = CallerNames(names)
    if clips < 1:
        raise InputError(f"{named('clips')} must be at least 1, got {clips}")
    if length_s <= 0:
        raise InputError(f"{named('length_s')} must be positive, got {length_s:g} s")
    stretch = duration_s / clips
    rng = random.Random(seed)
    out = []
    for i in range(clips):
        lo = i * stretch
        room = stretch - length_s
        start = lo + (rng.uniform(0, room) if room > 0 else 0.0)
        out.append(TimeSlice(round(start, 2), round(min(start + length_s, lo + stretch), 2)))
    return out


def _first_frame_at(seconds: float, rate: float, times: FloatArray | None = None) -> int:
    """The first frame whose time (``times``, else ``index / rate``) is at or after ``seconds`` (float noise forgiven)."""
    if times is not None:
        return int(np.searchsorted(times, seconds - 1e-6, side="left"))
    return math.ceil(seconds * rate - 1e-6)


def _time_of(index: int, rate: float, times: FloatArray | None) -> float:
    """Frame ``index``'s time: ``times`` where the video is timed by its timestamps; past its last frame, its end."""
    return index / rate if times is None else float(times_at(times, index))


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}.{int((seconds - whole) * 10)}"


def sample_clips(
    video: Path,
    out_dir: Path,
    *,
    fps: float | None = None,
    rules: CountingRules | None = None,
    zones: Sequence[ZoneSpec] = (),
    camera_id: str = "",
    regions_from: str = "",
    staff_zones: Sequence[Polygon] = (),
    clips: int = 8,
    length_s: float = 30.0,
    seed: int = 0,
    force: bool = False,
    names: Mapping[str, str] | None = None,
) -> list[SampledClip]:
    """Write ``clips`` short clips of ``video`` and a ``counts.csv`` template into ``out_dir``.

    All or nothing: the clips and ``counts.csv`` are cut into a hidden folder inside
    ``out_dir`` and moved into place only once all are written. Clips an earlier run left
    in ``out_dir`` (files named like this function's own clips) that this run did not
    write are then removed, so every clip there is one that ``counts.csv`` lists. Stopped
    at any point before that (Ctrl-C, a failed write, a full disk), it leaves ``out_dir``
    as it was: the earlier clips and ``counts.csv`` untouched, none of the new ones, no
    hidden folder (and no ``out_dir`` if this run created it). A ``counts.csv`` already
    holding hand counts is refused unless ``force``: the template would replace hours of counting.
    ``zones``, ``camera_id``, ``regions_from`` and ``staff_zones`` (the plan's) are checked against the frame
    with ``rules``, as process checks them. ``names`` say what the caller calls ``out_dir``, ``force``, ``fps``, ``clips`` and ``length_s`` in
    messages (its flags: ``{"out_dir": "--out"}``); a parameter left out is named as it is here.
    """
    named = CallerNames(names)
    out_name, force_name = named("out_dir"), named("force")
    if (blocker := file_in_the_way(out_dir / COUNTS_FILE)) is not None:
        # said as "counts.csv/counts.csv: cannot be read (Not a directory)", naming neither out_dir nor the file
        raise InputError(
            f"{out_name} {out_dir}: expected a folder for the clips and {COUNTS_FILE}, but {blocker} is a file"
        )
    filled = 0 if force else filled_counts(out_dir / COUNTS_FILE)
    if filled:
        raise InputError(
            f"{out_dir / COUNTS_FILE}: holds hand counts ({filled} filled cell(s)), which a new sample would "
            f"replace with an empty template; choose another {out_name}, or pass {force_name} to start over"
        )

    info = probe(video)
    rate = fps or header_rate(info, f"pass {named('fps')}")
    if not info.frame_count:
        raise VideoError(f"{video}: the container does not say how many frames it has; cannot sample clips")
    if rules is not None:
        # as process refuses them: clips counted by hand against a region audit check cannot run are wasted work
        # (the camera's named zones too: audit check processes the video with them and refuses one that
        # does not fit; ``regions_from`` names the camera's entry, as ProcessPlan.regions_from does)
        check_regions_inside_frame(
            rules, zones, info.width, info.height, camera_id, regions_from, staff_zones=staff_zones
        )
    slices = pick_slices(info.frame_count / rate, clips, length_s, seed, names)
    measures = ["entered", "passed"]
    if rules is not None and rules.line is not None:
        measures += ["line_in", "line_out"]
    # the folders this run creates (deepest first), removed again if it stops: "as it was" includes not being there
    created = list(itertools.takewhile(lambda folder: not folder.exists(), (out_dir, *out_dir.parents)))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        try:
            staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out_dir))
        except OSError as exc:
            raise InputError(f"{out_dir}: cannot write the clips here ({exc.strerror or exc})") from exc
        try:
            size = (info.width, info.height)
            again = functools.partial(pick_slices, clips=clips, length_s=length_s, seed=seed)
            # a seek lands where the header's rate puts a time, whatever rate times the frames
            seek_rate = info.header_fps if info.header_fps > 0 else rate
            staged = _sample(
                video, staging, out_dir, (rate, seek_rate), size, slices, rules, again if fps is None else None
            )
            if not staged:
                raise VideoError(f"{video}: no frame of any clip could be read (truncated or corrupt); nothing written")
            write_counts_template(staging / COUNTS_FILE, staged, measures)
            _swap_in(out_dir, staging, [clip.path.name for clip in staged])
        except BaseException:
            _drop_staging(staging)
            raise
    except BaseException:
        for folder in created:
            try:
                folder.rmdir()
            except OSError:  # not empty (a failed swap kept the earlier files in it), or not ours to remove
                break
        raise
    return [SampledClip(out_dir / clip.path.name, clip.slice) for clip in staged]


def _sample(
    video: Path,
    staging: Path,
    out_dir: Path,
    rates: tuple[float, float],
    size: tuple[int, int],
    slices: list[TimeSlice],
    rules: CountingRules | None,
    pick_again: Callable[[float], list[TimeSlice]] | None,
) -> list[SampledClip]:
    """The clips of ``slices`` cut into ``staging``, at the times process gives their frames.

    ``rates``: the rate that times frames (the user's, else the header's) and the header's, by
    which a seek finds a time. Cut by seeking, each frame's timestamp is checked against its
    index at the header's rate. Where one is off, or the clips came out fewer or shorter than
    asked, they are cut again reading in order (a seek lands by time, not by index: on a
    variable frame rate, or MPEG-TS landing on frame 40 when asked for an earlier one). With
    the rate the user gave, by index at that rate, as process times them; else every timestamp
    is read (one decoding pass) and frames are timed as process times them: by their timestamps
    on a variable frame rate, the slices then picked again (``pick_again``) over the real duration.
    """
    rate, seek_rate = rates
    origin = first_frame_stamp(video)
    staged, uneven = _cut_clips(video, staging, out_dir, rate, size, slices, rules, origin=(origin, seek_rate))
    whole = len(staged) == len(slices) and all(c.slice == s for c, s in zip(staged, slices, strict=False))
    if whole and not uneven:
        return staged
    for clip in staged:
        clip.path.unlink(missing_ok=True)
    times = None
    if pick_again is not None:
        timing = time_frames(frame_stamps(video), rate)
        times = timing.times if timing.by == BY_TIMESTAMPS else None
        if times is not None:
            slices = pick_again(timing.duration(len(times), rate))
    return _cut_clips(video, staging, out_dir, rate, size, slices, rules, times=times, in_order=True)[0]


def _cut_clips(
    video: Path,
    folder: Path,
    out_dir: Path,
    rate: float,
    size: tuple[int, int],
    slices: Sequence[TimeSlice],
    rules: CountingRules | None,
    *,
    origin: tuple[float, float] | None = None,
    times: FloatArray | None = None,
    in_order: bool = False,
) -> tuple[list[SampledClip], bool]:
    """Cut one clip per slice into ``folder`` (the staging folder); messages name the clip's place in ``out_dir``.

    Frames are timed by ``times`` where given, else ``index / rate``; reached by seeking, or
    ``in_order`` by reading every frame before them (a seek lands by time, not by index). With
    ``origin`` (the first frame's timestamp, and the header's rate) each frame's timestamp is
    checked against its index at that rate; the second value says whether any was more than
    half a frame off.
    """
    from retail_intel.vision.annotate import draw_regions

    written: list[SampledClip] = []
    uneven = False
    position = 0  # the next frame a read gives, reading in order
    capture = cv2.VideoCapture(str(video))
    try:
        for number, piece in enumerate(slices, start=1):
            # exactly the frames whose times fall in [start, end), the stretch audit check compares
            # (rounding showed a frame before the slice and left out its last one)
            first, last = _first_frame_at(piece.start_s, rate, times), _first_frame_at(piece.end_s, rate, times)
            if first == last:
                continue  # no frame falls in the slice (shorter than a gap of a variable frame rate)
            path = folder / f"clip{number:02d}_{int(piece.start_s):06d}s.mp4"
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), rate, size)
            if not writer.isOpened():
                raise InputError(f"{out_dir / path.name}: cannot write a video here")
            count = 0
            try:
                if not in_order:
                    capture.set(cv2.CAP_PROP_POS_FRAMES, first)
                if in_order and position > first:  # an earlier slice reaching past this one's start
                    capture.release()
                    capture, position = cv2.VideoCapture(str(video)), 0
                while in_order and position < first and capture.grab():
                    position += 1
                for index in range(first, last):
                    ok, raw = capture.read() if position == index or not in_order else (False, None)
                    if not ok:
                        break
                    position = index + 1
                    if origin is not None and not uneven:
                        start, header = origin
                        stamp = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0 - start
                        uneven = abs(stamp - index / header) > EVEN_TOLERANCE_FRAMES / header
                    frame = np.asarray(raw, dtype=np.uint8)
                    if rules is not None:
                        draw_regions(frame, rules)
                    cv2.putText(
                        frame,
                        _clock(_time_of(index, rate, times)),
                        (8, 24),
                        cv2.FONT_HERSHEY_SIMPLEX,
                        0.7,
                        (255, 255, 255),
                        2,
                    )
                    writer.write(frame)
                    count += 1
            finally:
                writer.release()
            # a header that promises more frames than the file holds: a clip past the real end is
            # dropped, one cut short says where it really ends (so nobody counts footage that is not there)
            if count == 0:
                path.unlink(missing_ok=True)
                break
            if first + count < last:  # the file ended inside this clip: the later ones lie past it
                end = round(_time_of(first + count, rate, times), 2)
                written.append(SampledClip(path, TimeSlice(piece.start_s, end)))
                break
            written.append(SampledClip(path, piece))
    finally:
        capture.release()
    return written, uneven


def _swap_in(out_dir: Path, staging: Path, names: Sequence[str]) -> None:
    """Replace the earlier sample in ``out_dir`` with the clips ``names`` and the counts.csv cut into ``staging``.

    Renames only (one folder, one file system), each atomic: the earlier counts.csv and every
    clip named like ours move into ``staging/earlier`` (kept, not deleted), then the new clips
    and, last, the new counts.csv move in; only then are the earlier files deleted, with
    ``staging``. counts.csv goes out first and comes in last, so at no moment does ``out_dir``
    hold a counts.csv next to clips it does not list. Anything raised during the renames
    (Ctrl-C, a failed rename) puts the earlier files back before it goes on.

    What remains: a second Ctrl-C while the earlier files are being put back, or a process
    killed outright (SIGKILL, power cut) during these few renames, leaves ``out_dir`` with no
    counts.csv and the earlier files in the hidden ``staging/earlier`` to move back by hand; a
    Ctrl-C in the instant just before or just after the deletion is passed on (reported as
    stopped) though the new sample is in place, and if before, leaves the earlier files there.
    Closing these would take holding off signals, which a library should not do to its caller.
    """
    earlier = staging / EARLIER
    earlier.mkdir()
    ours = sorted(path.name for path in out_dir.iterdir() if CLIP_NAME.fullmatch(path.name) and path.is_file())
    try:
        for name in [COUNTS_FILE, *ours]:
            if (out_dir / name).is_file():
                os.replace(out_dir / name, earlier / name)
        for name in [*names, COUNTS_FILE]:
            os.replace(staging / name, out_dir / name)
    except BaseException:
        # undone from what is on disk, not from a list of moves made: an interruption between a
        # rename and its bookkeeping would otherwise leave that one file out
        for name in [*names, COUNTS_FILE]:
            if not (staging / name).exists():  # moved in already (its earlier namesake is in `earlier`)
                (out_dir / name).unlink(missing_ok=True)
        for path in earlier.iterdir():
            os.replace(path, out_dir / path.name)
        raise
    _drop_earlier(staging)


def _drop_staging(staging: Path) -> None:
    """After a failure: remove the staging folder, unless earlier files could not be put back (they are kept there)."""
    earlier = staging / EARLIER
    if earlier.is_dir() and any(earlier.iterdir()):
        return
    shutil.rmtree(staging, ignore_errors=True)


def _drop_earlier(staging: Path) -> None:
    """After the swap: delete the staging folder, now holding only the earlier sample's files."""
    try:
        shutil.rmtree(staging, ignore_errors=True)
    except KeyboardInterrupt:
        # the new sample is complete and in place, so a Ctrl-C now comes too late to stop it: passing it on
        # would report the sample as not made and leave the earlier files behind in the hidden folder
        shutil.rmtree(staging, ignore_errors=True)


def filled_counts(path: Path) -> int:
    """How many count cells of the ``counts.csv`` at ``path`` are filled in (0 when there is none)."""
    try:
        with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
            records = list(csv.reader(handle))
    except FileNotFoundError:
        return 0
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if not records:
        return 0
    # by position, not csv.DictReader: a dict keeps one cell of all the columns with a blank header
    # (a spreadsheet's "a,b,c,,"), so a count typed under the first was missed; cells past the
    # header's columns count too
    timing = {i for i, name in enumerate(records[0]) if name.strip().lower() in ("clip", "start", "end")}
    return sum(1 for row in records[1:] for i, cell in enumerate(row) if i not in timing and cell.strip())


def short_clips_warning(clips: Sequence[SampledClip], asked: int, length_s: float) -> str | None:
    """One line when the clips came out shorter than ``length_s`` (clips x length does not fit the video)."""
    lengths = [clip.slice.end_s - clip.slice.start_s for clip in clips]
    short = [got for got in lengths if got < length_s - 0.01]
    if not short:
        return None
    low, high = min(short), max(short)
    got = f"{low:.2f} s" if high - low < 0.01 else f"{low:.2f} to {high:.2f} s"
    return (
        f"asked for {asked} clips of {length_s:g} s ({asked * length_s:g} s), which does not fit the video: "
        f"{len(short)} of the {len(clips)} clips got only {got}"
    )


def write_counts_template(path: Path, clips: Sequence[SampledClip], measures: Sequence[str]) -> None:
    """The CSV to fill in: one row per clip with its slice and an empty cell per measure.

    Times are written exactly (shortest form that reads back as the same float):
    ``audit check`` reads this slice back, and an event near a clip's edge must
    fall in the clip the counter watched (six significant digits lost 0.1 s past
    10,000 s into the video, whole seconds past 100,000 s).
    """
    with open(path, "w", newline="") as handle:
        writer_csv = csv.writer(handle)
        writer_csv.writerow(["clip", "start", "end", *measures])
        for clip in clips:
            start, end = float(clip.slice.start_s), float(clip.slice.end_s)
            writer_csv.writerow([clip.path.name, repr(start), repr(end), *[""] * len(measures)])
