"""Which videos a batch covers, and which branch and camera each one belongs to.

A batch source is a folder, a glob pattern or a manifest file:

* folder ``archive/``: every video below it (hidden files and folders skipped);
* glob ``'archive/*/cam1/*.mp4'`` (quoted, so the shell leaves it alone);
* manifest ``night.txt`` / ``night.list`` (one path per line) or ``night.csv``
  (a header with ``path`` and optional ``branch``, ``camera``, ``start`` and
  per-file settings such as ``roi`` or ``imgsz``). Relative paths are taken
  from the manifest's folder.

A file's branch and camera come, in this order, from the manifest row, from
the folder layout ``<branch>/<camera>/file`` (folder names equal to ids in
branches.yaml), from a camera's ``filename_pattern`` matching the file name
(only the cameras of a ``<branch>/`` folder the file lies in, if any), or from
a ``<branch>/`` folder whose branch has a single camera. A file that maps to
no camera or to several is reported, not guessed. A symlink is mapped by its
own folders and name (an archive of links into a recorder's store), not followed.
"""

from __future__ import annotations

import csv
import datetime as dt
import glob
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from retail_intel.config.camera_settings import CameraSettings
from retail_intel.config.loader import Config
from retail_intel.config.models import Branch, Camera
from retail_intel.errors import InputError
from retail_intel.pipeline.start_time import pattern_regex
from retail_intel.timeutil import parse_datetime

VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".ts", ".mts", ".m2ts", ".mpg", ".mpeg", ".wmv", ".flv"}
)
MANIFEST_SUFFIXES = frozenset({".txt", ".list", ".csv"})
_GLOB_CHARS = frozenset("*?[")
PATH_COLUMNS = ("path", "video", "file")
# Manifest columns that set one file's processing: one per camera setting (but the named zones),
# named like the fields of a camera in branches.yaml (``min_dwell`` for --min-dwell).
SETTING_COLUMNS = CameraSettings.flag_names()
_KNOWN_COLUMNS = frozenset({*PATH_COLUMNS, "branch", "camera", "start", *SETTING_COLUMNS})


@dataclass(frozen=True)
class FileJob:
    """One video of the batch, mapped to its branch and camera."""

    video: Path  # absolute, as found: a symlink is not followed (its folders and name map it)
    branch: str
    camera: str
    camera_in_config: bool  # False: a manifest row names a camera the config lacks and gives its region
    mapped_by: str  # "folder layout", "file name pattern ...", "manifest row N", ...
    start_time: dt.datetime | None = None  # from a manifest's start column
    settings: tuple[tuple[str, str], ...] = ()  # manifest setting columns, raw text
    row: str | None = None  # the manifest row that listed it ("night.csv line 3"); None in a folder or glob


@dataclass(frozen=True)
class Unmapped:
    video: Path
    reason: str


@dataclass(frozen=True)
class Discovery:
    source: str
    kind: str  # folder | glob | manifest
    jobs: list[FileJob] = field(default_factory=list)
    problems: list[Unmapped] = field(default_factory=list)


def batch_kind(source: str) -> str | None:
    """``folder``, ``glob`` or ``manifest`` when ``source`` names a batch; None for a single video."""
    if any(ch in source for ch in _GLOB_CHARS) and not Path(source).exists():
        return "glob"
    path = Path(source)
    if path.is_dir():
        return "folder"
    if path.suffix.lower() in MANIFEST_SUFFIXES:
        return "manifest"
    return None


def is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES and not path.name.startswith(".")


def discover(source: str, config: Config) -> Discovery:
    """Every video named by ``source``, with branch and camera resolved (or a reason why not)."""
    kind = batch_kind(source)
    if kind == "folder":
        found = _folder_videos(Path(source))
        if not found:
            raise InputError(
                f"{source}: no video files found below it (looked for {', '.join(sorted(VIDEO_SUFFIXES))})"
            )
        return _map_all(source, kind, found, config)
    if kind == "glob":
        # one entry per file (two symlinks to one video are one), named by the path the pattern found
        found_as: dict[Path, Path] = {}
        for name in sorted(glob.glob(source, recursive=True)):
            found_as.setdefault(Path(name).resolve(), as_found(Path(name)))
        matched = sorted(found_as.values())
        videos = [p for p in matched if p.is_file() and is_video(p)]
        if not videos:
            what = f"{len(matched)} paths, none a video file" if matched else "nothing"
            raise InputError(f"the pattern {source!r} matches {what}")
        return _map_all(source, kind, videos, config)
    if kind == "manifest":
        return _read_manifest(Path(source), config)
    raise InputError(f"{source}: not a folder, a glob pattern or a manifest (.txt, .list, .csv)")


