"""``retail-intel process FOLDER|'GLOB'|MANIFEST``: the batch form of ``process`` and its display.

The command module parses options; :func:`retail_intel.batch.runner.run_batch`
does the work; this module only renders progress and the final summary.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from retail_intel.batch.request import BatchRequest, Runtime
from retail_intel.batch.runner import run_batch
from retail_intel.batch.summary import BatchObserver, BatchSummary, FileReport
from retail_intel.cli.common import (
    OutputFormat,
    err,
    exit_interrupted,
    frame_rate,
    out,
    rate_text,
    render_rows,
    to_json,
)
from retail_intel.cli.settings_flags import PROCESS_FLAGS
from retail_intel.naming import COMMAND_STEPS
from retail_intel.wording import counted

# what run_batch's messages call the request's fields: the flags the user typed
BATCH_FLAGS = {"executor": "--executor", "address": "--address", "retry_failed": "--retry-failed"} | PROCESS_FLAGS


class RichBatchObserver(BatchObserver):
    """One overall line (frames, files, fps, ETA), a bar per running file, a line per finished file."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        # the bar is off where stderr is no terminal (a log, a pipe), where its frames would pile up
        # between the per-file lines, which are what a log needs; --quiet drops those lines too
        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[files]}"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err,
            disable=quiet or not err.is_terminal,
            transient=False,
        )
        self.overall: TaskID | None = None
        self.files_total = 0
        self.files_settled = 0
        self.frames_finished = 0
        self.frames_planned = 0  # the overall bar's total: frames of the files to run, as they settle
        self.running: dict[str, tuple[TaskID, int, float]] = {}  # video -> (task, frames so far, started)
        self.began: float | None = None

    def _fields(self) -> dict[str, Any]:
        frames = self.frames_finished + sum(done for _, done, _ in self.running.values())
        elapsed = time.perf_counter() - self.began if self.began else 0.0
        return {
            "completed": frames,
            "files": f"{self.files_settled}/{self.files_total} files",
            "rate": rate_text(frame_rate(frames, elapsed), 7),
        }

    def planned(self, files: int, to_run: int, frames_to_run: int) -> None:
        self.files_total = files
        if not self.bar.disable:
            self.bar.start()
        self.frames_planned = frames_to_run
        self.overall = self.bar.add_task("batch", total=frames_to_run or None, files="", rate=rate_text(None, 7))
        self.bar.update(self.overall, **self._fields())

    def started(self, report: FileReport) -> None:
        if self.began is None:
            self.began = time.perf_counter()
        name = Path(report.video).name
        task = self.bar.add_task(f"  {name}", total=report.frames_estimate or None, files="", rate=rate_text(None, 7))
        self.running[report.video] = (task, 0, time.perf_counter())

    def progress(self, report: FileReport, frames_done: int, frames_total: int | None) -> None:
        if report.video not in self.running:
            return
        task, _, started = self.running[report.video]
        self.running[report.video] = (task, frames_done, started)
        elapsed = time.perf_counter() - started
        rate = rate_text(frame_rate(frames_done, elapsed), 7)
        self.bar.update(task, completed=frames_done, total=frames_total, rate=rate)
        if self.overall is not None:
            self.bar.update(self.overall, **self._fields())

    def finished(self, report: FileReport) -> None:
        frames = report.frames if report.status == "done" else 0
        if report.video in self.running:
            task, _, _ = self.running.pop(report.video)
            self.bar.remove_task(task)
            if self.overall is not None and self.frames_planned:
                # the plan counted the file's estimated frames: a file that failed (or held another
                # count) would leave the bar short of its end and the time left above zero
                self.frames_planned = max(self.frames_planned - report.frames_estimate + frames, 0)
                self.bar.update(self.overall, total=self.frames_planned)
        self.files_settled += 1
        self.frames_finished += frames
        if self.overall is not None:
            self.bar.update(self.overall, **self._fields())
        if not self.quiet:
            self.bar.console.print(_file_line(report), soft_wrap=True)

    def waiting(self, holder: str) -> None:
        err.print(
            f"[yellow]another batch is writing to this data directory ({escape(holder)}); waiting for it[/yellow]"
        )

    def kpis_started(self, branches: list[str]) -> None:
        if not self.quiet:
            self.bar.console.print(f"[dim]recomputing KPIs of {', '.join(branches)} ...[/dim]")

    def stop(self) -> None:
        self.bar.stop()


def _where(report: FileReport) -> str:
    return f"{report.branch}/{report.camera}" if report.branch else "?"


