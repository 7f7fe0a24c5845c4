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
    exit_interrupted,
    frame_rate,
    optional_config_dir,
    out,
    parse_time_option,
    rate_text,
    to_json,
)
from retail_intel.cli.ranges import in_range
from retail_intel.cli.settings_flags import PROCESS_FLAGS, with_setting_flags
from retail_intel.config.camera_settings import CameraSettings
from retail_intel.errors import InputError
from retail_intel.pipeline.frame_times import BY_TIMESTAMPS
from retail_intel.pipeline.plan import ProcessRequest, make_plan
from retail_intel.pipeline.run import RunSummary, process_file, summary_rows
from retail_intel.storage import PREVIEWS_DIR
from retail_intel.timeutil import parse_duration
from retail_intel.wording import counted

PROCESS_HELP = """Turn a recorded video into one movement event per person (entered / passed), as Parquet.

People are detected (YOLO, bundled YOLO11n-pose weights by default), tracked (ByteTrack), track
fragments of one person are stitched, and each person is judged once against the camera's region of
interest (ROI) by their foot point. Settings come from the branch's camera in branches.yaml; flags win.

Examples:

  retail-intel process sample_videos/vtest.avi --branch b1 --start-time 2026-02-08T10:00:00+00:00

  retail-intel process cam1.mp4 --branch b1 --roi 100,100,500,400 --start-time 2026-02-08T09:00:00+01:00

A camera with a filename_pattern in branches.yaml (e.g. cam1_%Y%m%d_%H%M%S) takes the start time from
names such as cam1_20260208_100000.mp4, without --start-time.

A folder, a quoted glob pattern or a manifest (.txt/.list/.csv) processes a whole batch: each file's
branch, camera and start time come from the config (archive/<branch>/<camera>/ folders or a camera's
filename_pattern); finished files are recorded in a ledger and skipped next time. Exit code 3 means
some files failed (listed with their reasons). See docs/batch.md.

  retail-intel process archive/ --config config/ --workers 2

  retail-intel process 'archive/*/entrance/*.mp4' --executor ray --address auto

A stream URL (rtsp://, http://, udp://, srt://, ...) is read live until Ctrl-C, SIGTERM or --duration:
each person is judged when their track ends and the finished ones are written every --flush as a new
Parquet file; a dropped stream is reopened with back-off and the gap recorded. See docs/live.md.

  retail-intel process 'rtsp://user:pass@192.168.1.20:554/stream1' --branch b2 --camera entrance --flush 5m
"""


def _dispatch(source: str) -> str:
    """What ``process`` was given: ``video`` (one file), ``batch`` (folder, glob, manifest) or ``live`` (a URL)."""
    from retail_intel.live.urls import is_stream_url

    if is_stream_url(source):  # before the batch test: a URL's '?' is no glob
        return "live"
    from retail_intel.batch.discover import batch_kind

    return "batch" if batch_kind(source) is not None else "video"


