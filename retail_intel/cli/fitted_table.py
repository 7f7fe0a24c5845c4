"""Rich tables that read well in a narrow terminal (80 columns): nothing is split mid-word.

Rich's default squeezes every column until the table fits, so at 80 columns
``Europe/London`` becomes ``Euro/pe/L/ondo/n`` and an id wraps over three
lines. Here instead:

* a column of short values (ids, times, time zones, numbers, day labels) is
  never wrapped: it is as wide as its longest value;
* only prose columns (text with spaces, longer than :data:`PROSE_LENGTH`)
  wrap, at word boundaries, down to :data:`PROSE_MIN_WIDTH`;
* a long header wraps at its underscores (``customers_`` / ``per_staff``),
  so column names stay whole and exact;
* columns that still do not fit are left out from the right, and the caller
  is told which, to say so (JSON and CSV always carry every column).

Columns are separated by two spaces, without a frame, which leaves the most
room for the data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.table import Table
from rich.text import Text

PROSE_LENGTH = 24  # a column with a value longer than this, with spaces, is prose and may wrap
PROSE_MIN_WIDTH = 12
COLUMN_GAP = 2
_HEADER_PIECES = re.compile(r"[^_\s]+[_\s]*|[_\s]+")


@dataclass(frozen=True)
class Fitted:
    table: Table
    hidden: list[str]  # columns left out, in order


def header_lines(name: str, width: int) -> str:
    """``name`` broken after underscores (or spaces) into lines of at most ``width`` where it can be."""
    lines: list[str] = []
    for piece in _HEADER_PIECES.findall(name):
        if lines and cell_len(lines[-1].rstrip() + piece.rstrip()) <= width:
            lines[-1] += piece
        else:
            lines.append(piece)
    return "\n".join(line.rstrip() for line in lines)


def _longest_piece(name: str) -> int:
    return max((cell_len(piece.rstrip()) for piece in _HEADER_PIECES.findall(name)), default=0)


def fitted_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    cell: Callable[[Any], str],
    *,
    width: int,
    title: str | None = None,
) -> Fitted:
    """A table of ``rows`` (cells rendered by ``cell``) no wider than ``width`` terminal cells."""
    texts = {c: [cell(row.get(c)) for row in rows] for c in columns}
    needs: dict[str, int] = {}
    prose: dict[str, bool] = {}
    numeric: dict[str, bool] = {}
    for c in columns:
        longest = max((cell_len(t) for t in texts[c]), default=0)
        values = [row.get(c) for row in rows if row.get(c) is not None]
        # Prose is text with spaces; a time or a list shown with spaces is still one value.
        prose[c] = any(isinstance(v, str) and " " in v.strip() and cell_len(v) > PROSE_LENGTH for v in values)
        header = max(_longest_piece(c), 1)
        needs[c] = max(min(longest, PROSE_MIN_WIDTH), header) if prose[c] else max(longest, header)
        numeric[c] = bool(values) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)

    shown: list[str] = []
    used = 0
    for c in columns:
        extra = needs[c] + (COLUMN_GAP if shown else 0)
        if shown and used + extra > width:
            break
        shown.append(c)
        used += extra
    hidden = list(columns[len(shown) :])

    table = Table(
        title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True, title_justify="left"
    )
    for c in shown:
        table.add_column(
            header_lines(c, needs[c]),
            justify="right" if numeric[c] else "left",
            no_wrap=not prose[c],
            # Only a single value wider than the whole terminal is cut, with an ellipsis.
            overflow="fold" if prose[c] else "ellipsis",
            min_width=min(needs[c], width),
        )
    for i in range(len(rows)):
        # plain Text: a value is shown as it is, never read as Rich markup ("[red]") or an emoji code (":b:")
        table.add_row(*(Text(texts[c][i]) for c in shown))
    return Fitted(table, hidden)
