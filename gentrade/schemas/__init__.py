"""Marshmallow request and response schemas, shared by blueprints and the OpenAPI document."""
