"""The one exception root of retail-intel and its per-concern subclasses.

The library raises these and never prints; the CLI turns any of them into one
red line on stderr and exit code 1. Messages say what was expected, what
arrived, and name the file, row or field involved.
"""

from __future__ import annotations

from collections.abc import Mapping


class RetailIntelError(Exception):
    """Root of every error the library raises on purpose."""

    def worded_for(self, names: Mapping[str, str]) -> str:
        """The message naming the parameters it names as ``names`` call them (the CLI: the flag or
        variable that gave the value); most messages name none, or name them as their caller passed."""
        return str(self)


class ConfigError(RetailIntelError):
    """The YAML metadata is missing, malformed or inconsistent.

    ``problems`` holds every individual message so ``validate`` can report all
    of them at once instead of stopping at the first.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = list(problems) if problems else [message]
        super().__init__(message)


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
