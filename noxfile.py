"""Developer sessions: ``nox -s lint typecheck tests``; ``nox -s bench`` and ``nox -s demo`` by hand."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and format check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package."""
    session.install("-e", ".[dev]")
    session.run("mypy", "retail_intel")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The default suite, slow real-video tests included (pass -- -m 'not slow' to skip them)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks under benchmarks/ (not run in CI); results print as Markdown tables."""
    session.install("-e", ".[dev]")
    for script in sorted(__import__("pathlib").Path("benchmarks").glob("bench_*.py")):
        session.run("python", str(script), *session.posargs)


@nox.session(python=PYTHON)
def accuracy(session: nox.Session) -> None:
    """Tracking and count accuracy on the ground-truth clips in ../shared/data (docs/accuracy.md).

    ``nox -s accuracy -- --anchor`` also scores Ultralytics' own model.track loop; ``--update-docs``
    writes the tables into docs/accuracy.md; ``--fresh`` runs the detector again.
    """
    session.install("-e", ".[accuracy]")
    session.run("python", "benchmarks/accuracy.py", *session.posargs)


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The quick start: process the sample video with the sample config and print the result."""
    session.install("-e", ".")
    session.run(
        "retail-intel",
        "process",
        "sample_videos/vtest.avi",
        "--branch",
        "b1",
        "--start-time",
        "2026-02-08T10:00:00+00:00",
    )
    session.run(
        "retail-intel", "sql", "SELECT action_type, count(*) AS people FROM customer_branch_movement GROUP BY 1"
    )
