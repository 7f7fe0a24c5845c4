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
    return None


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
    out, i = [], 0
    while i < len(pattern):
        two = pattern[i : i + 2]
        if two in FIELDS:
            out.append(FIELDS[two])
            i += 2
        elif pattern[i] == "*":
            out.append(".*?")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))