def _file_line(report: FileReport) -> str:
    name = escape(Path(report.video).name)
    if report.status == "done":
        fps = report.frames / report.seconds if report.seconds else 0.0
        joined = f", {report.taken_over} taken over from the file before" if report.taken_over else ""
        return (
            f"[green]done[/green]    {escape(_where(report))} {name}: {counted(report.frames, 'frame')} in "
            f"{report.seconds:.1f} s ({fps:.1f} fps); {counted(report.people or 0, 'person', 'people')}, "
            f"{report.entered} entered, "
            f"{report.passed} passed{joined}"
        )
    if report.status == "skipped":
        return f"[dim]skipped {escape(_where(report))} {name}: {escape(report.reason or '')}[/dim]"
    if report.status == "not run":
        return f"[yellow]not run[/yellow] {escape(_where(report))} {name}: {escape(report.reason or '')}"
    return f"[red]failed[/red]  {escape(_where(report))} {name}: {escape(report.reason or '')}"


def _render(summary: BatchSummary, fmt: OutputFormat) -> None:
    if fmt is OutputFormat.json:
        print(to_json(summary.to_dict()))
        return
    rows = [
        {
            "video": f.video,
            "branch": f.branch,
            "camera": f.camera,
            "start_time": f.start_time,
            "status": f.status,
            "frames": f.frames,
            "seconds": round(f.seconds, 2),
            "people": f.people,
            "entered": f.entered,
            "passed": f.passed,
            "reason": f.reason,
        }
        for f in summary.files
    ]
    if fmt is OutputFormat.csv:
        render_rows(rows, fmt)
        return
    table = Table(title=f"batch {escape(summary.source)}")
    table.add_column("")
    table.add_column("", justify="right")
    executor = summary.executor + (f", {counted(summary.workers, 'worker')}" if summary.workers else "")
    for label, value in (
        ("files done", summary.done),
        ("skipped (already done)", summary.skipped),
        ("failed", summary.failed),
        ("not run", summary.not_run),
        ("frames processed", f"{summary.frames:,}"),
        ("wall time", f"{summary.wall_s:.1f} s"),
        ("throughput", f"{summary.fps:.1f} frames/s"),
        ("executor", executor),
        ("KPIs recomputed", ", ".join(sorted({f"{k.branch} ({k.window_minutes}m)" for k in summary.kpis})) or "-"),
    ):
        table.add_row(label, str(value))
    out.print(table)
    failed = [f for f in summary.files if f.status == "failed"]
    if failed:
        listing = Table(title="failed files", title_style="red")
        for column in ("video", "branch/camera", "reason"):
            listing.add_column(column, overflow="fold")
        for f in failed:
            listing.add_row(escape(f.video), escape(_where(f)), escape(f.reason or ""))
        out.print(listing)
    # the files a full disk kept from starting (their reason says so); not those Ctrl-C left, which have none
    not_run = [f for f in summary.files if f.status == "not run" and f.reason]
    if not_run:
        err.print(f"[yellow]{counted(len(not_run), 'file')} not run: {escape(not_run[0].reason or '')}[/yellow]")
    for camera, choice in summary.input_sizes.items():
        how = "once for the camera" if choice.get("decided") else "each file probed, none sized on"
        err.print(f"input size {escape(camera)}: {choice['imgsz']} (auto, {how}: {escape(choice['reason'])})")
        if choice.get("warning"):
            err.print(f"[yellow]warning:[/yellow] {escape(camera)}: {escape(choice['warning'])}")
    for note in summary.notes:
        err.print(f"[yellow]note:[/yellow] {escape(note)}")
    if summary.kpi_error:
        err.print(f"[red]{escape(summary.kpi_error)}[/red]")
    if summary.interrupted:
        exit_interrupted("finished files are recorded (run the same command again to do the rest)")
    if summary.exit_code:
        err.print(f"[yellow]partial batch: exit code {summary.exit_code}[/yellow]")


def process_batch(request: BatchRequest, *, fmt: OutputFormat, quiet: bool, runtime: Runtime | None = None) -> None:
    """Run the batch with a live display, print the summary, exit 0 / 3 (partial) / 130 (interrupted)."""
    observer = RichBatchObserver(quiet)
    try:
        summary = run_batch(request, runtime=runtime, observer=observer, names=BATCH_FLAGS, steps=COMMAND_STEPS)
    finally:
        observer.stop()
    _render(summary, fmt)
    raise typer.Exit(summary.exit_code)
