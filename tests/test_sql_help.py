"""`retail-intel sql --help` and the refusal of a write name what the session really offers."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from retail_intel.cli.app import _register, app
from retail_intel.errors import InputError
from retail_intel.sqlviews.database import READ_ONLY_PRAGMAS, check_read_only
from retail_intel.sqlviews.views import CUSTOMER_VIEW, parquet_views

# The config tables of retail_intel/sqlviews/metadata.py (metadata_tables builds them from a Config).
CONFIG_TABLES = ("branches", "employees", "tasks", "events", "promotions", "zones")


def test_help_lists_every_view_and_config_table() -> None:
    _register()
    result = CliRunner().invoke(app, ["sql", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    words = set(result.output.replace(",", " ").split())
    names = [view.name for view in parquet_views()] + [CUSTOMER_VIEW, *CONFIG_TABLES]
    assert [name for name in names if name not in words] == []
    assert "VALUES" in words


def test_refusal_names_every_statement_kind_that_is_accepted() -> None:
    with pytest.raises(InputError) as refused:
        check_read_only("INSERT INTO branches VALUES (1)")
    message = str(refused.value)
    assert "VALUES" in message
    assert [pragma for pragma in sorted(READ_ONLY_PRAGMAS) if pragma not in message] == []
    assert "got a statement of type INSERT" in message
    # what the message promises is accepted
    assert check_read_only("VALUES (1)")
    assert check_read_only("PRAGMA show_tables")
