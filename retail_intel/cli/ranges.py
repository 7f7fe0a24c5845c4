"""Numeric options with bounds: an error names the flag, the range expected and the value that arrived.

Typer checks ``min=``/``max=`` itself, but its messages leave the value out ("Input should be
less than or equal to 65535", and "Input should be a valid integer, unable to parse string as
an integer" for text). :func:`in_range` keeps the bounds declared (``--help`` shows them as
``[0<=x<=65535]``) and parses the value first, so that every ranged flag fails in one line as
``Invalid value for '--port': expected a whole number >= 0 and <= 65535, got 70000``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import typer


def expected_number(kind: type, bounds: str) -> str:
    """``expected a whole number >= 1 and <= 64`` (``bounds`` as the settings' help states them)."""
    noun = "a whole number" if kind is int else "a number"
    return f"expected {noun} {bounds}" if bounds else f"expected {noun}"


def number_parser(
    kind: type[int] | type[float], bounds: str, within: Callable[[float], bool] | None = None
) -> Callable[[Any], int | float]:
    """Parse a flag's text as ``kind``, refusing text, nan, inf and (with ``within``) a value out of range."""
    expected = expected_number(kind, bounds)

    def parse(value: Any) -> int | float:
        if isinstance(value, int | float) and not isinstance(value, bool):  # a default, not typed text
            number: int | float = kind(value)
        else:
            try:
                number = kind(str(value).strip())
            except ValueError:
                raise typer.BadParameter(f"{expected}, got {value!r}") from None
        if not math.isfinite(number) or (within is not None and not within(number)):
            raise typer.BadParameter(f"{expected}, got {number!r}")
        return number

    return parse


def in_range(kind: type[int] | type[float], min: float | None = None, max: float | None = None) -> dict[str, Any]:
    """``typer.Option`` keywords for a number from ``min`` to ``max`` (both included)."""
    parts = ([f">= {min:g}"] if min is not None else []) + ([f"<= {max:g}"] if max is not None else [])

    def within(number: float) -> bool:
        return (min is None or number >= min) and (max is None or number <= max)

    return {"min": min, "max": max, "parser": number_parser(kind, " and ".join(parts), within)}
