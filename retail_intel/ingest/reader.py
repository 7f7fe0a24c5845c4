"""Reading an events file into raw records, keeping each record's line and text.

Nothing is validated here beyond the file's own syntax: every record comes out
with the line it starts on and its original text, so a rejected row can be
shown to the user exactly as it was written. A record that cannot even be
parsed (broken JSON, wrong number of CSV fields) still comes out, carrying
its parse error instead of fields.
"""

from __future__ import annotations

import csv
import enum
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from retail_intel.errors import InputError

REQUIRED_FIELDS = ("customer_id", "branch_id", "enter_time", "exit_time", "action_type")


class InputFormat(enum.StrEnum):
    jsonl = "jsonl"
    csv = "csv"


_EXTENSIONS = {
    ".jsonl": InputFormat.jsonl,
    ".ndjson": InputFormat.jsonl,
    ".json": InputFormat.jsonl,  # JSON Lines, or one JSON array of objects
    ".csv": InputFormat.csv,
}


@dataclass(frozen=True)
class RawRecord:
    line: int  # 1-based line the record starts on (for a JSON array: the entry number)
    raw: str  # the record's text as written
    fields: dict[str, object] | None  # None when the record could not be parsed
    error: str | None = None  # why it could not be parsed


@dataclass(frozen=True)
class ParsedFile:
    format: InputFormat
    records: list[RawRecord]
    ignored_columns: tuple[str, ...]  # CSV columns / JSON keys beyond the five event fields


def detect_format(path: Path, override: InputFormat | str | None = None, name: str = "input_format") -> InputFormat:
    """The format ``override`` names, else the one ``path``'s extension says; ``name`` is what the caller
    calls ``override`` in messages (its flag: ``--input-format``)."""
    if override is not None:
        # A plain "csv" equals InputFormat.csv but is not it, and the parser tells the
        # formats apart by identity: it would read a CSV file as JSON Lines.
        try:
            return InputFormat(override)
        except ValueError:
            known = ", ".join(f.value for f in InputFormat)
            raise InputError(f"{name} must be one of {known}, got {override!r}") from None
    found = _EXTENSIONS.get(path.suffix.lower())
    if found is None:
        known = ", ".join(sorted(_EXTENSIONS))
        raise InputError(
            f"{path}: cannot tell the format from the extension {path.suffix or '(none)'!r}; "
            f"expected one of {known}, or pass {name} jsonl|csv"
        )
    return found


def decode(path: Path, data: bytes) -> str:
    try:
        # utf-8-sig: spreadsheet exports often start with a byte-order mark
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


class _JsonObject(dict[str, object]):
    """A decoded JSON object that remembers keys given more than once (json keeps the last silently)."""

    duplicates: tuple[str, ...] = ()


def _unique_keys(pairs: list[tuple[str, object]]) -> _JsonObject:
    found = _JsonObject()
    repeated: list[str] = []
    for key, value in pairs:
        if key in found and key not in repeated:
            repeated.append(key)
        found[key] = value
    found.duplicates = tuple(repeated)
    return found


def _loads(text: str) -> object:
    return json.loads(text, object_pairs_hook=_unique_keys)