@with_setting_flags
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
    start_time: Annotated[
        str | None,
        typer.Option(
            "--start-time",
            help="When frame 0 was recorded, ISO 8601 with timezone. Default: from the file name "
            "(camera filename_pattern) or the container's creation time.",
        ),
    ] = None,
    save_video: Annotated[
        Path | None, typer.Option("--save-video", help="Also write an annotated video (boxes, ids, ROI, counts).")
    ] = None,
    max_frames: Annotated[
        int | None,
        typer.Option(
            "--max-frames",
            **in_range(int, min=1),
            help="Only process the first N frames, for a quick look: written under DATA_DIR/previews/, "
            "never over the full result.",
        ),
    ] = None,
    config: ConfigDir = DEFAULT_CONFIG,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: FormatOpt = OutputFormat.table,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    workers: Annotated[
        int | None,
        typer.Option("--workers", "-j", **in_range(int, min=1), help="Batch: videos processed at once (default 1)."),
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
        typer.Option(
            "--duration", help="Stream URL: stop after this long, e.g. 8h, at most 365d (default: until Ctrl-C)."
        ),
    ] = None,
    flush: Annotated[
        str | None,
        typer.Option("--flush", help="Stream URL: write finished people this often (default 5m, at most 24h)."),
    ] = None,
    settings: CameraSettings = CameraSettings(),
) -> None:
    if not video.strip():
        # an empty argument (an unset shell variable) would read as '.', a batch of the current folder
        raise InputError(
            "VIDEO: expected a video file, a folder, a glob pattern, a manifest or a stream URL, "
            f"got {'an empty argument' if not video else repr(video)}"
        )
    kind = _dispatch(video)
    # flag -> (given, the kinds of source it is for)
    scoped = {
        "--branch": (branch is not None, ("video", "live")),
        "--camera": (camera is not None, ("video", "live")),
        "--start-time": (start_time is not None, ("video",)),
        "--save-video": (save_video is not None, ("video",)),
        "--workers": (workers is not None, ("batch",)),
        "--executor": (executor != "local", ("batch",)),
        "--address": (address is not None, ("batch",)),
        "--no-kpis": (no_kpis, ("batch",)),
        "--retry-failed": (retry_failed, ("batch",)),
        "--duration": (duration is not None, ("live",)),
        "--flush": (flush is not None, ("live",)),
    }
    for name, (given, kinds) in scoped.items():
        if given and kind not in kinds:
            raise InputError(f"{name} is for {' or '.join(_KIND_NAMES[k] for k in kinds)}, not {_KIND_NAMES[kind]}")
    if kind == "batch":
        from retail_intel.batch.request import BatchRequest
        from retail_intel.cli.process_batch import process_batch

        batch = BatchRequest(
            source=video,
            config_dir=config,
            data_dir=data_dir,
            settings=settings,
            max_frames=max_frames,
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
        needs = "one video needs" if kind == "video" else "a live stream needs"
        raise typer.BadParameter(f"{needs} --branch ID", ctx=ctx, param_hint="'--branch' / '-b'")
    request = ProcessRequest(
        video=Path(video),
        branch=branch,
        data_dir=data_dir,
        config_dir=optional_config_dir(ctx, config),
        camera=camera,
        layers=(settings,),
        start_time=parse_time_option(start_time, "--start-time"),
        save_video=save_video,
        max_frames=max_frames,
        names=PROCESS_FLAGS,
    )
    if kind == "live":
        from retail_intel.cli.process_live import live_options, run_live

        run_live(make_plan(request), live_options(video, duration=duration, flush=flush), fmt=fmt, quiet=quiet)
        return
    _process_file(request, fmt=fmt, quiet=quiet)


_KIND_NAMES = {
    "video": "one video",
    "batch": "a batch (a folder, a glob pattern or a manifest)",
    "live": "a live stream URL (rtsp://, http://, ...)",
}


def _process_file(request: ProcessRequest, *, fmt: OutputFormat, quiet: bool) -> None:
    """One recorded video: a progress bar while it runs, then its summary."""
    # off with --quiet and where stderr is no terminal (a log, a pipe): stopping even an unstarted bar
    # there writes a blank line before an input error's one line, and a started one leaves its last frame
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=quiet or not err.is_terminal,
    )
    task = bar.add_task(request.video.name, total=None, rate=rate_text(None, 6), start=False)
    first = 0  # frames done when the clock started: the rate counts those done after it

    def progress(done: int, total: int | None) -> None:
        nonlocal first
        # Started on the first decoded frame, so input errors print no empty bar.
        if not bar.live.is_started:
            bar.start()
            bar.start_task(task)
            first = done
        elapsed = bar.tasks[task].elapsed or 0.0
        bar.update(task, completed=done, total=total, rate=rate_text(frame_rate(done - first, elapsed), 6))

    try:
        result = process_file(request, progress=progress)
    except KeyboardInterrupt:
        # process_video writes only after the last frame, so an interrupted run leaves nothing behind.
        bar.stop()
        exit_interrupted("nothing written (run the same command again to process the video)")
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
    table = Table(title=f"{request.video.name}: branch {summary.branch_id}, camera {summary.camera_id}")
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
        ("video duration", video_duration(summary)),
        ("recording start", f"{summary.start_time} ({summary.start_time_source})"),
        ("tracks", summary.tracks),
        ("seconds taken", f"{summary.seconds_taken:.1f} s ({summary.processing_fps:.1f} fps)"),
        ("model", summary.model),
        ("movements", summary.output),
        ("summary", str(result.summary_path)),
    ):
        table.add_row(label, str(value))
    if summary.input_size is not None:
        table.add_row("input size (automatic)", f"{summary.input_size['imgsz']}: {summary.input_size['reason']}")
    out.print(table)
    if summary.preview:
        err.print(
            f"[yellow]preview of the first {counted(summary.frames, 'frame')}: written under {request.data_dir / PREVIEWS_DIR}, "
            "the full result (if any) is unchanged[/yellow]"
        )
    for warning in summary.warnings:  # e.g. people too small to count reliably (issue 15)
        err.print(f"[yellow]warning: {warning}[/yellow]")


