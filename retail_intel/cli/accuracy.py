"""``retail-intel calibrate`` and ``retail-intel audit check|sample``: is this camera counting right?"""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from retail_intel.cli.common import (
    DEFAULT_CONFIG,
    ConfigDir,
    FormatOpt,
    OutputFormat,
    err,
    exit_interrupted,
    render_rows,
    to_json,
)
from retail_intel.cli.ranges import in_range
from retail_intel.cli.settings_flags import PROCESS_FLAGS, settings_from_flags
from retail_intel.errors import InputError
from retail_intel.wording import counted

CALIBRATE_HELP = """Recommend the detector settings (input size, tiling) for a camera from a sample of its frames.

Each candidate setting runs over the same frames spread over the video; the table shows its speed (frames per second, batched as `process` runs it) and how many people it finds. The recommendation is the fastest setting that finds at least 95% of the people the best one finds. A size rule adds the input size at which the smallest people (10th percentile of heights) are ~120 px tall.

With --write the recommendation goes into the camera's entry in branches.yaml (comments kept).

Examples:

  retail-intel calibrate sample_videos/vtest.avi --branch b1

  retail-intel calibrate cam1.mp4 --try 640,960,1280,640x2 --frames 32

  retail-intel calibrate sample_videos/vtest.avi --branch b1 --camera vtest --write
"""

AUDIT_HELP = """Check a camera's counts against a ground truth: accuracy, bias and a confidence interval.

`audit sample` cuts short clips to count by hand and writes the counts.csv to fill in; `audit check` processes the video with the camera's settings (into a scratch folder: your data is not touched) and compares. Example: retail-intel audit check cam1.mp4 --truth counts.csv --branch b1 """

CHECK_HELP = """Process a video with the camera's settings and compare its counts with a ground truth.

--truth is either a MOTChallenge gt.txt (boxes and identities per frame: tracking scores MOTA, IDF1 and HOTA too, and the expected counts come from the camera's own rules over the true tracks) or a CSV of hand counts with columns start,end and any of entered, passed, line_in, line_out, people (times in seconds or [H:]MM:SS from the start of the video; `retail-intel audit sample` writes one to fill in). A person counts in the slice where they first step into the ROI (entered/passed), where their line crossing completes (line_in/line_out), or where they are first seen (people).

Accuracy is 1 - |counted - true| / true over all slices; bias is (counted - true) / true, with a bootstrap confidence interval over slices (use 10 or more slices for a useful interval).

Examples:

  retail-intel audit check sample_videos/vtest.avi --truth ../shared/data/PETS09-S2L1/gt.txt --branch b1

  retail-intel audit check cam1.mp4 --truth audit/counts.csv --branch b3 --camera door
"""

SAMPLE_HELP = """Cut short clips from a video for hand counting, and write the counts.csv to fill in.

One clip per equal stretch of the video, at a random (seeded, repeatable) offset, so busy and quiet hours are both represented. The clips show the camera's ROI and counting line and the time from the start of the video. Fill in counts.csv, then run `retail-intel audit check VIDEO --truth counts.csv`.

Example:

  retail-intel audit sample cam1.mp4 --out audit/ --branch b1 --clips 10 --length 30s
"""

# what the library's messages call its parameters: the flags the user typed
# the settings calibrate reads (--model, --backend, --device) named as process names them
CALIBRATE_FLAGS = {"branch": "--branch", "camera": "--camera", "frames": "--frames"} | PROCESS_FLAGS
SAMPLE_FLAGS = {"out_dir": "--out", "force": "--force", "fps": "--fps", "clips": "--clips", "length_s": "--length"}


def _config_or_none(config: Path, branch: str | None) -> Path | None:
    return config if branch is not None else None


