"""marshmallow -> JSON Schema (2020-12, the OpenAPI 3.1 dialect), shared by the event
catalogue (``crm_kit.catalogue``) and the services' API schemas (``CrmService.api_schemas_json``).

Nested schemas are inlined (no ``$ref``), so every schema produced here is self-contained.
"""
from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import fields

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _decimal_as_string(converter, field, **kwargs) -> dict:
    """``Decimal(as_string=True)`` travels as a string ("1500.00"), not a number."""
    if not (isinstance(field, fields.Decimal) and field.as_string):
        return {}
    ret = {"type": ["string", "null"] if field.allow_none else "string", "format": "decimal"}
    if field.places is not None:
        ret["pattern"] = rf"^-?[0-9]+\.[0-9]{{{-field.places.as_tuple().exponent}}}$"
    return ret


def converter():
    """apispec's ``OpenAPIConverter`` for OpenAPI 3.1, nested schemas inlined."""
    plugin = MarshmallowPlugin(schema_name_resolver=lambda schema: None)  # None: inline nested schemas
    APISpec("crm", "1", openapi_version="3.1.0", plugins=[plugin])  # initialises plugin.converter
    plugin.converter.add_attribute_function(_decimal_as_string)
    return plugin.converter


def json_schema(schema) -> dict:
    """JSON Schema 2020-12 for a marshmallow schema (class or instance)."""
    return _string_decimal_bounds(converter().schema2jsonschema(schema))


def _string_decimal_bounds(node):
    """A ``Range`` on a decimal string would become a string ``minimum`` (invalid JSON Schema):
    state the bound in the description instead."""
    if isinstance(node, dict):
        if node.get("format") == "decimal":
            bounds = [f"{word} {node.pop(key)}" for key, word in
                      (("minimum", "at least"), ("maximum", "at most"),
                       ("exclusiveMinimum", "more than"), ("exclusiveMaximum", "less than")) if key in node]
            if bounds:
                text = "Decimal string, " + ", ".join(bounds) + "."
                node["description"] = f"{node['description']} {text}" if node.get("description") else text
        for value in node.values():
            _string_decimal_bounds(value)
    elif isinstance(node, list):
        for value in node:
            _string_decimal_bounds(value)
    return node
