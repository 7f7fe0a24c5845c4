"""The console entry point can run many times in one process (tests, a program embedding it)."""

from __future__ import annotations

from collections import Counter

import pytest

from retail_intel.cli.app import app
from tests.cli_helpers import run_cli


def test_main_registers_each_command_once_however_often_it_runs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each main() call appended all 20 commands again, so the command tree grew by 20 per call and
    # every later call (each building the whole tree) got slower: the test suite ran 3x longer.
    for _ in range(3):
        assert run_cli(["--version"], capsys, monkeypatch).exit_code == 0
    names = Counter(c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands)
    groups = Counter(g.name for g in app.registered_groups)
    assert names and groups
    assert max(names.values()) == 1, [n for n, k in names.items() if k > 1]
    assert max(groups.values()) == 1, [n for n, k in groups.items() if k > 1]