def calibrate(
    video: Annotated[Path, typer.Argument(help="A recording from the camera.", show_default=False)],
    branch: Annotated[
        str | None, typer.Option("--branch", "-b", help="Branch of the camera (needed for --write).")
    ] = None,
    camera: Annotated[
        str | None, typer.Option("--camera", help="Camera id in the branch (default: the branch's first).")
    ] = None,
    frames: Annotated[int, typer.Option("--frames", **in_range(int, min=1), help="How many frames to sample.")] = 24,
    candidates: Annotated[
        str,
        typer.Option("--try", help="Settings to try: input sizes, NxT for T x T tiles, e.g. 640,960,1280,640x2."),
    ] = "640,960,1280,640x2",
    model: Annotated[str | None, typer.Option("--model", help="Weights (default: the camera's, or bundled).")] = None,
    backend: Annotated[
        str | None, typer.Option("--backend", help="auto (OpenVINO on CPU when installed), openvino or torch.")
    ] = None,
    device: Annotated[str | None, typer.Option("--device", help="cpu, cuda or cuda:N (default: cpu).")] = None,
    write: Annotated[
        bool, typer.Option("--write", help="Write the recommended imgsz and tiles into the camera's config.")
    ] = False,
    config: ConfigDir = DEFAULT_CONFIG,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    from retail_intel.accuracy.calibrate import calibrate_camera, parse_candidates

    if write and branch is None:
        raise InputError("--write needs --branch (and --camera when the branch has several cameras)")
    # refused as process refuses them (a usage error naming the flag), before any frame is read
    settings_from_flags({"model": model, "backend": backend, "device": device})
    settings = parse_candidates(candidates, "--try")
    try:
        result = calibrate_camera(
            video,
            branch=branch,
            camera=camera,
            config_dir=_config_or_none(config, branch),
            model=model,
            backend=backend,
            device=device,
            frames=frames,
            candidates=settings,
            names=CALIBRATE_FLAGS,
            # said once the video, camera and flags are accepted: a refused one is the error's line alone
            started=lambda: err.print(f"sampling {counted(frames, 'frame')} of {video.name} ..."),
        )
    except KeyboardInterrupt:
        # calibrate measures in memory; --write happens only after, so a stopped one leaves nothing behind
        exit_interrupted("nothing written (run the same command again to calibrate the camera)")
    best = result.recommended
    written: Path | None = None
    if write and branch is not None:
        from retail_intel.accuracy.config_edit import write_camera_settings
        from retail_intel.config.loader import load_config

        camera_id = camera or load_config(config).camera(branch).id
        written = write_camera_settings(
            config, branch, camera_id, result.settings_to_write(CALIBRATE_FLAGS), action="--write"
        )
    rows = [
        {
            "setting": c.label,
            "imgsz": c.imgsz,
            "tiles": c.tiles,
            "fps": round(c.fps, 2),
            "people_found": c.people_found,
            "share_of_best": round(c.share_of_best, 3),
            "median_height_px": None if c.median_height_px is None else round(c.median_height_px, 1),
            "recommended": "yes" if c is best else "",
        }
        for c in result.candidates
    ]
    if fmt is OutputFormat.json:
        print(
            to_json(
                {
                    **{k: v for k, v in dataclasses.asdict(result).items() if k not in ("candidates", "recommended")},
                    "candidates": rows,
                    "recommended": {"imgsz": best.imgsz, "tiles": best.tiles},
                    "written": str(written) if written else None,
                }
            )
        )
        return
    render_rows(
        rows,
        fmt,
        title=f"{video.name}: {counted(result.frames_sampled, 'frame')}, {result.frame_size[0]}x{result.frame_size[1]}",
    )
    if fmt is OutputFormat.table:
        for note in result.notes:
            err.print(f"note: {note}")
        tiles = f", tiles: {best.tiles}" if best.tiles > 1 else ""
        found = counted(best.people_found, "person", "people")
        err.print(f"[bold]recommended:[/bold] imgsz: {best.imgsz}{tiles} ({best.fps:.1f} fps, {found})")
        if written:
            err.print(f"written to {written} (branch {branch})")
        elif branch is not None:
            err.print("add --write to put it into the camera's config")


audit_app = typer.Typer(help=AUDIT_HELP, no_args_is_help=True)


@audit_app.command("check", help=CHECK_HELP)
def audit_check(
    video: Annotated[Path, typer.Argument(help="The video to audit.", show_default=False)],
    truth: Annotated[
        Path, typer.Option("--truth", "-t", help="MOTChallenge gt.txt or a hand-count CSV.", show_default=False)
    ],
    branch: Annotated[str, typer.Option("--branch", "-b", help="Branch of the camera.")],
    camera: Annotated[
        str | None, typer.Option("--camera", help="Camera id in the branch (default: the branch's first).")
    ] = None,
    roi: Annotated[
        str | None, typer.Option("--roi", help="Rectangle ROI x1,y1,x2,y2 (overrides the camera's).")
    ] = None,
    line: Annotated[
        str | None, typer.Option("--line", help="Counting line 'x1,y1 x2,y2[:left|right]' (overrides the camera's).")
    ] = None,
    fps: Annotated[float | None, typer.Option("--fps", help="True frame rate when the header is wrong.")] = None,
    slice_len: Annotated[
        str | None,
        typer.Option(
            "--slice", help="MOTChallenge truth: slice length for the interval, e.g. 10s (default: 10 slices)."
        ),
    ] = None,
    level: Annotated[
        float, typer.Option("--level", **in_range(float, min=0.5, max=0.999), help="Confidence level of the interval.")
    ] = 0.95,
    config: ConfigDir = DEFAULT_CONFIG,
    fmt: FormatOpt = OutputFormat.table,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from retail_intel.accuracy.runner import audit_video
    from retail_intel.cli.settings_flags import settings_from_flags
    from retail_intel.pipeline.plan import ProcessRequest
    from retail_intel.timeutil import parse_duration

    layer = settings_from_flags({"roi": roi, "line": line, "fps": fps})
    request = ProcessRequest(
        video=video,
        branch=branch,
        data_dir=Path("."),
        config_dir=config,
        camera=camera,
        layers=(layer,),
        names=PROCESS_FLAGS,
    )
    # off with --quiet and where stderr is no terminal (a log, a pipe): stopping even an unstarted bar
    # there writes a blank line, and a started one leaves its last frame in the log
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=quiet or not err.is_terminal,
    )
    task = bar.add_task(video.name, total=None)

    def progress(done: int, total: int | None) -> None:
        if not quiet and not bar.live.is_started:
            bar.start()
        bar.update(task, completed=done, total=total)

    try:
        report = audit_video(
            request,
            truth,
            slice_s=parse_duration(slice_len, flag="--slice") if slice_len is not None else None,
            level=level,
            progress=progress,
            names={"slice_s": "--slice", "line": "--line", "fps": "--fps"},
        )
    except KeyboardInterrupt:
        # the audit compares in memory and writes nothing, so a stopped one leaves nothing behind
        bar.stop()
        exit_interrupted("nothing written (run the same command again to audit the video)")
    finally:
        bar.stop()
    rows = [
        {
            "measure": m.measure,
            "slices": m.slices,
            "true": m.expected,
            "counted": m.counted,
            "accuracy": round(m.accuracy, 4),
            "bias": None if m.bias is None else round(m.bias, 4),
            "ci_low": None if m.ci_low is None else round(m.ci_low, 4),
            "ci_high": None if m.ci_high is None else round(m.ci_high, 4),
            "mae_per_slice": round(m.mean_abs_error, 3),
            "slice_accuracy": round(m.slice_accuracy, 4),
        }
        for m in report.measures
    ]
    if fmt is OutputFormat.json:
        payload: dict[str, Any] = {
            "video": report.video,
            "truth": report.truth,
            "truth_kind": report.truth_kind,
            "level": report.level,
            "measures": rows,
            "tracking": report.tracking.as_dict() if report.tracking else None,
            "slices": [
                {"start_s": s.slice.start_s, "end_s": s.slice.end_s, "true": s.expected, "counted": s.counted}
                for s in report.slices
            ],
            "run": dataclasses.asdict(report.run),
        }
        print(to_json(payload))
        return
    render_rows(
        rows,
        fmt,
        title=f"{video.name} against {truth.name} ({report.truth_kind}, {counted(len(report.slices), 'slice')})",
    )
    if fmt is OutputFormat.table:
        if report.tracking is not None:
            s = report.tracking
            err.print(
                f"tracking: MOTA {s.mota:.3f}  IDF1 {s.idf1:.3f}  HOTA {s.hota:.3f}  recall {s.recall:.3f}  "
                f"precision {s.precision:.3f}  ids {s.predicted_ids} (true {s.gt_ids})"
            )
        err.print(f"bias interval: {report.level:.0%} bootstrap over slices; positive = over-counting")


@audit_app.command("sample", help=SAMPLE_HELP)
def audit_sample(
    video: Annotated[Path, typer.Argument(help="The video to sample.", show_default=False)],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the clips and counts.csv.")],
    branch: Annotated[
        str | None, typer.Option("--branch", "-b", help="Branch of the camera: draws its ROI and line on the clips.")
    ] = None,
    camera: Annotated[
        str | None, typer.Option("--camera", help="Camera id in the branch (default: the branch's first).")
    ] = None,
    clips: Annotated[int, typer.Option("--clips", **in_range(int, min=1), help="How many clips.")] = 8,
    length: Annotated[str, typer.Option("--length", help="Length of each clip, e.g. 30s or 1m.")] = "30s",
    fps: Annotated[float | None, typer.Option("--fps", help="True frame rate when the header is wrong.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Changes which moments are picked (repeatable).")] = 0,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a counts.csv in --out that already holds hand counts.")
    ] = False,
    config: ConfigDir = DEFAULT_CONFIG,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    from retail_intel.accuracy.clips import COUNTS_FILE, sample_clips, short_clips_warning
    from retail_intel.cli.settings_flags import settings_from_flags
    from retail_intel.pipeline.plan import ProcessRequest, make_plan
    from retail_intel.timeutil import parse_duration

    settings_from_flags({"fps": fps})  # 0, negative or nan: refused as audit check refuses it
    asked_fps = fps  # the check must time the frames as the clips were cut
    rules = None
    regions: dict[str, Any] = {}  # the camera's named zones and entry, for sample_clips' frame check
    if branch is not None:
        plan = make_plan(
            ProcessRequest(
                video=video, branch=branch, data_dir=Path("."), config_dir=config, camera=camera, names=PROCESS_FLAGS
            )
        )
        rules = plan.rules
        regions = {
            "zones": plan.zones,
            "camera_id": plan.camera_id,
            "regions_from": plan.regions_from,
            "staff_zones": plan.staff.staff_zones,
        }
        fps = fps or plan.fps_override
    length_s = parse_duration(length, flag="--length")
    try:
        written = sample_clips(
            video,
            out_dir,
            fps=fps,
            rules=rules,
            clips=clips,
            length_s=length_s,
            seed=seed,
            force=force,
            names=SAMPLE_FLAGS,
            **regions,
        )
    except KeyboardInterrupt:
        # sample_clips cuts into a hidden folder and swaps the sample in only once it is whole: stopped
        # before that, it leaves --out as it was (an earlier sample's clips and counts.csv included)
        exit_interrupted(
            f"nothing written, --out left as it was (no new clips, no new {COUNTS_FILE}; "
            "run the same command again to sample the video)"
        )
    # length_s (what each clip got) next to asked_s (--length): a short clip shows in every format
    rows = [
        {
            "clip": c.path.name,
            "start_s": c.slice.start_s,
            "end_s": c.slice.end_s,
            "length_s": round(c.slice.end_s - c.slice.start_s, 2),
            "asked_s": length_s,
        }
        for c in written
    ]
    render_rows(rows, fmt, title=f"{counted(len(written), 'clip')} in {out_dir}")
    warning = short_clips_warning(written, clips, length_s)
    if warning is not None:
        err.print(f"[yellow]warning: {escape(warning)}[/yellow]")
    if fmt is OutputFormat.table:
        err.print(f"count each clip and fill in {out_dir / COUNTS_FILE}, then run:")
        # the flags that chose the camera and timed the clips, so the check compares the same stretches
        check = ["retail-intel", "audit", "check", str(video), "--truth", str(out_dir / COUNTS_FILE)]
        check += ["--branch", branch] if branch else []
        check += ["--camera", camera] if camera else []
        check += ["--fps", repr(asked_fps)] if asked_fps else []
        check += ["--config", str(config)] if branch and config != DEFAULT_CONFIG else []
        err.print("  " + escape(shlex.join(check)) + ("" if branch else " --branch B"), soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("calibrate", help=CALIBRATE_HELP)(calibrate)
    app.add_typer(audit_app, name="audit")
