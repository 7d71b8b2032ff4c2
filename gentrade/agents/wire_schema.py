"""The JSON schema a hosted model is asked to fill, in the subset OpenAI's strict mode accepts, and the way back.

Why: strict structured output (OpenAI's ``strict: true``) compiles the schema into a grammar and refuses
(HTTP 400) keywords outside a small subset: no ``oneOf``/``discriminator``/``patternProperties``, no length,
pattern or range constraints, every object closed and every property required. Pydantic's schema of
``StrategyDraft`` uses all of those. So the model fills an equivalent, looser encoding (unions as
``anyOf``, optional fields nullable, maps as lists of ``{key, value}``), which :func:`decode` turns back
into the model's own shape; the pydantic model then validates it and stays the authority on what is valid.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

# Keywords strict mode accepts (plus ``additionalProperties: false``); everything else is dropped on the way
# out and enforced by pydantic on the way back.
STRICT_KEYWORDS = frozenset(
    {"type", "properties", "required", "additionalProperties", "items", "anyOf", "enum", "const", "$ref", "$defs"}
    | {"description", "title"}
)
MAX_NESTING = 10
MAX_PROPERTIES = 5000
MAX_ENUM_VALUES = 1000
NULL = {"type": "null"}


def encode(model: type[BaseModel]) -> dict[str, Any]:
    """The strict-mode schema for ``model`` (a closed object at the root)."""
    schema = model.model_json_schema()
    defs = {name: _encode(node) for name, node in schema.pop("$defs", {}).items()}
    encoded = _encode(schema)
    if defs:
        encoded["$defs"] = defs
    return encoded


def _encode(node: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        return {"$ref": node["$ref"], **({"description": node["description"]} if "description" in node else {})}
    out: dict[str, Any] = {key: node[key] for key in ("description", "title") if key in node}
    branches = node.get("anyOf") or node.get("oneOf")
    if branches:
        flat: list[dict[str, Any]] = []
        for branch in branches:
            encoded = _encode(branch)
            flat.extend(encoded["anyOf"] if set(encoded) == {"anyOf"} else [encoded])
        return out | {"anyOf": flat}
    if "const" in node:
        return out | {"type": node.get("type", "string"), "enum": [node["const"]]}
    if "enum" in node:
        return out | {key: node[key] for key in ("type", "enum") if key in node}
    if _is_map(node):
        value = _encode(_map_values(node))
        key = {"type": "string"} | ({"description": f"matches {p}"} if (p := _key_pattern(node)) else {})
        entry = {"type": "object", "properties": {"key": key, "value": value}}
        entry |= {"required": ["key", "value"], "additionalProperties": False}
        return out | {"type": "array", "items": entry, "description": _map_description(out)}
    if node.get("type") == "object":
        required = set(node.get("required", ()))
        properties = {
            name: _encode(sub) if name in required else _nullable(_encode(sub))
            for name, sub in node.get("properties", {}).items()
        }
        return out | {
            "type": "object",
            "properties": properties,
            "required": list(properties),
            "additionalProperties": False,
        }
    if node.get("type") == "array":
        return out | {"type": "array", "items": _encode(node.get("items", {}))}
    return out | ({"type": node["type"]} if "type" in node else {})


def _nullable(node: dict[str, Any]) -> dict[str, Any]:
    if node.get("type") == "null" or NULL in node.get("anyOf", []):
        return node
    if "anyOf" in node:
        return {**node, "anyOf": [*node["anyOf"], NULL]}
    description = {"description": node.pop("description")} if "$ref" not in node and "description" in node else {}
    return description | {"anyOf": [node, NULL]}


def _is_map(node: dict[str, Any]) -> bool:
    return node.get("type") == "object" and (
        "patternProperties" in node or isinstance(node.get("additionalProperties"), dict)
    )


def _map_values(node: dict[str, Any]) -> dict[str, Any]:
    patterns = node.get("patternProperties")
    return next(iter(patterns.values())) if patterns else node["additionalProperties"]


def _key_pattern(node: dict[str, Any]) -> str | None:
    return next(iter(node["patternProperties"])) if node.get("patternProperties") else None


def _map_description(out: dict[str, Any]) -> str:
    return (out.get("description", "") + " A list of {key, value} entries, one per key.").strip()


# --- back to the model's own shape ---------------------------------------------------------------------------


def decode(model: type[BaseModel], value: Any) -> Any:
    """The encoded answer in ``model``'s shape (still unvalidated): maps rebuilt, omitted fields left out."""
    schema = model.model_json_schema()
    return _decode(value, schema, schema.get("$defs", {}))