def video_duration(summary: RunSummary) -> str:
    """The duration line: the rate, or that frames came unevenly and were timed by their own timestamps."""
    if summary.frame_times == BY_TIMESTAMPS:
        average = summary.frames / summary.duration_s if summary.duration_s > 0 else summary.fps
        # the frames over their time, not the header's rate: Matroska and MPEG-TS give the densest one
        return f"{summary.duration_s:.1f} s, variable frame rate ({average:.3g} fps on average): frames timed by their timestamps"
    return f"{summary.duration_s:.1f} s at {summary.fps:g} fps"


def snapshot(
    video: Annotated[Path, typer.Argument(help="Video file to take the frame from.", show_default=False)],
    at: Annotated[str, typer.Option("--at", help="Time into the video, e.g. 10s, 1.5m.")] = "0s",
    output: Annotated[Path, typer.Option("-o", "--output", help="Image to write (.png or .jpg).")] = Path("frame.png"),
    fps: Annotated[float | None, typer.Option("--fps", help="True frame rate when the header is wrong.")] = None,
    grid: Annotated[int, typer.Option("--grid", help="Grid spacing in pixels.", **in_range(int, min=10))] = 50,
    roi: Annotated[
        str | None,
        typer.Option("--roi", help="Draw this rectangle ROI x1,y1,x2,y2 (with --branch: instead of the camera's)."),
    ] = None,
    branch: Annotated[
        str | None, typer.Option("--branch", "-b", help="Draw this branch's camera: its ROI, line and zones.")
    ] = None,
    camera: Annotated[str | None, typer.Option("--camera", help="Camera id (default: the branch's first).")] = None,
    config: ConfigDir = DEFAULT_CONFIG,
) -> None:
    """Save one frame with a labelled pixel grid, to draw a camera's ROI and zones.

    With --branch the camera's configured ROI, counting line and zones are
    drawn on it (zones shaded by kind), to check them by eye.

    Example: retail-intel snapshot sample_videos/vtest.avi --at 10s -o frame.png

    Example: retail-intel snapshot sample_videos/vtest.avi --branch b1 --at 20s -o zones.png
    """
    from retail_intel.cli.settings_flags import settings_from_flags
    from retail_intel.pipeline.snapshot import take_snapshot

    settings_from_flags({"fps": fps})  # 0, negative or nan: refused as process refuses it, not taken as "unset"
    at_s = parse_duration(at, flag="--at", zero=True)
    if camera is not None and branch is None:
        # the camera is looked up in its branch: without one, nothing of it was drawn, silently
        raise InputError(f"--camera {camera} needs --branch: a camera id is unique only within its branch")
    configured = None
    if branch is not None:
        from retail_intel.config.loader import load_config

        configured = load_config(config).camera(branch, camera)
    written, index, size = take_snapshot(
        video, at_s, output, fps=fps, grid=grid, roi=roi, camera=configured, names={"roi": "--roi", "fps": "--fps"}
    )
    err.print(f"wrote {written} (frame {index}, {size[0]}x{size[1]} px)")


def register(app: typer.Typer) -> None:
    app.command("process", help=PROCESS_HELP)(process)
    app.command("snapshot")(snapshot)
