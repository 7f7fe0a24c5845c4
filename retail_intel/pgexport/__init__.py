"""Movements and KPIs into PostgreSQL (``retail-intel export --to postgresql://...``).

``export_to_postgres`` upserts each table of :func:`export_tables` in one
transaction; ``redact_url`` is what every message shows instead of the URL.
psycopg (the ``[postgres]`` extra) is imported only when an export runs.
"""

from retail_intel.pgexport.connect import check_url, redact_url
from retail_intel.pgexport.run import ExportResult, TableExport, export_to_postgres
from retail_intel.pgexport.tables import ExportTable, export_tables

__all__ = [
    "ExportResult",
    "ExportTable",
    "TableExport",
    "check_url",
    "export_tables",
    "export_to_postgres",
    "redact_url",
]
