"""The zones section of the report (and so of the dashboard): totals, floor picture, queue wait."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
from matplotlib.patches import Rectangle

from retail_intel.config.loader import load_config
from retail_intel.movements.zone_store import write_zone_tables
from retail_intel.movements.zones import PersonPath, ZoneSource, judge_zones
from retail_intel.report import collect_report
from retail_intel.report.data import ReportData
from retail_intel.report.page import SECTION_ORDER, report_html, report_view
from retail_intel.report.render import figure_svg
from retail_intel.report.zone_data import ZonePicture, ZoneReport, ZoneTotal
from retail_intel.report.zone_section import queue_wait_chart, zone_bars_chart, zone_floor_chart
from tests.report_fixtures import DAY, make_report_site
from tests.zone_fixtures import QUEUE_ZONES, stay, write_zone_day


def zone_site(tmp_path: Path) -> ReportData:
    """The report data of a day with the sample config's zones visited and three people queueing."""
    site = make_report_site(tmp_path)
    ten = dt.datetime.combine(DAY, dt.time(10), tzinfo=dt.UTC)
    # sign: stays of 1, 5 and 9 s (min_dwell 5: two count); east_path: 3, 7 and 11 s (min_dwell 3: all count)
    write_zone_day(site.data_dir, "b1", "vtest", ten)

    def queued(n: int) -> list[tuple[float, float, float]]:
        served = 60.0 * n + 20 * (n + 1)  # waits 20, 40, 60 s
        return [(60.0 * n, 250, 50), (served, 450, 50), (served + 15, 10, 10), (served + 16, 10, 10)]

    waits = [stay(n, queued(n)) for n in range(3)]
    paths = [PersonPath(f"q{p.track_id}", p) for p in waits]
    queue = judge_zones(paths, QUEUE_ZONES, ZoneSource("b1", "vtest", "q" * 64, ten, 240.0))
    write_zone_tables(queue, site.data_dir, branch_id="b1", day=DAY, source_key="vtest-queue")

    return collect_report(load_config(site.config_dir), site.data_dir, "b1", DAY)


def test_zones_section_hand_computed(tmp_path: Path) -> None:
    data = zone_site(tmp_path)
    assert data.zones is not None
    totals = {t.zone_id: t for t in data.zones.totals}
    assert list(totals) == ["sign", "east_path"]  # the configured zones, in config order
    assert (totals["sign"].visits, totals["sign"].counted_visits, totals["sign"].mean_dwell_seconds) == (3, 2, 7.0)
    assert (totals["east_path"].counted_visits, totals["east_path"].mean_dwell_seconds) == (3, 7.0)
    # the report day has 7 movements on camera vtest
    assert totals["sign"].attention_rate == 2 / 7
    # queue waits 20, 40 and 60 s, all at 10:00-10:04: one hourly window
    (hour,) = data.zones.queues.to_pylist()
    assert (hour["people_queued"], hour["mean_wait_seconds"]) == (3, 40.0)
    wait = queue_wait_chart(data, data.zones)
    assert [list(np.asarray(line.get_ydata())) for line in wait.axes[0].lines] == [
        [40.0],
        [56.0],
    ]  # mean, p90 = 40 + 0.8 * 20
    bars = zone_bars_chart(data.zones)
    assert [b.get_height() for b in bars.axes[0].patches if isinstance(b, Rectangle)] == [3, 3, 2, 3]

    view = report_view(data)
    assert "zones" in SECTION_ORDER and 'id="section-zones"' in view.sections["zones"]
    html = report_html(view, data.generated_at)
    assert 'id="zone-table"' in html and 'id="chart-queue-wait"' in html
    assert '<div class="table-scroll"><table id="zone-table">' in html  # scrolls inside the page, not the page
    assert re.search(r'id="zones-floor-vtest"><img alt="Zones of camera vtest" src="data:image/png;base64,', html)


def test_dollar_signs_in_zone_labels_and_ids_are_drawn_as_written(tmp_path: Path) -> None:
    # Before, zone labels went to the tick labels (and zone ids to the queue legend) as mathtext:
    # "$$" failed the whole report with a traceback, "$5 or over $10" was drawn as a formula.
    data = zone_site(tmp_path)
    assert data.zones is not None
    labels = ["Deals under $5 or over $10", "Tills (cash only $$)"]
    totals = tuple(replace(t, label=label) for t, label in zip(data.zones.totals, labels, strict=True))
    queues = data.zones.queues
    queues = queues.set_column(
        queues.schema.get_field_index("zone_id"), "zone_id", pa.array(["q$$"] * queues.num_rows, pa.string())
    )
    data = replace(data, zones=replace(data.zones, totals=totals, queues=queues))
    assert data.zones is not None
    bars = figure_svg(zone_bars_chart(data.zones))
    assert all(f">{label}<" in bars for label in labels)
    assert ">q$$: mean wait<" in figure_svg(queue_wait_chart(data, data.zones))
    assert "Tills (cash only $$)" in report_view(data).sections["zones"]  # the floor picture draws too


