"""MOTChallenge ground truth: reading ``gt.txt`` and turning boxes into tracks and back.

A ``gt.txt`` row is ``frame,id,x,y,w,h,conf,...``: ``frame`` is 1-based (gt
frame N is decoded video frame N-1), ``x,y`` the box's top-left corner, and a
row with ``conf == 0`` is an "ignore" box (someone annotated but not to be
scored, e.g. too far away). Internally frames are 0-based video indices.

Two layouts share the name: MOT15 rows end in world coordinates ``X,Y,Z`` (10
values, as tracker results do), MOT16/17 rows in ``class,visibility`` (9 values)
and hold cars, occluders and reflections beside the pedestrians. Those are
read as TrackEval evaluates them (see :func:`_mot16_kind`).
"""

from __future__ import annotations

import configparser
import csv
import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from retail_intel.errors import InputError
from retail_intel.movements.tracks import Track
from retail_intel.pipeline.frame_times import times_at

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class MotBoxes:
    """One box per row: 0-based video ``frame``, identity ``ids``, top-left ``x, y``, size ``w, h``."""

    frame: IntArray
    ids: IntArray
    x: FloatArray
    y: FloatArray
    w: FloatArray
    h: FloatArray
    ignore: BoolArray  # ground truth's "do not score" boxes; always False for predictions
    # MOT16/17 distractors (a static person, a reflection...): ignore boxes that are nobody to count.
    # All False but in a MOT16/17 gt.txt that has some.
    distractor: BoolArray

    def __post_init__(self) -> None:
        n = len(self.frame)
        for name in ("ids", "x", "y", "w", "h", "ignore", "distractor"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"MotBoxes.{name} has {len(getattr(self, name))} rows, frame has {n}")

    def __len__(self) -> int:
        return len(self.frame)

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[int, int, float, float, float, float, bool]]) -> MotBoxes:
        """From ``[(frame, id, x, y, w, h, ignore), ...]`` (0-based frames): handy for tests."""
        listed = list(rows)
        if not listed:
            return cls.empty()
        cols = list(zip(*listed, strict=True))
        return cls(
            frame=np.asarray(cols[0], dtype=np.int64),
            ids=np.asarray(cols[1], dtype=np.int64),
            x=np.asarray(cols[2], dtype=np.float64),
            y=np.asarray(cols[3], dtype=np.float64),
            w=np.asarray(cols[4], dtype=np.float64),
            h=np.asarray(cols[5], dtype=np.float64),
            ignore=np.asarray(cols[6], dtype=bool),
            distractor=np.zeros(len(listed), dtype=bool),
        )

    @classmethod
    def empty(cls) -> MotBoxes:
        f, i = np.zeros(0, np.float64), np.zeros(0, np.int64)
        return cls(i, i.copy(), f, f.copy(), f.copy(), f.copy(), np.zeros(0, bool), np.zeros(0, bool))

    @property
    def xyxy(self) -> FloatArray:
        return np.stack([self.x, self.y, self.x + self.w, self.y + self.h], axis=1)

    def scored(self) -> MotBoxes:
        """Without the ignore boxes."""
        return self.select(~self.ignore)

    def select(self, keep: BoolArray) -> MotBoxes:
        return MotBoxes(
            self.frame[keep],
            self.ids[keep],
            self.x[keep],
            self.y[keep],
            self.w[keep],
            self.h[keep],
            self.ignore[keep],
            self.distractor[keep],
        )

    def identities(self) -> int:
        return len(np.unique(self.ids))


# MOTChallenge class ids (MOT16/17: 1-12, MOT20 adds 13 "crowd")
PEDESTRIAN = 1
# TrackEval's distractors: predictions on them are not false positives, they are not scored either
DISTRACTORS = frozenset({2, 7, 8, 12})  # person on vehicle, static person, distractor, reflection
MOT_CLASSES = range(1, 14)
MOT16_VALUES = 9  # frame,id,x,y,w,h,conf,class,visibility


