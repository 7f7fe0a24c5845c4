"""Reading and writing the config YAML files.

The loader is PyYAML's safe loader with two changes that matter for files a
store manager edits by hand:

* ``10:00`` stays the text ``"10:00"``. YAML 1.1 reads unquoted ``10:00`` as
  the base-60 integer 600 (but ``09:00`` as text), which would turn half of
  all shift times into numbers.
* Only ``true`` and ``false`` are booleans (as in YAML 1.2). YAML 1.1 also
  reads ``on``/``off``/``yes``/``no`` as booleans, which would turn the key
  ``off:`` of a shift exception into ``False``.
* Dates and times stay text for pydantic to parse, so an impossible date
  (``2026-13-01``) is reported against its field like any other bad value,
  and a time without a timezone is caught by the models.
* A key given twice in one mapping is an error with its line number instead
  of the second value silently winning.

It is also bounded, because a config directory may be edited by anyone with
write access to it and is re-read by a running server: a file larger than
:data:`MAX_YAML_BYTES`, nesting deeper than :data:`MAX_YAML_DEPTH` or aliases
that expand to more than :data:`MAX_YAML_NODES` nodes (the "billion laughs"
file: a few KB of ``&a``/``*a`` references that PyYAML shares cheaply but
every consumer walking the result expands) is refused before anything walks
it, with one line saying which limit was hit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_REPLACED_TAGS = (_INT_TAG, _FLOAT_TAG, _BOOL_TAG, _TIMESTAMP_TAG)
# Generous for hand-edited metadata (the sample config is about 20 KB, 600 nodes).
MAX_YAML_BYTES = 5 * 1024 * 1024
MAX_YAML_DEPTH = 64
MAX_YAML_NODES = 1_000_000
_BOOL_PATTERN = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")

# PyYAML's int and float patterns minus the sexagesimal (base 60) forms, and minus the octal, hex
# and binary ints: ``id: 0101`` or ``id: 007`` stay the text written (PyYAML made them 65 and 7, a
# silently different id), and a number field still reads ``010`` as ten.
_INT_PATTERN = re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$")
_FLOAT_PATTERN = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
    |\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


class ConfigYamlLoader(yaml.SafeLoader):
    """Safe loader without base-60 numbers, with duplicate-key detection and a nesting limit."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        # PyYAML composes recursively: without a limit a deeply nested file ends
        # in RecursionError instead of an error naming its line.
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"nested more than {MAX_YAML_DEPTH} levels deep",
                    self.peek_event().start_mark,  # type: ignore[no-untyped-call]
                )
            return super().compose_node(parent, index)  # type: ignore[arg-type]
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:
                continue  # the base class reports unhashable keys itself
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"key {key!r} is given twice (first on line {seen[key]})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


ConfigYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _REPLACED_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
ConfigYamlLoader.add_implicit_resolver(_BOOL_TAG, _BOOL_PATTERN, list("tTfF"))
ConfigYamlLoader.add_implicit_resolver(_INT_TAG, _INT_PATTERN, list("-+0123456789"))
ConfigYamlLoader.add_implicit_resolver(_FLOAT_TAG, _FLOAT_PATTERN, list("-+0123456789."))


class YamlReadError(Exception):
    """A file could not be read or parsed; ``str()`` is the user-facing reason."""


def expanded_nodes(root: yaml.Node, limit: int = MAX_YAML_NODES) -> int:
    """How many nodes ``root`` holds once every alias is expanded, counting up to just past ``limit``.

    Each distinct node's expanded size is computed once (aliases share node
    objects), so this costs one pass over the composed graph however much it
    would expand; the count stops growing once it passes ``limit``. A node that holds an
    alias to itself (or to a node around it) raises :class:`YamlReadError`.
    """
    sizes: dict[int, int] = {}
    # Nodes whose children are still being sized: exactly the current path from the root, since a
    # node's "done" marker stays on the stack below its children until they are all sized.
    open_nodes: set[int] = set()
    # iterative post-order walk: the graph's depth is bounded, but a stack is as simple
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if not children_done and id(node) in open_nodes:
            # an alias inside its own anchor (`a: &a [*a]`) would expand forever
            mark = node.start_mark
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            raise YamlReadError(
                f"YAML alias refers to itself{where}: a value anchored with &name holds *name; "
                "write the value out instead"
            )
        if isinstance(node, yaml.SequenceNode):
            children: list[yaml.Node] = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [item for pair in node.value for item in pair]
        else:
            sizes[id(node)] = 1
            continue
        if children_done:
            sizes[id(node)] = min(limit + 1, 1 + sum(sizes[id(child)] for child in children))
            open_nodes.discard(id(node))
        else:
            open_nodes.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)]


def _load_bounded(text: str) -> object:
    loader = ConfigYamlLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if expanded_nodes(node) > MAX_YAML_NODES:
            raise YamlReadError(
                f"expands to more than {MAX_YAML_NODES:,} values through aliases (*name); "
                "write the values out or use fewer nested aliases"
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


def read_yaml(path: Path) -> object:
    """Parse one YAML document; raise :class:`YamlReadError` naming the line on syntax errors."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_YAML_BYTES + 1)  # never more than the limit into memory
        if len(data) > MAX_YAML_BYTES:
            raise YamlReadError(f"is larger than {MAX_YAML_BYTES:,} bytes, the most a config file may hold")
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlReadError(f"is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise YamlReadError(f"cannot be read: {exc.strerror or exc}") from exc
    try:
        # ConfigYamlLoader derives from SafeLoader: no arbitrary object construction.
        return _load_bounded(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "unknown line"
        what = exc.problem or exc.context or "cannot parse"
        if exc.context and exc.problem:
            context_line = f" on line {exc.context_mark.line + 1}" if exc.context_mark is not None else ""
            what += f" ({exc.context}{context_line})"
        raise YamlReadError(f"YAML syntax error at {where}: {what}") from exc
    except (yaml.YAMLError, ValueError) as exc:
        raise YamlReadError(f"YAML syntax error: {exc}") from exc


def _id_first(data: dict[str, Any]) -> None:
    """Reorder in place so ``id`` leads (cameras inherit detection fields first)."""
    if "id" in data:
        ordered = {"id": data["id"], **{k: v for k, v in data.items() if k != "id"}}
        data.clear()
        data.update(ordered)
    for value in data.values():
        items = value if isinstance(value, list) else []
        for item in items:
            if isinstance(item, dict):
                _id_first(item)


def _entry_for_yaml(model: BaseModel) -> dict[str, Any]:
    data = model.model_dump(mode="json", exclude_defaults=True)
    _id_first(data)
    hours = data.get("opening_hours")
    if isinstance(hours, dict):
        # Write opening hours back in the compact form people type.
        data["opening_hours"] = {day: f"{span['start']}-{span['end']}" for day, span in hours.items()}
    return data


def dump_entries(key: str, models: Iterable[BaseModel]) -> str:
    """One config file's text: ``key:`` holding a list of the models' fields (defaults left out)."""
    entries: Sequence[dict[str, Any]] = [_entry_for_yaml(model) for model in models]
    return yaml.safe_dump({key: list(entries)}, sort_keys=False, allow_unicode=True, default_flow_style=None)
