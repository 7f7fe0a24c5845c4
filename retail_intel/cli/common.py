"""Options and rendering shared by every command.

Conventions: ``--config DIR`` (env ``RETAIL_INTEL_CONFIG``, default ``./config``),
``--data-dir DIR`` (env ``RETAIL_INTEL_DATA_DIR``, default ``./retail_data``),
``--format table|json|csv`` where a command prints data; JSON and CSV go to
stdout alone so they can be piped, everything else goes to stderr.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
import json
import math
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from retail_intel.cli.fitted_table import fitted_table
from retail_intel.errors import InputError
from retail_intel.timeutil import parse_datetime

# Human-facing output (tables, progress, messages) goes to stderr unless a
# command prints a table as its result; machine output goes to stdout.
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

E = TypeVar("E", bound=enum.Enum)


class OutputFormat(enum.StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def choice_parser(kind: type[E]) -> Callable[[Any], E]:
    """The ``parser=`` of an option whose values are ``kind``'s: typer 0.29 refuses another value
    through a pydantic validator, whose message leads with "Value error, "; this says it plainly:
    ``Invalid value for '--status': 'in-progress' is not one of 'open', 'in_progress', ...``."""

    def parse(value: Any) -> E:
        if isinstance(value, kind):  # the default, already a member
            return value
        for member in kind:
            if member.value == value:
                return member
        choices = ", ".join(repr(member.value) for member in kind)
        raise typer.BadParameter(f"{value!r} is not one of {choices}.")

    return parse


def _directory_parser(flag: str) -> Any:
    """A ``--config`` / ``--data-dir`` value as a Path, an empty one refused.

    ``Path("")`` is ``.``: an unset shell variable (``--data-dir "$DATA"``) would
    otherwise read and write the current folder.
    """

    def parse(value: str | Path) -> Path:
        if isinstance(value, Path):  # the default, already a Path
            return value
        if not value.strip():
            raise InputError(f"{flag}: expected a directory, got {'an empty value' if not value else repr(value)}")
        return Path(value)

    return parse


ConfigDir = Annotated[
    Path,
    typer.Option(
        "--config",
        parser=_directory_parser("--config"),
        metavar="DIR",
        envvar="RETAIL_INTEL_CONFIG",
        help="Directory of YAML metadata (branches.yaml, employees.yaml, ...).",
        show_default=True,
    ),
]
DataDir = Annotated[
    Path,
    typer.Option(
        "--data-dir",
        parser=_directory_parser("--data-dir"),
        metavar="DIR",
        envvar="RETAIL_INTEL_DATA_DIR",
        help="Parquet data directory (movements, KPIs).",
        show_default=True,
    ),
]
FormatOpt = Annotated[
    OutputFormat,
    typer.Option(
        "--format",
        "-f",
        parser=choice_parser(OutputFormat),
        help="Output: a Rich table, or JSON / CSV on stdout for piping.",
    ),
]


class EngineChoice(enum.StrEnum):
    duckdb = "duckdb"
    polars = "polars"


EngineOpt = Annotated[
    EngineChoice,
    typer.Option(
        "--engine",
        parser=choice_parser(EngineChoice),
        help="Compute the KPIs with DuckDB SQL or Polars (same results).",
    ),
]

DEFAULT_CONFIG = Path("config")
DEFAULT_DATA_DIR = Path("retail_data")


def exit_interrupted(outcome: str) -> NoReturn:
    """Ctrl-C's one line on stderr, ``interrupted; <outcome>`` (what was or was not written), then exit code 130."""
    err.print(f"[yellow]interrupted[/yellow]; {outcome}")
    raise typer.Exit(130)