def _mot16_kind(path: Path, number: int, row: list[str]) -> Literal["person", "distractor", "other"]:
    """A MOT16/17 row's class: a pedestrian, a distractor, or something that is no ground truth.

    As TrackEval scores MOT16/17: only pedestrians are ground truth; predictions on a
    distractor are dropped; cars, bicycles and occluders neither count nor excuse a prediction.
    """
    try:
        cls, visibility = float(row[7]), float(row[8])
    except ValueError:
        cls = visibility = math.nan
    if not (cls.is_integer() and int(cls) in MOT_CLASSES and 0 <= visibility <= 1):
        raise InputError(
            f"{path}, row {number}: 9 values read as MOT16/17 frame,id,x,y,w,h,conf,class,visibility: expected "
            f"class a whole number 1-13 and visibility 0-1, got class {row[7].strip()!r}, "
            f"visibility {row[8].strip()!r}"
        )
    if int(cls) == PEDESTRIAN:
        return "person"
    return "distractor" if int(cls) in DISTRACTORS else "other"


def _layout(values: int) -> str:
    if values == MOT16_VALUES:
        return "9 values: MOT16/17 frame,id,x,y,w,h,conf,class,visibility"
    return f"{values} values: MOT15 or a result file, frame,id,x,y,w,h,conf,X,Y,Z"


def read_mot(path: Path) -> MotBoxes:
    """Read a MOTChallenge ``gt.txt`` (or a tracker's result file in the same format).

    A file whose rows have 9 values is MOT16/17 (``...,conf,class,visibility``): its
    pedestrians are read (``conf == 0``: ignore boxes), its distractors as ignore boxes that
    are nobody to count, the rest (cars, occluders) left out. Any other is MOT15 or a result
    file (``...,conf,X,Y,Z``, or fewer values): every row is a person.
    """
    if not path.is_file():
        raise InputError(f"{path}: no such ground-truth file (expected MOTChallenge gt.txt: frame,id,x,y,w,h,conf,...)")
    rows: list[tuple[int, int, float, float, float, float, bool, bool]] = []  # ..., ignore, distractor
    first_row: dict[tuple[int, int], int] = {}  # (frame, id) -> the row that gave it
    first: tuple[int, int] | None = None  # the first row's number and values: the file's layout
    with open(path, newline="") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 6:
                raise InputError(f"{path}, row {number}: expected at least 6 values frame,id,x,y,w,h, got {len(row)}")
            filled = len(row)
            while not row[filled - 1].strip():  # a trailing comma is no value
                filled -= 1
            # the layout is the whole file's: a row of the other would be read as the wrong columns
            first = first or (number, filled)
            if (filled == MOT16_VALUES) != (first[1] == MOT16_VALUES):
                raise InputError(
                    f"{path}, row {number}: expected the layout of row {first[0]} ({_layout(first[1])}), "
                    f"got {_layout(filled)}; a file holds one layout"
                )
            try:
                cells = row[:6] + ([row[6]] if len(row) > 6 and row[6].strip() else [])  # conf may be left out
                values = [float(v) for v in cells]
                if not all(math.isfinite(v) for v in values):  # nan or inf: int() fails, a box goes nowhere
                    raise ValueError(row)
                frame, ident = int(values[0]), int(values[1])
                x, y, w, h = values[2:6]
                conf = values[6] if len(values) > 6 else 1.0
            except ValueError as exc:
                raise InputError(
                    f"{path}, row {number}: expected numbers frame,id,x,y,w,h,conf (no nan or inf), got {row[:7]}"
                ) from exc
            if not (values[0].is_integer() and values[1].is_integer()):
                # int() would cut 12.5 to frame 12 (or id 2.7 to person 2): a column slipped, not a frame
                raise InputError(
                    f"{path}, row {number}: frame and id must be whole numbers, got frame {row[0].strip()!r}, "
                    f"id {row[1].strip()!r}"
                )
            if frame < 1:
                raise InputError(f"{path}, row {number}: frame numbers are 1-based, got {frame}")
            if w <= 0 or h <= 0:
                raise InputError(f"{path}, row {number}: box width and height must be positive, got {w:g}x{h:g}")
            # One person is in one place per frame: a second box would be scored as a second person
            # (a false negative or a wrongly matched box) and walk the track back and forth; a
            # detections file (id -1 on every box) is no ground truth.
            if (earlier := first_row.setdefault((frame, ident), number)) != number:
                raise InputError(
                    f"{path}, row {number}: identity {ident} has a second box in frame {frame} (the first is row "
                    f"{earlier}); a ground truth has one box per identity and frame"
                )
            kind = _mot16_kind(path, number, row) if filled == MOT16_VALUES else "person"
            if kind == "other":
                continue
            rows.append((frame - 1, ident, x, y, w, h, conf == 0 or kind == "distractor", kind == "distractor"))
    if not rows and first is not None and first[1] == MOT16_VALUES:
        raise InputError(f"{path}: no pedestrian boxes (MOT16/17 class 1); its other classes are no ground truth")
    if not rows:
        raise InputError(f"{path}: no boxes (expected rows frame,id,x,y,w,h,conf,...)")
    rows.sort(key=lambda r: (r[0], r[1]))
    boxes = MotBoxes.from_rows(r[:7] for r in rows)
    return dataclasses.replace(boxes, distractor=np.asarray([r[7] for r in rows], dtype=bool))


