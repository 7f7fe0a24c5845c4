"""Read-only commands over the config directory: validate, branches, tasks, events, promotions.

Each command loads the config (a bad config fails with every problem listed),
asks :mod:`retail_intel.config.records` for plain rows and renders them.
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Annotated

import typer
from rich.markup import escape

from retail_intel.cli.common import (
    DEFAULT_CONFIG,
    ConfigDir,
    FormatOpt,
    OutputFormat,
    choice_parser,
    err,
    out,
    parse_time_option,
    render_rows,
    to_json,
)
from retail_intel.config.loader import load_config, validation_report
from retail_intel.config.models import TaskStatus
from retail_intel.config.records import (
    BRANCH_COLUMNS,
    DEFAULT_EVENT_WINDOW_DAYS,
    EVENT_COLUMNS,
    PROMOTION_COLUMNS,
    TASK_COLUMNS,
    branch_detail,
    branch_detail_rows,
    branch_rows,
    event_rows,
    event_window,
    promotion_rows,
    task_rows,
)
from retail_intel.naming import DIRECTORY_NAMES
from retail_intel.wording import counted

JsonFlag = Annotated[bool, typer.Option("--json", help="Shorthand for --format json.")]
BranchFilter = Annotated[str | None, typer.Option("--branch", "-b", help="Only this branch (id from branches.yaml).")]
# validate counts each config file's records under its plural name: "1 branch", not "1 branches"
_SINGULAR = {
    "branches": "branch",
    "employees": "employee",
    "tasks": "task",
    "events": "event",
    "promotions": "promotion",
    "holidays": "holiday",
}


def _fmt(fmt: OutputFormat, as_json: bool) -> OutputFormat:
    return OutputFormat.json if as_json else fmt


def validate(
    config: ConfigDir = DEFAULT_CONFIG,
    fmt: FormatOpt = OutputFormat.table,
    as_json: JsonFlag = False,
) -> None:
    """Check every file of the config directory and list every problem at once.

    Exit code 0 when the config is valid, 1 when anything is wrong.

    Example: retail-intel validate --config ./config
    """
    report = validation_report(config, DIRECTORY_NAMES)
    chosen = _fmt(fmt, as_json)
    if chosen is OutputFormat.json:
        sys.stdout.write(to_json(report) + "\n")
    elif chosen is OutputFormat.csv:
        render_rows([{"problem": p} for p in report["problems"]], chosen, columns=["problem"])
    elif report["ok"]:
        counts = ", ".join(counted(n, _SINGULAR.get(name, name), name) for name, n in report["counts"].items())
        out.print(f"[green]config OK[/green]: {escape(str(config))} ({counts})")
    else:
        for problem in report["problems"]:
            out.print("[red]-[/red] " + escape(problem), soft_wrap=True)
        count = len(report["problems"])
        err.print(f"[red]error:[/red] {counted(count, 'problem')} in {escape(str(config))}")
    if not report["ok"]:
        raise typer.Exit(1)


branches_app = typer.Typer(
    help="Branches defined in branches.yaml.\n\nExample: retail-intel branches list",
    no_args_is_help=True,
)


@branches_app.command("list")
def branches_list(
    config: ConfigDir = DEFAULT_CONFIG,
    fmt: FormatOpt = OutputFormat.table,
    as_json: JsonFlag = False,
) -> None:
    """List every branch with its state, timezone, capacity and cameras.

    Example: retail-intel branches list --json
    """
    render_rows(branch_rows(load_config(config)), _fmt(fmt, as_json), title="Branches", columns=BRANCH_COLUMNS)


@branches_app.command("show")
def branches_show(
    branch_id: Annotated[str, typer.Argument(metavar="ID", help="Branch id, e.g. b1.")],
    config: ConfigDir = DEFAULT_CONFIG,
    fmt: FormatOpt = OutputFormat.table,
    as_json: JsonFlag = False,
) -> None:
    """Show one branch: fields, opening hours, cameras, staff, open tasks, promotions.

    JSON output is one object with nested cameras and employees.

    Example: retail-intel branches show b1
    """
    detail = branch_detail(load_config(config), branch_id)
    chosen = _fmt(fmt, as_json)
    if chosen is OutputFormat.json:
        sys.stdout.write(to_json(detail) + "\n")
        return
    render_rows(branch_detail_rows(detail), chosen, title=f"Branch {branch_id}", columns=["field", "value"])


def tasks(
    branch_id: Annotated[str, typer.Argument(metavar="BRANCH", help="Branch id, e.g. b1.")],
    status: Annotated[
        TaskStatus | None,
        typer.Option("--status", parser=choice_parser(TaskStatus), help="Only tasks with this status."),
    ] = None,
    config: ConfigDir = DEFAULT_CONFIG,
    fmt: FormatOpt = OutputFormat.table,
    as_json: JsonFlag = False,
) -> None:
    """List a branch's tasks from tasks.yaml: open first, most urgent first, earliest due first.

    Example: retail-intel tasks b1 --status open
    """
    rows = task_rows(load_config(config), branch_id, status)
    render_rows(rows, _fmt(fmt, as_json), title=f"Tasks of {branch_id}", columns=TASK_COLUMNS)


def events(
    branch_id: BranchFilter = None,
    start: Annotated[
        str | None,
        typer.Option("--from", help="Range start, ISO 8601 with timezone. Default: today 00:00 UTC."),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(
            "--to",
            help=f"Range end (exclusive), ISO 8601 with timezone. Default: --from + {DEFAULT_EVENT_WINDOW_DAYS} days.",
        ),
    ] = None,
    config: ConfigDir = DEFAULT_CONFIG,
    fmt: FormatOpt = OutputFormat.table,
    as_json: JsonFlag = False,
) -> None:
    """List event occurrences in a time range, repeating events expanded into dates.

    Times are shown in the branch's timezone (UTC for events with only a location).

    Example: retail-intel events --branch b1 --from 2026-12-01T00:00:00Z --to 2027-01-01T00:00:00Z
    """
    flags = ("--from", "--to")
    range_start, range_end = event_window(
        parse_time_option(start, "--from"), parse_time_option(end, "--to"), dt.datetime.now(dt.UTC), range_names=flags
    )
    rows = event_rows(load_config(config), range_start, range_end, branch_id, range_names=flags)
    render_rows(
        rows, _fmt(fmt, as_json), title=f"Events {range_start:%Y-%m-%d} to {range_end:%Y-%m-%d}", columns=EVENT_COLUMNS
    )


def promotions(
    branch_id: BranchFilter = None,
    active_at: Annotated[
        str | None,
        typer.Option("--active-at", help="Only promotions running at this time (ISO 8601 with timezone)."),
    ] = None,
    config: ConfigDir = DEFAULT_CONFIG,
    fmt: FormatOpt = OutputFormat.table,
    as_json: JsonFlag = False,
) -> None:
    """List promotions from promotions.yaml, optionally for one branch or one moment.

    A promotion with branches: all applies to every branch.

    Example: retail-intel promotions --branch b2 --active-at 2026-12-01T09:00:00Z
    """
    moment = parse_time_option(active_at, "--active-at")
    rows = promotion_rows(load_config(config), branch_id, moment)
    render_rows(rows, _fmt(fmt, as_json), title="Promotions", columns=PROMOTION_COLUMNS)


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
    app.add_typer(branches_app, name="branches")
    app.command("tasks")(tasks)
    app.command("events")(events)
    app.command("promotions")(promotions)
