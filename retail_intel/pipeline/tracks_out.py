"""Per-frame tracks out of a processed video: every judged person's boxes, frame by frame.

Read from the stored full-rate tracks (``DATA_DIR/tracks/``), so nothing is
decoded or detected: the tracks are judged with the camera's settings exactly
as ``process`` judges them, and each box gets the stitched person's id. Written
as MOTChallenge text (``frame,id,x,y,w,h,conf,-1,-1,-1``, frames 1-based, which
TrackEval and motmetrics read), CSV or Parquet (:data:`PERSON_BOX_SCHEMA`).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from retail_intel.config.camera_settings import CameraSettings
from retail_intel.errors import InputError, NextStep, Step
from retail_intel.movements.events import SourceInfo, judge
from retail_intel.movements.person_boxes import person_boxes_table
from retail_intel.movements.store import read_tracks
from retail_intel.movements.tracks import TrackAccumulator
from retail_intel.naming import CallerNames
from retail_intel.pipeline.frame_times import BY_TIMESTAMPS
from retail_intel.pipeline.plan import NoRegionError, ProcessRequest, make_plan
from retail_intel.pipeline.run import RUNS_DIR, run_summary_path
from retail_intel.pipeline.start_time import resolve_start_time, tracks_fix
from retail_intel.pipeline.video_tracks import source_key
from retail_intel.storage import PREVIEWS_DIR, atomic_write_bytes, atomic_write_table

# the region used when a camera has none configured: larger than any frame
_EVERYWHERE = (0.0, 0.0, 1e6, 1e6)
TrackFormat = Literal["mot", "csv", "parquet"]
FORMATS: tuple[TrackFormat, ...] = ("mot", "csv", "parquet")


@dataclass(frozen=True)
class PersonBoxes:
    table: pa.Table  # PERSON_BOX_SCHEMA
    video: str
    branch_id: str
    camera_id: str
    people: int
    frames: int


def _run_summary(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a run summary ({exc})") from exc
    needed = ("video", "video_fingerprint", "branch_id", "camera_id", "start_time")
    if not isinstance(data, dict) or any(k not in data for k in needed):
        raise InputError(f"{path}: not a run summary (needs {', '.join(needed)})")
    return data


def _missing_summary(path: Path, data_dir: Path, max_frames: str) -> str:
    """What to say for a run summary path that is no file: "not a run summary" read as a broken one."""
    # a --max-frames run writes its summary of that name under previews/runs/ instead
    preview = data_dir / PREVIEWS_DIR / RUNS_DIR / path.name
    if path.parent.name == RUNS_DIR and preview.is_file() and preview.resolve() != path.resolve():
        return (
            f"{path}: no such run summary; only a preview ({max_frames}) of that video was processed, "
            f"its summary is {preview}"
        )
    return f"{path}: no such run summary (process writes one per video as {data_dir / RUNS_DIR}/<camera>-<id>.json)"


def _check_flag(flag: str, given: str | None, run: dict[str, object], field: str, source: Path) -> None:
    if given is not None and given != str(run[field]):
        raise InputError(
            f"{flag} {given}: {source.name} was processed as {field.removesuffix('_id')} {run[field]} "
            f"(its run summary says so); leave {flag} out or pass {flag} {run[field]}"
        )


def person_boxes(
    source: Path,
    *,
    data_dir: Path,
    branch: str | None = None,
    camera: str | None = None,
    config_dir: Path | None = None,
    settings: CameraSettings | None = None,
    names: Mapping[str, str] | None = None,
) -> PersonBoxes:
    """The per-frame boxes of a processed video: ``source`` is the video or its run summary (``runs/*.json``).

    The stored tracks are judged with the settings of the run that stored them (from its summary),
    ``settings`` winning; without a summary, with the camera's config like ``process``.
    ``names`` say what the caller calls ``branch``, ``camera`` and ``data_dir`` in messages (its
    flags: ``{"branch": "--branch"}``), and the settings as :class:`ProcessRequest` takes them;
    a parameter left out is named as it is here.
    """
    named = CallerNames(names)
    branch_name = named("branch")
    from retail_intel.vision.video import fingerprint, probe

    run: dict[str, object] | None = None
    if source.suffix == ".json":
        if not source.is_file():
            raise InputError(_missing_summary(source, data_dir, named("max_frames")))
        run = _run_summary(source)
        digest, video = str(run["video_fingerprint"]), Path(str(run["video"]))
    else:
        if not source.is_file():
            raise InputError(f"{source}: no such video or run summary")
        digest, video = fingerprint(source), source
        if camera is not None:
            summary = run_summary_path(data_dir, source_key(camera, digest))
            run = _run_summary(summary) if summary.is_file() else None
        else:
            found = sorted((data_dir / RUNS_DIR).glob(f"*-{digest[:16]}.json"))
            run = _run_summary(found[0]) if len(found) == 1 else None
        if run is None:
            probe(source)  # an empty or unreadable file says so, not "needs --branch" or "process it first"
    layers: tuple[CameraSettings, ...] = ()
    tracks_dir = data_dir
    if run is not None:
        # the stored tracks are the run's: a flag naming another branch or camera would label its boxes wrongly
        _check_flag(branch_name, branch, run, "branch_id", source)
        _check_flag(named("camera"), camera, run, "camera_id", source)
        branch, camera = str(run["branch_id"]), str(run["camera_id"])
        if run.get("preview") is True:  # a --max-frames run wrote its own tree, apart from the data
            tracks_dir = data_dir / PREVIEWS_DIR
        # judged as the run that stored the tracks judged them; the settings flags still win
        if run.get("settings"):  # summaries before 0.2 have none: the config then decides
            layers = (CameraSettings.model_validate(run["settings"]),)
            config_dir = None
    if branch is None:
        # only a --max-frames preview of it: its summary names branch and camera, so say where it is
        previews = sorted((data_dir / PREVIEWS_DIR / RUNS_DIR).glob(f"*-{digest[:16]}.json"))
        if previews:
            raise InputError(
                f"only a preview ({named('max_frames')}) of {video.name} was processed into {data_dir}: "
                "pass its run summary,",
                next_step=NextStep(Step.TRACKS_OF_PREVIEW, {"summary": str(previews[0])}),
            )
        raise InputError(f"a video that was not processed into this {named('data_dir')} needs {branch_name}")
    start = dt.datetime.fromisoformat(str(run["start_time"])) if run is not None else None
    layers = (*layers, settings or CameraSettings())
    request = ProcessRequest(
        video=video, branch=branch, data_dir=data_dir, config_dir=config_dir, camera=camera, layers=layers, names=names
    )
    everywhere = False
    try:
        plan = make_plan(request)
    except NoRegionError:
        # no ROI anywhere: every person is still exported, judged against the whole picture
        plan = make_plan(dataclasses.replace(request, layers=(CameraSettings(roi=_EVERYWHERE), *layers)))
        everywhere = True
    key = source_key(plan.camera_id, digest)
    stored = read_tracks(tracks_dir, key)
    if stored is None:
        # a --max-frames run keeps its tracks apart, under previews/: reached through its own run summary
        preview = run_summary_path(data_dir / PREVIEWS_DIR, key)
        missing = (
            f"no stored tracks for {video.name} (branch {plan.branch_id}, camera {plan.camera_id}) in {tracks_dir}: "
        )
        if tracks_dir == data_dir and preview.is_file():
            raise InputError(
                f"{missing}only a preview ({named('max_frames')}) of it was processed: pass its run summary,",
                next_step=NextStep(Step.TRACKS_OF_PREVIEW, {"summary": str(preview)}),
            )
        raise InputError(missing, next_step=NextStep(Step.PROCESS_FIRST))
    # tracks are found by camera and video alone (TRACKS_DIR/<branch>/<day>/<key>.parquet): never another branch's
    stored_branch = stored.path.parent.parent.name
    if stored_branch != plan.branch_id:
        raise InputError(
            f"{branch_name} {plan.branch_id}: the stored tracks of {video.name} (camera {plan.camera_id}) are branch "
            f"{stored_branch}'s ({stored.path}); pass {branch_name} {stored_branch}"
        )
    meta = stored.metadata
    size = (int(meta["width"]), int(meta["height"]))
    if not everywhere:
        # judged as process judges: an ROI, pass-by zone or line off the frame (--roi 0,0,5000,5000)
        # is refused as process refuses it, not exported as if it were drawn on the picture
        plan.rules.check_inside_frame(*size)
    if start is None:
        start, _ = resolve_start_time(
            video,
            explicit=None,
            pattern=plan.filename_pattern,
            tz=plan.timezone,
            how_to_fix=tracks_fix(named("start_time")),
        )
    stitching = dataclasses.replace(plan.stitch, frame_size=size)
    tracks = TrackAccumulator.from_table(stored.table).tracks()
    judgement = judge(
        tracks,
        plan.rules,
        min_track_s=plan.min_track_s,
        stitch_settings=stitching,
        detect_interval_s=plan.detect_interval_s(float(meta["fps"])),
        # frames timed by their timestamps: noise judged in frames of their own length, as process did
        detect_stride=plan.stride if meta.get("frame_times") == BY_TIMESTAMPS else None,
    )
    info = SourceInfo(
        branch_id=plan.branch_id,
        camera_id=plan.camera_id,
        source_video=video.name,
        video_fingerprint=digest,
        model=meta["model"],
        start_time=start,
        processed_at=dt.datetime.now(dt.UTC),
    )
    return PersonBoxes(
        table=person_boxes_table(judgement, info),
        video=video.name,
        branch_id=plan.branch_id,
        camera_id=plan.camera_id,
        people=len(judgement.people),
        frames=int(meta["frames"]),
    )


def mot_text(table: pa.Table) -> str:
    """MOTChallenge rows: ``frame,id,x,y,w,h,conf,-1,-1,-1`` with 1-based frames and the person number as id."""
    cols = table.select(["frame", "person", "x1", "y1", "x2", "y2", "confidence"]).to_pydict()
    out = io.StringIO()
    for frame, person, x1, y1, x2, y2, conf in zip(*cols.values(), strict=True):
        out.write(f"{frame + 1},{person},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},{conf:.4f},-1,-1,-1\n")
    return out.getvalue()


def person_boxes_text(table: pa.Table, fmt: TrackFormat, fmt_name: str = "fmt") -> str:
    """``table`` as the text of a ``mot`` or ``csv`` file (Parquet is binary: it has no text).

    ``fmt_name`` is what the caller calls ``fmt`` in messages (its flag: ``--format``)."""
    if fmt == "parquet":
        raise InputError(f"{fmt_name} parquet is binary and has no text form: write it to a file")
    if fmt == "mot":
        return mot_text(table)
    # ISO 8601 with a 'T' and an offset, as every other CSV of the command line writes times
    # (pyarrow's own text is "2026-02-08 10:00:00.000000Z"); the column is UTC, hence +00:00
    time = pc.strftime(table.column("time"), format="%Y-%m-%dT%H:%M:%S+00:00")
    # the header as every other CSV of the command line writes it (csv.writer: names unquoted);
    # pyarrow quotes each name ("frame","time",...) whatever its quoting style
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(table.column_names)
    sink = io.BytesIO()
    rows = table.set_column(table.schema.get_field_index("time"), "time", time)
    pacsv.write_csv(rows, sink, pacsv.WriteOptions(include_header=False))
    return header.getvalue() + sink.getvalue().decode("utf-8")


# Names that plainly say text: Parquet written there opens nowhere. Any other name is taken as given.
TEXT_SUFFIXES = frozenset({".txt", ".csv", ".tsv", ".mot", ".json"})


def check_output_name(path: Path, fmt: TrackFormat, fmt_name: str = "fmt") -> None:
    """Refuse a ``path`` whose name says the other kind of file: MOT or CSV text into ``boxes.parquet``
    (what ``-o boxes.parquet`` without ``--format`` did), or Parquet into ``boxes.csv``.

    ``fmt_name`` is what the caller calls ``fmt`` in messages (its flag: ``--format``)."""
    suffix = path.suffix.lower()
    if fmt != "parquet" and suffix == ".parquet":
        raise InputError(
            f"{path}: {fmt_name} {fmt} writes text, not a Parquet file; add {fmt_name} parquet, "
            f"or name it {path.with_suffix('.csv' if fmt == 'csv' else '.txt').name}"
        )
    if fmt == "parquet" and suffix in TEXT_SUFFIXES:
        raise InputError(
            f"{path}: {fmt_name} parquet writes a binary Parquet file, not a {path.suffix} file; "
            f"name it {path.with_suffix('.parquet').name}, or use {fmt_name} csv or mot for text"
        )


def write_person_boxes(table: pa.Table, path: Path, fmt: TrackFormat, fmt_name: str = "fmt") -> Path:
    """Write ``table`` as ``fmt``, atomically (a reader never sees half a file); ``fmt_name``: as
    :func:`check_output_name`'s."""
    check_output_name(path, fmt, fmt_name)
    if fmt == "parquet":
        return atomic_write_table(table, path)
    return atomic_write_bytes(person_boxes_text(table, fmt, fmt_name).encode("utf-8"), path)
