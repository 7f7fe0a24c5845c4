"""Turning pydantic validation errors into one readable line per problem.

Every line has the form ``<file>: <kind> "<id>": <field path> <what was
expected>, got <what was found>``, for example::

    branches.yaml: branch "b2": capacity must be > 0, got -5
    branches.yaml: branch "b1": cameras["door"].zone must have at least 3 points [x, y], got 2
    employees.yaml: entry #3: id is required

An entry is named by its ``id`` when it has one, otherwise by its position
counted from 1. Items of nested lists are named the same way: by id
(``cameras["door"]``) or by position (``shifts.weekly#2``).
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

# Messages starting with these words read as a sentence after the field name
# ("capacity must be > 0"); anything else is put after a colon.
_SENTENCE_STARTS = ("must ", "is ", "needs ", "has ")
_MAX_SHOWN = 80
_DATETIME = "must be a date and time with timezone such as 2026-03-01T09:00:00+00:00"
_DATE = "must be a date such as 2026-03-01"


def entry_label(kind: str, raw: object, position: int) -> str:
    """``branch "b2"`` when the raw entry has a usable id, else ``entry #3`` (1-based)."""
    if isinstance(raw, Mapping):
        ident = raw.get("id")
        if isinstance(ident, str | int) and not isinstance(ident, bool) and str(ident).strip():
            # an id holding a newline (a `|` block) is shown escaped: each problem stays one line
            return f'{kind} "{ident}"' if str(ident).isprintable() else f"{kind} {str(ident)!r}"
    return f"entry #{position}"


def show_value(value: object) -> str:
    """A short, YAML-like rendering of a value found in the file."""
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, dt.datetime | dt.date | dt.time):
        text = value.isoformat()
    elif value is None:
        text = "nothing (empty)"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, Mapping | list | tuple):
        text = json.dumps(value, default=str, ensure_ascii=False)
    else:
        text = str(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _field_names(models: Iterable[type[BaseModel]]) -> set[str]:
    names: set[str] = set()
    pending = list(models)
    seen: set[type[BaseModel]] = set()
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.add(model)
        names.update(model.model_fields)
        for info in model.model_fields.values():
            for arg in _nested_models(info.annotation):
                pending.append(arg)
    return names


def _nested_models(annotation: object) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found.append(annotation)
    for arg in getattr(annotation, "__args__", ()) or ():
        found.extend(_nested_models(arg))
    return found


def _is_union_tag(part: object) -> bool:
    # pydantic adds the member type of a union to the location, e.g.
    # ('branches', 'list[str]'); no field name contains these characters.
    return isinstance(part, str) and any(ch in part for ch in "[]'(")


def _path(loc: Sequence[int | str], raw: object) -> str:
    """Render an error location, naming list items by their id when they have one."""
    text = ""
    node: object = raw
    for part in loc:
        if _is_union_tag(part):
            continue
        if isinstance(part, int):
            item = node[part] if isinstance(node, list | tuple) and 0 <= part < len(node) else None
            ident = item.get("id") if isinstance(item, Mapping) else None
            if isinstance(ident, str | int) and ident != "":
                text += f'["{ident}"]' if str(ident).isprintable() else f"[{str(ident)!r}]"  # one line
            else:
                text += f"#{part + 1}"
            node = item
        else:
            text += f".{part}" if text else part
            node = node.get(part) if isinstance(node, Mapping) else None
    return text


def _expectation(error: ErrorDetails, known_fields: set[str]) -> tuple[str, bool]:
    """(message, whether to append ``got <input>``) for one pydantic error."""
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    limits = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}
    if kind in limits:
        bound = next(iter(ctx.values()), "?")
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)  # "must be > 0", not "> 0.0"
        return f"must be {limits[kind]} {bound}", True
    if kind == "missing":
        return "is required", False
    if kind == "extra_forbidden":
        name = str(error["loc"][-1]) if error["loc"] else "?"
        if name in known_fields:
            # a field of another kind of entry (a camera's imgsz under a zone): suggesting
            # the same name back ("did you mean imgsz?") told the user nothing
            return f'unknown field "{name}" here (it belongs to another kind of entry)', False
        close = difflib.get_close_matches(name, sorted(known_fields), n=1, cutoff=0.7)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        return f'unknown field "{name}"{hint}', False
    if kind in ("value_error", "assertion_error"):
        reason = ctx.get("error")
        return (str(reason) if reason is not None else error["msg"]), False
    simple = {
        "string_too_short": "must not be empty",
        "string_type": "must be text",
        "int_type": "must be a whole number",
        "int_parsing": "must be a whole number",
        "int_from_float": "must be a whole number",
        "float_type": "must be a number",
        "float_parsing": "must be a number",
        "bool_type": "must be true or false",
        "bool_parsing": "must be true or false",
        "list_type": "must be a list",
        "tuple_type": "must be a list",
        "dict_type": "must be a mapping of fields",
        "model_type": "must be a mapping of fields",
        "model_attributes_type": "must be a mapping of fields",
        "datetime_type": _DATETIME,
        "datetime_parsing": _DATETIME,
        "datetime_from_date_parsing": _DATETIME,
        "date_type": _DATE,
        "date_parsing": _DATE,
        "date_from_datetime_parsing": _DATE,
        "date_from_datetime_inexact": _DATE + " (no time of day)",
    }
    if kind in simple:
        return simple[kind], True
    if kind in ("literal_error", "enum"):
        return f"must be one of {ctx.get('expected', '?')}", True
    message = error["msg"]
    return message[:1].lower() + message[1:], True


def _join(path: str, message: str) -> str:
    if not path:
        return message
    return f"{path} {message}" if message.startswith(_SENTENCE_STARTS) else f"{path}: {message}"


def validation_problems(prefix: str, exc: ValidationError, raw: object, models: Iterable[type[BaseModel]]) -> list[str]:
    """One line per error in ``exc``, each starting with ``prefix`` (``file: kind "id"``)."""
    known_fields = _field_names(models)
    lines: list[str] = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        message, with_input = _expectation(error, known_fields)
        if error["type"] == "extra_forbidden":
            loc = loc[:-1]  # the message already names the unknown key
        text = _join(_path(loc, raw), message)
        if with_input:
            text += f", got {show_value(error.get('input'))}"
        line = f"{prefix}: {text}"
        if line not in lines:  # union members can repeat the same complaint
            lines.append(line)
    return lines
