"""The one exception root of retail-intel and its per-concern subclasses.

The library raises these and never prints; the CLI turns any of them into one
red line on stderr and exit code 1. Messages say what was expected, what
arrived, and name the file, row or field involved.
"""

from __future__ import annotations

import errno
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum


class Step(Enum):
    """What a message can tell its reader to do next: a closed set, each worded here as the library
    offers it (functions, parameters); an edge words it as its own commands (``worded_for``'s ``steps``)."""

    LIST_CONFIG_PROBLEMS = " (validate_config lists them)"
    WRITE_MOVEMENTS = "; process_video or ingest_file writes them"
    PROCESS_FIRST = "run process_video on it first"
    TRACKS_OF_PREVIEW = " {summary}, or run process_video on it without max_frames"
    RECOMPUTE_KPIS = "run compute_kpis over the days the last batch changed"
    SHORTER_RANGE = "; use a shorter start/end range"
    SETUP_FROM_VIDEO = "give a video of the camera, or process one first"
    PREVIEW_A_STREAM = ""  # a library caller has nothing to run on a stream; the CLI's setup does
    PROCESS_WITHOUT_PREVIEW = (
        " (process_video with max_frames writes them under previews/), which sql, kpis, report and serve "
        "do not read; process the video without max_frames"
    )


@dataclass(frozen=True)
class NextStep:
    """A :class:`Step` and the values its wording names (``{"summary": "runs/x.json"}``)."""

    step: Step
    args: Mapping[str, str] = field(default_factory=dict)

    def worded(self, template: str | None = None) -> str:
        return (self.step.value if template is None else template).format(**self.args)


class RetailIntelError(Exception):
    """Root of every error the library raises on purpose.

    ``next_step``, where given, ends the message in the library's words; an edge words it as its
    own (the CLI: a command line) through :meth:`worded_for`.
    """

    next_step: NextStep | None = None

    def __init__(self, *args: object, next_step: NextStep | None = None) -> None:
        if next_step is not None and args:
            self.next_step = next_step
            args = (f"{args[0]}{next_step.worded()}", *args[1:])
        super().__init__(*args)

    def worded_for(self, names: Mapping[str, str], steps: Mapping[Step, str] | None = None) -> str:
        """The message naming the parameters it names as ``names`` call them (the CLI: the flag or
        variable that gave the value), and its next step as ``steps`` word it; most messages name
        none, or name them as their caller passed."""
        text = self.named_for(names)
        step = self.next_step
        if step is None or not steps or step.step not in steps:
            return text
        return text.removesuffix(step.worded()) + step.worded(steps[step.step])

    def named_for(self, names: Mapping[str, str]) -> str:
        """:meth:`worded_for` without its step: what subclasses that name a parameter override."""
        return str(self)


class ConfigError(RetailIntelError):
    """The YAML metadata is missing, malformed or inconsistent.

    ``problems`` holds every individual message so ``validate`` can report all
    of them at once instead of stopping at the first.
    """

    def __init__(self, message: str, problems: list[str] | None = None, *, next_step: NextStep | None = None) -> None:
        self.problems = list(problems) if problems else [message]
        super().__init__(message, next_step=next_step)


class InputError(RetailIntelError):
    """A command-line value or input file does not have the expected form."""


class VideoError(RetailIntelError):
    """A video is missing, unreadable, corrupt, empty or breaks part-way."""


class ModelError(RetailIntelError):
    """Detection weights cannot be found, verified or loaded."""


class TimeError(InputError):
    """A timestamp is missing, ambiguous (no timezone) or unparseable."""


class DataError(RetailIntelError):
    """The Parquet data directory holds something unexpected."""


class StoreChangedError(DataError):
    """A store file was removed or replaced while it was read (a writer at work); a new read sees the store as it is now."""


class DatabaseError(RetailIntelError):
    """An external database (``export --to postgresql://...``) cannot be reached, refuses us, or rejects a statement."""


class ServeError(RetailIntelError):
    """The API server did not start, or stopped without being asked to (``serve --workers``: its workers failed to start)."""


class WriteError(DataError, OSError):
    """A file of the data directory could not be written (disk full, no permission, read-only).

    Also an :class:`OSError`, so code that already handles failed writes as
    OSError (the batch's ledger and summary) keeps doing so; the CLI shows it
    as one line naming the file.
    """

    @property
    def disk_full(self) -> bool:
        """Whether the write failed for want of space (``ENOSPC``, set by ``storage.write_error``):
        every later write to that disk fails alike until space is freed, so a batch stops starting files."""
        return self.errno == errno.ENOSPC
