"""``retail-intel process`` and ``retail-intel snapshot``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from retail_intel.cli.common import (
    DEFAULT_CONFIG,
    DEFAULT_DATA_DIR,
    ConfigDir,
    DataDir,
    FormatOpt,
    OutputFormat,
    err,
    out,
    parse_time_option,
    to_json,
)
from retail_intel.timeutil import parse_duration

PROCESS_HELP = """Turn a recorded video into one movement event per person (entered / passed), as Parquet.

People are detected (YOLO, bundled YOLO11n-pose weights by default), tracked (ByteTrack), track
fragments of one person are stitched, and each person is judged once against the camera's region of
interest (ROI) by their foot point. Settings come from the branch's camera in branches.yaml; flags win.

Examples:

  retail-intel process sample_videos/vtest.avi --branch b1 --start-time 2026-02-08T10:00:00+00:00

  retail-intel process cam1_20260208_100000.mp4 --branch b1 --camera cam1 --roi 100,100,500,400
"""


def _config_or_none(config: Path, explicit: bool) -> Path | None:
    # The default ./config is optional when the ROI comes from flags; an
    # explicitly named config directory must exist (the loader says so).
    if explicit or config.exists():
        return config
    return None


def process(
    ctx: typer.Context,
    video: Annotated[Path, typer.Argument(help="Recorded video file (mp4, avi, mkv, ...).", show_default=False)],
    branch: Annotated[str, typer.Option("--branch", "-b", help="Branch id the footage belongs to.")],
    camera: Annotated[
        str | None, typer.Option("--camera", help="Camera id in the branch config (default: the branch's first).")
    ] = None,
    roi: Annotated[str | None, typer.Option("--roi", help="Rectangle ROI x1,y1,x2,y2 in pixels.")] = None,
    zone: Annotated[str | None, typer.Option("--zone", help="Polygon ROI 'x,y x,y x,y ...' in pixels.")] = None,
    line: Annotated[
        str | None,
        typer.Option("--line", help="Directional counting line 'x1,y1 x2,y2[:left|right]' (in side; default left)."),
    ] = None,
    passby_zone: Annotated[
        str | None, typer.Option("--passby-zone", help="Polygon of the pavement outside: seen there = passed.")
    ] = None,
    start_time: Annotated[
        str | None,
        typer.Option(
            "--start-time",
            help="When frame 0 was recorded, ISO 8601 with timezone. Default: from the file name "
            "(camera filename_pattern) or the container's creation time.",
        ),
    ] = None,
    fps: Annotated[float | None, typer.Option("--fps", help="True frame rate when the header is wrong.")] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", help="Ultralytics weights: path or name (.pt, .onnx, OpenVINO folder). Default: bundled."
        ),
    ] = None,
    imgsz: Annotated[int | None, typer.Option("--imgsz", help="Detector input size in pixels (default 640).")] = None,
    conf: Annotated[float | None, typer.Option("--conf", help="Detection confidence threshold (default 0.1).")] = None,
    device: Annotated[str | None, typer.Option("--device", help="cpu, cuda or cuda:N (default: cpu).")] = None,
    tiles: Annotated[
        int | None, typer.Option("--tiles", help="Split frames into N x N tiles for small people (default 1).")
    ] = None,
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend",
            help="Inference engine: auto (OpenVINO on CPU when installed, exported once and cached), openvino, torch.",
        ),
    ] = None,
    stride: Annotated[
        int | None, typer.Option("--stride", min=1, help="Run the detector on every N-th frame (default 1).")
    ] = None,
    motion_threshold: Annotated[
        float | None,
        typer.Option(
            "--motion-threshold",
            help="Share of pixels that must change for a frame to be detected again (default 0.0005; 0 = every frame).",
        ),
    ] = None,
    min_dwell: Annotated[
        str | None, typer.Option("--min-dwell", help="Time inside the ROI to count as entered (default 2s).")
    ] = None,
    min_track: Annotated[
        str | None, typer.Option("--min-track", help="Drop tracks shorter than this as noise (default 1s).")
    ] = None,
    save_video: Annotated[
        Path | None, typer.Option("--save-video", help="Also write an annotated video (boxes, ids, ROI, counts).")
    ] = None,
    max_frames: Annotated[
        int | None, typer.Option("--max-frames", help="Only process the first N frames (for a quick look).")
    ] = None,
    config: ConfigDir = DEFAULT_CONFIG,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: FormatOpt = OutputFormat.table,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    from retail_intel.pipeline.plan import ProcessRequest, make_plan
    from retail_intel.pipeline.run import process_video, summary_rows

    source = ctx.get_parameter_source("config")
    config_given = source is not None and source.name != "DEFAULT"
    request = ProcessRequest(
        video=video,
        branch=branch,
        data_dir=data_dir,
        config_dir=_config_or_none(config, config_given),
        camera=camera,
        roi=roi,
        zone=zone,
        line=line,
        passby_zone=passby_zone,
        model=model,
        imgsz=imgsz,
        conf=conf,
        device=device,
        tiles=tiles,
        backend=backend,
        stride=stride,
        motion_threshold=motion_threshold,
        fps=fps,
        min_dwell=parse_duration(min_dwell) if min_dwell is not None else None,
        min_track=parse_duration(min_track) if min_track is not None else None,
        start_time=parse_time_option(start_time, "--start-time"),
        save_video=save_video,
        max_frames=max_frames,
    )
    plan = make_plan(request)
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[fps]:>6.1f} fps"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=quiet,
    )
    task = bar.add_task(video.name, total=None, fps=0.0, start=False)

    def progress(done: int, total: int | None) -> None:
        # Started on the first decoded frame, so input errors print no empty bar.
        if not bar.live.is_started:
            bar.start()
            bar.start_task(task)
        elapsed = bar.tasks[task].elapsed or 0.0
        bar.update(task, completed=done, total=total, fps=done / elapsed if elapsed > 0 else 0.0)

    try:
        result = process_video(plan, progress=progress)
    finally:
        bar.stop()

    summary = result.summary
    if fmt is OutputFormat.json:
        print(to_json(summary.__dict__))
        return
    if fmt is OutputFormat.csv:
        from retail_intel.cli.common import render_rows

        render_rows(summary_rows(summary), fmt)
        return
    table = Table(title=f"{video.name}: branch {summary.branch_id}, camera {summary.camera_id}")
    table.add_column("")
    table.add_column("", justify="right")
    for label, value in (
        ("people", summary.people),
        ("entered", summary.entered),
        ("passed", summary.passed),
        ("not counted (never in ROI)", summary.not_counted),
        ("dropped noise tracks", summary.dropped_tracks),
        ("track fragments", summary.fragments),
        ("line in / out", f"{summary.line_in} / {summary.line_out}"),
        ("frames", summary.frames),
        ("video duration", f"{summary.duration_s:.1f} s at {summary.fps:g} fps"),
        ("recording start", f"{summary.start_time} ({summary.start_time_source})"),
        ("seconds taken", f"{summary.seconds_taken:.1f} s ({summary.processing_fps:.1f} fps)"),
        ("model", summary.model),
        ("movements", summary.output),
        ("summary", str(result.summary_path)),
    ):
        table.add_row(label, str(value))
    out.print(table)


def snapshot(
    video: Annotated[Path, typer.Argument(help="Video file to take the frame from.", show_default=False)],
    at: Annotated[str, typer.Option("--at", help="Time into the video, e.g. 10s, 1.5m.")] = "0s",
    output: Annotated[Path, typer.Option("-o", "--output", help="Image to write (.png or .jpg).")] = Path("frame.png"),
    fps: Annotated[float | None, typer.Option("--fps", help="True frame rate when the header is wrong.")] = None,
    grid: Annotated[int, typer.Option("--grid", help="Grid spacing in pixels.", min=10)] = 50,
    roi: Annotated[str | None, typer.Option("--roi", help="Also draw this rectangle ROI x1,y1,x2,y2.")] = None,
) -> None:
    """Save one frame with a labelled pixel grid, to draw a camera's ROI.

    Example: retail-intel snapshot sample_videos/vtest.avi --at 10s -o frame.png
    """
    from retail_intel.pipeline.snapshot import take_snapshot

    at_s = 0.0 if at.strip() in ("0", "0s") else parse_duration(at)
    written, index, size = take_snapshot(video, at_s, output, fps=fps, grid=grid, roi=roi)
    err.print(f"wrote {written} (frame {index}, {size[0]}x{size[1]} px)")


def register(app: typer.Typer) -> None:
    app.command("process", help=PROCESS_HELP)(process)
    app.command("snapshot")(snapshot)
