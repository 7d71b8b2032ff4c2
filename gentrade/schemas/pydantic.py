"""Publish a pydantic model's JSON schema in the OpenAPI document, so the draft is documented once.

pydantic writes JSON Schema 2020-12; the document is OpenAPI 3.0, whose schema dialect reads some of
the same keywords differently (it has no ``const`` nor ``{"type": "null"}``, and its ``exclusiveMinimum``
is a flag). Without translation a 3.0 client or validator sees every indicator kind match every
``oneOf`` branch and numeric bounds vanish, so the schemas are translated on the way in.
"""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from pydantic import BaseModel

_SCHEMA_MAPS = ("properties", "patternProperties", "$defs")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SCHEMAS = ("items", "additionalProperties", "not")
_NULL = {"type": "null"}


def register_pydantic_schema(spec: APISpec, model: type[BaseModel]) -> None:
    """Add ``model`` and its nested definitions as components (``Draft*`` prefixed, to avoid clashes)."""
    name = model.model_config.get("title") or model.__name__
    schema = openapi30(model.model_json_schema(ref_template=f"#/components/schemas/{name}{{model}}"))
    for nested, definition in schema.pop("$defs", {}).items():
        spec.components.schema(f"{name}{nested}", component=definition)
    spec.components.schema(name, component=schema)


def openapi30(schema: Any) -> Any:
    """The OpenAPI 3.0 spelling of a JSON Schema 2020-12 schema (the subset pydantic emits)."""
    if not isinstance(schema, dict):
        return schema
    return _respelled_keywords({key: _translated_value(key, value) for key, value in schema.items()})


def _translated_value(key: str, value: Any) -> Any:
    """A keyword's value, with the schemas it holds translated (a map, a list, or one schema of them)."""
    if key in _SCHEMA_MAPS:
        return {name: openapi30(item) for name, item in value.items()}
    if key in _SCHEMA_LISTS:
        return [openapi30(item) for item in value]
    if key in _SCHEMAS:
        return openapi30(value)
    return value


def _respelled_keywords(result: dict[str, Any]) -> dict[str, Any]:
    """The keywords 3.0 spells otherwise: ``const``, ``examples``, numeric exclusive bounds, a null variant."""
    if "const" in result:
        result["enum"] = [result.pop("const")]
    if "examples" in result:
        result["example"] = result.pop("examples")[0]
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if type(result.get(exclusive)) in (int, float):
            result[bound], result[exclusive] = result[exclusive], True
    if _NULL in result.get("anyOf", []):
        result |= _nullable([item for item in result.pop("anyOf") if item != _NULL])
    return result


def _nullable(variants: list[dict[str, Any]]) -> dict[str, Any]:
    """``anyOf: [X, null]`` becomes X with ``nullable`` (a ``$ref`` cannot carry siblings in 3.0)."""
    if len(variants) == 1 and "$ref" not in variants[0]:
        return variants[0] | {"nullable": True}
    return {"allOf" if len(variants) == 1 else "anyOf": variants, "nullable": True}
