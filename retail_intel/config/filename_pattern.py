"""A camera's ``filename_pattern``: the start time an NVR writes into its file names.

Declared here, in config, so that ``validate`` refuses the same patterns that
``process`` and ``batch`` refuse (they compile them with :func:`pattern_regex`).
"""

from __future__ import annotations

import re

from retail_intel.errors import InputError

FIELDS = {
    "%Y": r"(?P<Y>\d{4})",
    "%m": r"(?P<m>\d{2})",
    "%d": r"(?P<d>\d{2})",
    "%H": r"(?P<H>\d{2})",
    "%M": r"(?P<M>\d{2})",
    "%S": r"(?P<S>\d{2})",
}
_NEEDED = ("%Y", "%m", "%d", "%H", "%M")


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` can never give a start time, or None when it can."""
    # a % before a letter is a strftime code; any other % is text (cam%20front_%Y...)
    unknown = sorted({code for code in re.findall(r"%[A-Za-z]", pattern) if code not in FIELDS})
    if unknown:
        return (
            f"file-name pattern {pattern!r} uses {', '.join(unknown)}: only %Y %m %d %H %M %S "
            "and * (any text) are understood"
        )
    if not all(code in pattern for code in _NEEDED):
        return f"file-name pattern {pattern!r} needs at least %Y %m %d %H %M"
    codes = [token for token in _tokens(pattern) if token in FIELDS]
    twice = [code for code in FIELDS if codes.count(code) > 1]
    if twice:
        return f"file-name pattern {pattern!r} uses {', '.join(twice)} twice: each of %Y %m %d %H %M %S may appear once"
    return None


def _tokens(pattern: str) -> list[str]:
    """The pattern as :func:`pattern_regex` reads it: each field code, ``*``, or one character of text."""
    tokens, i = [], 0
    while i < len(pattern):
        step = 2 if pattern[i : i + 2] in FIELDS else 1
        tokens.append(pattern[i : i + step])
        i += step
    return tokens


def check_pattern(pattern: str) -> str:
    """``pattern`` itself; ValueError (a field error of validate) when it can never give a start time."""
    problem = pattern_problem(pattern)
    if problem is not None:
        raise ValueError(problem)
    return pattern


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """Compile a file-name pattern: strftime fields %Y %m %d %H %M %S and ``*`` for any text."""
    problem = pattern_problem(pattern)
    if problem is not None:
        raise InputError(problem)
    out = [FIELDS.get(token) or (".*?" if token == "*" else re.escape(token)) for token in _tokens(pattern)]
    return re.compile("".join(out))
