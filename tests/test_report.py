"""``report``: the charts and tables hold the KPI engine's numbers, the page is self-contained, bad input is refused."""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import matplotlib.dates as mdates
import numpy as np
import pyarrow as pa
import pytest
from matplotlib.colors import to_hex
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from retail_intel.config.loader import Config, load_config
from retail_intel.errors import DataError, InputError
from retail_intel.kpis import COMPARED_COLUMNS, compute_kpis
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.store import write_movements
from retail_intel.report import collect_report, write_report
from retail_intel.report.build import ReportFormat
from retail_intel.report.charts import PASSED, VISITORS, build_charts, dwell_bins, heatmap_chart
from retail_intel.report.data import ReportData, day_bounds, report_granularity
from retail_intel.report.page import KPI_TABLE_COLUMNS, SECTION_ORDER, kpi_rows, report_html, report_view, window_label
from tests.report_fixtures import (
    B1_MOVEMENTS,
    B1_PASSED_PER_HOUR,
    B1_VISITORS_PER_HOUR,
    DAY,
    FRAME_SIZE,
    PROMOTION,
    STANDING,
    at,
    css_rules,
    make_report_site,
    movement,
    raw,
    read_tables,
)
from tests.test_serve_support import Site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return make_report_site(tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def config(site: Site) -> Config:
    return load_config(site.config_dir)


@pytest.fixture(scope="module")
def data(site: Site, config: Config) -> ReportData:
    return collect_report(config, site.data_dir, "b1", DAY)


def engine_kpis(config: Config, site: Site, minutes: int, engine: str = "duckdb") -> list[dict[str, Any]]:
    """What ``retail-intel kpis`` computes for b1 on DAY."""
    start = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    result = compute_kpis(
        config, site.data_dir, window_minutes=minutes, branch="b1", start=start, end=start + dt.timedelta(days=1),
        engine=engine, write=False,
    )  # fmt: skip
    rows: list[dict[str, Any]] = result.table.select(list(COMPARED_COLUMNS)).to_pylist()
    return rows


def bars(figure: Figure, name: str) -> list[float]:
    axes = figure.axes[0]
    return [float(p.get_height()) for p in axes.patches if (p.get_gid() or "").startswith(f"{name}-")]


def line(figure: Figure, gid: str) -> Line2D:
    (found,) = [artist for artist in figure.axes[0].lines if artist.get_gid() == gid]
    return found


# --- the numbers ----------------------------------------------------------------------------------


def test_data_holds_the_kpi_engine_rows_and_the_hand_counts(data: ReportData, config: Config, site: Site) -> None:
    assert (data.traffic_minutes, data.occupancy_minutes) == (60, 1)
    traffic = data.traffic.select(list(COMPARED_COLUMNS)).to_pylist()
    assert traffic == engine_kpis(config, site, 60)
    assert traffic == engine_kpis(config, site, 60, engine="polars")
    assert data.occupancy.select(list(COMPARED_COLUMNS)).to_pylist() == engine_kpis(config, site, 1)
    assert [r["visitors"] for r in traffic] == B1_VISITORS_PER_HOUR
    assert [r["passed"] for r in traffic] == B1_PASSED_PER_HOUR
    assert (data.visitors, data.passed) == (4, 3)
    assert sorted(data.dwell_seconds) == sorted(d for a, _, d, _ in B1_MOVEMENTS if a == "entered")
    assert data.data_span == (DAY, DAY)


def test_traffic_chart_bars_are_the_kpi_visitors_and_passers_by(data: ReportData) -> None:
    figure = build_charts(data)["traffic"]
    assert bars(figure, "visitors") == [float(v) for v in data.traffic["visitors"].to_pylist()]
    assert bars(figure, "passed") == [float(v) for v in data.traffic["passed"].to_pylist()]
    assert bars(figure, "visitors") == [float(v) for v in B1_VISITORS_PER_HOUR]
    # Each bar sits inside its own window.
    containers = [c for c in figure.axes[0].containers if isinstance(c, BarContainer)]
    starts = mdates.date2num(data.traffic["window_start"].to_pylist())
    for container in containers:
        for patch, start in zip(container.patches, starts, strict=True):
            assert start <= patch.get_x() < start + 1 / 24


def test_charts_of_a_day_without_movements_keep_their_axes_and_legend(config: Config, site: Site) -> None:
    # Before, the traffic chart of an empty day counted people from -0.045 to 0.045 and its legend drew
    # visitors and passers-by in the same default blue; the dwell chart had fractions of a visitor.
    empty = collect_report(config, site.data_dir, "b1", dt.date(2026, 3, 5))
    assert empty.traffic.num_rows == 0
    charts = build_charts(empty)
    traffic = charts["traffic"].axes[0]
    assert traffic.get_ylim()[0] == 0
    assert all(tick == int(tick) and tick >= 0 for tick in traffic.get_yticks() if tick <= traffic.get_ylim()[1])
    legend = traffic.get_legend()
    assert legend is not None
    colours = {
        t.get_text(): to_hex(h.get_facecolor()) for t, h in zip(legend.get_texts(), legend.legend_handles, strict=True)
    }
    assert colours == {"visitors (entered)": VISITORS, "passers-by": PASSED}
    dwell = charts["dwell"].axes[0]
    assert dwell.get_ylabel() == "visitors"
    assert all(tick == int(tick) and tick >= 0 for tick in dwell.get_yticks() if tick <= dwell.get_ylim()[1])


def test_occupancy_chart_steps_are_the_kpi_occupancy_and_capacity(data: ReportData) -> None:
    figure = build_charts(data)["occupancy"]
    assert list(line(figure, "peak").get_ydata())[:-1] == data.occupancy["peak_occupancy"].to_pylist()
    assert list(line(figure, "average").get_ydata())[:-1] == data.occupancy["avg_occupancy"].to_pylist()
    assert list(line(figure, "capacity").get_ydata()) == [40, 40]
    # Visitors inside 10:05-10:25 and 10:20-10:30: two at once in between.
    first = data.occupancy.to_pylist()[0]
    assert first["window_start"] == dt.datetime(2026, 3, 2, 10, 5, tzinfo=dt.UTC)
    peaks = {r["window_start"].strftime("%H:%M"): r["peak_occupancy"] for r in data.occupancy.to_pylist()}
    assert peaks["10:06"] == 1 and peaks["10:22"] == 2 and peaks["10:27"] == 1 and peaks["12:30"] == 0


def test_conversion_chart_is_the_kpi_conversion_proxy(data: ReportData) -> None:
    figure = build_charts(data)["conversion"]
    expected = [math.nan if v is None else v for v in data.traffic["conversion_proxy"].to_pylist()]
    assert np.allclose(line(figure, "line").get_ydata(), expected, equal_nan=True)
    assert list(line(figure, "overall").get_ydata()) == [4 / 7, 4 / 7]


def test_dwell_chart_is_the_histogram_of_visitors_dwell(data: ReportData) -> None:
    figure = build_charts(data)["dwell"]
    values = np.asarray(data.dwell_seconds)
    counts, _ = np.histogram(values, bins=dwell_bins(values))
    assert bars(figure, "bar") == [float(c) for c in counts]
    assert sum(bars(figure, "bar")) == 4
    assert line(figure, "mean").get_xdata()[0] == pytest.approx(values.mean() / 60)  # over 600 s: minutes


def test_promotion_is_shaded_on_every_time_chart(data: ReportData) -> None:
    name, start, end = PROMOTION
    assert [(p.kind, p.name, p.start, p.end) for p in data.periods] == [("promotion", name, start, end)]
    for chart in ("traffic", "occupancy", "conversion"):
        axes = build_charts(data)[chart].axes[0]
        (span,) = [p for p in axes.patches if p.get_gid() == "period-0"]
        low, high = sorted((span.get_x(), span.get_x() + span.get_width()))
        assert (low, high) == pytest.approx((mdates.date2num(start), mdates.date2num(end)))


def test_heatmap_is_hottest_where_someone_stood(data: ReportData) -> None:
    (heat,) = data.cameras
    assert (heat.camera_id, heat.width, heat.height) == ("vtest", *FRAME_SIZE)
    assert (heat.samples, heat.people) == (90, 2)
    assert heat.frame_path is not None and heat.frame_path.name == "vtest.jpg"
    row, col = np.unravel_index(np.argmax(heat.density), heat.density.shape)
    assert (col * 8 <= STANDING[0] < (col + 1) * 8) and (row * 8 <= STANDING[1] < (row + 1) * 8)
    assert heat.region == ((300, 180), (700, 180), (700, 420), (300, 420))
    figure = heatmap_chart(heat)
    gids = {a.get_gid() for a in figure.axes[0].get_children()}
    assert {"heat-vtest", "roi-vtest"} <= gids


def test_granularity_follows_the_length_of_the_range() -> None:
    assert report_granularity(1) == (60, 1)
    assert report_granularity(2) == (60, 5)
    assert report_granularity(7) == (60, 60)
    assert report_granularity(8) == (1440, 60)
    assert report_granularity(60) == (1440, 1440)


def test_several_days_sum_to_the_same_totals(config: Config, site: Site) -> None:
    week = collect_report(config, site.data_dir, "b1", DAY - dt.timedelta(days=3), DAY + dt.timedelta(days=3))
    assert (week.traffic_minutes, week.visitors, week.passed) == (60, 4, 3)
    month = collect_report(config, site.data_dir, "b1", dt.date(2026, 2, 20), dt.date(2026, 3, 20))
    assert month.traffic_minutes == 1440
    assert month.traffic["visitors"].to_pylist() == [4] and month.traffic["passed"].to_pylist() == [3]


def test_captions_and_headings_name_the_windows_and_days_drawn(config: Config, site: Site, data: ReportData) -> None:
    # Before, a month drawn one bar per day said "An hour in which nobody was counted shows nothing",
    # and every range of days was headed "Occupancy over the day".
    month = report_view(collect_report(config, site.data_dir, "b1", dt.date(2026, 2, 20), dt.date(2026, 3, 20)))
    assert "A day in which nobody was counted shows nothing" in month.sections["traffic"]
    assert "An hour" not in month.sections["traffic"]
    assert "<h2>Occupancy over the days</h2>" in month.sections["occupancy"]
    day = report_view(data)
    assert "An hour in which nobody was counted shows nothing" in day.sections["traffic"]
    assert "<h2>Occupancy over the day</h2>" in day.sections["occupancy"]


# --- the page -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def html(data: ReportData) -> str:
    return report_html(report_view(data), data.generated_at)


def test_kpi_table_holds_every_kpi_of_the_engine(html: str, data: ReportData) -> None:
    tables, _ = read_tables(html)
    rows = tables["kpi-table"]
    expected = data.traffic.to_pylist()
    assert len(rows) == len(expected) == 4
    columns = [c for c, _ in KPI_TABLE_COLUMNS if c not in ("window", "flags")]
    for shown, row in zip(rows, expected, strict=True):
        assert shown["window_start"] == raw(row["window_start"])
        assert {c: shown[c] for c in columns} == {c: raw(row[c]) for c in columns}
        assert shown["flags"] == ("promotion" if row["window_start"].hour in (12, 13) else "")


def test_chart_numbers_and_summary_cards(html: str, data: ReportData) -> None:
    tables, cards = read_tables(html)
    occupancy = tables["occupancy-table"]
    assert [r["peak_occupancy"] for r in occupancy] == [raw(v) for v in data.occupancy["peak_occupancy"].to_pylist()]
    assert sum(int(r["visitors"]) for r in tables["dwell-table"]) == 4
    assert cards["visitors"] == "4" and cards["passed"] == "3"
    assert float(cards["conversion"]) == pytest.approx(4 / 7)
    assert float(cards["mean_dwell"]) == pytest.approx((1200 + 600 + 120 + 900) / 4)


def test_every_table_scrolls_inside_the_page(html: str) -> None:
    # Before, only the KPI table scrolled sideways: the staff table (11 columns) ran past the right
    # edge and dragged the whole page sideways, on a laptop as on a phone.
    tables = re.findall(r'(<[^<>]*>)<table id="([^"]+)"', html)
    assert {name for _, name in tables} >= {"kpi-table", "people-table", "occupancy-table", "dwell-table"}
    assert all(before == '<div class="table-scroll">' for before, _ in tables), tables
    assert re.search(r"\.table-scroll \{[^}]*overflow-x: auto", html)


def test_pictures_stay_inside_a_phones_width(html: str) -> None:
    # Before, on a phone (390 px) the zone floor picture ran off the right edge, and every chart shrank
    # to the screen's width, its labels a few pixels high. Now pictures shrink with the page and a
    # chart keeps a readable width, scrolling sideways in its own box.
    rules = css_rules(html[html.index("<style>") : html.index("</style>")])
    assert "max-width: 100%" in rules["figure img"]
    assert "min-width: 640px" in rules["figure svg"]
    assert "overflow-x: auto" in rules["figure"]


def test_page_is_self_contained(html: str) -> None:
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    # Nothing to fetch: no src/href except data: URIs (SVG namespaces are identifiers, not fetched).
    links = re.findall(r'\s(?:src|href|xlink:href)="([^"]*)"', html)
    assert links and all(link.startswith(("data:", "#")) for link in links)
    assert "<script" not in html and "@import" not in html and "url(http" not in html
    for name in SECTION_ORDER:
        assert f'id="section-{name}"' in html
    for chart in ("traffic", "occupancy", "conversion", "dwell"):
        assert re.search(rf'<figure id="chart-{chart}"><svg', html)
    assert 'id="traffic-visitors-0"' in html and 'id="occupancy-period-0"' in html
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))  # unique on the page, though each chart numbers its own
    assert '<img alt="Heatmap of camera vtest" src="data:image/png;base64,' in html
    assert "Spring coffee hour" in html


