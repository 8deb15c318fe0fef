"""marshmallow -> JSON Schema (2020-12, the OpenAPI 3.1 dialect), shared by the event
catalogue (``crm_kit.ops.catalogue``) and the services' API schemas (``CrmService.api_schemas_json``).

Nested schemas are inlined (no ``$ref``), so every schema produced here is self-contained.

Every rule a field's validators enforce is stated, so that a request the schema allows is never
refused for a rule it does not say: apispec's ``Length``, ``Range``, ``Regexp``, ``OneOf`` and
``Equal``; here a ``Range`` that excludes its bounds (``exclusiveMinimum``/``exclusiveMaximum``,
which apispec drops), a non-negative ``Range`` on a decimal string (its pattern has no minus
sign), ``NoneOf`` (``not: {enum}``), ``not_blank`` (``pattern: \\S``), and any validator
function made with :func:`documented`, which carries its own JSON Schema (a phone number's
pattern, a date's range). A rule that JSON Schema cannot say (one field against another) is
said in the schema's description.
"""
from __future__ import annotations

from typing import Callable

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import fields, validate

from crm_kit.records.schemas import not_blank

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_KNOWN = {not_blank: {"pattern": r"\S", "description": "Not only whitespace."}}


def documented(fragment: dict) -> Callable:
    """Decorates a validator function with the JSON Schema that states its rule (``pattern``,
    ``description``...), merged into every field it validates."""
    def mark(function: Callable) -> Callable:
        function.json_schema = dict(fragment)
        return function
    return mark


def _validators(converter, field, ret=None, **kwargs) -> dict:
    """What apispec leaves out of a field's validators (see the module's docstring)."""
    out: dict = {}
    numeric = isinstance(field, fields.Number) and not getattr(field, "as_string", False)
    for validator in field.validators:
        fragment = getattr(validator, "json_schema", None) or _known(validator)
        if fragment:
            _merge(out, fragment, ret or {})
        elif isinstance(validator, validate.Range) and numeric:
            if validator.min is not None and not validator.min_inclusive:
                out["exclusiveMinimum"] = field._serialize(validator.min, None, None)
            if validator.max is not None and not validator.max_inclusive:
                out["exclusiveMaximum"] = field._serialize(validator.max, None, None)
        elif isinstance(validator, validate.NoneOf):
            out.setdefault("not", {"enum": list(validator.iterable)})
    return out


def _known(validator) -> dict | None:
    try:
        return _KNOWN.get(validator)
    except TypeError:   # an unhashable validator
        return None


def _merge(out: dict, fragment: dict, ret: dict) -> None:
    for key, value in fragment.items():
        if key == "description":
            text = " ".join(t for t in (out.get("description") or ret.get("description"), value) if t)
            out["description"] = text
        elif key in out or key in ret:              # two patterns: both must hold
            out.setdefault("allOf", []).append({key: value})
        else:
            out[key] = value


def _decimal_as_string(converter, field, **kwargs) -> dict:
    """``Decimal(as_string=True)`` travels as a string ("1500.00"), not a number."""
    if not (isinstance(field, fields.Decimal) and field.as_string):
        return {}
    ret = {"type": ["string", "null"] if field.allow_none else "string", "format": "decimal"}
    if field.places is not None:
        sign = "" if _non_negative(field) else "-?"
        ret["pattern"] = rf"^{sign}[0-9]+\.[0-9]{{{-field.places.as_tuple().exponent}}}$"
    return ret


def _non_negative(field) -> bool:
    return any(isinstance(v, validate.Range) and v.min is not None and v.min >= 0 for v in field.validators)


def converter():
    """apispec's ``OpenAPIConverter`` for OpenAPI 3.1, nested schemas inlined."""
    plugin = MarshmallowPlugin(schema_name_resolver=lambda schema: None)  # None: inline nested schemas
    APISpec("crm", "1", openapi_version="3.1.0", plugins=[plugin])  # initialises plugin.converter
    plugin.converter.add_attribute_function(_decimal_as_string)
    plugin.converter.add_attribute_function(_validators)
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
