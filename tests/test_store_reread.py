"""A store read made again when a writer removed or replaced a file it had listed (``reread_once``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from retail_intel.errors import DataError, StoreChangedError
from retail_intel.storage import MOVED_READS, reread_once


def failing(failures: list[Callable[[], BaseException]]) -> tuple[Callable[[], str], list[int]]:
    """A read that raises each of ``failures`` in turn, then answers; and the count of its calls."""
    calls = [0]

    def read() -> str:
        calls[0] += 1
        if calls[0] <= len(failures):
            raise failures[calls[0] - 1]()
        return "rows"

    return read, calls


def gone() -> BaseException:
    # as the store readers wrap Polars' error for a listed file removed before it was opened
    try:
        raise FileNotFoundError(2, "No such file or directory", "movements/b2/2026-03-03/moving.parquet")
    except FileNotFoundError as exc:
        try:
            raise DataError(f"movements: cannot read the keys ({exc})") from exc
        except DataError as wrapped:
            return wrapped


def bad() -> BaseException:
    return DataError("movements/b1/x.parquet: not a Parquet file")


def test_a_read_that_finds_files_gone_while_a_writer_works_is_made_again_until_it_succeeds() -> None:
    # a batch writing source after source can remove another file during each of several reads
    failures = [gone, lambda: StoreChangedError("month replaced while it was read"), gone]
    read, calls = failing(failures)
    assert reread_once(read) == "rows"
    assert calls[0] == 4


def test_files_that_keep_going_are_reported_after_a_bounded_number_of_reads() -> None:
    read, calls = failing([gone] * (MOVED_READS + 3))
    with pytest.raises(DataError, match="cannot read the keys"):
        reread_once(read)
    assert calls[0] == MOVED_READS


def test_any_other_failure_is_read_once_more_then_reported() -> None:
    read, calls = failing([bad, bad, bad])
    with pytest.raises(DataError, match="not a Parquet file"):
        reread_once(read)
    assert calls[0] == 2
    # a failure that goes away on the second read (a file removed as it was listed) is not reported
    read, calls = failing([bad])
    assert reread_once(read) == "rows"


def test_a_bad_file_after_a_moved_one_is_not_read_more_than_twice() -> None:
    read, calls = failing([gone, bad, bad, bad])
    with pytest.raises(DataError, match="not a Parquet file"):
        reread_once(read)
    assert calls[0] == 2


def test_a_read_nested_in_another_is_made_again_only_by_the_outer_one() -> None:
    # the zone KPIs' read holds the staff ids' read: a file that stays gone (a dangling link) is read
    # MOVED_READS times in all, not MOVED_READS times for each of the outer read's attempts
    inner, calls = failing([gone] * (MOVED_READS * MOVED_READS + 1))
    outer_calls = [0]

    def outer() -> str:
        outer_calls[0] += 1
        return reread_once(inner)

    with pytest.raises(DataError, match="cannot read the keys"):
        reread_once(outer)
    assert (outer_calls[0], calls[0]) == (MOVED_READS, MOVED_READS)
    # and a nested read that succeeds answers as before
    inner, calls = failing([gone])
    assert reread_once(lambda: reread_once(inner)) == "rows"
    assert calls[0] == 2
