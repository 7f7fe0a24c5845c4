"""Registration of every command module on the Typer app."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    # One line per command module; each module exposes ``register(app)``.
    from retail_intel.cli import process

    process.register(app)
    from retail_intel.cli import tracks

    tracks.register(app)
    from retail_intel.cli import config_cmds

    config_cmds.register(app)
    from retail_intel.cli import kpis

    kpis.register(app)
    from retail_intel.cli import serve

    serve.register(app)
    from retail_intel.cli import ingest

    ingest.register(app)
    from retail_intel.cli import sql

    sql.register(app)
    from retail_intel.cli import demo

    demo.register(app)
    from retail_intel.cli import accuracy

    accuracy.register(app)
    from retail_intel.cli import etl

    etl.register(app)
    from retail_intel.cli import compact

    compact.register(app)
    from retail_intel.cli import report

    report.register(app)
    from retail_intel.cli import export

    export.register(app)
    from retail_intel.cli import setup

    setup.register(app)
    from retail_intel.cli import zones

    zones.register(app)
    from retail_intel.cli import quality

    quality.register(app)
