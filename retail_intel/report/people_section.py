"""The report's (and dashboard's) "Staff, groups and door balance" section.

Numbers only, from the KPI rows the report already computed (traffic
windows): parties against visitors, observed staff against the roster, and
the reconciled occupancy with each day's door imbalance and quality flag.
Definitions: docs/staff-groups.md.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from retail_intel.wording import counted

if TYPE_CHECKING:
    from retail_intel.report.data import ReportData

HEADERS: tuple[tuple[str, str], ...] = (
    ("window_start", "local window"),
    ("visitors", "visitors"),
    ("buying_units", "buying units"),
    ("mean_group_size", "mean party size"),
    ("group_conversion", "party conversion"),
    ("staff_on_duty", "staff scheduled"),
    ("observed_staff", "staff seen"),
    ("observed_staffing_adequacy", "observed adequacy"),
    ("reconciled_occupancy", "reconciled occupancy"),
    ("occupancy_imbalance", "day's door imbalance"),
    ("data_quality", "data quality"),
)


def people_section(data: ReportData) -> str:
    # page imports this module; its helpers are taken when the section is drawn
    from retail_intel.report.page import _cell, _table, window_label

    rows = data.traffic.to_pylist()
    body = []
    for row in rows:
        label = window_label(row["window_start"], row["window_end"], data.traffic_minutes, data.tzinfo)
        cells = [_cell("window_start", row["window_start"], label)]
        cells += [_cell(column, row.get(column)) for column, _ in HEADERS[1:]]
        body.append(f'<tr class="{escape(str(row.get("data_quality") or ""))}">{"".join(cells)}</tr>')
    units = sum(r.get("buying_units") or 0 for r in rows)
    visitors = sum(r["visitors"] for r in rows)
    flagged = sorted(
        {r["window_start"].astimezone(data.tzinfo).date() for r in rows if r.get("data_quality") == "imbalanced"}
    )
    days = ", ".join(f"{d:%a %d %b}" for d in flagged) or "none"
    note = (
        f'<p class="note">{counted(units, "buying unit")} for {counted(visitors, "visitor")} '
        "(a party that enters counts once); "
        f"staff flagged on video are left out of every customer figure. Days whose door ins and outs miss by "
        f"more than the threshold (occupancy reconciled, treat with care): {escape(days)}.</p>"
    )
    return (
        '<section id="section-people"><h2>Staff, groups and door balance</h2>'
        f"{note}{_table('people-table', HEADERS, body)}</section>"
    )