def read_frame_rate(seqinfo: Path) -> float | None:
    """``frameRate`` from a MOTChallenge ``seqinfo.ini``; None when the file or key is missing."""
    if not seqinfo.is_file():
        return None
    parser = configparser.ConfigParser()
    parser.read(seqinfo)
    value = parser.get("Sequence", "frameRate", fallback=None)
    return float(value) if value else None


def boxes_to_tracks(boxes: MotBoxes, fps: float, times: npt.NDArray[np.float64] | None = None) -> list[Track]:
    """One :class:`Track` per identity, foot point ``(x + w/2, y + h)``, ignore boxes included.

    A box of frame ``i`` is at ``i / fps``, or at ``times[i]`` for a video timed by its frames'
    timestamps (a variable frame rate), as our own tracks of it are.

    Ignore boxes are real positions of a real person (just not scored as
    detections), so counting rules see the whole walk; a MOT16/17 distractor (a
    reflection, a static person) is nobody to count and left out.
    """
    if boxes.distractor.any():
        boxes = boxes.select(~boxes.distractor)
    tracks = []
    for ident in np.unique(boxes.ids):
        rows = np.flatnonzero(boxes.ids == ident)
        rows = rows[np.argsort(boxes.frame[rows], kind="stable")]
        frames = boxes.frame[rows]
        tracks.append(
            Track(
                track_id=int(ident),
                frames=frames.astype(np.int64),
                t=frames / fps if times is None else times_at(times, frames),
                x=boxes.x[rows] + boxes.w[rows] / 2,
                y=boxes.y[rows] + boxes.h[rows],
                height=boxes.h[rows].astype(np.float64),
                confidence=np.ones(len(rows)),
                width=boxes.w[rows].astype(np.float64),
            )
        )
    return tracks


def tracks_to_boxes(tracks: Iterable[Track]) -> MotBoxes:
    """Our tracks as MOT boxes: ``x ± width/2``, ``y - height`` down to the box's bottom, in each frame
    a track has: the boxes the detector gave, also where the feet were placed below one (hidden behind
    someone nearer)."""
    parts = []
    for track in tracks:
        n = len(track)
        parts.append(
            (
                track.frames,
                np.full(n, track.track_id, dtype=np.int64),
                track.x - track.box_width / 2,
                track.y - track.height,
                track.box_width,
                track.visible_box_height,
            )
        )
    if not parts:
        return MotBoxes.empty()
    cols = [np.concatenate([p[i] for p in parts]) for i in range(6)]
    order = np.lexsort((cols[1], cols[0]))
    return MotBoxes(
        frame=cols[0][order].astype(np.int64),
        ids=cols[1][order].astype(np.int64),
        x=cols[2][order].astype(np.float64),
        y=cols[3][order].astype(np.float64),
        w=cols[4][order].astype(np.float64),
        h=cols[5][order].astype(np.float64),
        ignore=np.zeros(len(order), dtype=bool),
        distractor=np.zeros(len(order), dtype=bool),
    )


def write_mot(boxes: MotBoxes, path: Path) -> None:
    """Write boxes as a MOTChallenge result file (1-based frames, conf 1, world coordinates -1)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        for i in range(len(boxes)):
            writer.writerow(
                [
                    int(boxes.frame[i]) + 1,
                    int(boxes.ids[i]),
                    f"{boxes.x[i]:.2f}",
                    f"{boxes.y[i]:.2f}",
                    f"{boxes.w[i]:.2f}",
                    f"{boxes.h[i]:.2f}",
                    0 if boxes.ignore[i] else 1,
                    -1,
                    -1,
                    -1,
                ]
            )