def test_a_branch_without_zones_gets_a_note(tmp_path: Path) -> None:
    site = make_report_site(tmp_path)
    data = collect_report(load_config(site.config_dir), site.data_dir, "b2", DAY)
    assert data.zones is None
    assert "No zones configured for this branch" in report_view(data).sections["zones"]


def _crowded_zones(count: int) -> ZoneReport:
    totals = tuple(
        ZoneTotal(
            "cam-1",
            f"zone_{n}",
            f"Zone {n} seasonal display aisle",
            "area",
            ((0, 0), (1, 0), (1, 1)),
            10 + n,
            5 + n,
            12.0,
            0.1,
        )
        for n in range(count)
    )
    return ZoneReport(totals=totals, queues=pa.table({"zone_id": pa.array([], pa.string())}), pictures=())


def test_the_zone_names_under_the_bars_never_overlap(tmp_path: Path) -> None:
    # Before, the names of a branch with many zones were written side by side under the bars, one over
    # the other: a row of unreadable ink. Now names that would not fit are turned upright.
    for count in (2, 16, 40):
        figure = zone_bars_chart(_crowded_zones(count))
        figure.draw_without_rendering()
        boxes = [label.get_window_extent() for label in figure.axes[0].get_xticklabels()]
        assert len(boxes) == count
        assert all(left.x1 <= right.x0 for left, right in itertools.pairwise(boxes)), count
        assert all(box.x0 >= 0 and box.x1 <= figure.bbox.width for box in boxes), count
    assert figure.axes[0].get_xticklabels()[0].get_text() == "Zone 0 seasonal display aisle"  # written whole
    few = zone_bars_chart(_crowded_zones(2))
    assert [label.get_rotation() for label in few.axes[0].get_xticklabels()] == [0, 0]  # room enough: level


def test_a_day_without_zone_visits_counts_from_zero_in_whole_visits() -> None:
    # Before, the zone bars of a quiet day counted visits from -0.04 to 0.04.
    quiet = _crowded_zones(3)
    quiet = replace(
        quiet,
        totals=tuple(
            replace(t, visits=0, counted_visits=0, mean_dwell_seconds=None, attention_rate=None) for t in quiet.totals
        ),
    )
    figure = zone_bars_chart(quiet)
    visits, dwell = figure.axes
    assert visits.get_ylim() == (0, 1) and dwell.get_ylim() == (0, 1)
    assert [tick for tick in visits.get_yticks() if 0 <= tick <= 1] == [0, 1]


def test_the_queue_chart_names_queues_by_their_label_and_no_till_that_is_not_there(tmp_path: Path) -> None:
    # Before, the queue lines were named by zone id ("till_queue: mean wait") beside bars and a table
    # that use the label, and the caption spoke of "the till" whatever the service zone was.
    data = zone_site(tmp_path)
    assert data.zones is not None
    queue = ZoneTotal("vtest", "queue", "Pharmacy line", "queue", ((0, 0), (1, 0), (1, 1)), 3, 3, 40.0, None)
    data = replace(data, zones=replace(data.zones, totals=(*data.zones.totals, queue)))
    assert data.zones is not None
    drawn = figure_svg(queue_wait_chart(data, data.zones))
    assert ">Pharmacy line: mean wait<" in drawn and ">Pharmacy line: p90 wait<" in drawn
    assert ">queue: mean wait<" not in drawn
    section = report_view(data).sections["zones"]
    assert "Wait from joining a queue to reaching its service zone" in section and "the till" not in section


def test_a_camera_without_a_kept_picture_still_shows_its_frame(tmp_path: Path) -> None:
    # Before, the blank canvas that stands in for a missing camera picture was hidden with the axes, so
    # the zones floated in white with nothing to show where the camera's view began and ended.
    picture = ZonePicture("cam-1", None, 1280, 720)
    figure = zone_floor_chart(picture, list(_crowded_zones(2).totals))
    (frame,) = [p for p in figure.axes[0].patches if p.get_gid() == "frame"]
    assert isinstance(frame, Rectangle) and frame.get_visible()
    assert (frame.get_x(), frame.get_y(), frame.get_width(), frame.get_height()) == (0, 0, 1280, 720)
    assert frame.get_edgecolor()[3] > 0  # outlined
