"""The console entry point can run many times in one process (tests, a program embedding it)."""

from __future__ import annotations

import subprocess
import sys
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


def test_the_command_tree_loads_without_the_web_server() -> None:
    # Every command imports serve's settings for `serve`'s flags; the package's __init__ loaded
    # FastAPI and every route with them, 1.5 s on each command line, `--help` included.
    code = (
        "import sys; from retail_intel.cli.app import _register; _register(); "
        "print(sorted(m for m in ('fastapi', 'uvicorn', 'retail_intel.serve.app') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    from retail_intel.serve import create_app, run_server

    assert callable(create_app) and callable(run_server)
    with pytest.raises(AttributeError, match="no_such_thing"):
        import retail_intel.serve as serve_package

        _ = serve_package.no_such_thing
