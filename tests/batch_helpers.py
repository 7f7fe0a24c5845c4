"""Scaffolding shared by the batch tests: a config, archives of synthetic segments, result digests."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from retail_intel.batch.request import BatchRequest, Runtime
from retail_intel.batch.runner import run_batch
from retail_intel.batch.summary import BatchSummary
from retail_intel.movements.store import movement_files, read_movements

from .batch_fakes import Scene, blob_factory, blob_identity, stayer_and_passers, walker, write_scene

BRANCHES = """
branches:
  - id: b1
    name: High Street
    capacity: 10
    timezone: Europe/Berlin
    cameras:
      - id: door
        roi: [100, 80, 220, 200]
        filename_pattern: "door_%Y%m%d_%H%M%S"
      - id: till
        roi: [100, 80, 220, 200]
        filename_pattern: "till_%Y%m%d_%H%M%S"
"""
RUNTIME = Runtime(blob_factory, blob_identity)
SEGMENT_FRAMES = 50  # 5 s at 10 fps


def make_config(root: Path) -> Path:
    directory = root / "config"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "branches.yaml").write_text(BRANCHES)
    return directory


def write_segments(
    folder: Path, camera: str, scene: Scene, *, count: int, start_second: int = 0, frames: int = SEGMENT_FRAMES
) -> list[Path]:
    """``count`` consecutive segments of one recording, named ``<camera>_20260208_1000SS.avi``."""
    paths = []
    for n in range(count):
        second = start_second + n * frames // 10
        name = f"{camera}_20260208_10{second // 60:02d}{second % 60:02d}.avi"
        paths.append(write_scene(folder / name, scene, frames=frames, first=n * frames))
    return paths


def nightly_archives(root: Path, segments: list[Path]) -> list[Path]:
    """One archive per segment (``root/night<N>/b1/door/``), as consecutive nights' batches find them."""
    nights = []
    for n, segment in enumerate(segments):
        target = root / f"night{n}" / "b1" / "door" / segment.name
        target.parent.mkdir(parents=True)
        target.write_bytes(segment.read_bytes())
        nights.append(root / f"night{n}")
    return nights


def make_archive(root: Path) -> Path:
    """Two cameras of b1, three consecutive segments each."""
    archive = root / "archive"
    write_segments(archive / "b1" / "door", "door", stayer_and_passers, count=3)
    write_segments(archive / "b1" / "till", "till", walker, count=3)
    return archive


def batch(source: Path | str, root: Path, data: str = "data", *, runtime: Runtime = RUNTIME, **kw: Any) -> BatchSummary:
    """Run a batch of ``source`` into ``root/data`` with the blob detector (KPIs off unless asked)."""
    request = BatchRequest(str(source), root / "config", root / data, kpis=False)
    return run_batch(replace(request, **kw), runtime=runtime)


def rows(data_dir: Path) -> list[tuple[Any, ...]]:
    """The movements that matter, sorted (processing time and file names left out)."""
    table = read_movements(data_dir)
    keep = ("customer_id", "branch_id", "camera_id", "action_type", "enter_time", "exit_time", "exit_observed")
    return sorted(tuple(r[k] for k in keep) for r in table.to_pylist())


def people(data_dir: Path) -> list[tuple[Any, ...]]:
    """Like :func:`rows` without customer ids (which differ between a whole video and its segments)."""
    return sorted(r[1:] for r in rows(data_dir))


def statuses(summary: BatchSummary) -> dict[str, str]:
    return {Path(f.video).name: f.status for f in summary.files}


def n_movement_files(data_dir: Path) -> int:
    return len(movement_files(data_dir))
