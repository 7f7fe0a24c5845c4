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
from retail_intel.errors import InputError
from retail_intel.timeutil import parse_duration

PROCESS_HELP = """Turn a recorded video into one movement event per person (entered / passed), as Parquet.

People are detected (YOLO, bundled YOLO11n-pose weights by default), tracked (ByteTrack), track
fragments of one person are stitched, and each person is judged once against the camera's region of
interest (ROI) by their foot point. Settings come from the branch's camera in branches.yaml; flags win.

Examples:

  retail-intel process sample_videos/vtest.avi --branch b1 --start-time 2026-02-08T10:00:00+00:00

  retail-intel process cam1_20260208_100000.mp4 --branch b1 --camera cam1 --roi 100,100,500,400

A folder, a quoted glob pattern or a manifest (.txt/.list/.csv) processes a whole batch: each file's
branch, camera and start time come from the config (archive/<branch>/<camera>/ folders or a camera's
filename_pattern); finished files are recorded in a ledger and skipped next time. Exit code 3 means
some files failed (listed with their reasons). See docs/batch.md.

  retail-intel process archive/ --config config/ --workers 2

  retail-intel process 'archive/*/entrance/*.mp4' --executor ray --address auto

A stream URL (rtsp://, http://, udp://, srt://, ...) is read live until Ctrl-C, SIGTERM or --duration:
each person is judged when their track ends and the finished ones are written every --flush as a new
Parquet file; a dropped stream is reopened with back-off and the gap recorded. See docs/live.md.

  retail-intel process 'rtsp://user:pass@192.168.1.20:554/stream1' --branch b1 --camera cam1 --flush 5m
"""


def _dispatch(source: str) -> str:
    """What ``process`` was given: ``video`` (one file), ``batch`` (folder, glob, manifest) or ``live`` (a URL)."""
    from retail_intel.live.urls import is_stream_url

    if is_stream_url(source):  # before the batch test: a URL's '?' is no glob
        return "live"
    from retail_intel.batch.discover import batch_kind

    return "batch" if batch_kind(source) is not None else "video"


def _config_or_none(config: Path, explicit: bool) -> Path | None:
    # The default ./config is optional when the ROI comes from flags; an
    # explicitly named config directory must exist (the loader says so).
    if explicit or config.exists():
        return config
    return None


def process(
    ctx: typer.Context,
    video: Annotated[
        str,
        typer.Argument(
            help="Recorded video file (mp4, avi, mkv, ...); or a folder, a quoted glob or a manifest for a batch; "
            "or a stream URL (rtsp://, http://, ...) read live.",
            show_default=False,
        ),
    ],
    branch: Annotated[
        str | None,
        typer.Option("--branch", "-b", help="Branch id the footage belongs to (one video; a batch maps each file)."),
    ] = None,
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
    imgsz: Annotated[
        int | None,
        typer.Option("--imgsz", help="Detector input size in pixels (default: chosen from the video, 640-1280)."),
    ] = None,
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
        str | None, typer.Option("--min-track", help="Drop tracks shorter than this as noise (default 0.5s).")
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
    workers: Annotated[
        int | None, typer.Option("--workers", "-j", min=1, help="Batch: videos processed at once (default 1).")
    ] = None,
    executor: Annotated[
        str, typer.Option("--executor", help="Batch: local (this machine) or ray (a Ray cluster).")
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option("--address", help="Batch with --executor ray: cluster address (auto, ray://HOST:10001)."),
    ] = None,
    no_kpis: Annotated[
        bool, typer.Option("--no-kpis", help="Batch: do not recompute the KPIs of the affected branches and days.")
    ] = False,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Batch: also retry files that failed before with the same settings.")
    ] = False,
    duration: Annotated[
        str | None,
        typer.Option("--duration", help="Stream URL: stop after this long, e.g. 8h (default: until Ctrl-C)."),
    ] = None,
    flush: Annotated[
        str | None, typer.Option("--flush", help="Stream URL: write finished people this often (default 5m).")
    ] = None,
) -> None:
    from retail_intel.pipeline.plan import ProcessRequest, make_plan
    from retail_intel.pipeline.run import process_video, summary_rows

    if (duration is not None or flush is not None) and _dispatch(video) != "live":
        raise InputError("--duration and --flush are for a live stream URL (rtsp://, http://, ...), not files")
    if _dispatch(video) == "batch":
        from retail_intel.batch.runner import BatchRequest
        from retail_intel.cli.process_batch import process_batch

        for name, given in (("--branch", branch), ("--camera", camera), ("--start-time", start_time)):
            if given is not None:
                raise InputError(f"{name} is for one video; a batch takes it from the config or the manifest")
        if save_video is not None:
            raise InputError("--save-video is for one video, not a batch")
        flags = {
            "roi": roi,
            "zone": zone,
            "line": line,
            "passby_zone": passby_zone,
            "model": model,
            "imgsz": imgsz,
            "conf": conf,
            "device": device,
            "tiles": tiles,
            "backend": backend,
            "stride": stride,
            "motion_threshold": motion_threshold,
            "fps": fps,
            "min_dwell": parse_duration(min_dwell) if min_dwell is not None else None,
            "min_track": parse_duration(min_track) if min_track is not None else None,
            "max_frames": max_frames,
        }
        batch = BatchRequest(
            source=video,
            config_dir=config,
            data_dir=data_dir,
            settings={k: v for k, v in flags.items() if v is not None},
            workers=workers,
            executor=executor,
            address=address,
            kpis=not no_kpis,
            retry_failed=retry_failed,
        )
        process_batch(batch, fmt=fmt, quiet=quiet)
        return
    if branch is None:
        # optional only because a batch maps each file: one video still needs it (usage error, exit 2)
        raise typer.BadParameter("one video needs --branch ID", ctx=ctx, param_hint="'--branch' / '-b'")
    batch_only = {
        "--workers": workers is not None,
        "--executor": executor != "local",
        "--address": address is not None,
        "--no-kpis": no_kpis,
        "--retry-failed": retry_failed,
    }
    for name, used in batch_only.items():
        if used:
            raise InputError(f"{name} is for a batch (a folder, a glob pattern or a manifest), not one video")
    video_path = Path(video)
    source = ctx.get_parameter_source("config")
    config_given = source is not None and source.name != "DEFAULT"
    request = ProcessRequest(
        video=video_path,
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
    if _dispatch(video) == "live":
        from retail_intel.cli.process_live import live_options, refuse_file_only, run_live

        refuse_file_only({"--start-time": start_time is not None})
        run_live(plan, live_options(video, duration=duration, flush=flush), fmt=fmt, quiet=quiet)
        return
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
    task = bar.add_task(video_path.name, total=None, fps=0.0, start=False)

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
    table = Table(title=f"{video_path.name}: branch {summary.branch_id}, camera {summary.camera_id}")
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
    if summary.input_size is not None:
        table.add_row("input size (automatic)", f"{summary.input_size['imgsz']}: {summary.input_size['reason']}")
    out.print(table)
    for warning in summary.warnings:  # e.g. people too small to count reliably (issue 15)
        err.print(f"[yellow]warning: {warning}[/yellow]")


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