def _decode(value: Any, node: dict[str, Any], defs: dict[str, Any]) -> Any:
    node = _resolved(node, defs)
    branches = node.get("anyOf") or node.get("oneOf")
    if branches:
        if value is None:
            return None
        branch = next((b for b in branches if _fits(value, _resolved(b, defs), defs)), None)
        return value if branch is None else _decode(value, branch, defs)
    if _is_map(node) and isinstance(value, list):
        values = _map_values(node)
        return {
            str(item.get("key")): _decode(item.get("value"), values, defs) for item in value if isinstance(item, dict)
        }
    if node.get("type") == "object" and isinstance(value, dict):
        properties, required = node.get("properties", {}), set(node.get("required", ()))
        return {
            name: _decode(item, properties[name], defs) if name in properties else item
            for name, item in value.items()
            if item is not None or name in required or _allows_null(properties.get(name, {}), defs)
        }
    if node.get("type") == "array" and isinstance(value, list):
        return [_decode(item, node.get("items", {}), defs) for item in value]
    return value


def _resolved(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[-1]]
    return node


def _allows_null(node: dict[str, Any], defs: dict[str, Any]) -> bool:
    """A nullable field whose default is not None keeps an explicit null; others fall back to their default."""
    branches = node.get("anyOf") or node.get("oneOf") or []
    return any(b.get("type") == "null" for b in branches) and node.get("default") is not None


def _fits(value: Any, node: dict[str, Any], defs: dict[str, Any]) -> bool:
    """Whether ``value`` looks like an instance of the union branch ``node`` (its type and constants)."""
    if "anyOf" in node or "oneOf" in node:
        return any(_fits(value, _resolved(b, defs), defs) for b in node.get("anyOf") or node["oneOf"])
    kind = node.get("type")
    fits = _FITS_TYPE.get(kind) if isinstance(kind, str) else None
    return fits is None or fits(value, node)


def _fits_object(value: Any, node: dict[str, Any]) -> bool:
    if _is_map(node):
        return isinstance(value, list)
    if not isinstance(value, dict):
        return False
    properties = node.get("properties", {})
    if not set(node.get("required", ())) <= set(value) or not set(value) <= set(properties):
        return False
    return all(value.get(name) == sub["const"] for name, sub in properties.items() if "const" in sub)


def _fits_number(value: Any, _node: dict[str, Any]) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# A JSON schema type -> whether a value fits a node of it (a type not listed fits anything).
_FITS_TYPE: dict[str, Callable[[Any, dict[str, Any]], bool]] = {
    "null": lambda value, _node: value is None,
    "object": _fits_object,
    "array": lambda value, _node: isinstance(value, list),
    "string": lambda value, node: isinstance(value, str) and ("enum" not in node or value in node["enum"]),
    "number": _fits_number,
    "integer": _fits_number,
    "boolean": lambda value, _node: isinstance(value, bool),
}


# --- the strict-mode subset ----------------------------------------------------------------------------------


def strict_problems(schema: dict[str, Any]) -> list[str]:
    """Why OpenAI's strict mode would refuse ``schema`` (empty when it accepts it)."""
    problems: list[str] = []
    if schema.get("type") != "object" or "anyOf" in schema:
        problems.append("the root must be an object, not a union")
    counts = {"properties": 0, "enum": 0}
    _check(copy.deepcopy(schema), "#", 0, problems, counts)
    for name, sub in schema.get("$defs", {}).items():
        _check(sub, f"#/$defs/{name}", 0, problems, counts)
    if counts["properties"] > MAX_PROPERTIES:
        problems.append(f"{counts['properties']} properties (at most {MAX_PROPERTIES})")
    if counts["enum"] > MAX_ENUM_VALUES:
        problems.append(f"{counts['enum']} enum values (at most {MAX_ENUM_VALUES})")
    return problems


def _check(node: dict[str, Any], path: str, depth: int, problems: list[str], counts: dict[str, int]) -> None:
    if depth > MAX_NESTING:
        problems.append(f"{path}: nested deeper than {MAX_NESTING}")
        return
    for key in set(node) - STRICT_KEYWORDS:
        problems.append(f"{path}: keyword {key!r} is not supported")
    counts["enum"] += len(node.get("enum", ()))
    if node.get("type") == "object" or "properties" in node:
        properties = node.get("properties", {})
        counts["properties"] += len(properties)
        if node.get("additionalProperties") is not False:
            problems.append(f"{path}: an object must have additionalProperties: false")
        if sorted(node.get("required", [])) != sorted(properties):
            problems.append(f"{path}: every property must be required")
        for name, sub in properties.items():
            _check(sub, f"{path}/properties/{name}", depth + 1, problems, counts)
    if "items" in node:
        _check(node["items"], f"{path}/items", depth + 1, problems, counts)
    for index, branch in enumerate(node.get("anyOf", ())):
        _check(branch, f"{path}/anyOf/{index}", depth + 1, problems, counts)
