"""Pictures of the data: an HTML report, PNG charts and a trajectory heatmap (also served by the dashboard).

``collect_report`` gathers the numbers (through the KPI engine) and the
trajectory density of a branch over some days; ``report_view`` draws them
as HTML fragments; ``write_report`` writes one self-contained HTML file or a
folder of PNG charts. What each chart shows: docs/report.md.
"""

from retail_intel.report.build import FORMATS, ReportOutput, default_output, write_report
from retail_intel.report.data import CameraHeat, Period, ReportData, collect_report

__all__ = [
    "FORMATS",
    "CameraHeat",
    "Period",
    "ReportData",
    "ReportOutput",
    "collect_report",
    "default_output",
    "write_report",
]