def as_found(path: Path) -> Path:
    """``path`` made absolute without following symlinks: its folders are the ones the user laid out.

    The folder layout ``<branch>/<camera>/`` is read from this path; an archive of
    symlinks into the recorder's store keeps its layout, which the target's folders lack.
    """
    return Path(os.path.abspath(path))


def _folder_videos(root: Path) -> list[Path]:
    out = []
    top = as_found(root)
    for path in top.rglob("*"):
        relative = path.relative_to(top)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and is_video(path):
            out.append(path)
    return sorted(out)


def _map_all(source: str, kind: str, videos: Iterable[Path], config: Config) -> Discovery:
    discovery = Discovery(source, kind)
    for video in videos:
        mapped = map_file(video, config)
        if isinstance(mapped, FileJob):
            discovery.jobs.append(mapped)
        else:
            discovery.problems.append(mapped)
    return discovery


def _pattern_matches(cameras: Iterable[tuple[Branch, Camera]], stem: str) -> list[tuple[Branch, Camera]]:
    hits = []
    for branch, camera in cameras:
        if camera.filename_pattern and pattern_regex(camera.filename_pattern).fullmatch(stem):
            hits.append((branch, camera))
    return hits


def map_file(video: Path, config: Config, *, branch_hint: str | None = None) -> FileJob | Unmapped:
    """Branch and camera of ``video`` from the folder layout or a camera's file-name pattern.

    The folders and the file name are read from ``video`` as found: a symlink is
    not followed, so its own folders and name count, not its target's.
    """
    found = as_found(video)
    branches = {b.id: b for b in config.branches}
    parent, grandparent = found.parent.name, found.parent.parent.name
    if branch_hint is None:
        in_branch = branches.get(grandparent)
        if in_branch is not None and in_branch.camera(parent) is not None:
            return FileJob(found, in_branch.id, parent, True, f"folder layout {grandparent}/{parent}/")
        folder_branch = branches.get(parent) or branches.get(grandparent)
    else:
        folder_branch = branches.get(branch_hint)
        if folder_branch is None:
            return Unmapped(found, f"unknown branch {branch_hint!r} (branches.yaml defines {_ids(branches)})")
        if folder_branch.camera(parent) is not None:
            return FileJob(found, folder_branch.id, parent, True, f"folder {parent}/ of branch {folder_branch.id}")
    scope = [folder_branch] if folder_branch is not None else list(branches.values())
    hits = _pattern_matches(((b, c) for b in scope for c in b.cameras), found.stem)
    if len(hits) == 1:
        branch, camera = hits[0]
        return FileJob(found, branch.id, camera.id, True, f"file name pattern {camera.filename_pattern}")
    if len(hits) > 1:
        names = ", ".join(f"{b.id}/{c.id} ({c.filename_pattern})" for b, c in hits)
        return Unmapped(found, f"file name matches several cameras' filename_pattern: {names}")
    if folder_branch is not None and len(folder_branch.cameras) == 1:
        only = folder_branch.cameras[0]
        return FileJob(found, folder_branch.id, only.id, True, f"branch {folder_branch.id}'s only camera")
    patterns = [f"{b.id}/{c.id}: {c.filename_pattern}" for b in scope for c in b.cameras if c.filename_pattern]
    hint = f"; file-name patterns: {', '.join(patterns)}" if patterns else ""
    return Unmapped(
        found,
        "cannot tell which camera recorded it: put it under <branch>/<camera>/ (ids from branches.yaml) "
        f"or name it like a camera's filename_pattern{hint}",
    )


def _ids(items: dict[str, Branch]) -> str:
    return ", ".join(sorted(items)) or "none"


