"""The library's messages name parameters and functions: command lines and flags belong to its edges.

Library messages name parameters, and the CLI maps them to flags (``worded_for``); a next step is a
:class:`~retail_intel.errors.Step` that the edges word as a command. This reads every string the
library's code holds (docstrings and comments aside) for a ``retail-intel <command>`` or a ``--flag``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import typer.main

from retail_intel.cli.app import _register, app

LIBRARY = Path(__file__).resolve().parents[1] / "retail_intel"

# The edges, which speak to an operator in commands and flags: the CLI; serve, which that operator
# starts with `retail-intel serve` and whose own answers (a KPI window never computed, a config that
# stopped loading) are fixed by running a command, its OpenAPI text documenting the flags; and the
# table of both edges' words for the library's names and steps (DIRECTORY_NAMES, COMMAND_STEPS).
EDGES = ("cli/", "serve/", "naming.py")

# Strings outside the edges that name a command or a flag on purpose, and why.
ALLOWED = {
    # the HTML page's title, the product's name: no advice
    "report/page.py": ("<title>retail-intel report: ",),
    # the README written into generated demo data says which command wrote it
    "demo/generate.py": ("`retail-intel demo-data`",),
    # where a start time came from, kept in the run summary as recorded data (start_time_source)
    "pipeline/plan.py": ("--start-time",),
    "pipeline/start_time.py": ("--start-time",),
    # the setup page's caption for its picture, shown by the setup page (an edge) only
    "camsetup/frame.py": ("of a --max-frames preview",),
}


def _commands() -> list[str]:
    _register()
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    return sorted(group.commands)


def _strings(path: Path) -> list[tuple[int, str]]:
    """Every string literal of ``path`` but docstrings (and other bare strings), f-strings' text parts included."""
    tree = ast.parse(path.read_text(), str(path))
    bare = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    return sorted(
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in bare
    )


def offending_strings(root: Path = LIBRARY) -> list[str]:
    command = re.compile(r"retail-intel (?:" + "|".join(map(re.escape, _commands())) + r")\b")
    flag = re.compile(r"(?<![\w-])--[a-z]")
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if relative.startswith(EDGES):
            continue
        for line, text in _strings(path):
            allowed = ALLOWED.get(relative, ())
            if any(ok in text for ok in allowed):
                continue
            if command.search(text) or flag.search(text):
                found.append(f"retail_intel/{relative}:{line}: {text!r}")
    return found


def test_library_strings_name_no_command_or_flag() -> None:
    assert offending_strings() == []


def test_the_scan_finds_a_command_in_a_message_not_in_a_docstring(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text(
        '"""Run ``retail-intel kpis --window 60m`` first."""\n\n\n'
        "def f(n: int) -> None:\n"
        '    """See retail-intel process."""\n'
        "    # retail-intel validate lists them\n"
        '    raise ValueError(f"{n} problems; run retail-intel validate")\n\n\n'
        "def g(minutes: int) -> str:\n"
        '    return f"use a shorter --from/--to range than {minutes}"\n'
    )
    assert offending_strings(tmp_path) == [
        f"retail_intel/mod.py:7: {' problems; run retail-intel validate'!r}",
        f"retail_intel/mod.py:11: {'use a shorter --from/--to range than '!r}",
    ]


def test_every_allowed_string_is_still_there() -> None:
    # an allowance left behind after its string went would let a new message through unread
    for relative, snippets in ALLOWED.items():
        held = [text for _, text in _strings(LIBRARY / relative)]
        assert all(any(snippet in text for text in held) for snippet in snippets), relative