def counting_progress(unit: str) -> Progress:
    """A transient bar on stderr: task description, bar, done/total ``unit``, elapsed time.

    Off when stderr is not a terminal, so logs and pipes get no control codes.
    """
    return Progress(
        TextColumn("[bold]{task.description}[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


# A progress bar's rate over less than this is the first batch of frames over timer noise: a run
# of --max-frames 3 showed tens of thousands of frames/s. Until then the bar shows no rate.
MIN_RATE_SECONDS = 1.0


def frame_rate(frames: int, elapsed: float) -> float | None:
    """Frames per second for ``frames`` done in ``elapsed`` seconds (those done after the clock
    started), or None until :data:`MIN_RATE_SECONDS` have passed and a frame has been done."""
    if elapsed < MIN_RATE_SECONDS or frames < 1:
        return None
    return frames / elapsed


def rate_text(rate: float | None, width: int) -> str:
    """A progress bar's rate column: ``   12.3 fps``, or blanks of the same width while there is none."""
    return f"{rate:>{width}.1f} fps" if rate is not None else " " * (width + 4)


def parse_time_option(value: str | None, name: str) -> dt.datetime | None:
    """Parse an ISO 8601 option value that must carry a timezone."""
    if value is None:
        return None
    try:
        return parse_datetime(value)
    except InputError as exc:
        raise InputError(f"{name}: {exc}") from exc


def parse_date_option(value: str | None, name: str) -> dt.date | None:
    """Parse a YYYY-MM-DD option value."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"{name}: expected a date YYYY-MM-DD, got {value!r}") from exc


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    return value


def finite_or_null(value: Any) -> Any:
    """``value`` with every NaN and infinity (no JSON form) inside dicts, lists and tuples made None.

    Done before encoding: json.dumps writes floats itself (NaN, -Infinity) and
    never hands them to its ``default`` hook.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_null(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_null(v) for v in value]
    return value


def to_json(value: Any) -> str:
    """Every command's JSON output: strict JSON (a score with no value, like NaN, is null)."""
    value = finite_or_null(value)
    text = json.dumps(value, default=_jsonable, indent=2, ensure_ascii=False, allow_nan=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # a lone surrogate (a JSON key "\ud800" of an ingested file) cannot be written as UTF-8;
        # escaped as \uXXXX it is the same JSON
        return json.dumps(value, default=_jsonable, indent=2, ensure_ascii=True, allow_nan=False)
    return text


def compact_time(value: dt.datetime) -> str:
    """An aware time for a table cell: no 'T', no zero seconds, its offset kept ('Z' for UTC)."""
    text = value.strftime("%Y-%m-%d %H:%M")
    if value.second or value.microsecond:
        text += value.strftime(":%S") + (f".{value.microsecond:06d}" if value.microsecond else "")
    offset = value.utcoffset()
    if not offset:
        return text + "Z"
    return text + value.isoformat()[-6:]


def window_label(start: dt.datetime, tz: dt.tzinfo | None) -> str:
    """A window's start in its branch's local time for a table: 'Sun 25 Oct 2026 02:00'.

    On the night the clocks go back, the repeated hour's two windows have the same wall time;
    each then carries its UTC offset ('02:00 +02:00', '02:00 +01:00') to tell them apart.
    """
    local = start.astimezone(tz) if tz is not None else start
    text = local.strftime("%a %d %b %Y %H:%M")
    other = local.replace(fold=1 - local.fold)
    if tz is not None and other.utcoffset() != local.utcoffset():
        text += " " + local.isoformat()[-6:]
    return text


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return compact_time(value)
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    return str(_jsonable(value))


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list | tuple | dict):  # JSON, as the kpis and sql CSV write them (not a Python repr)
        return json.dumps(finite_or_null(value), default=_jsonable, ensure_ascii=False)
    return _jsonable(value)


def render_rows(
    rows: Sequence[Mapping[str, Any]],
    fmt: OutputFormat,
    *,
    title: str | None = None,
    columns: Iterable[str] | None = None,
    header_if_empty: bool = False,
) -> None:
    """Print records as a Rich table, JSON (list of objects) or CSV.

    No records as a table is the one line "no rows for TITLE"; ``header_if_empty`` adds the empty
    table after it, where its column names are part of the answer (``sql``). JSON and CSV keep
    their empty forms (``[]``, the header row): scripts read those."""
    cols = list(columns) if columns is not None else (list(rows[0].keys()) if rows else [])
    if fmt is OutputFormat.json:
        sys.stdout.write(to_json([{c: row.get(c) for c in cols} for row in rows]) + "\n")
        return
    if fmt is OutputFormat.csv:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(cols)
        for row in rows:
            writer.writerow([_csv_cell(row.get(c)) for c in cols])
        sys.stdout.write(buffer.getvalue())
        return
    if not rows:
        err.print(f"[yellow]no rows[/yellow]{f' for {title}' if title else ''}")
        if not header_if_empty:
            # an empty table's header (and its note on the columns that did not fit) says nothing more
            return
    fitted = fitted_table(rows, cols, _cell, width=out.width, title=title)
    out.print(fitted.table)
    if fitted.hidden:
        names = ", ".join(fitted.hidden)
        err.print(
            f"[dim]{len(fitted.hidden)} more column{'s' if len(fitted.hidden) > 1 else ''} not shown at "
            f"{out.width} characters wide ({escape(names)}): widen the terminal, or use --format json or csv[/dim]"
        )


def optional_config_dir(ctx: typer.Context, config: Path) -> Path | None:
    """``--config`` for commands that can run without one.

    The default ./config is optional (the ROI may come from flags); an explicitly
    named config directory must exist, and the loader says so when it does not.
    """
    source = ctx.get_parameter_source("config")
    explicit = source is not None and source.name != "DEFAULT"
    return config if explicit or config.exists() else None
