"""SQL over the data directory: DuckDB views named like the seed's tables.

``open_database`` gives a locked-down connection, ``run_query`` runs one
read-only statement on it, ``view_statements`` / ``export_database`` make the
same views available to a user's own DuckDB session.
"""

from retail_intel.sqlviews.database import check_read_only, open_database, query, refresh_views, run_query
from retail_intel.sqlviews.export import ExportResult, export_database, view_statements

__all__ = [
    "ExportResult",
    "check_read_only",
    "export_database",
    "open_database",
    "query",
    "refresh_views",
    "run_query",
    "view_statements",
]
