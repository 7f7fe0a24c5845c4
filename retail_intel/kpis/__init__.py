"""Store KPIs per branch and tumbling window (the seed's ``branch_kpi_timeseries``).

``compute_kpis`` reads the movement store and the branch metadata, computes
every KPI with DuckDB SQL or Polars, and stores the rows under
``DATA_DIR/kpis/<N>m/``; ``read_kpis`` reads them back. Definitions:
docs/kpis.md.
"""

from retail_intel.kpis.compute import ENGINES, KpiResult, compute_kpis, compute_kpis_for
from retail_intel.kpis.inputs import BranchInfo, Interval, KpiParams
from retail_intel.kpis.schema import COMPARED_COLUMNS, KPI_COLUMNS, KPI_SCHEMA
from retail_intel.kpis.store import kpi_path, read_kpis, write_kpis
from retail_intel.kpis.windows import window_minutes_from

__all__ = [
    "COMPARED_COLUMNS",
    "ENGINES",
    "KPI_COLUMNS",
    "KPI_SCHEMA",
    "BranchInfo",
    "Interval",
    "KpiParams",
    "KpiResult",
    "compute_kpis",
    "compute_kpis_for",
    "kpi_path",
    "read_kpis",
    "window_minutes_from",
    "write_kpis",
]
