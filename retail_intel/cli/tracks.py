"""``retail-intel tracks``: every frame's boxes and person ids of a processed video."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from retail_intel.cli.common import (
    DEFAULT_CONFIG,
    DEFAULT_DATA_DIR,
    ConfigDir,
    DataDir,
    err,
    optional_config_dir,
)
from retail_intel.cli.settings_flags import PROCESS_FLAGS, settings_from_flags
from retail_intel.cli.tables import output_file
from retail_intel.errors import InputError
from retail_intel.pipeline.tracks_out import (
    FORMATS,
    check_output_name,
    person_boxes,
    person_boxes_text,
    write_person_boxes,
)
from retail_intel.wording import counted


def tracks(
    ctx: typer.Context,
    source: Annotated[
        Path,
        typer.Argument(
            help="The processed video, or its run summary DATA_DIR/runs/<camera>-<id>.json.", show_default=False
        ),
    ],
    output: Annotated[
        Path,
        typer.Option("-o", "--output", help="File to write; - writes mot or csv to stdout.", show_default=False),
    ],
    fmt: Annotated[str, typer.Option("--format", "-f", help="mot (MOTChallenge text), csv or parquet.")] = "mot",
    branch: Annotated[str | None, typer.Option("--branch", "-b", help="Branch id (a video needs it).")] = None,
    camera: Annotated[str | None, typer.Option("--camera", help="Camera id (default: the branch's first).")] = None,
    roi: Annotated[
        str | None, typer.Option("--roi", help="Judge against this ROI x1,y1,x2,y2 instead of the camera's.")
    ] = None,
    config: ConfigDir = DEFAULT_CONFIG,
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Write every frame's boxes with stitched person ids, from the stored tracks (no detection).

    The people are the ones `process` counts, judged with the camera's settings; MOT files
    (frame,id,x,y,w,h,conf,-1,-1,-1, frames from 1) are read by TrackEval and motmetrics.

    Example: retail-intel tracks sample_videos/vtest.avi --branch b1 --format mot -o vtest-mot.txt

    Example: retail-intel tracks sample_videos/vtest.avi --branch b1 --format csv -o - | head
    """
    if fmt not in FORMATS:
        raise typer.BadParameter(f"{fmt!r}: choose one of {', '.join(FORMATS)}", param_hint="'--format'")
    to_stdout = output_file(output) is None
    if to_stdout and fmt == "parquet":
        raise InputError("-o - writes text to stdout: --format parquet is binary, give -o FILE.parquet")
    if not to_stdout:
        check_output_name(output, fmt, "--format")  # before the tracks are read and judged, not after
    boxes = person_boxes(
        source,
        data_dir=data_dir,
        branch=branch,
        camera=camera,
        config_dir=optional_config_dir(ctx, config),
        settings=settings_from_flags({"roi": roi}),
        names={"branch": "--branch", "camera": "--camera", "data_dir": "--data-dir"} | PROCESS_FLAGS,
    )
    if to_stdout:
        sys.stdout.write(person_boxes_text(boxes.table, fmt, "--format"))
        sys.stdout.flush()
        where = "stdout"
    else:
        where = str(write_person_boxes(boxes.table, output, fmt, "--format"))
    err.print(
        f"wrote {where}: {counted(boxes.table.num_rows, 'box', 'boxes')} of {counted(boxes.people, 'person', 'people')} "
        f"over {counted(boxes.frames, 'frame')} "
        f"({boxes.video}, branch {boxes.branch_id}, camera {boxes.camera_id})"
    )


def register(app: typer.Typer) -> None:
    app.command("tracks")(tracks)
