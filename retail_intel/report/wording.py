"""Counts in the report's sentences: "1 visitor", "2 visitors"."""

from __future__ import annotations


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` and its noun agreeing with it (``plural`` where adding an s is wrong), as the CLI's messages say it."""
    return f"{n:,} {singular if n == 1 else plural or singular + 's'}"
