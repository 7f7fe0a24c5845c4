"""Counts in words, for every message and page: "1 visitor", "2 visitors", "1,200 windows"."""

from __future__ import annotations


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``1 window``, ``2 windows``, ``1,200 windows``: a count and its noun agreeing with it (``plural``
    where adding an s is wrong, as in person/people)."""
    return f"{n:,} {singular if n == 1 else plural or singular + 's'}"
