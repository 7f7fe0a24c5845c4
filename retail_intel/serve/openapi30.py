"""The API schema in OpenAPI 3.0's words, for the Swagger UI that ``/docs`` serves.

FastAPI writes OpenAPI 3.1 (JSON Schema 2020-12). The Swagger UI shipped by
``swagger-ui-bundle`` (4.x) reads only 3.0 and, given 3.1, draws nothing but
"Unable to render this definition". ``/openapi.json`` stays 3.1 for code
generators; the docs page reads this copy, where the 3.1-only forms the
schema uses are said the 3.0 way:

* ``anyOf: [X, {type: null}]`` (an optional value) is ``X`` with ``nullable: true``;
* ``type: [X, "null"]`` is ``type: X`` with ``nullable: true``;
* ``const: v`` is ``enum: [v]``;
* a schema's ``examples: [a, ...]`` is ``example: a``;
* ``prefixItems`` (a fixed-length tuple) is ``items`` of any of its item types.
"""

from __future__ import annotations

from typing import Any

OPENAPI_30 = "3.0.3"


def as_openapi_30(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of a FastAPI OpenAPI 3.1 document that Swagger UI 4 can draw (the original is left as is)."""
    converted: dict[str, Any] = _node(schema)
    converted["openapi"] = OPENAPI_30
    return converted


def _node(node: Any) -> Any:
    if isinstance(node, list):
        return [_node(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _node(value) for key, value in node.items()}
    for key in ("anyOf", "oneOf"):
        options = out.get(key)
        if isinstance(options, list) and {"type": "null"} in options:
            rest = [option for option in options if option != {"type": "null"}]
            del out[key]
            if len(rest) == 1:
                only = rest[0]
                # In 3.0 a $ref takes no sibling keys: nullable goes beside an allOf holding it.
                out.update({"allOf": [only]} if "$ref" in only else only)
            elif rest:
                out[key] = rest
            out["nullable"] = True
    kind = out.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        if len(kinds) < len(kind):
            out["nullable"] = True
        if len(kinds) == 1:
            out["type"] = kinds[0]
        else:
            del out["type"]
            out["anyOf"] = [{"type": k} for k in kinds]
    if "const" in out:
        out["enum"] = [out.pop("const")]
    if isinstance(out.get("examples"), list):
        examples = out.pop("examples")
        if examples:
            out["example"] = examples[0]
    if isinstance(out.get("prefixItems"), list):
        items = out.pop("prefixItems")
        out.setdefault("items", items[0] if len(items) == 1 else {"anyOf": items})
    return out
