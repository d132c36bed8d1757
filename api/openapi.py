"""The OpenAPI document, as OpenAPI 3.0 (what OGC API - Features Part 1 asks for).

FastAPI writes OpenAPI 3.1 / JSON Schema 2020-12; this rewrites the few constructs
3.0 does not have: ``anyOf`` with ``null``, ``type`` lists, ``const``, ``examples``
and numeric ``exclusiveMinimum``/``exclusiveMaximum``.
"""

from __future__ import annotations

from typing import Any

OPENAPI_VERSION = "3.0.3"


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    options = schema.get("anyOf") or schema.get("oneOf")
    if not isinstance(options, list):
        return schema
    rest = [o for o in options if o != {"type": "null"}]
    if len(rest) == len(options):
        return schema
    key = "anyOf" if "anyOf" in schema else "oneOf"
    out = {k: v for k, v in schema.items() if k != key}
    if len(rest) == 1 and "$ref" not in rest[0]:
        out.update(rest[0])
    else:
        out[key] = rest
    out["nullable"] = True
    return out


def _schema_30(schema: dict[str, Any]) -> dict[str, Any]:
    schema = _nullable(schema)
    if isinstance(schema.get("type"), list):
        types = [t for t in schema["type"] if t != "null"]
        schema = {**schema, "type": types[0] if types else "string"}
        if len(types) < len(schema.get("type", [])) or "null" in schema.get("type", []):
            schema["nullable"] = True
    if "const" in schema:
        schema = {
            **{k: v for k, v in schema.items() if k != "const"},
            "enum": [schema["const"]],
        }
    if isinstance(schema.get("examples"), list):
        examples = schema["examples"]
        schema = {k: v for k, v in schema.items() if k != "examples"}
        if examples:
            schema["example"] = examples[0]
    for bound, plain in (
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ):
        value = schema.get(bound)
        if isinstance(value, int | float) and not isinstance(value, bool):
            schema = {**schema, plain: value, bound: True}
    return schema


def to_openapi_30(node: Any, *, in_schema: bool = False) -> Any:
    """Rewrite an OpenAPI 3.1 document (or part of it) for OpenAPI 3.0."""
    if isinstance(node, list):
        return [to_openapi_30(v, in_schema=in_schema) for v in node]
    if not isinstance(node, dict):
        return node
    if in_schema:
        node = _schema_30(node)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("schema", "items", "additionalProperties", "not"):
            out[key] = to_openapi_30(value, in_schema=isinstance(value, dict))
        elif key in ("properties", "schemas", "$defs") and isinstance(value, dict):
            out[key] = {k: to_openapi_30(v, in_schema=True) for k, v in value.items()}
        elif key in ("anyOf", "oneOf", "allOf", "prefixItems") and isinstance(
            value, list
        ):
            out[key] = [to_openapi_30(v, in_schema=True) for v in value]
        else:
            out[key] = to_openapi_30(value, in_schema=False)
    if "openapi" in out:
        out["openapi"] = OPENAPI_VERSION
    return out


def errors_as_json(doc: dict[str, Any]) -> dict[str, Any]:
    """Document every 4xx/5xx body as ``application/json`` (``{"detail": ...}``).

    FastAPI documents extra responses with the route's own media type (GeoJSON, HTML);
    the error handlers always answer JSON.
    """
    for path_item in doc.get("paths", {}).values():
        for operation in path_item.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content")
                if str(status)[0] in "45" and content:
                    schema = next(iter(content.values())).get("schema", {})
                    response["content"] = {"application/json": {"schema": schema}}
    return doc


def bound_resolution(doc: dict[str, Any], finest: int) -> dict[str, Any]:
    """Set the documented maximum of every ``resolution`` parameter to the cell table's.

    Cells roll up, never down: a finer resolution than the table's is answered 422.
    """
    for path_item in doc.get("paths", {}).values():
        for operation in path_item.values():
            for param in operation.get("parameters", []):
                if param.get("name") == "resolution" and "schema" in param:
                    param["schema"]["maximum"] = finest
    return doc
