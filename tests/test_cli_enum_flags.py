"""Flags whose values are an enum's say which values they take without pydantic's "Value error, " lead:
typer 0.29 refuses such a value through a pydantic validator, and its message kept that prefix."""

from __future__ import annotations

import enum
import typing
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from retail_intel.cli.app import _register, app


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["tasks", "b1", "--status", "in-progress"],
            "Invalid value for '--status': 'in-progress' is not one of 'open', 'in_progress', 'done', 'cancelled'.",
        ),
        (
            ["kpis", "--format", "bogus"],
            "Invalid value for '--format' / '-f': 'bogus' is not one of 'table', 'json', 'csv', 'parquet'.",
        ),
        (["kpis", "--engine", "spark"], "Invalid value for '--engine': 'spark' is not one of 'duckdb', 'polars'."),
        (
            ["ingest", "x.csv", "--input-format", "xml"],
            "Invalid value for '--input-format': 'xml' is not one of 'jsonl', 'csv'.",
        ),
        (["report", "--format", "pdf"], "Invalid value for '--format' / '-f': 'pdf' is not one of 'html', 'png'."),
        (
            ["validate", "--format", "yaml"],
            "Invalid value for '--format' / '-f': 'yaml' is not one of 'table', 'json', 'csv'.",
        ),
    ],
)
def test_an_unknown_value_names_the_choices_plainly(args: list[str], expected: str) -> None:
    _register()
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.replace("│", " ").split())  # the message, unwrapped from its box
    assert expected in text
    assert "Value error" not in text


def test_a_known_value_still_reads_as_its_member() -> None:
    _register()
    result = CliRunner().invoke(app, ["tasks", "b1", "--status", "in_progress", "--config", "/nonexistent-dir"])
    # past the flag's check: refused for the config directory, not the value
    assert "Invalid value" not in result.output


def _commands(group: typer.Typer, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for command in group.registered_commands:
        yield (*path, command.name or command.callback.__name__), command.callback  # type: ignore[union-attr]
    for sub in group.registered_groups:
        assert sub.typer_instance is not None
        yield from _commands(sub.typer_instance, (*path, sub.name or ""))


def test_every_enum_flag_says_its_choices_itself() -> None:
    # a flag added later with an enum's values and no choice_parser would lead with "Value error, " again
    _register()
    bare = []
    for path, callback in _commands(app):
        for name, hint in typing.get_type_hints(callback, include_extras=True).items():
            if typing.get_origin(hint) is not typing.Annotated:
                continue
            kinds = typing.get_args(typing.get_args(hint)[0]) or (typing.get_args(hint)[0],)
            if not any(isinstance(k, type) and issubclass(k, enum.Enum) for k in kinds):
                continue
            if not any(getattr(meta, "parser", None) is not None for meta in hint.__metadata__):
                bare.append(f"{' '.join(path)} {name}")
    assert bare == []
