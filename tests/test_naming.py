"""CallerNames: the one reading of a caller's names for the parameters messages name."""

from __future__ import annotations

from retail_intel.naming import CallerNames


def test_a_name_given_is_used_and_one_left_out_is_the_parameter() -> None:
    named = CallerNames({"fps": "--fps"})
    assert named("fps") == "--fps"
    assert named("roi") == "roi"


def test_no_names_name_every_parameter_as_it_is() -> None:
    assert CallerNames()("data_dir") == "data_dir"
    assert CallerNames(None)("fps") == "fps"


def test_a_prefix_names_a_parameter_left_out_as_a_field() -> None:
    named = CallerNames({"executor": "--executor"}, "request.")
    assert named("executor") == "--executor"
    assert named("address") == "request.address"
