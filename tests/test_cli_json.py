"""Every command's JSON output is strict JSON: a value with no JSON form (NaN, infinity) is null."""

from __future__ import annotations

import json
import math
from typing import Any

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from retail_intel.accuracy.metrics import score_tracking
from retail_intel.accuracy.mot import MotBoxes
from retail_intel.cli.common import to_json
from retail_intel.cli.tables import arrow_json


def strict_loads(text: str) -> Any:
    """json.loads that refuses NaN, Infinity and -Infinity (which Python's own parser accepts)."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_scores_without_a_value_are_null() -> None:
    truth = MotBoxes.from_rows([(0, 1, 10, 10, 50, 100, False), (1, 1, 12, 10, 50, 100, False)])
    nobody = score_tracking(truth, MotBoxes.empty()).as_dict()  # the tracker found nobody: precision 0/0
    only_ignored = score_tracking(
        MotBoxes.from_rows([(0, 1, 10, 10, 50, 100, True)]), MotBoxes.from_rows([(0, 7, 300, 300, 50, 100, False)])
    ).as_dict()  # truth with only ignore boxes: recall 0/0, MOTA -infinity
    assert math.isnan(nobody["precision"]) and math.isinf(only_ignored["mota"])

    doc = strict_loads(to_json({"tracking": nobody, "ignored": only_ignored}))

    assert doc["tracking"]["precision"] is None and doc["tracking"]["recall"] == nobody["recall"]
    assert doc["ignored"]["mota"] is None and doc["ignored"]["recall"] is None


def test_table_output_has_no_infinity() -> None:
    table = pa.table({"ratio": [1.5, math.inf, -math.inf, math.nan, None]})
    assert [row["ratio"] for row in strict_loads(arrow_json(table))] == [1.5, None, None, None, None]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


def finite_twin(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_twin(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite_twin(v) for v in value]
    return value


@given(json_values)
def test_any_value_reads_back_with_non_finite_floats_as_null(value: Any) -> None:
    assert strict_loads(to_json(value)) == finite_twin(value)
