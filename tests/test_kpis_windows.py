"""Window sizes and local-midnight-aligned windows, DST days included."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from retail_intel.errors import InputError
from retail_intel.kpis.inputs import KpiParams
from retail_intel.kpis.windows import (
    US_PER_DAY,
    Series,
    build_series,
    day_windows,
    from_us,
    to_us,
    window_containing,
    window_minutes_from,
)

UTC = dt.UTC
LONDON = ZoneInfo("Europe/London")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "minutes"), [("60m", 60), ("1h", 60), ("15m", 15), ("1d", 1440), ("90", 90), ("4h", 240)]
)
def test_window_sizes(text: str, minutes: int) -> None:
    assert window_minutes_from(text) == minutes


@pytest.mark.parametrize("text", ["7m", "45s", "25h", "0m", "0", "-5", "1.5m", "soon", "abc"])
def test_window_sizes_that_do_not_divide_a_day_are_refused(text: str) -> None:
    # Every refusal names the value as the caller does, whichever rule the value broke: "window" by
    # default (it said "--window" to a Python caller), the CLI's flag where it passes it
    with pytest.raises(InputError, match=r"^window[: ]"):
        window_minutes_from(text)
    with pytest.raises(InputError, match=r"^--window[: ]"):
        window_minutes_from(text, flag="--window")


def test_params_validate_their_numbers() -> None:
    with pytest.raises(InputError, match="divide a day"):
        KpiParams(window_minutes=50)
    with pytest.raises(InputError, match="baseline_weeks"):
        KpiParams(window_minutes=60, baseline_weeks=0)
    with pytest.raises(InputError, match="momentum_windows"):
        KpiParams(window_minutes=60, momentum_windows=1)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("baseline_weeks", 2.5, r"^baseline_weeks must be a whole number \(an int\), got 2.5 \(float\)"),
        ("momentum_windows", 3.5, r"^momentum_windows must be a whole number \(an int\), got 3.5 \(float\)"),
        ("imbalance_threshold", "0.1", r"^imbalance_threshold must be a number, got '0.1' \(str\)"),
    ],
)
def test_params_refuse_values_of_the_wrong_type(field: str, value: object, message: str) -> None:
    # baseline_weeks=2.5 reached DuckDB's range() (BinderException), momentum_windows=3.5 ran as is,
    # imbalance_threshold="0.1" raised a TypeError comparing it
    with pytest.raises(InputError, match=message):
        KpiParams(window_minutes=60, **{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["baseline_weeks", "momentum_windows"])
def test_params_refuse_a_look_back_beyond_the_calendar(field: str) -> None:
    # the library's own bound, for callers that are not the CLI (was an OverflowError in the window arithmetic)
    with pytest.raises(InputError, match=f"{field} must be"):
        KpiParams(window_minutes=60, **{field: 99_999_999_999})


def starts(day: dt.date, zone: str, minutes: int) -> list[dt.datetime]:
    return [from_us(int(s)) for s in day_windows(day, ZoneInfo(zone), minutes).starts]


def test_an_ordinary_day_has_24_hourly_windows_from_local_midnight() -> None:
    windows = day_windows(dt.date(2026, 6, 1), LONDON, 60)
    assert len(windows.starts) == 24
    assert from_us(int(windows.starts[0])) == utc(2026, 5, 31, 23)  # 00:00 BST
    assert list(windows.slot_minutes[:3]) == [0, 60, 120] and not windows.slot_folds.any()
    assert list(windows.ends[:-1]) == list(windows.starts[1:])


def test_spring_forward_day_has_23_windows_and_skips_the_missing_hour() -> None:
    windows = day_windows(dt.date(2026, 3, 29), LONDON, 60)
    assert len(windows.starts) == 23
    assert from_us(int(windows.starts[0])) == utc(2026, 3, 29, 0)
    assert from_us(int(windows.ends[-1])) == utc(2026, 3, 29, 23)  # next local midnight (BST)
    assert list(windows.slot_minutes[:3]) == [0, 120, 180]  # 00:00, 02:00, 03:00 on the clock


def test_fall_back_day_has_25_windows_with_the_repeated_hour_folded() -> None:
    windows = day_windows(dt.date(2026, 10, 25), LONDON, 60)
    assert len(windows.starts) == 25
    assert list(windows.slot_minutes[:4]) == [0, 60, 60, 120]
    assert list(windows.slot_folds[:4]) == [0, 0, 1, 0]


def test_a_window_size_that_does_not_fit_a_short_day_is_cut_at_midnight() -> None:
    # Lord Howe moves its clocks by 30 minutes: 4 Oct 2026 has 23.5 hours.
    windows = day_windows(dt.date(2026, 10, 4), ZoneInfo("Australia/Lord_Howe"), 60)
    lengths = (windows.ends - windows.starts) // 60_000_000
    assert len(lengths) == 24 and list(lengths[:-1]) == [60] * 23 and lengths[-1] == 30


def test_half_hour_zone_windows_start_on_the_half_hour_utc() -> None:
    assert starts(dt.date(2026, 3, 3), "Asia/Kolkata", 60)[:2] == [utc(2026, 3, 2, 18, 30), utc(2026, 3, 2, 19, 30)]


def test_window_containing_an_instant() -> None:
    start, end = window_containing(to_us(utc(2026, 3, 29, 1, 59)), LONDON, 60)
    assert (from_us(start), from_us(end)) == (utc(2026, 3, 29, 1), utc(2026, 3, 29, 2))
    start, end = window_containing(to_us(utc(2026, 3, 29, 22, 59)), LONDON, 1440)
    assert (from_us(start), from_us(end)) == (utc(2026, 3, 29, 0), utc(2026, 3, 29, 23))


def _june_series(stored_end: dt.datetime | None = None) -> Series | None:
    """Hourly London windows for data from 1 to 20 June 2026, output 10:15 to 12:00 on the 15th, a week of history."""
    return build_series(
        LONDON,
        60,
        data_first_us=to_us(utc(2026, 6, 1, 9, 30)),
        data_last_us=to_us(utc(2026, 6, 20, 17, 5)),
        out_start_us=to_us(utc(2026, 6, 15, 10, 15)),
        out_end_us=to_us(utc(2026, 6, 15, 12)),
        history_us=7 * US_PER_DAY,
        stored_end_us=None if stored_end is None else to_us(stored_end),
    )


def test_series_spans_the_data_and_marks_the_requested_range() -> None:
    series = _june_series()
    assert series is not None
    out = [from_us(int(s)) for s in series.starts[series.is_output]]
    assert out == [utc(2026, 6, 15, 10), utc(2026, 6, 15, 11)]  # 10:00 overlaps 10:15
    # a week of history, from the local midnight of that day (00:00 BST = 23:00 UTC): whole days
    # for the occupancy reconciliation; and to the end of the last output day, as history
    assert from_us(int(series.starts[0])) == utc(2026, 6, 7, 23)
    assert from_us(int(series.ends[-1])) == utc(2026, 6, 15, 23)
    assert not series.is_output[-1]
    assert series.grid_us == 3_600_000_000


@pytest.mark.parametrize(
    ("stored_end", "first_out"),
    [
        (None, utc(2026, 6, 15, 10)),
        # An earlier run stored up to 14:00 on the 12th (its last movement): the range
        # also outputs the empty windows from there, which a run over everything has.
        (utc(2026, 6, 12, 14), utc(2026, 6, 12, 14)),
        (utc(2026, 5, 20), utc(2026, 6, 1, 9)),  # never before the data
        (utc(2026, 6, 15, 11), utc(2026, 6, 15, 10)),  # stored past --from: the range as asked
    ],
)
def test_a_range_starts_where_the_stored_windows_end(stored_end: dt.datetime | None, first_out: dt.datetime) -> None:
    series = _june_series(stored_end)
    assert series is not None
    out = [from_us(int(s)) for s in series.starts[series.is_output]]
    assert out[0] == first_out and out[-1] == utc(2026, 6, 15, 11)
    assert len(out) == (utc(2026, 6, 15, 12) - first_out) // dt.timedelta(hours=1)  # consecutive


def test_series_history_never_reaches_before_the_data() -> None:
    series = build_series(
        LONDON,
        60,
        data_first_us=to_us(utc(2026, 6, 1, 9, 30)),
        data_last_us=to_us(utc(2026, 6, 2, 9, 30)),
        out_start_us=None,
        out_end_us=None,
        history_us=30 * US_PER_DAY,
    )
    assert series is not None and series.is_output.all()
    assert from_us(int(series.starts[0])) == utc(2026, 6, 1, 9)
    assert from_us(int(series.ends[-1])) == utc(2026, 6, 2, 10)
    assert len(series.starts) == 25


def test_series_outside_the_data_is_none() -> None:
    assert (
        build_series(
            LONDON,
            60,
            data_first_us=to_us(utc(2026, 6, 1, 9)),
            data_last_us=to_us(utc(2026, 6, 1, 10)),
            out_start_us=to_us(utc(2026, 7, 1)),
            out_end_us=None,
            history_us=0,
        )
        is None
    )
