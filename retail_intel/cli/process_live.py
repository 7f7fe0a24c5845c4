"""``retail-intel process rtsp://...``: the live form of ``process`` and its status display.

The command module parses options; :func:`retail_intel.live.session.process_stream`
does the work; this module installs the stop signals, shows a live status line
on stderr and renders the final summary.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.console import Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from retail_intel.cli.common import OutputFormat, err, exit_interrupted, out, render_rows, to_json
from retail_intel.errors import InputError
from retail_intel.live.session import (
    MAX_DURATION_S,
    MAX_FLUSH_S,
    LiveOptions,
    LiveResult,
    LiveStatus,
    process_stream,
)
from retail_intel.live.signals import stop_on_signals
from retail_intel.live.urls import redact_url
from retail_intel.pipeline.plan import ProcessPlan
from retail_intel.storage import PREVIEWS_DIR
from retail_intel.timeutil import parse_duration
from retail_intel.wording import counted

DEFAULT_FLUSH = "5m"


def live_options(url: str, *, duration: str | None, flush: str | None) -> LiveOptions:
    flush_s = parse_duration(flush or DEFAULT_FLUSH, flag="--flush")
    if flush_s > MAX_FLUSH_S:
        raise InputError(f"--flush can be at most {MAX_FLUSH_S / 3600:g}h, got {flush!r}")
    duration_s = parse_duration(duration, flag="--duration") if duration is not None else None
    if duration_s is not None and duration_s > MAX_DURATION_S:
        raise InputError(
            f"--duration can be at most {MAX_DURATION_S / 86400:g}d (leave it out to run until stopped), "
            f"got {duration!r}"
        )
    return LiveOptions(url=url, flush_s=flush_s, duration_s=duration_s)


def _clock(value: dt.datetime | None, plan: ProcessPlan) -> str:
    return "-" if value is None else value.astimezone(plan.timezone).strftime("%H:%M:%S")


def _status_view(status: LiveStatus, plan: ProcessPlan) -> Group:
    elapsed = dt.timedelta(seconds=round(status.elapsed_s))
    head = Text.assemble(
        ("● " if status.connected else "○ ", "green" if status.connected else "yellow"),
        (status.url, "bold"),
        f"  session {status.session_id}  {elapsed} elapsed",
    )
    body = Text(
        f"frames {status.frames:,} ({status.fps:.1f} fps"
        + (f", {status.frames_dropped:,} skipped to keep up" if status.frames_dropped else "")
        + f")  in view {status.open_tracks}  people {status.people} "
        f"(entered {status.entered}, passed {status.passed})  "
        f"flushes {status.flushes} (last {_clock(status.last_flush, plan)})  gaps {status.gaps}"
    )
    lines = [head, body]
    if status.open_gap_since is not None:
        lines.append(
            Text(
                f"reconnecting since {_clock(status.open_gap_since, plan)}: {status.open_gap_reason or ''}",
                style="yellow",
            )
        )
    return Group(*lines)


def run_live(plan: ProcessPlan, options: LiveOptions, *, fmt: OutputFormat, quiet: bool) -> LiveResult:
    """Run until Ctrl-C / SIGTERM / --duration with a status display on stderr, then print the summary."""
    live = Live(Text("connecting ..."), console=err, refresh_per_second=4, transient=False)
    if not quiet:
        err.print(f"reading {escape(redact_url(options.url))} (Ctrl-C to stop)")

    def progress(status: LiveStatus) -> None:
        if quiet:
            return
        if not live.is_started:
            live.start()
        live.update(_status_view(status, plan))

    def stop_display() -> None:
        if live.is_started:
            live.stop()
            if not err.is_terminal:
                # Rich ends the status block's last line only on a terminal: into a log file the
                # error, note or preview line that follows would be glued to "... gaps 0"
                err.line()

    try:
        with stop_on_signals() as stop:
            result = process_stream(
                plan, options, stop=stop, progress=progress, names={"duration_s": "--duration", "fps": "--fps"}
            )
    except KeyboardInterrupt:
        # a second Ctrl-C: the session has written what it could; no traceback
        stop_display()
        exit_interrupted("the people seen so far were written")
    finally:
        stop_display()
    render_summary(result, fmt)
    if result.summary.preview:
        err.print(
            f"[yellow]preview of the first {counted(result.summary.frames, 'frame')}: written under "
            f"{escape(str(plan.data_dir / PREVIEWS_DIR))}, apart from the data[/yellow]"
        )
    return result


def _summary_rows(result: LiveResult) -> list[dict[str, Any]]:
    data = result.summary.to_dict()
    rows = [{"field": k, "value": v} for k, v in data.items() if not isinstance(v, list)]
    rows.append({"field": "gaps", "value": len(result.summary.gaps)})
    rows.append({"field": "flushes", "value": len(result.summary.flushes)})
    rows.append({"field": "record", "value": str(result.record) if result.record else None})
    return rows


def render_summary(result: LiveResult, fmt: OutputFormat) -> None:
    summary = result.summary
    if fmt is OutputFormat.json:
        record = summary.to_dict()
        record["record"] = str(result.record) if result.record else None
        print(to_json(record))
        return
    if fmt is OutputFormat.csv:
        render_rows(_summary_rows(result), fmt)
        return
    table = Table(title=f"{summary.url}: branch {summary.branch_id}, camera {summary.camera_id}")
    table.add_column("")
    table.add_column("", justify="right")
    gap_seconds = sum(s for g in summary.gaps if isinstance(s := g.get("seconds"), float))
    for label, value in (
        ("session", summary.session_id),
        ("stopped by", summary.stop_reason),
        ("people", summary.people),
        ("entered", summary.entered),
        ("passed", summary.passed),
        ("not counted (never in ROI)", summary.not_counted),
        ("dropped noise tracks", summary.dropped_tracks),
        ("line in / out", f"{summary.line_in} / {summary.line_out}"),
        ("frames", f"{summary.frames:,} in {summary.seconds:.0f} s"),
        ("frames skipped to keep up", f"{summary.frames_dropped:,}"),
        ("gaps (stream away)", f"{len(summary.gaps)} ({gap_seconds:.1f} s)"),
        ("flushes (files)", len(summary.flushes)),
        ("model", summary.model),
        ("run record", str(result.record) if result.record else "-"),
    ):
        table.add_row(label, escape(str(value)))
    out.print(table)
    for note in summary.notes:
        err.print(f"[yellow]note:[/yellow] {escape(note)}")