def _json_records(text: str) -> tuple[list[RawRecord], set[str]]:
    records: list[RawRecord] = []
    extra: set[str] = set()
    # split on "\n" only: str.splitlines would also split on U+2028, which may
    # legitimately appear unescaped inside a JSON string
    for number, line in enumerate(text.split("\n"), start=1):
        raw = line.rstrip("\r")
        if not raw.strip():
            continue
        try:
            value = _loads(raw)
        except json.JSONDecodeError as exc:
            records.append(RawRecord(number, raw, None, f"not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        except RecursionError:
            # json's decoder recurses per nesting level; an event is a flat object
            records.append(RawRecord(number, _clip(raw), None, "JSON nested too deeply to be an event object"))
            continue
        except ValueError as exc:  # a number past Python's digit limit for int conversion
            records.append(RawRecord(number, _clip(raw), None, f"not a usable JSON value ({exc})"))
            continue
        records.append(_json_value_record(number, raw, value, extra))
    return records, extra


def _json_value_record(number: int, raw: str, value: object, extra: set[str]) -> RawRecord:
    if not isinstance(value, dict):
        return RawRecord(number, raw, None, f"expected a JSON object, got {type(value).__name__}")
    if isinstance(value, _JsonObject) and value.duplicates:
        named = ", ".join(repr(k) for k in value.duplicates)
        return RawRecord(number, raw, None, f"the key {named} is given more than once in one object")
    extra.update(str(k) for k in value if k not in REQUIRED_FIELDS)
    return RawRecord(number, raw, {str(k): v for k, v in value.items()})


def _json_array_records(path: Path, text: str) -> tuple[list[RawRecord], set[str]]:
    try:
        values = _loads(text)
    except RecursionError as exc:
        raise InputError(f"{path}: the JSON array is nested too deeply to hold event objects") from exc
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: starts with '[' but is not a valid JSON array ({exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}); use one JSON object per line (JSON Lines) instead"
        ) from exc
    except ValueError as exc:  # a number past Python's digit limit for int conversion
        raise InputError(f"{path}: the JSON array holds a value that cannot be read ({exc})") from exc
    if not isinstance(values, list):
        raise InputError(f"{path}: expected a JSON array of event objects")
    extra: set[str] = set()
    records = [
        _json_value_record(number, json.dumps(value, ensure_ascii=False), value, extra)
        for number, value in enumerate(values, start=1)
    ]
    return records, extra


def _clip(raw: str, limit: int = 1000) -> str:
    """A very long rejected row, shortened for the rejects file (the line number finds the rest)."""
    return raw if len(raw) <= limit else raw[:limit] + f"... ({len(raw):,} characters)"


class _LineTap:
    """An iterator over lines that remembers the lines consumed since the last ``take``.

    The csv module reads a quoted field spanning several lines in one go; the
    tap lets us give each record its exact original text and first line.
    """

    def __init__(self, text: str) -> None:
        # newline="": split lines as the csv module expects (\n, \r\n or \r only)
        self._lines = iter(io.StringIO(text, newline=""))
        self.consumed = 0
        self._pending: list[str] = []

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.consumed += 1
        self._pending.append(line)
        return line

    def take(self) -> tuple[int, str]:
        """(first line number, text) of the lines consumed since the previous call."""
        first = self.consumed - len(self._pending) + 1
        text = "".join(self._pending).rstrip("\r\n")
        self._pending.clear()
        return first, text


def _csv_records(path: Path, text: str) -> tuple[list[RawRecord], set[str]]:
    tap = _LineTap(text)
    reader = csv.reader(tap)
    header: list[str] = []
    try:
        while not any(cell.strip() for cell in header):  # blank lines before the header
            header = next(reader)
            tap.take()
    except StopIteration:
        return [], set()
    except csv.Error as exc:
        raise InputError(f"{path}: the CSV header line cannot be read ({exc})") from exc
    # A spreadsheet saves the empty cells right of the data as blank header names (",,"): unnamed
    # columns, ignored like any other extra column, never "named more than once".
    columns = [name.strip().lower() or f"(unnamed column {number})" for number, name in enumerate(header, start=1)]
    missing = [name for name in REQUIRED_FIELDS if name not in columns]
    if missing:
        raise InputError(
            f"{path}: the CSV header must name the columns {', '.join(REQUIRED_FIELDS)}; "
            f"missing {', '.join(missing)} (header was {','.join(header)!r})"
        )
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise InputError(f"{path}: the CSV header names {', '.join(duplicated)} more than once")
    records: list[RawRecord] = []
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            line, raw = tap.take()
            records.append(RawRecord(line, raw, None, f"not valid CSV ({exc})"))
            continue
        line, raw = tap.take()
        if not values or (len(values) == 1 and not values[0].strip()):
            continue  # blank line
        if len(values) != len(columns):
            error = f"expected {len(columns)} comma-separated fields as in the header, got {len(values)}"
            records.append(RawRecord(line, raw, None, error))
            continue
        records.append(RawRecord(line, raw, dict(zip(columns, values, strict=True))))
    return records, {c for c in columns if c not in REQUIRED_FIELDS}


JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")  # one object per line, never one array


def parse_events(path: Path, data: bytes, input_format: InputFormat) -> ParsedFile:
    """Split ``data`` (the content of ``path``) into raw records."""
    text = decode(path, data)
    if input_format is InputFormat.csv:
        records, extra = _csv_records(path, text)
    elif path.suffix.lower() not in JSON_LINES_SUFFIXES and text.lstrip().startswith("["):
        # a .json file, stdin or another name may be one array; in a file named as JSON Lines
        # (.jsonl, .ndjson) a first row that is an array is one bad row
        records, extra = _json_array_records(path, text)
    else:
        records, extra = _json_records(text)
    return ParsedFile(input_format, records, tuple(sorted(extra)))
