"""Write the bad-input corpus next to this file: ``python tests/bad_inputs/make_corpus.py``.

The files are committed; this script is how they were made (and how to add
one). Conventions the test (tests/test_bad_inputs.py) relies on:

* ``config/<file>.<case>.yaml`` replaces ``<file>.yaml`` of a small valid
  config; ``validate`` must report exactly one problem.
* ``ingest/<case>.{jsonl,json,csv}`` is ingested; every row whose
  customer_id starts with ``900d`` is good and must be stored, every other
  row must not be.
* ``parquet/<kind>-<case>.parquet`` is dropped into a data directory beside
  good movements; ``kpis``, ``etl`` and ``report`` must refuse it with one
  line naming it, and so must ``sql`` for the ``unreadable-`` and
  ``foreign-`` kinds (a view reads implausible or mistyped values as they are).
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
GOOD = "900d0000-0000-4000-8000-{:012d}"
BAD = "baad0000-0000-4000-8000-{:012d}"


def row(
    customer: str, enter: str = "2026-02-08T10:00:00Z", exit_: str = "2026-02-08T10:05:00Z", **extra: object
) -> dict[str, object]:
    fields: dict[str, object] = {
        "customer_id": customer,
        "branch_id": "b1",
        "enter_time": enter,
        "exit_time": exit_,
        "action_type": "entered",
    }
    fields.update(extra)
    return fields


def good(n: int) -> dict[str, object]:
    return row(GOOD.format(n), enter=f"2026-02-08T1{n % 8}:00:00Z", exit_=f"2026-02-08T1{n % 8}:04:00Z")


def jsonl(rows: list[dict[str, object] | str]) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)


def ingest_cases() -> dict[str, str | bytes]:
    def bad_time(n: int, enter: str, exit_: str) -> dict[str, object]:
        return row(BAD.format(n), enter, exit_)

    def raw_row(customer_key: str, customers: list[str], branch: str = '"branch_id": "b1"') -> str:
        """A JSON object written by hand, so a key can be given twice."""
        keys = ", ".join(f'"{customer_key}": "{c}"' for c in customers)
        return (
            f'{{{keys}, {branch}, "enter_time": "2026-02-08T10:00:00Z", '
            '"exit_time": "2026-02-08T10:01:00Z", "action_type": "entered"}'
        )

    nested = '{"a": ' * 5000 + "1" + "}" * 5000
    cases: dict[str, str | bytes] = {
        "year-0001.jsonl": jsonl([good(1), bad_time(1, "0001-01-01T00:00:00Z", "0001-01-01T00:05:00Z"), good(2)]),
        "year-9999.jsonl": jsonl([good(1), bad_time(1, "9999-12-31T23:00:00Z", "9999-12-31T23:05:00Z")]),
        "year-1970.jsonl": jsonl([bad_time(1, "1970-01-01T00:00:00Z", "1970-01-01T00:00:01Z"), good(1)]),
        "dwell-100-years.jsonl": jsonl([good(1), bad_time(1, "2026-02-08T10:00:00Z", "2126-02-08T10:00:00Z")]),
        "dwell-25-hours.jsonl": jsonl([good(1), bad_time(1, "2026-02-07T10:00:00Z", "2026-02-08T11:00:00Z")]),
        "duplicate-keys.jsonl": jsonl(
            [good(1), raw_row("customer_id", [BAD.format(1)], '"branch_id": "b1", "branch_id": "b2"'), good(2)]
        ),
        "nested-json.jsonl": jsonl([good(1), nested, good(2)]),
        "branch-path.jsonl": jsonl(
            [good(1), row(BAD.format(1), branch_id="../../evil"), row(BAD.format(2), branch_id="/etc")]
        ),
        "wrong-types.jsonl": jsonl(
            [good(1), row(BAD.format(1), enter_time=1760000000), row(BAD.format(2), action_type=["entered"])]
        ),
        "no-timezone.jsonl": jsonl([good(1), row(BAD.format(1), enter="2026-02-08T10:00:00")]),
        "exit-before-enter.jsonl": jsonl(
            [good(1), row(BAD.format(1), enter="2026-02-08T10:00:00Z", exit_="2026-02-08T09:00:00Z")]
        ),
        "not-an-object.jsonl": jsonl([good(1), "[1, 2, 3]", "null", good(2)]),
        "broken-json.jsonl": jsonl([good(1), '{"customer_id": "' + BAD.format(1) + '", "branch_id": ']),
        "huge-number-time.jsonl": jsonl([good(1), row(BAD.format(1), enter="+275760-09-13T00:00:00Z")]),
        "empty.jsonl": "\n\n",
        "not-utf8.jsonl": b'{"customer_id": "\xff\xfe", "branch_id": "b1"}\n',
        "array-with-duplicate-keys.json": json.dumps([good(1)])[:-1]
        + ", "
        + raw_row("customer_id", [BAD.format(1), BAD.format(2)])
        + "]",
        "array-nested.json": "[" + nested + "]",
        "array-broken.json": '[{"customer_id": "x"',
    }
    header = "customer_id,branch_id,enter_time,exit_time,action_type\n"
    csv_good = f"{GOOD.format(1)},b1,2026-02-08T10:00:00Z,2026-02-08T10:02:00Z,passed\n"
    cases.update(
        {
            "year-9999.csv": header
            + csv_good
            + f"{BAD.format(1)},b1,9999-01-01T00:00:00Z,9999-01-01T00:00:01Z,entered\n",
            "field-count.csv": header + csv_good + f"{BAD.format(1)},b1,2026-02-08T10:00:00Z\n",
            "missing-column.csv": "customer_id,branch_id,enter_time,action_type\n"
            + "x,b1,2026-02-08T10:00:00Z,entered\n",
            "huge-field.csv": header
            + csv_good
            + f'{BAD.format(1)},"{"x" * 200_000}",2026-02-08T10:00:00Z,2026-02-08T10:01:00Z,entered\n',
            "unknown-action.csv": header
            + csv_good
            + f"{BAD.format(1)},b1,2026-02-08T10:00:00Z,2026-02-08T10:01:00Z,left\n",
        }
    )
    return cases


BRANCH = (
    "branches:\n  - id: b1\n    name: One\n    capacity: 10\n    cameras:\n      - {id: door, roi: [0, 0, 100, 100]}\n"
)


def laughs() -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 10):
        lines.append(f"a{level}: &a{level} [" + ",".join([f"*a{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\nbranches: *a9\n"


def config_cases() -> dict[str, str | bytes]:
    def branch(extra: str) -> str:
        return BRANCH.replace("    capacity: 10\n", extra)

    return {
        "branches.billion-laughs.yaml": laughs(),
        "branches.deep-sequence.yaml": "branches: " + "[" * 10_000 + "]" * 10_000 + "\n",
        "branches.deep-mapping.yaml": "branches: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n",
        "branches.fps-inf.yaml": BRANCH.replace("roi: [0, 0, 100, 100]}", "roi: [0, 0, 100, 100], fps: .inf}"),
        "branches.fps-nan.yaml": BRANCH.replace("roi: [0, 0, 100, 100]}", "roi: [0, 0, 100, 100], fps: .nan}"),
        "branches.capacity-1e35.yaml": branch("    capacity: 1.0e+35\n"),
        "branches.capacity-huge-int.yaml": branch("    capacity: 100000000000000000000\n"),
        "branches.capacity-1e35-text.yaml": branch("    capacity: 1e35\n"),
        "branches.staff-ratio-tiny.yaml": branch("    capacity: 10\n    customers_per_staff: 1.0e-300\n"),
        "branches.roi-inf.yaml": BRANCH.replace("roi: [0, 0, 100, 100]", "roi: [0, 0, .inf, 100]"),
        "branches.id-traversal.yaml": BRANCH.replace("id: b1", "id: ../../evil"),
        "branches.id-absolute.yaml": BRANCH.replace("id: b1", "id: /tmp/evil"),
        "branches.camera-id-slash.yaml": BRANCH.replace("id: door", "id: door/../../x"),
        "branches.duplicate-key.yaml": BRANCH.replace("    capacity: 10\n", "    capacity: 10\n    capacity: 20\n"),
        "branches.tab-indent.yaml": BRANCH.replace("    name: One", "\tname: One"),
        "branches.not-utf8.yaml": BRANCH.encode() + b"# caf\xe9\n",
        "branches.python-object.yaml": BRANCH + "extra: !!python/object/apply:os.system ['true']\n",
        "branches.timezone-bogus.yaml": branch("    capacity: 10\n    timezone: ../../etc/passwd\n"),
    }


def _movements(enter: list[dt.datetime], exit_: list[dt.datetime]) -> pa.Table:
    from retail_intel.movements.schema import MOVEMENT_SCHEMA

    n = len(enter)
    return pa.table(
        {
            "customer_id": [BAD.format(i) for i in range(n)],
            "branch_id": ["b1"] * n,
            "camera_id": [None] * n,
            "action_type": ["entered"] * n,
            "enter_time": enter,
            "exit_time": exit_,
            "exit_observed": [True] * n,
            "dwell_seconds": [(b - a).total_seconds() for a, b in zip(enter, exit_, strict=True)],
            "first_seen": enter,
            "last_seen": exit_,
            "track_id": [None] * n,
            "n_frames": [None] * n,
            "mean_confidence": [None] * n,
            "source_video": ["corpus"] * n,
            "video_fingerprint": ["0" * 64] * n,
            "model": [None] * n,
            "processed_at": [dt.datetime(2026, 2, 9, tzinfo=dt.UTC)] * n,
        },
        schema=MOVEMENT_SCHEMA,
    )


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def parquet_cases() -> dict[str, bytes]:
    utc = dt.UTC
    day = dt.datetime(2026, 2, 8, 10, tzinfo=utc)
    fine = _parquet_bytes(_movements([day], [day + dt.timedelta(minutes=3)]))
    mistyped = _movements([day], [day]).set_column(4, "enter_time", pa.array(["2026-02-08T10:00:00Z"]))
    return {
        "unreadable-text.parquet": b"this is not a parquet file\n",
        "unreadable-truncated.parquet": fine[: len(fine) // 2],
        "unreadable-empty.parquet": b"",
        "foreign-schema.parquet": _parquet_bytes(pa.table({"sku": ["A1", "B2"], "price": [3.5, 4.0]})),
        "foreign-kpi-columns.parquet": _parquet_bytes(pa.table({"branch_id": ["b1"], "window_minutes": [60]})),
        "mistyped-enter-time.parquet": _parquet_bytes(mistyped),
        "implausible-year-0001.parquet": _parquet_bytes(
            _movements([dt.datetime(1, 1, 1, tzinfo=utc)], [dt.datetime(1, 1, 1, 0, 5, tzinfo=utc)])
        ),
        "implausible-year-9999.parquet": _parquet_bytes(
            _movements([dt.datetime(9999, 12, 31, 23, tzinfo=utc)], [dt.datetime(9999, 12, 31, 23, 5, tzinfo=utc)])
        ),
        "implausible-1970.parquet": _parquet_bytes(
            _movements([dt.datetime(1970, 1, 1, tzinfo=utc)], [dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=utc)])
        ),
        "implausible-dwell-100-years.parquet": _parquet_bytes(_movements([day - dt.timedelta(days=36525)], [day])),
    }


def main() -> None:
    for folder, cases in (("ingest", ingest_cases()), ("config", config_cases()), ("parquet", parquet_cases())):
        target = HERE / folder
        target.mkdir(exist_ok=True)
        for name, content in cases.items():
            data = content.encode() if isinstance(content, str) else content
            (target / name).write_bytes(data)


if __name__ == "__main__":
    main()
