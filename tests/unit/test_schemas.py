"""Request bodies: unknown and server-owned fields are refused, errors name the fields."""
from __future__ import annotations

import pytest

from crm_kit.errors import ValidationFailed
from crm_kit.schemas import SERVER_OWNED, InputSchema, fields, load, validate

SERVER_MSG = "This field is set by the server and cannot be written."


class Address(InputSchema):
    city = fields.String(required=True)


class Widget(InputSchema):
    class Meta(InputSchema.Meta):
        server_owned = ("score",)

    name = fields.String(required=True, validate=validate.Length(min=1, max=20))
    size = fields.Integer(load_default=1, validate=validate.Range(min=1))
    address = fields.Nested(Address, load_default=None, allow_none=True)


def _errors(data, schema=None, **kw):
    with pytest.raises(ValidationFailed) as info:
        load(schema or Widget(), data, **kw)
    assert info.value.status == 422
    return info.value.errors


def test_valid_input_loads():
    assert load(Widget(), {"name": "w", "size": 3}) == {"name": "w", "size": 3, "address": None}


def test_unknown_field_refused():
    assert _errors({"name": "w", "colour": "red"}) == {"colour": ["Unknown field."]}


@pytest.mark.parametrize("owned", SERVER_OWNED)
def test_server_owned_field_refused_with_message(owned):
    assert _errors({"name": "w", owned: "x"}) == {owned: [SERVER_MSG]}


def test_server_owned_from_schema_meta():
    assert _errors({"name": "w", "score": 5}) == {"score": [SERVER_MSG]}


def test_several_problems_reported_together():
    errors = _errors({"name": "", "size": 0, "id": "1", "status": "won", "owner_id": "u", "version": 3,
                      "extra": 1})
    assert errors["name"] and errors["size"]
    for owned in ("id", "status", "owner_id", "version"):
        assert errors[owned] == [SERVER_MSG]
    assert errors["extra"] == ["Unknown field."]


def test_missing_required_field_named():
    assert _errors({}) == {"name": ["Missing data for required field."]}


def test_nested_errors_are_dotted_and_server_owned_inside_nested():
    errors = _errors({"name": "w", "address": {"id": "a1"}})
    assert errors == {"address.city": ["Missing data for required field."], "address.id": [SERVER_MSG]}


def test_partial_load_skips_required():
    assert load(Widget(), {"size": 2}, partial=True) == {"size": 2}
    assert _errors({"id": "x"}, partial=True) == {"id": [SERVER_MSG]}


@pytest.mark.parametrize("data", [None, [], ["name"], "name=w", 42, True])
def test_non_dict_input_refused(data):
    assert _errors(data) == {"_schema": ["Expected a JSON object."]}


def test_unknown_field_that_is_not_server_owned_keeps_marshmallow_message():
    # A key merely *named* like an owned one in another schema is still just unknown here.
    assert _errors({"name": "w", "customer_id": "c"}) == {"customer_id": ["Unknown field."]}


class Line(InputSchema):
    class Meta(InputSchema.Meta):
        server_owned = ("unit_price",)   # price always comes from the product, never the client

    product_id = fields.String(required=True)
    quantity = fields.Integer(required=True)


class OrderWithListOfNested(InputSchema):
    lines = fields.List(fields.Nested(Line), required=True)


class OrderWithNestedMany(InputSchema):
    lines = fields.Nested(Line, many=True, required=True)


def test_server_owned_inside_list_of_nested_items():
    errors = _errors({"lines": [{"product_id": "p1", "quantity": 1, "unit_price": "0.01"}]},
                     OrderWithListOfNested())
    assert errors == {"lines.0.unit_price": [SERVER_MSG]}


def test_server_owned_inside_nested_many_items():
    """``Nested(..., many=True)`` is the other common way to declare order lines; the
    server-owned message must not depend on which one a schema author picked."""
    errors = _errors({"lines": [{"product_id": "p1", "quantity": 1},
                                {"product_id": "p2", "quantity": 2, "unit_price": "0.01", "id": "x"}]},
                     OrderWithNestedMany())
    assert errors == {"lines.1.unit_price": [SERVER_MSG], "lines.1.id": [SERVER_MSG]}