def _manifest_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) for every entry; a path-per-line file gives rows with just ``path``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        # a video saved under a manifest's extension (an NVR export named .txt) is binary
        raise InputError(
            f"{path}: read as a batch manifest (a {path.suffix.lower()} file), but it is not text "
            f"(byte {exc.start} is not UTF-8); a video needs its own extension, such as .mp4"
        ) from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read the manifest ({exc})") from exc
    if path.suffix.lower() != ".csv":
        rows = []
        for number, line in enumerate(text.splitlines(), start=1):
            entry = line.strip()
            if entry and not entry.startswith("#"):
                rows.append((number, {"path": entry}))
        return rows
    lines = [
        (n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip() and not line.startswith("#")
    ]
    if not lines:
        return []
    table = _csv_rows(lines, path)
    header = [h.strip().lower() for h in table[0][1]]
    unknown = [h for h in header if h not in _KNOWN_COLUMNS]
    if unknown:
        raise InputError(
            f"{path}: unknown column(s) {', '.join(unknown)}; a manifest has path, and optionally branch, camera, "
            f"start and the settings {', '.join(SETTING_COLUMNS)}"
        )
    if not any(h in PATH_COLUMNS for h in header):
        raise InputError(f"{path}: the header needs a 'path' column, found {', '.join(header) or 'nothing'}")
    # a column given twice (two start columns from a spreadsheet) would have one of them win unseen
    twice = [f"{h} ({header.count(h)} columns)" for h in dict.fromkeys(header) if header.count(h) > 1]
    if twice:
        raise InputError(f"{path}: the header names {', '.join(twice)} more than once; keep one of each")
    paths = [h for h in header if h in PATH_COLUMNS]
    if len(paths) > 1:
        raise InputError(f"{path}: the header has several path columns ({', '.join(paths)}); keep one path column")
    rows = []
    for number, values in table[1:]:
        if len(values) > len(header):
            raise InputError(f"{path}: line {number} has {len(values)} fields, the header has {len(header)}")
        row = {h: v.strip() for h, v in zip(header, values, strict=False) if v.strip()}
        rows.append((number, row))
    return rows


def _csv_rows(lines: list[tuple[int, str]], path: Path) -> list[tuple[int, list[str]]]:
    """(line number, fields) of each of the (line number, text) ``lines``, one CSV row per line.

    Each line is read on its own and strictly: a quote left open
    (``"clip one.mp4,door``) would otherwise make the csv module read on into the
    next lines as one field (or take it silently at the end of the file).
    """
    rows = []
    for number, line in lines:
        try:
            rows.append((number, next(csv.reader([line], strict=True))))
        except csv.Error as exc:
            reason = "it opens a quote that it does not close" if "end of data" in str(exc) else str(exc)
            raise InputError(
                f"{path}: line {number} is not a CSV row ({reason}); quote a whole field "
                '("clip, one.mp4") and double a quote inside it ("")'
            ) from exc
    return rows


def _read_manifest(path: Path, config: Config) -> Discovery:
    discovery = Discovery(str(path), "manifest")
    rows = _manifest_rows(path)
    if not rows:
        raise InputError(f"{path}: the manifest lists no videos")
    base = path.resolve().parent
    for number, row in rows:
        raw = next((row[c] for c in PATH_COLUMNS if c in row), None)
        where = f"{path.name} line {number}"
        if raw is None:
            discovery.problems.append(Unmapped(Path(f"{path}:{number}"), f"{where}: no path given"))
            continue
        video = Path(raw).expanduser()
        video = as_found(video if video.is_absolute() else base / video)
        job = _manifest_job(video, row, config, where)
        if isinstance(job, FileJob):
            discovery.jobs.append(job)
        else:
            discovery.problems.append(job)
    return discovery


def _manifest_job(video: Path, row: dict[str, str], config: Config, where: str) -> FileJob | Unmapped:
    start = None
    if "start" in row:
        try:
            start = parse_datetime(row["start"])
        except InputError as exc:
            return Unmapped(video, f"{where}: start: {exc}")
    settings = tuple(sorted((k, v) for k, v in row.items() if k in SETTING_COLUMNS))
    branch_id, camera_id = row.get("branch"), row.get("camera")
    if camera_id is not None and branch_id is None:
        owners = [b.id for b in config.branches if b.camera(camera_id) is not None]
        if len(owners) != 1:
            found = f"cameras of branches {', '.join(owners)}" if owners else "no camera of any branch"
            return Unmapped(video, f"{where}: camera {camera_id!r} is {found}; add a branch column")
        branch_id = owners[0]
    if branch_id is not None and camera_id is not None:
        branch = next((b for b in config.branches if b.id == branch_id), None)
        if branch is None:
            ids = ", ".join(sorted(b.id for b in config.branches))
            return Unmapped(video, f"{where}: unknown branch {branch_id!r} (branches.yaml defines {ids})")
        known = branch.camera(camera_id) is not None
        if not known and not ({"roi", "zone"} & row.keys()):
            cams = ", ".join(c.id for c in branch.cameras) or "none"
            return Unmapped(
                video,
                f"{where}: branch {branch_id} has no camera {camera_id!r} (its cameras: {cams}); "
                "add it to branches.yaml or give the row a roi or zone",
            )
        return FileJob(video, branch_id, camera_id, known, where, start, settings, row=where)
    mapped = map_file(video, config, branch_hint=branch_id)
    if isinstance(mapped, Unmapped):
        return Unmapped(video, f"{where}: {mapped.reason}")
    mapped_by = f"{where}, {mapped.mapped_by}"
    return FileJob(mapped.video, mapped.branch, mapped.camera, True, mapped_by, start, settings, row=where)
