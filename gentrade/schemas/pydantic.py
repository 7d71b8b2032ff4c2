"""Publish a pydantic model's JSON schema in the OpenAPI document, so the draft is documented once."""

from __future__ import annotations

from apispec import APISpec
from pydantic import BaseModel


def register_pydantic_schema(spec: APISpec, model: type[BaseModel]) -> None:
    """Add ``model`` and its nested definitions as components (``Draft*`` prefixed, to avoid clashes)."""
    name = model.model_config.get("title") or model.__name__
    schema = model.model_json_schema(ref_template=f"#/components/schemas/{name}{{model}}")
    for nested, definition in schema.pop("$defs", {}).items():
        spec.components.schema(f"{name}{nested}", component=definition)
    spec.components.schema(name, component=schema)
