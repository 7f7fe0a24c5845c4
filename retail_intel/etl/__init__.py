"""The ETL pipeline: hourly KPIs of every branch over a range, then a feature table for forecasting.

``run_etl`` recomputes 60-minute KPIs (:mod:`retail_intel.kpis`) and writes
one feature row per branch and hour to ``DATA_DIR/features/hourly/``;
``read_features`` reads them back. Definitions: docs/etl.md.
"""

from retail_intel.etl.features import BranchFacts, build_features
from retail_intel.etl.run import EtlResult, branch_facts, run_etl
from retail_intel.etl.schema import FEATURE_COLUMNS, FEATURE_SCHEMA, LAG_HOURS, ROLLING_HOURS
from retail_intel.etl.store import feature_path, read_features, write_branch_features

__all__ = [
    "FEATURE_COLUMNS",
    "FEATURE_SCHEMA",
    "LAG_HOURS",
    "ROLLING_HOURS",
    "BranchFacts",
    "EtlResult",
    "branch_facts",
    "build_features",
    "feature_path",
    "read_features",
    "run_etl",
    "write_branch_features",
]