def test_same_data_gives_the_same_page(data: ReportData, html: str) -> None:
    assert report_html(report_view(data), data.generated_at) == html


# --- writing, and what is refused -----------------------------------------------------------------


def test_png_format_writes_each_chart(config: Config, site: Site, tmp_path: Path) -> None:
    written = write_report(config, site.data_dir, "b1", tmp_path / "charts", first_day=DAY, fmt="png")
    names = sorted(p.name for p in written.paths)
    assert names == ["conversion.png", "dwell.png", "heatmap-vtest.png", "occupancy.png", "traffic.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") for p in written.paths)


def test_default_output_name_and_day(
    config: Config, site: Site, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    written = write_report(config, site.data_dir, "b1")  # the last day with movements
    assert written.paths == [Path("report-b1-2026-03-02.html")]
    assert (tmp_path / "report-b1-2026-03-02.html").read_text().startswith("<!doctype html>")


def test_a_day_without_movements_is_an_error_naming_the_days_that_have_some(
    config: Config, site: Site, tmp_path: Path
) -> None:
    with pytest.raises(DataError, match=r"no movements for branch b1 on 2026-03-05 .*from 2026-03-02 to 2026-03-02"):
        write_report(config, site.data_dir, "b1", tmp_path / "r.html", first_day=dt.date(2026, 3, 5))
    assert not (tmp_path / "r.html").exists()
    with pytest.raises(DataError, match="no movements for b3 at all"):
        write_report(config, site.data_dir, "b3", tmp_path / "r.html", first_day=DAY)
    written = write_report(config, site.data_dir, "b3", tmp_path / "r.html", first_day=DAY, allow_empty=True)
    assert "No movements in this range" in written.paths[0].read_text()


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        (dt.date(2026, 3, 2), dt.date(2026, 3, 1), r"last day \(2026-03-01\) must not be before the first"),
        (dt.date(2025, 1, 1), dt.date(2026, 3, 2), "at most 366 days, got 426"),
        (dt.date(1, 1, 1), None, "first day 0001-01-01: expected a day between 1970-01-01 and 9998-12-31"),
        (None, dt.date(9999, 1, 1), "last day 9999-01-01: expected a day between"),
    ],
)
def test_bad_ranges_are_refused(
    config: Config, site: Site, first: dt.date | None, last: dt.date | None, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        collect_report(config, site.data_dir, "b1", first, last)


def test_output_of_the_wrong_kind_is_refused(config: Config, site: Site, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder"):
        write_report(config, site.data_dir, "b1", tmp_path, first_day=DAY)
    (tmp_path / "file.png").write_bytes(b"")
    with pytest.raises(InputError, match="into a folder, and this is a file"):
        write_report(config, site.data_dir, "b1", tmp_path / "file.png", first_day=DAY, fmt="png")


def test_the_format_is_named_as_the_caller_names_it(config: Config, site: Site, tmp_path: Path) -> None:
    # write_report(fmt="pdf") said "--format must be one of ...", a flag its Python caller never wrote
    with pytest.raises(InputError, match=r"^fmt must be one of html, png, got 'pdf'"):
        write_report(config, site.data_dir, "b1", first_day=DAY, fmt="pdf")  # type: ignore[arg-type]
    (tmp_path / "file.png").write_bytes(b"")
    with pytest.raises(InputError, match=r"file\.png: fmt png writes one file per chart into a folder"):
        write_report(config, site.data_dir, "b1", tmp_path / "file.png", first_day=DAY, fmt="png")
    with pytest.raises(InputError, match=r"file\.png: --format png writes one file per chart into a folder"):
        write_report(config, site.data_dir, "b1", tmp_path / "file.png", first_day=DAY, fmt="png", fmt_name="--format")


@pytest.mark.parametrize(
    ("name", "fmt", "message"),
    [
        # wrote the HTML page into report.png without a word; named fmt, the parameter (the CLI passes --format)
        ("report.png", "html", "report.png: fmt html writes one HTML page, not a .png file; name it report.html"),
        ("report.PDF", "html", "not a .PDF file; name it report.html, or use fmt png"),
        ("charts.html", "png", "charts.html: fmt png writes the charts into a folder, not an HTML file"),
    ],
)
def test_an_output_named_for_another_format_is_refused(
    config: Config, site: Site, tmp_path: Path, name: str, fmt: ReportFormat, message: str
) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        write_report(config, site.data_dir, "b1", tmp_path / name, first_day=DAY, fmt=fmt)
    assert not (tmp_path / name).exists()


# a name that is not plainly another format is taken: versions, a temporary name moved into place later
@pytest.mark.parametrize(
    "name", ["report.html", "REPORT.HTM", "report.xhtml", "report", "report.2026-03-02", "report.v2", "r.html.tmp"]
)
def test_html_output_names_that_say_nothing_else_are_taken(
    config: Config, site: Site, tmp_path: Path, name: str
) -> None:
    written = write_report(config, site.data_dir, "b1", tmp_path / name, first_day=DAY)
    assert written.paths == [tmp_path / name] and (tmp_path / name).read_text().startswith("<!")


# --- time zones -----------------------------------------------------------------------------------


def test_days_are_the_branchs_local_days(config: Config, site: Site, tmp_path: Path) -> None:
    """b3 is in Amsterdam (UTC+1 in March): 23:30 UTC on the 1st is 00:30 on its 2nd."""
    import pyarrow as pa

    from retail_intel.movements.schema import MOVEMENT_SCHEMA
    from retail_intel.movements.store import write_movements
    from tests.report_fixtures import movement

    data_dir = tmp_path / "data"
    utc = dt.UTC
    rows = [
        movement(
            "b3",
            0,
            "entered",
            dt.datetime(2026, 3, 1, 23, 30, tzinfo=utc),
            60.0,
            dt.datetime(2026, 3, 1, 23, 30, tzinfo=utc),
        ),
        movement(
            "b3",
            1,
            "entered",
            dt.datetime(2026, 3, 2, 22, 59, tzinfo=utc),
            30.0,
            dt.datetime(2026, 3, 2, 22, 59, tzinfo=utc),
        ),
        movement(
            "b3",
            2,
            "entered",
            dt.datetime(2026, 3, 2, 23, 0, tzinfo=utc),
            30.0,
            dt.datetime(2026, 3, 2, 23, 0, tzinfo=utc),
        ),
    ]
    write_movements(
        pa.Table.from_pylist(rows, schema=MOVEMENT_SCHEMA), data_dir, branch_id="b3", day=DAY, source_key="b3"
    )
    data = collect_report(config, data_dir, "b3", DAY)
    assert (data.start, data.end) == (dt.datetime(2026, 3, 1, 23, tzinfo=utc), dt.datetime(2026, 3, 2, 23, tzinfo=utc))
    assert data.visitors == 2  # 00:30 and 23:59 local; 00:00 on the 3rd is the next day
    rows_shown = kpi_rows(data)
    assert rows_shown[0]["window"] == "Mon 02 Mar 00:00–01:00" and rows_shown[-1]["window"] == "Mon 02 Mar 23:00–00:00"
    assert data.data_span == (DAY, dt.date(2026, 3, 3))


@pytest.mark.parametrize(
    ("day", "hours"),
    [(dt.date(2026, 3, 29), 23), (dt.date(2026, 10, 25), 25), (dt.date(2026, 6, 1), 24)],
)
def test_a_day_is_midnight_to_midnight_on_the_branchs_clock(day: dt.date, hours: int) -> None:
    start, end = day_bounds(day, day, ZoneInfo("Europe/London"))
    assert end - start == dt.timedelta(hours=hours)
    assert start.astimezone(ZoneInfo("Europe/London")).time() == dt.time(0, 0)


def test_window_labels_name_the_zone_when_the_clock_goes_back() -> None:
    london = ZoneInfo("Europe/London")
    utc = dt.UTC
    first = window_label(dt.datetime(2026, 10, 25, 0, tzinfo=utc), dt.datetime(2026, 10, 25, 1, tzinfo=utc), 60, london)
    second = window_label(
        dt.datetime(2026, 10, 25, 1, tzinfo=utc), dt.datetime(2026, 10, 25, 2, tzinfo=utc), 60, london
    )
    assert (first, second) == ("Sun 25 Oct 01:00 BST–01:00 GMT", "Sun 25 Oct 01:00 GMT–02:00 GMT")
    normal = window_label(
        dt.datetime(2026, 10, 26, 9, tzinfo=utc), dt.datetime(2026, 10, 26, 10, tzinfo=utc), 60, london
    )
    assert normal == "Mon 26 Oct 09:00–10:00"


def test_odd_camera_ids_cannot_escape_the_output_folder(data: ReportData, tmp_path: Path) -> None:
    from dataclasses import replace

    from retail_intel.report.build import write_chart_pngs

    odd = replace(data.cameras[0], camera_id="../$x$/cam")
    written = write_chart_pngs(replace(data, cameras=(odd,)), tmp_path / "out")
    assert all(p.parent == tmp_path / "out" for p in written)
    assert "heatmap-__x__cam.png" in {p.name for p in written}


def test_only_a_last_day_means_that_one_day(config: Config, site: Site) -> None:
    earlier = dt.date(2026, 2, 27)
    data = collect_report(config, site.data_dir, "b1", None, earlier)
    assert (data.first_day, data.last_day, data.visitors) == (earlier, earlier, 0)


def test_people_section_holds_the_engine_numbers(html: str, data: ReportData) -> None:
    from retail_intel.report.people_section import HEADERS

    tables, _ = read_tables(html)
    rows = tables["people-table"]
    expected = data.traffic.to_pylist()
    assert len(rows) == len(expected) == 4
    columns = [c for c, _ in HEADERS if c != "window_start"]
    for shown, row in zip(rows, expected, strict=True):
        assert {c: shown[c] for c in columns} == {c: raw(row[c]) for c in columns}
    # the fixture's movements carry no groups: every visitor is a party of one
    assert sum(int(r["buying_units"]) for r in rows) == sum(r["visitors"] for r in expected) == 4


def test_dwell_figures_leave_staff_out_as_the_visitors_card_does(config: Config, tmp_path: Path) -> None:
    # Before, the histogram, mean and median dwell took every "entered" row, staff included:
    # a clerk's four hours raised the mean and the caption counted one visitor more than the card.
    site = make_report_site(tmp_path)
    clerk = movement("b1", 100, "entered", at(10), 4 * 3600.0, at(10)) | {"is_staff": True, "staff_reason": "zone"}
    visitor = movement("b1", 101, "entered", at(11, 30), 300.0, at(11, 30)) | {"is_staff": False}
    write_movements(
        pa.Table.from_pylist([clerk, visitor], schema=MOVEMENT_SCHEMA), site.data_dir, branch_id="b1", day=DAY,
        source_key="b1-staff",
    )  # fmt: skip
    data = collect_report(config, site.data_dir, "b1", DAY)
    # the fixture's own rows have no is_staff at all (null): visitors, as for the KPI engines
    expected = sorted([*(d for a, _, d, _ in B1_MOVEMENTS if a == "entered"), 300.0])
    assert data.visitors == 5 and sorted(data.dwell_seconds) == expected
    assert data.mean_dwell == pytest.approx(sum(expected) / 5) and data.median_dwell == 600.0
    assert "Dwell time of the 5 visitors" in report_view(data).sections["dwell"]


def test_counts_of_one_read_in_the_singular(config: Config, tmp_path: Path) -> None:
    # A day with one visitor read "1 buying units for 1 visitors" and "Dwell time of the 1 visitors".
    site = make_report_site(tmp_path)
    day = DAY + dt.timedelta(days=1)
    enter = dt.datetime.combine(day, dt.time(11), tzinfo=dt.UTC)
    visitor = movement("b1", 200, "entered", enter, 300.0, enter)
    write_movements(
        pa.Table.from_pylist([visitor], schema=MOVEMENT_SCHEMA), site.data_dir, branch_id="b1", day=day,
        source_key="b1-one",
    )  # fmt: skip
    sections = report_view(collect_report(config, site.data_dir, "b1", day)).sections
    assert "1 buying unit for 1 visitor (a party" in sections["people"]
    assert "Dwell time of the 1 visitor (time inside" in sections["dwell"]


def test_a_heatmap_of_one_person_reads_in_the_singular(data: ReportData) -> None:
    from dataclasses import replace

    one = replace(data.cameras[0], people=1)
    assert "time spent per spot by 1 tracked person, " in report_view(replace(data, cameras=(one,))).sections["heatmap"]
