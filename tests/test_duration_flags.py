"""A bad duration on the command line names its flag: '--flush: expected a positive duration, got '0s''."""

from __future__ import annotations

import pytest

from retail_intel.cli.process_live import live_options
from retail_intel.errors import InputError
from retail_intel.timeutil import parse_duration

URL = "rtsp://10.0.0.7:554/stream1"


@pytest.mark.parametrize(
    ("flush", "duration", "message"),
    [
        ("0s", None, "--flush: expected a positive duration, got '0s'"),
        ("soon", None, "--flush: expected a duration such as 90s"),
        (None, "0m", "--duration: expected a positive duration, got '0m'"),
        ("5m", "-1h", "--duration: expected a"),
        # --flush 99999999999h was accepted: a session that would never write anything
        ("99999999999h", None, "--flush can be at most 24h, got '99999999999h'"),
        ("25h", None, "--flush can be at most 24h, got '25h'"),
        (None, "366d", "--duration can be at most 365d"),
    ],
)
def test_live_flags_are_named_in_the_error(flush: str | None, duration: str | None, message: str) -> None:
    with pytest.raises(InputError) as caught:
        live_options(URL, duration=duration, flush=flush)
    assert str(caught.value).startswith(message)


def test_good_live_durations_and_the_default_flush() -> None:
    options = live_options(URL, duration="8h", flush=None)
    assert (options.flush_s, options.duration_s) == (300.0, 8 * 3600.0)
    longest = live_options(URL, duration="365d", flush="24h")
    assert (longest.flush_s, longest.duration_s) == (86400.0, 365 * 86400.0)


def test_without_a_flag_the_message_is_unchanged() -> None:
    with pytest.raises(InputError, match=r"^expected a positive duration, got '0s'$"):
        parse_duration("0s")
    assert parse_duration("90", default_unit="m", flag="--window") == 5400.0


def test_a_time_into_a_video_may_be_zero_in_any_spelling_but_not_negative() -> None:
    assert [parse_duration(t, flag="--at", zero=True) for t in ("0", "0m", "0.0s", "0ms", "1.5m")] == [0, 0, 0, 0, 90]
    with pytest.raises(InputError, match=r"^--at: expected a duration such as"):
        parse_duration("-1s", flag="--at", zero=True)
    with pytest.raises(InputError, match=r"^--at: expected a positive duration, got '0m'$"):
        parse_duration("0m", flag="--at")
