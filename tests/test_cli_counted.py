"""Counts in the CLI's messages agree with their noun: "1 window", "2 windows", "1 person"."""

from __future__ import annotations

import pytest

from retail_intel.wording import counted


@pytest.mark.parametrize(
    ("n", "singular", "plural", "expected"),
    [
        (1, "window", None, "1 window"),
        (0, "window", None, "0 windows"),
        (2, "window", None, "2 windows"),
        (1_200, "row", None, "1,200 rows"),
        (1, "person", "people", "1 person"),
        (3, "person", "people", "3 people"),
        (1, "box", "boxes", "1 box"),
        (1, "passer-by", "passers-by", "1 passer-by"),
    ],
)
def test_a_count_and_its_noun_agree(n: int, singular: str, plural: str | None, expected: str) -> None:
    assert counted(n, singular, plural) == expected
